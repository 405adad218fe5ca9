// GPU memory plan of one probe forward, in bytes, before a run starts: the weights in their checkpoint dtype, the
// static KV cache, the forward's transient activations at the image's token count, and the feature maps a sweep
// keeps while the cache is alive (every requested (tap, layer) map is gathered before the cache is freed).
// Weights are exact (tensor shapes of the checkpoint's layout); KV and feature maps are exact for the engine's
// f32 layout (f16 KV: half); activations are either fitted on peaks measured on a checkpoint of the same widths
// (calibrateActivations, `plan --calibrate`) or estimated from the run-state buffers one decoder layer and one
// vision layer hold at once (they do not grow with depth; a plan without a fit says "estimate"). The MLPs run in
// blocks of B = min(rows, MLP_BLOCK_ROWS) rows, so their widest buffers do not grow past B rows:
//   LM      S·(4H + 2q + 2kv)·4 + B·3I·4 (+ B·2H·4 when S > B)     (h, h', x̂, out; q, attn; k, v | gate·up, act)
//   Qwen ViT  N·10Hv·4 + B·3Iv·4 (+ B·2Hv·4) + merger (N/4)·2H·4 (its [N/4, 4Hv] hidden reuses q and kh)
//   SigLIP/CLIP ViT  N·(10Hv + 2Iv)·4 (its MLP is not blocked) + projector N·(Hv + 2H)·4
// A fit measured below MLP_BLOCK_ROWS patches extrapolates the MLP's per-row bytes past the block: it then reads high.
// Per layer a plan extrapolates linearly in depth: weights and KV grow with layers, activations do not.
import type { ModelConfig } from '../io/config.ts';
import { anyresLayout, type AnyresSpec, LLAVA_NEXT_PINPOINTS } from '../models/processor/anyres.ts';
import { smartResize } from '../models/processor/smartResize.ts';
import { planHubShapedCheckpoint, tensorBytes } from '../models/tiny/hubShapedCheckpoint.ts';
import type { MultimodalModel } from '../models/model.ts';
import { MLP_BLOCK_ROWS } from '../models/runState.ts';
import type { RgbImage } from '../io/rgbImage.ts';
import type { ShortTap } from '../capture/taps.ts';
import { sweepImage } from '../tasks/featureSweep.ts';

export type KvDType = 'f32' | 'f16';

/** The largest input a study run feeds, as the processor tokenises it. */
export interface ImageLoad {
  /** (height, width) of the image the plan assumes. */
  image: [number, number];
  /** Image tokens in the LM sequence. */
  imageTokens: number;
  /** Patches through the vision tower (all tiles). */
  visionPatches: number;
  /** Tiles (LLaVA anyres) or 1. */
  tiles: number;
}

export interface MemoryPlanRequest {
  /** LM layers whose image values / keys (and other layered taps) the sweep keeps; default: every layer. */
  layers?: number[];
  /** Short taps kept (lm.value, lm.key, lm.hidden, lm.key_pre_rope, projector, vision). */
  taps?: string[];
  kvDType?: KvDType;
  /** Text tokens around the image (prompt, template). */
  textTokens?: number;
  /** Override the image load (default: the largest image the processor makes, see largestImageLoad). */
  load?: ImageLoad;
  /** Activations measured on a checkpoint of the same widths (calibrateActivations) instead of the analytic bound. */
  activations?: ActivationFit;
  /** Plan for this many LM / vision layers instead of the checkpoint's (a cut checkpoint extrapolated per layer). */
  lmLayers?: number;
  visionLayers?: number;
}

/** Activation bytes ≈ fixed + perPatch · vision patches, fitted on measured peaks (least squares over the points). */
export interface ActivationFit {
  modelType: string;
  /** The checkpoint the points were measured on. */
  measuredOn: string;
  device: string;
  fixed: number;
  perPatch: number;
  points: { image: [number, number]; patches: number; imageTokens: number; sequence: number; peak: number; resident: number; activations: number }[];
}

export interface PlanTensor {
  name: string;
  shape: number[];
  bytes: number;
  /** True when every op on it walks row chunks (matmul, activations, row copies), so no single binding must hold it. */
  chunked: boolean;
}

export interface MemoryItem {
  item: string;
  bytes: number;
  note: string;
}

export interface MemoryPlan {
  modelType: string;
  lmLayers: number;
  visionLayers: number;
  load: ImageLoad;
  sequence: number;
  items: MemoryItem[];
  total: number;
  /** The largest tensor an op binds whole (norms, add, RoPE, attention): it must fit one storage-buffer binding. */
  largestTensor: PlanTensor;
  /** The largest activation tensor of all; when `chunked`, the ops on it walk row chunks under gpu.maxBindingBytes. */
  largestActivation: PlanTensor;
  /** Rows per MLP block the plan assumes (MLP_BLOCK_ROWS). */
  mlpBlockRows: number;
  /** Weight bytes per LM layer and per vision layer, and the rest (embeddings, head, projector, patch embed). */
  perLayer: { lmWeights: number; visionWeights: number; fixedWeights: number; kv: number; featureMaps: number };
  /** LM layers the layered feature maps are kept for. */
  mapLayers: number;
  kvDType: KvDType;
}

/** The anyres token geometry of a LLaVA config (tile, patches per side, pinpoints, anyres_max). */
function anyresSpecOf(cfg: Exclude<ModelConfig, { model_type: 'qwen2_5_vl' }>): AnyresSpec {
  const v = cfg.vision_config;
  return {
    tile: v.image_size,
    patchesPerSide: Math.floor(v.image_size / v.patch_size),
    pinpoints: cfg.image_grid_pinpoints.length ? cfg.image_grid_pinpoints : LLAVA_NEXT_PINPOINTS,
    ...(cfg.model_type === 'llava_onevision' ? { maxTiles: Number(/anyres_max_(\d+)/.exec(cfg.vision_aspect_ratio)?.[1] ?? 9) } : {}),
  };
}

/** Tokens and vision patches of one (height, width) image as the model's processor makes them (default pixels bounds). */
export function imageLoadFor(cfg: ModelConfig, image: [number, number], pixels: { minPixels?: number; maxPixels?: number } = {}): ImageLoad {
  if (cfg.model_type === 'qwen2_5_vl') {
    const v = cfg.vision_config, f = v.patch_size * v.spatial_merge_size;
    const r = smartResize(image[0], image[1], { factor: f, ...pixels });
    const patches = (r.height / v.patch_size) * (r.width / v.patch_size);
    return { image, imageTokens: patches / v.spatial_merge_size ** 2, visionPatches: patches, tiles: 1 };
  }
  const spec = anyresSpecOf(cfg);
  const l = anyresLayout({ height: image[0], width: image[1] }, spec);
  const perTile = spec.patchesPerSide ** 2 + (cfg.vision_config.model_type === 'clip_vision_model' ? 1 : 0);
  return { image, imageTokens: l.imageTokens, visionPatches: l.tiles * perTile, tiles: l.tiles };
}

/** The largest image each model's processor makes at its defaults: the pinpoint with most tokens, or max_pixels. */
export function largestImageLoad(cfg: ModelConfig, maxPixels = 12845056): ImageLoad {
  if (cfg.model_type === 'qwen2_5_vl') {
    const f = cfg.vision_config.patch_size * cfg.vision_config.spatial_merge_size;
    // smart_resize keeps h·w ≤ max_pixels on multiples of the merged patch: a square of side floor(√max / f)·f
    const side = Math.floor(Math.sqrt(maxPixels) / f) * f;
    return imageLoadFor(cfg, [side, side], { maxPixels });
  }
  let best: ImageLoad | null = null;
  for (const [h, w] of anyresSpecOf(cfg).pinpoints) {
    const load = imageLoadFor(cfg, [h, w]);
    if (!best || load.imageTokens > best.imageTokens || (load.imageTokens === best.imageTokens && load.tiles > best.tiles)) best = load;
  }
  return best!;
}

const LAYERED = new Set(['lm.value', 'lm.key', 'lm.key_pre_rope', 'lm.hidden']);

/** The memory plan of `modelDir` (a checkpoint, or a hub folder's config + index alone) for one probe forward. */
export async function memoryPlan(modelDir: string, req: MemoryPlanRequest = {}): Promise<MemoryPlan> {
  const plan = await planHubShapedCheckpoint(modelDir);
  const cfg = plan.config, t = cfg.text_config;
  const fileLm = t.num_hidden_layers;
  const fileVision = cfg.model_type === 'qwen2_5_vl' ? cfg.vision_config.depth : cfg.vision_config.num_hidden_layers;
  const lmLayers = req.lmLayers ?? fileLm, visionLayers = req.visionLayers ?? fileVision;
  // weights: exact bytes of each tensor in the checkpoint dtype, split into per-layer and the rest
  let lmW = 0, visionW = 0, fixed = 0;
  for (const x of plan.tensors) {
    const b = tensorBytes(x, plan.dtype);
    if (/(?:vision_tower\..*encoder\.layers|visual\.blocks)\.\d+\./.test(x.name)) visionW += b;
    else if (/layers\.\d+\./.test(x.name)) lmW += b;
    else fixed += b;
  }
  const perLmW = lmW / fileLm, perVisionW = visionW / fileVision;
  const weights = fixed + perLmW * lmLayers + perVisionW * visionLayers;

  const load = req.load ?? largestImageLoad(cfg);
  const text = req.textTokens ?? 32;
  const S = load.imageTokens + text;
  // the engine's cache: capacity = sequence + 64 decode positions, K and V per layer
  const capacity = S + 64;
  const kvBytesPer = req.kvDType === 'f16' ? 2 : 4;
  const kvPerLayer = 2 * t.num_key_value_heads * capacity * t.head_dim * kvBytesPer;
  const kv = kvPerLayer * lmLayers;

  const H = t.hidden_size, I = t.intermediate_size, q = t.num_attention_heads * t.head_dim, kvDim = t.num_key_value_heads * t.head_dim;
  const blk = MLP_BLOCK_ROWS, B = Math.min(S, blk);
  const lmAct = S * (4 * H + 2 * q + 2 * kvDim) * 4 + B * 3 * I * 4 + (S > blk ? blk * 2 * H * 4 : 0) + t.vocab_size * 4;
  const vc = cfg.vision_config;
  const Hv = vc.hidden_size, Iv = vc.intermediate_size, N = load.visionPatches, Bv = Math.min(N, blk);
  const qwen = cfg.model_type === 'qwen2_5_vl';
  const unit = qwen ? cfg.vision_config.spatial_merge_size ** 2 : 1;
  const visionAct = qwen
    ? N * 10 * Hv * 4 + Bv * 3 * Iv * 4 + (N > blk ? blk * 2 * Hv * 4 : 0) + (N / unit) * 2 * H * 4
    : N * (10 * Hv + 2 * Iv) * 4 + N * (Hv + 2 * H) * 4;
  const analytic = Math.max(lmAct, visionAct) + load.imageTokens * H * 4; // image features wait for the LM
  const fit = req.activations;
  if (fit && fit.modelType !== cfg.model_type) throw new Error(`memory plan: the activation fit was measured on ${fit.modelType} (${fit.measuredOn}), not ${cfg.model_type}`);
  const activations = fit ? Math.max(0, fit.fixed + fit.perPatch * N) : analytic;

  const taps = req.taps ?? ['lm.value', 'lm.key', 'projector'];
  const layers = req.layers ?? Array.from({ length: lmLayers }, (_, i) => i);
  const dims: Record<string, number> = { 'lm.value': kvDim, 'lm.key': kvDim, 'lm.key_pre_rope': kvDim, 'lm.hidden': H, projector: H, vision: cfg.model_type === 'qwen2_5_vl' ? Hv * 4 : Hv };
  let maps = 0, perLayerMaps = 0;
  for (const tap of taps) {
    const d = dims[tap];
    if (d === undefined) throw new Error(`memory plan: tap ${JSON.stringify(tap)} is not one of ${Object.keys(dims).join(', ')}`);
    const one = load.imageTokens * d * 4;
    if (LAYERED.has(tap)) {
      maps += one * layers.length;
      perLayerMaps += one;
    } else maps += one;
  }
  // pre-RoPE keys and hidden states are copied out of the forward per layer too (tap tensors over the whole sequence)
  const tapTensors = taps.filter((x) => x === 'lm.key_pre_rope' || x === 'lm.hidden').reduce((a, x) => a + S * dims[x] * 4 * layers.length, 0);

  const items: MemoryItem[] = [
    { item: 'weights', bytes: weights, note: `${plan.dtype}, ${lmLayers} LM × ${perLmW} + ${visionLayers} vision × ${perVisionW} + ${fixed} (embeddings, head, projector)` },
    { item: 'kv cache', bytes: kv, note: `${req.kvDType ?? 'f32'}, ${lmLayers} layers × 2 × ${t.num_key_value_heads} heads × ${capacity} positions × ${t.head_dim}` },
    {
      item: 'activations', bytes: activations,
      note: (fit ? `measured fit ${Math.round(fit.fixed)} + ${Math.round(fit.perPatch)}·patches (on ${fit.measuredOn}, ${fit.device})` : 'estimate (no --calibration)') +
        ` at ${S} tokens (${load.imageTokens} image) and ${N} vision patches (${load.tiles} tile(s)); independent of depth`,
    },
    { item: 'feature maps', bytes: maps, note: `${taps.join(', ')} over ${layers.length} layer(s), ${load.imageTokens} tokens each, f32` },
  ];
  if (tapTensors) items.push({ item: 'tap tensors', bytes: tapTensors, note: 'pre-RoPE keys / hidden states over the sequence' });
  const total = items.reduce((a, i) => a + i.bytes, 0);
  // the widest tensors, and whether every op on them walks row chunks (matmul, activations, row copies do; RMSNorm,
  // add, RoPE, attention and the KV write bind their tensors whole)
  const tensor = (name: string, shape: number[], chunked: boolean, bpe = 4): PlanTensor => ({ name, shape, bytes: shape.reduce((a, b) => a * b, bpe), chunked });
  const candidates = [
    tensor('lm mlp gate·up (one block)', [B, 2 * I], true),
    tensor('lm q / attention out', [S, q], false),
    tensor('lm residual h', [S, H], false),
    tensor('kv cache layer (keys)', [t.num_key_value_heads, capacity, t.head_dim], false, kvBytesPer),
    tensor('logits (last row)', [1, t.vocab_size], true),
    ...(qwen
      ? [tensor('vision qkv', [N, 3 * Hv], true), tensor('vision x / q / attention', [N, Hv], false), tensor('vision mlp (one block)', [Bv, Iv], true), tensor('vision merger hidden', [N / unit, unit * Hv], true)]
      : [tensor('vision fc1', [N, Iv], true), tensor('vision x / q / attention', [N, Hv], false), tensor('projector hidden', [load.imageTokens, H], true)]),
  ];
  const largest = (xs: PlanTensor[]) => xs.reduce((a, b) => (b.bytes > a.bytes ? b : a));
  const largestTensor = largest(candidates.filter((c) => !c.chunked)), largestActivation = largest(candidates);
  return {
    largestTensor, largestActivation, mlpBlockRows: blk,
    modelType: cfg.model_type, lmLayers, visionLayers, load, sequence: S, items, total,
    perLayer: { lmWeights: perLmW, visionWeights: perVisionW, fixedWeights: fixed, kv: kvPerLayer, featureMaps: perLayerMaps },
    mapLayers: layers.length, kvDType: req.kvDType ?? 'f32',
  };
}

/** Bytes as "12 345 678 901 B (11.50 GiB)". */
export function formatBytes(b: number): string {
  return `${Math.round(b).toLocaleString('en-US')} B (${(b / 2 ** 30).toFixed(2)} GiB)`;
}

/** The plan as a Markdown table, with a fit line against `budget` bytes when given. */
export function memoryPlanTable(p: MemoryPlan, budget?: number): string {
  const lines = [
    `${p.modelType}: ${p.lmLayers} LM layers, ${p.visionLayers} vision layers; image ${p.load.image[0]}×${p.load.image[1]} → ${p.load.imageTokens} image tokens, sequence ${p.sequence}`,
    '',
    '| item | bytes | GiB | what |',
    '|---|---:|---:|---|',
    ...p.items.map((i) => `| ${i.item} | ${Math.round(i.bytes)} | ${(i.bytes / 2 ** 30).toFixed(2)} | ${i.note} |`),
    `| **total** | ${Math.round(p.total)} | ${(p.total / 2 ** 30).toFixed(2)} | |`,
  ];
  const a = p.largestActivation, w = p.largestTensor;
  lines.push('', `MLPs in blocks of ${p.mlpBlockRows} rows. Largest activation tensor: ${a.name} [${a.shape.join(', ')}] = ${formatBytes(a.bytes)}` +
    (a.chunked ? '; the ops on it walk row chunks, so no single binding holds it. ' : '. ') +
    `Largest tensor an op binds whole: ${w.name} [${w.shape.join(', ')}] = ${formatBytes(w.bytes)}; the adapter's maxStorageBufferBindingSize must be at least this`);
  if (budget !== undefined) lines.push('', fitLine(p, budget));
  return lines.join('\n');
}

/** "fits" or "does not fit" with the numbers, and the most LM layers of feature maps that would fit. */
export function fitLine(p: MemoryPlan, budget: number): string {
  if (p.total <= budget) return `fits in ${formatBytes(budget)}: ${formatBytes(budget - p.total)} to spare`;
  // the layered maps are what a layer subset saves: budget − everything else, over the maps of one layer
  const perLayer = p.perLayer.featureMaps, layered = perLayer * p.mapLayers;
  const layers = perLayer > 0 ? Math.max(0, Math.floor((budget - (p.total - layered)) / perLayer)) : 0;
  return `does not fit in ${formatBytes(budget)}: needs ${formatBytes(p.total)} (${formatBytes(p.total - budget)} over); ` +
    (layers > 0 ? `feature maps of at most ${layers} LM layer(s) would fit (--layers)${p.kvDType === 'f32' ? ', or f16 KV (--kv-dtype f16)' : ''}` : 'the weights, cache and activations alone exceed it');
}

/** Parse "24GB", "16GiB", "24e9", "25769803776" into bytes (GB = 10⁹, GiB = 2³⁰). */
export function parseBytes(s: string): number {
  const m = /^\s*([\d.]+(?:e\d+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?\s*$/i.exec(s);
  if (!m) throw new Error(`expected a byte count such as 24GB, 16GiB or 25769803776, got ${JSON.stringify(s)}`);
  const unit = (m[2] ?? 'B').toLowerCase();
  const mult: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40 };
  return Number(m[1]) * mult[unit];
}

/** What one sweep forward held on the GPU, read from the runtime's buffer pool (live bytes, high-water mark). */
export interface MeasuredPeak {
  /** Live bytes after load (the resident weights as stored on the GPU). */
  resident: number;
  /** High-water mark during prefill + feature gathering, weights included. */
  peak: number;
  imageTokens: number;
  sequence: number;
}

/**
 * Run the sweep's forward on `image` (prefill with the run's taps, then every (tap, layer) feature map, as
 * featureSweep does) and read the pool's peak: the number a plan for the same checkpoint and image must cover.
 */
export async function measureSweepPeak(model: MultimodalModel, image: RgbImage, o: { taps?: ShortTap[]; layers?: number[] } = {}): Promise<MeasuredPeak> {
  const pool = model.gpu.pool;
  const resident = pool.liveBytes;
  pool.resetPeak();
  const taps = o.taps ?? ['lm.value', 'lm.key', 'projector'];
  const layers = o.layers ?? Array.from({ length: model.config.text_config.num_hidden_layers }, (_, i) => i);
  const sweep = await sweepImage({ model, siglip: null, taps, layers, agnostic: null, grid: 'main', overlays: null, overlaysLeft: 0 }, image, { keepForward: true });
  const span = sweep.forward!.spans.images[0];
  const sequence = sweep.forward!.spans.length;
  const imageTokens = span.length;
  sweep.dispose();
  return { resident, peak: pool.peakBytes, imageTokens, sequence };
}

/**
 * Measure the sweep peak at each image size on `model` (a real-width checkpoint, any depth) and fit the activation
 * bytes — peak − resident weights − the planned KV cache and feature maps — as fixed + perPatch · patches.
 */
export async function calibrateActivations(model: MultimodalModel, modelDir: string, sizes: [number, number][], o: { taps?: ShortTap[] } = {}): Promise<ActivationFit> {
  if (sizes.length < 2) throw new Error('calibrate: give at least two image sizes (a line needs two points)');
  const points: ActivationFit['points'] = [];
  // a first forward allocates what the model keeps afterwards (tables, pipelines' buffers): not activations
  await measureSweepPeak(model, testPictureFor(sizes[0]), { taps: o.taps });
  for (const image of sizes) {
    const m = await measureSweepPeak(model, testPictureFor(image), { taps: o.taps });
    const load = imageLoadFor(model.config, image);
    if (load.imageTokens !== m.imageTokens) throw new Error(`calibrate: the plan counts ${load.imageTokens} image tokens for ${image.join('×')}, the model made ${m.imageTokens}`);
    const p = await memoryPlan(modelDir, { load, textTokens: m.sequence - m.imageTokens, taps: o.taps });
    const other = p.items.filter((i) => i.item !== 'activations' && i.item !== 'weights').reduce((a, i) => a + i.bytes, 0);
    points.push({ image, patches: load.visionPatches, imageTokens: m.imageTokens, sequence: m.sequence, peak: m.peak, resident: m.resident, activations: m.peak - m.resident - other });
  }
  // least squares line through (patches, activations)
  const n = points.length, mx = points.reduce((a, p) => a + p.patches, 0) / n, my = points.reduce((a, p) => a + p.activations, 0) / n;
  const sxx = points.reduce((a, p) => a + (p.patches - mx) ** 2, 0), sxy = points.reduce((a, p) => a + (p.patches - mx) * (p.activations - my), 0);
  if (sxx === 0) throw new Error('calibrate: the image sizes give the same patch count; pick sizes that differ');
  const perPatch = sxy / sxx;
  return { modelType: model.config.model_type, measuredOn: modelDir, device: model.gpu.describe(), fixed: my - perPatch * mx, perPatch, points };
}

/** A deterministic picture of (height, width): gradients and a checker, so tiles and patches differ. */
function testPictureFor([height, width]: [number, number]): RgbImage {
  const data = new Uint8Array(height * width * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      data[o] = (x * 255 / width) & 255;
      data[o + 1] = (y * 255 / height + ((x >> 2) + (y >> 2)) % 2 * 60) & 255;
      data[o + 2] = (x * y) & 255;
    }
  }
  return { width, height, data, source: `test picture ${height}×${width}` };
}
