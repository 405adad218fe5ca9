// `kvscope bench models`: whole-model rates for each architecture on random checkpoints in HF's layout (tiny, or
// LLaVA-OneVision at its real 0.5B dims): load bytes/s, vision tower tokens/s, LM prefill tokens/s, decode
// tokens/s, and GPU memory (peak live bytes vs resident weights, KV cache bytes), each stage with its FLOP estimate.
//
// How the stages are timed (wall clock from the call to queue.onSubmittedWorkDone; the models record their own
// stages, so timestamp queries cannot bracket them; medians over --reps after --warmup untimed pairs):
//   LM prefill   = forward() on the same number of tokens, all text (image ids replaced by text ids): embedding +
//                  every decoder layer + the last row's logits — exactly the LM work of the image forward.
//   vision       = forward() with the image − that text-only forward (median of the per-rep differences; the two
//                  run back to back, text first): vision tower (with its host-side patch flattening) + projector /
//                  merger + packing + the scatter into the sequence.
//   decode       = generate(N) from the image forward's cache: N−1 one-token decoder steps (the first token comes
//                  from the prefill logits), each with its argmax readback; fewer if the random model emits EOS.
//   load         = loadModel() wall time (reading the safetensors + upload, until the queue is idle); bytes are
//                  the tensor bytes Weights read (LoadProgress.bytes).
//   memory       = BufferPool live bytes: resident after load (weights as stored on the GPU), peak during the
//                  forward + decode (resetPeak after load), and the KV cache of the forward.
//   dispatches   = compute dispatches recorded (gpu.stats, per stage label): vision = image − text-only forward,
//                  prefill = the text-only forward, split into decoder layers (each `decoder layer i` stage) and the
//                  rest (embedding, head); decode step = one token's forward + its argmax, split the same way.
//   roofline     = decode bytes per step (every decoder weight in its stored dtype, the LM head, one embedding row,
//                  K and V of every cached position read by attention) / decode step time, as a share of the
//                  adapter's storage-read bandwidth (read_peak of `bench roofline`, from its per-adapter cache;
//                  measured and cached once when absent).
import type { Gpu } from '../../src/gpu/device.ts';
import type { LlavaNextConfig, LlavaOnevisionConfig, ModelConfig, Qwen2_5VisionConfig, TextConfig } from '../../src/io/config.ts';
import type { RgbImage } from '../../src/io/rgbImage.ts';
import { checkpointLocation, readText } from '../../src/io/safetensors.ts';
import { llavaPackingSpec } from '../../src/models/llava.ts';
import { imagePackings } from '../../src/models/llava/packing.ts';
import type { ForwardResult, ModelInputs, MultimodalModel } from '../../src/models/model.ts';
import { llavaPreprocess } from '../../src/models/processor/llavaImageProcessor.ts';
import { type LlavaImageProcessorConfig, parsePreprocessorConfig, type QwenImageProcessorConfig } from '../../src/models/processor/preprocessorConfig.ts';
import { qwenPreprocess } from '../../src/models/processor/qwenImageProcessor.ts';
import { loadModel } from '../../src/models/registry.ts';
import { writeTinyLlavaNext, writeTinyLlavaOnevision } from '../../src/models/tiny/tinyLlava.ts';
import { writeTinyQwen2_5_vl } from '../../src/models/tiny/tinyQwen2_5_vl.ts';
import { featureHiddenStates, tokensPerTile } from '../../src/models/vision/vit.ts';
import { benchRuntime, type BenchRuntime } from './benchRow.ts';
import type { KvDType } from '../../src/capture/kvCache.ts';
import { checkActDType } from '../../src/models/lm/decoder.ts';
import type { ActDType } from '../../src/models/runState.ts';
import { median } from './timing.ts';
import { cachedRoofline, measureRoofline, type Roofline, ROOFLINE_CACHE } from './roofline.ts';
import { writeAdapterCache } from '../../src/gpu/adapterCache.ts';

export const BENCH_ARCHS = ['llava_onevision', 'llava_next', 'qwen2_5_vl'] as const;
export type BenchArch = (typeof BENCH_ARCHS)[number];
export type BenchDims = 'tiny' | 'real-0.5b';
export type BenchDType = 'F32' | 'F16' | 'BF16';

export interface ModelBenchOptions {
  dims?: BenchDims;
  arch?: readonly BenchArch[];
  dtype?: BenchDType;
  json?: boolean;
  /** Timed repetitions of load and of each forward (median); default 5 tiny, 1 real-0.5b. */
  reps?: number;
  /** New tokens to generate (default 16 tiny, 4 real-0.5b). */
  decode?: number;
  /** The test picture's height × width (default 84×112 tiny, 384×384 real-0.5b: 2 tiles for OneVision). */
  image?: readonly [number, number];
  /** Text tokens around the image (default 16 tiny, 8 real-0.5b). */
  textTokens?: number;
  /** Where checkpoints are written (default out/bench-models; real-0.5b is written once and reused). */
  cacheDir?: string;
  /** Untimed forward pairs before the timed ones (pipeline compilation, first allocations); default 1. */
  warmup?: number;
  /** real-0.5b only: run the first n LM layers and the first n vision layers (a config.json view over the shards). */
  layers?: number;
  /** KV cache dtype of every forward: f32 (default) or f16 (needs shader-f16). */
  kvDtype?: KvDType;
  /** Decoder activation dtype: f32 (default) or f16 (Decoder.actDtype). */
  actDtype?: ActDType;
  /**
   * The checkpoint of each architecture, already written (a directory or a URL): a browser tab cannot write one, so
   * `bench models --browser` writes them in Deno (benchCheckpoints) and serves them over HTTP.
   */
  checkpoints?: Partial<Record<BenchArch, string>>;
  /**
   * A checkpoint of the user's (e.g. `make-tiny --from` a hub folder at 7B/8B width, or a real download): its
   * architecture from config.json, run with the real-size defaults (1 rep, 4 decode steps, 384×384); the row names it.
   */
  model?: string;
}

export interface StageTime {
  tokens: number;
  median_ms: number;
  tokens_per_s: number;
  gflop: number;
  gflops: number;
}

export interface ModelBenchRow {
  arch: BenchArch;
  dims: BenchDims;
  /** The checkpoint given with --model (its folder name), when not a bench-written one. */
  model?: string;
  dtype: BenchDType;
  /** Layers run: LM decoder layers, vision tower layers (fewer than the checkpoint's with --layers). */
  layers: { lm: number; vision: number; cut: boolean };
  /** KV cache element type of the forwards and the decode. */
  kv_dtype: KvDType;
  /** Decoder activation dtype of the forwards and the decode. */
  act_dtype: ActDType;
  device: string;
  runtime: BenchRuntime;
  reps: number;
  image: { height: number; width: number };
  sequence: number;
  load: { bytes: number; median_s: number; bytes_per_s: number };
  vision: StageTime;
  prefill: StageTime;
  decode: StageTime & { steps: number };
  memory: { weight_file_bytes: number; resident_bytes: number; kv_cache_bytes: number; peak_live_bytes: number; leaked_bytes: number };
  dispatches: DispatchCounts;
  /** Decode against the bandwidth roofline; null figures when no step ran. */
  decode_roofline: {
    bytes_per_step: number;
    gb_per_s: number | null;
    read_peak_gb_per_s: number;
    share: number | null;
    /** Where read_peak came from: the `bench roofline` cache (with its date) or measured by this run. */
    source: string;
  };
}

/** Compute dispatches per stage of the bench (see the header); per_layer is the decoder layer stages' count. */
export interface DispatchCounts {
  vision: number;
  prefill: { total: number; per_layer: number; fixed: number; layers_equal: boolean };
  decode_step: { total: number; per_layer: number; fixed: number; layers_equal: boolean } | null;
}

// ---- FLOP estimates (multiply-adds count 2; norms, activations, RoPE and softmax left out) ----

/** One decoder layer's projections + gated MLP per token. */
function lmLayerLinearFlops(c: TextConfig): number {
  const q = c.num_attention_heads * c.head_dim, kv = c.num_key_value_heads * c.head_dim;
  return 2 * c.hidden_size * (q + 2 * kv) + 2 * q * c.hidden_size + 6 * c.hidden_size * c.intermediate_size;
}

/** Causal prefill of S tokens with the last row's logits: linears, QKᵀ and PV over S(S+1)/2 pairs, LM head once. */
export function lmPrefillFlops(c: TextConfig, s: number): number {
  const attn = 2 * 2 * c.num_attention_heads * c.head_dim * (s * (s + 1)) / 2;
  return c.num_hidden_layers * (s * lmLayerLinearFlops(c) + attn) + 2 * c.hidden_size * c.vocab_size;
}

/** One decode step at cache length `past` (attends to past + 1 keys), LM head included. */
export function lmDecodeStepFlops(c: TextConfig, past: number): number {
  return c.num_hidden_layers * (lmLayerLinearFlops(c) + 4 * c.num_attention_heads * c.head_dim * (past + 1)) + 2 * c.hidden_size * c.vocab_size;
}

/** LLaVA vision: patch conv, the ViT layers run (full attention within a tile), projector linear_1 + linear_2. */
export function llavaVisionFlops(cfg: LlavaOnevisionConfig | LlavaNextConfig, tiles: number): number {
  const v = cfg.vision_config, hv = v.hidden_size, n = tokensPerTile(v);
  const used = featureHiddenStates(cfg.vision_feature_layer, v.num_hidden_layers);
  const layers = Math.max(...used);
  const perLayer = n * (8 * hv * hv + 4 * hv * v.intermediate_size) + 4 * n * n * hv;
  const kept = n - (cfg.vision_feature_select_strategy === 'default' ? 1 : 0);
  const h = cfg.text_config.hidden_size;
  const projector = 2 * kept * (hv * used.length * h + h * h);
  return tiles * (2 * n * v.num_channels * v.patch_size ** 2 * hv + layers * perLayer + projector);
}

/**
 * Qwen2.5-VL vision: patch embed, blocks (qkv + proj, gated MLP; full-attention blocks over all P patches, window
 * blocks over windows of (window_size / patch)² patches — an upper bound at ragged edges), PatchMerger.
 */
export function qwenVisionFlops(v: Qwen2_5VisionConfig, patches: number): number {
  const hv = v.hidden_size;
  const window = Math.min(patches, (v.window_size / v.patch_size) ** 2);
  let blocks = 0;
  for (let i = 0; i < v.depth; i++) {
    const keys = v.fullatt_block_indexes.includes(i) ? patches : window;
    blocks += patches * (8 * hv * hv + 6 * hv * v.intermediate_size) + 4 * patches * keys * hv;
  }
  const mh = hv * v.spatial_merge_size ** 2, merged = patches / v.spatial_merge_size ** 2;
  const embed = 2 * patches * v.in_channels * v.temporal_patch_size * v.patch_size ** 2 * hv;
  return embed + blocks + 2 * merged * (mh * mh + mh * v.out_hidden_size);
}

/** Bytes per stored element of a checkpoint dtype (weights stay in it on the GPU). */
export function dtypeBytes(d: BenchDType): number {
  return d === 'F32' ? 4 : 2;
}

/**
 * Bytes one decode step at cache length `past` must read: every decoder layer's weights and biases, the final norm
 * and the LM head (`wBytes` per element), one embedding row, and K and V of the past + 1 positions of every layer
 * (`kvBytes` per element). Activations left out (a few rows of H).
 */
export function lmDecodeStepBytes(c: TextConfig, past: number, wBytes: number, kvBytes: number): number {
  const h = c.hidden_size, q = c.num_attention_heads * c.head_dim, kv = c.num_key_value_heads * c.head_dim, i = c.intermediate_size;
  const layer = h * (q + 2 * kv) + q * h + 3 * h * i + 2 * h + (c.qkv_bias ? q + 2 * kv : 0) + (c.o_bias ? h : 0) + (c.mlp_bias ? 2 * i + h : 0);
  const weights = c.num_hidden_layers * layer + c.vocab_size * h + 2 * h;
  return weights * wBytes + c.num_hidden_layers * 2 * kv * (past + 1) * kvBytes;
}

/** Dispatches of each `decoder layer i` stage in a per-stage count, and whether all layers had the same. */
function layerDispatches(byStage: Map<string, number>, layers: number): { per_layer: number; sum: number; layers_equal: boolean } {
  const counts = Array.from({ length: layers }, (_, l) => byStage.get(`decoder layer ${l}`) ?? 0);
  const sum = counts.reduce((a, b) => a + b, 0);
  return { per_layer: median(counts), sum, layers_equal: counts.every((n) => n === counts[0]) };
}

/** Run `fn` counting the dispatches it records, in all and per stage label. */
async function counted<T>(gpu: Gpu, fn: () => Promise<T>): Promise<{ value: T; total: number; byStage: Map<string, number> }> {
  const byStage = new Map<string, number>(), before = gpu.stats.dispatches, outer = gpu.stats.byStage;
  gpu.stats.byStage = byStage;
  try {
    const value = await fn();
    return { value, total: gpu.stats.dispatches - before, byStage };
  } finally {
    gpu.stats.byStage = outer;
  }
}

/** The adapter's bandwidth roofline: `bench roofline`'s cached figure, else measured now and cached. */
export async function benchRoofline(gpu: Gpu, log: (s: string) => void): Promise<{ roof: Roofline; source: string }> {
  const cached = cachedRoofline(gpu);
  if (cached) return { roof: cached, source: `bench roofline cache (measured ${cached.measured_at})` };
  log('no cached roofline for this adapter: measuring it once (`kvscope bench roofline`), then caching it');
  const roof = await measureRoofline(gpu);
  writeAdapterCache(gpu, ROOFLINE_CACHE, roof);
  return { roof, source: `measured by this run (${roof.measured_at}), now cached` };
}

// ---- inputs ----

/** A deterministic test picture: gradients and a checker, so tiles differ. */
export function benchPicture(height: number, width: number): RgbImage {
  const data = new Uint8Array(height * width * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      data[o] = (x * 255 / width) & 255;
      data[o + 1] = (y * 255 / height + ((x >> 3) + (y >> 3)) % 2 * 60) & 255;
      data[o + 2] = (x * y) & 255;
    }
  }
  return { width, height, data, source: `bench picture ${height}×${width}` };
}

/** Plain text ids well inside every tiny vocabulary and clear of the special ids. */
function textIds(n: number, from: number): number[] {
  return Array.from({ length: n }, (_, i) => 1000 + ((from + i) * 37) % 9000);
}

export interface BenchInputs {
  image: ModelInputs;
  /** The same length, all text. */
  text: ModelInputs;
  visionTokens: number;
  visionFlops: number;
}

/** HF forward inputs for one picture between two runs of text, via the checkpoint's own image processor. */
export async function benchInputs(dir: string, cfg: ModelConfig, picture: RgbImage, textTokens: number): Promise<BenchInputs> {
  const where = checkpointLocation(dir);
  const file = `${where.origin}/preprocessor_config.json`;
  const before = textIds(textTokens >> 1, 0), after = textIds(textTokens - (textTokens >> 1), textTokens);
  let inputIds: number[], special: Set<number>, image: ModelInputs, visionTokens: number, visionFlops: number;
  if (cfg.model_type === 'qwen2_5_vl') {
    const proc = parsePreprocessorConfig(await readText(where, 'preprocessor_config.json'), { file, assume: 'Qwen2VLImageProcessor' }) as QwenImageProcessorConfig;
    const p = qwenPreprocess(picture, proc);
    const [t, gh, gw] = p.gridThw, m = cfg.vision_config.spatial_merge_size;
    const pads = Array<number>((t * gh * gw) / (m * m)).fill(cfg.image_token_id);
    inputIds = [...before, cfg.vision_start_token_id, ...pads, cfg.vision_end_token_id, ...after];
    special = new Set([cfg.image_token_id, cfg.vision_start_token_id, cfg.vision_end_token_id]);
    image = { inputIds, pixelValues: p.pixelValues, imageGridThw: [p.gridThw] };
    visionTokens = t * gh * gw;
    visionFlops = qwenVisionFlops(cfg.vision_config, visionTokens);
  } else {
    const proc = parsePreprocessorConfig(await readText(where, 'preprocessor_config.json'), { file }) as LlavaImageProcessorConfig;
    const p = llavaPreprocess(picture, proc, { multiImage: false, visionPatchSize: cfg.vision_config.patch_size });
    const [packing] = imagePackings([p.imageSize], llavaPackingSpec(cfg, 1));
    inputIds = [...before, ...Array<number>(packing.tokens).fill(cfg.image_token_index), ...after];
    special = new Set([cfg.image_token_index]);
    image = { inputIds, pixelValues: p.pixelValues, imageSizes: [p.imageSize] };
    const tiles = p.pixelValues.shape[0];
    visionTokens = tiles * tokensPerTile(cfg.vision_config);
    visionFlops = llavaVisionFlops(cfg, tiles);
  }
  let k = 0;
  const text = { inputIds: inputIds.map((id) => (special.has(id) ? textIds(1, 5000 + k++)[0] : id)) };
  return { image, text, visionTokens, visionFlops };
}

// ---- checkpoints ----

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * The checkpoint directory for (arch, dims, dtype) under `cacheDir`, written when absent. A `.complete` marker is
 * written last, so an interrupted write is redone rather than half-read.
 */
export async function benchCheckpoint(arch: BenchArch, dims: BenchDims, dtype: BenchDType, cacheDir: string, log: (s: string) => void): Promise<string> {
  if (dims === 'real-0.5b' && arch !== 'llava_onevision') throw new Error(`bench models: --dims real-0.5b exists for llava_onevision only, not ${arch}`);
  const dir = `${cacheDir}/${arch}-${dims}-${dtype}`;
  if (await exists(`${dir}/.complete`)) return dir;
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  const t0 = performance.now();
  if (dims === 'real-0.5b') log(`writing the ${arch} real-0.5b ${dtype} checkpoint (~0.89 B random parameters) to ${dir} once; this takes minutes`);
  if (arch === 'llava_onevision') await writeTinyLlavaOnevision(dir, { seed: 7, dims, dtype });
  else if (arch === 'llava_next') await writeTinyLlavaNext(dir, { seed: 7, dtype });
  else await writeTinyQwen2_5_vl(dir, { seed: 7, dtype });
  await Deno.writeTextFile(`${dir}/.complete`, `${new Date().toISOString()}\n`);
  if (dims === 'real-0.5b') log(`checkpoint written in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  return dir;
}

/**
 * `${dir}-L${n}`: the same shards (symlinked) under a config.json that keeps the first n LM and vision layers, so
 * the model loads and runs only those (the other layers' tensors are never read).
 */
export async function layerCutCheckpoint(dir: string, n: number): Promise<string> {
  const cfg = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
  if (cfg.model_type !== 'llava_onevision' && cfg.model_type !== 'llava_next') throw new Error(`bench models: --layers works on LLaVA checkpoints, ${dir} is ${cfg.model_type}`);
  const lm = cfg.text_config.num_hidden_layers, vision = cfg.vision_config.num_hidden_layers;
  if (!(Number.isInteger(n) && n >= 1 && n <= Math.min(lm, vision))) throw new Error(`bench models: --layers ${n} must be an integer in 1..${Math.min(lm, vision)} (${dir}: ${lm} LM, ${vision} vision layers)`);
  const out = `${dir}-L${n}`;
  await Deno.remove(out, { recursive: true }).catch(() => {});
  await Deno.mkdir(out, { recursive: true });
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && e.name !== 'config.json' && e.name !== '.complete') await Deno.symlink(await Deno.realPath(`${dir}/${e.name}`), `${out}/${e.name}`);
  }
  cfg.text_config.num_hidden_layers = n;
  cfg.text_config.max_window_layers = Math.min(cfg.text_config.max_window_layers ?? n, n);
  cfg.vision_config.num_hidden_layers = n;
  await Deno.writeTextFile(`${out}/config.json`, JSON.stringify(cfg, null, 2));
  return out;
}

/** The checkpoint `bench models` runs for one architecture: written when absent, cut to --layers when asked. */
async function benchCheckpointDir(arch: BenchArch, o: { dims: BenchDims; dtype: BenchDType; cacheDir: string; layers: number }, log: (s: string) => void): Promise<string> {
  const full = await benchCheckpoint(arch, o.dims, o.dtype, o.cacheDir, log);
  return o.layers > 0 ? await layerCutCheckpoint(full, o.layers) : full;
}

// ---- timing ----

async function settle(gpu: Gpu): Promise<void> {
  await gpu.device.queue.onSubmittedWorkDone();
}

/** Wall ms of one forward until the queue is idle, and its result (the caller disposes it). */
async function timeForward(gpu: Gpu, model: MultimodalModel, inputs: ModelInputs, capacity: number): Promise<{ ms: number; result: ForwardResult }> {
  await settle(gpu);
  const t0 = performance.now();
  const result = await model.forward(inputs, { capacity, logits: 'last' });
  await settle(gpu);
  return { ms: performance.now() - t0, result };
}

function stage(tokens: number, ms: number, flops: number): StageTime {
  return { tokens, median_ms: ms, tokens_per_s: ms > 0 ? tokens / (ms / 1000) : Infinity, gflop: flops / 1e9, gflops: ms > 0 ? flops / 1e6 / ms : Infinity };
}

/** Bench one architecture: load (reps), text-only and image forwards (warm-up + reps, interleaved), decode once. */
async function benchOne(gpu: Gpu, arch: BenchArch, opts: Required<Omit<ModelBenchOptions, 'arch' | 'json'>>, roofline: { roof: Roofline; source: string }, log: (s: string) => void): Promise<ModelBenchRow> {
  const real = opts.dims === 'real-0.5b' || !!opts.model;
  const dir = opts.checkpoints[arch] ?? await benchCheckpointDir(arch, opts, log);
  const pool = gpu.pool;
  const live0 = pool.liveBytes;

  // load: reps loads, the last one is kept
  const loadTimes: number[] = [];
  let bytes = 0;
  let model: MultimodalModel | null = null;
  for (let r = 0; r < opts.reps; r++) {
    model?.dispose();
    await settle(gpu);
    const t0 = performance.now();
    model = await loadModel(gpu, dir, { onProgress: (p) => (bytes = p.bytes) });
    await settle(gpu);
    loadTimes.push((performance.now() - t0) / 1000);
    if (real) log(`loaded ${(bytes / 1e9).toFixed(2)} GB in ${loadTimes[r].toFixed(1)} s`);
  }
  const m = model!;
  m.kvDtype = opts.kvDtype;
  m.actDtype = opts.actDtype;
  try {
    const resident = pool.liveBytes - live0;
    const picture = benchPicture(opts.image[0], opts.image[1]);
    const inp = await benchInputs(dir, m.config, picture, opts.textTokens);
    const s = inp.image.inputIds.length;
    const capacity = s + opts.decode + 1;
    const text = m.config.text_config;
    if (real) {
      const total = lmPrefillFlops(text, s) * 2 + inp.visionFlops;
      log(`sequence ${s} tokens (${inp.visionTokens} vision tokens): ~${(total / 1e9).toFixed(0)} GFLOP for one text-only + one image forward ` +
        `(a software adapter at ~10 GFLOP/s: ~${(total / 1e10 / 60).toFixed(0)} min)`);
    }
    pool.resetPeak();
    // warm-up pairs first (pipeline compilation, first allocations); in each pair text-only runs first
    const warm = opts.warmup;
    const textMs: number[] = [], imageMs: number[] = [];
    let last: ForwardResult | null = null;
    let textCount: Awaited<ReturnType<typeof counted>> | null = null, imageCount = 0;
    for (let r = 0; r < warm + opts.reps; r++) {
      const tc = await counted(gpu, () => timeForward(gpu, m, inp.text, capacity));
      const t = tc.value;
      textCount = tc;
      t.result.dispose();
      if (real) log(`text-only forward ${(t.ms / 1000).toFixed(1)} s`);
      const ic = await counted(gpu, () => timeForward(gpu, m, inp.image, capacity));
      const i = ic.value;
      imageCount = ic.total;
      if (real) log(`image forward ${(i.ms / 1000).toFixed(1)} s`);
      if (last) last.dispose();
      last = i.result;
      if (r >= warm) {
        textMs.push(t.ms);
        imageMs.push(i.ms);
      }
    }
    const kvBytes = last!.cache.byteLength;
    // decode from the last image forward's cache
    await settle(gpu);
    const t0 = performance.now();
    const gen = await counted(gpu, () => m.generate(last!, opts.decode));
    const tokens = gen.value;
    await settle(gpu);
    const decodeMs = performance.now() - t0;
    const steps = Math.max(tokens.length - 1, 0);
    let decodeFlops = 0, decodeBytes = 0;
    const kvElem = m.kvDtype === 'f16' ? 2 : 4;
    for (let k = 0; k < steps; k++) {
      decodeFlops += lmDecodeStepFlops(text, s + k);
      decodeBytes += lmDecodeStepBytes(text, s + k, dtypeBytes(opts.dtype), kvElem);
    }
    // dispatches: the prefill's decoder layer stages vs the rest; a decode step = one token's forward + its argmax
    // (generate runs tokens.length argmaxes, the first on the prefill's logits, and `steps` forwards)
    const L = text.num_hidden_layers;
    const pl = layerDispatches(textCount!.byStage, L);
    const argmaxEach = tokens.length ? (gen.byStage.get('greedy argmax') ?? 0) / tokens.length : 0;
    let decodeStep: DispatchCounts['decode_step'] = null;
    if (steps > 0) {
      const dl = layerDispatches(gen.byStage, L);
      const total = (gen.total - argmaxEach) / steps;
      decodeStep = { total, per_layer: dl.per_layer / steps, fixed: total - dl.sum / steps, layers_equal: dl.layers_equal };
    }
    const dispatches: DispatchCounts = {
      vision: imageCount - textCount!.total,
      prefill: { total: textCount!.total, per_layer: pl.per_layer, fixed: textCount!.total - pl.sum, layers_equal: pl.layers_equal },
      decode_step: decodeStep,
    };
    const readPeak = roofline.roof.read_peak;
    const decodeGbs = steps > 0 && decodeMs > 0 ? decodeBytes / decodeMs / 1e6 : null;
    last!.dispose();
    const peak = pool.peakBytes;

    const prefillMs = median(textMs);
    // paired (same rep, back to back) differences; ≤ 0 means vision is below the timing noise
    const visionMs = Math.max(median(imageMs.map((t, r) => t - textMs[r])), 0);
    const loadS = median(loadTimes);
    m.dispose();
    model = null;
    const leaked = pool.liveBytes - live0;
    pool.trim();
    const vcfg = m.config.vision_config;
    const layers = { lm: text.num_hidden_layers, vision: 'depth' in vcfg ? vcfg.depth : vcfg.num_hidden_layers, cut: opts.layers > 0 };
    return {
      arch, dims: opts.dims, ...(opts.model ? { model: opts.model.replace(/\/+$/, '').split('/').pop() } : {}), dtype: opts.dtype, layers, kv_dtype: m.kvDtype, act_dtype: m.actDtype, device: gpu.describe(), runtime: benchRuntime(), reps: opts.reps,
      image: { height: picture.height, width: picture.width }, sequence: s,
      load: { bytes, median_s: loadS, bytes_per_s: bytes / loadS },
      vision: stage(inp.visionTokens, visionMs, inp.visionFlops),
      prefill: stage(s, prefillMs, lmPrefillFlops(text, s)),
      decode: { ...stage(steps, decodeMs, decodeFlops), steps },
      memory: { weight_file_bytes: bytes, resident_bytes: resident, kv_cache_bytes: kvBytes, peak_live_bytes: peak, leaked_bytes: leaked },
      dispatches,
      decode_roofline: {
        bytes_per_step: steps > 0 ? decodeBytes / steps : lmDecodeStepBytes(text, s, dtypeBytes(opts.dtype), kvElem),
        gb_per_s: decodeGbs, read_peak_gb_per_s: readPeak, share: decodeGbs === null ? null : decodeGbs / readPeak, source: roofline.source,
      },
    };
  } finally {
    model?.dispose();
  }
}

// ---- report ----

function mib(b: number): string {
  return (b / 2 ** 20).toFixed(b < 2 ** 24 ? 2 : 0);
}

function rate(x: number): string {
  if (!Number.isFinite(x)) return '—';
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

function dimsText(r: ModelBenchRow): string {
  return `${r.model ?? r.dims}${r.layers.cut ? ` (${r.layers.lm} LM + ${r.layers.vision} vision layers)` : ''}/${r.dtype}${r.kv_dtype === 'f16' ? ' kv f16' : ''}${r.act_dtype === 'f16' ? ' act f16' : ''}`;
}

/** Rows as two fixed-width tables: rates (with FLOP estimates) and memory. */
export function modelBenchTable(rows: readonly ModelBenchRow[]): string {
  const table = (head: string[], body: string[][]) => {
    const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
    const line = (cells: string[]) => cells.map((c, i) => (i >= 3 ? c.padStart(w[i]) : c.padEnd(w[i]))).join('  ');
    return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...body.map(line)].join('\n');
  };
  const rates = table(
    ['model', 'runtime', 'dims/dtype', 'load MB/s', 'vision tok', 'vision ms', 'vision tok/s', 'vision GFLOP', 'GFLOP/s', 'prefill tok', 'prefill ms', 'prefill tok/s', 'prefill GFLOP', 'GFLOP/s', 'decode tok/s', 'steps'],
    rows.map((r) => [
      r.arch, r.runtime, dimsText(r), rate(r.load.bytes_per_s / 1e6),
      String(r.vision.tokens), r.vision.median_ms.toFixed(1), rate(r.vision.tokens_per_s), r.vision.gflop.toFixed(3), rate(r.vision.gflops),
      String(r.prefill.tokens), r.prefill.median_ms.toFixed(1), rate(r.prefill.tokens_per_s), r.prefill.gflop.toFixed(3), rate(r.prefill.gflops),
      rate(r.decode.tokens_per_s), String(r.decode.steps),
    ]),
  );
  const memory = table(
    ['model', 'runtime', 'dims/dtype', 'weights MiB', 'resident MiB', 'KV cache MiB', 'peak live MiB', 'peak/weights', 'leaked B'],
    rows.map((r) => [
      r.arch, r.runtime, dimsText(r), mib(r.memory.weight_file_bytes), mib(r.memory.resident_bytes), mib(r.memory.kv_cache_bytes),
      mib(r.memory.peak_live_bytes), `${(r.memory.peak_live_bytes / r.memory.weight_file_bytes).toFixed(2)}×`, String(r.memory.leaked_bytes),
    ]),
  );
  const n = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(1));
  const uneven = (e: boolean) => (e ? '' : '*');
  const work = table(
    ['model', 'runtime', 'dims/dtype', 'vision disp', 'prefill disp', '/layer', 'fixed', 'decode disp/step', '/layer', 'fixed', 'decode MB/step', 'decode GB/s', 'read peak GB/s', '% roofline'],
    rows.map((r) => {
      const p = r.dispatches.prefill, d = r.dispatches.decode_step, f = r.decode_roofline;
      return [
        r.arch, r.runtime, dimsText(r), n(r.dispatches.vision), n(p.total), n(p.per_layer) + uneven(p.layers_equal), n(p.fixed),
        d ? n(d.total) : '—', d ? n(d.per_layer) + uneven(d.layers_equal) : '—', d ? n(d.fixed) : '—',
        (f.bytes_per_step / 1e6).toFixed(2), f.gb_per_s === null ? '—' : rate(f.gb_per_s), rate(f.read_peak_gb_per_s), f.share === null ? '—' : `${(100 * f.share).toFixed(1)}%`,
      ];
    }),
  );
  return `${rates}\n\n${memory}\n\n${work}`;
}

/** The architectures a run covers: --arch, else all three (tiny) or OneVision (real-0.5b). */
function benchArchs(opts: ModelBenchOptions): BenchArch[] {
  const archs = opts.arch?.length ? [...opts.arch] : opts.dims === 'real-0.5b' ? ['llava_onevision' as const] : [...BENCH_ARCHS];
  for (const a of archs) if (!(BENCH_ARCHS as readonly string[]).includes(a)) throw new Error(`bench models: --arch ${a} is not one of ${BENCH_ARCHS.join(', ')}`);
  return archs;
}

/** --model DIR: its architecture (config.json model_type) and the checkpoint map pointing at it, cut to --layers. */
async function givenCheckpoint(opts: ModelBenchOptions): Promise<Pick<ModelBenchOptions, 'arch' | 'checkpoints' | 'dtype'>> {
  const dir = opts.model!;
  let cfg: { model_type?: unknown; torch_dtype?: unknown; dtype?: unknown };
  try {
    cfg = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
  } catch (e) {
    throw new Error(`bench models --model: ${dir}/config.json: ${(e as Error).message}`);
  }
  const arch = cfg.model_type as BenchArch;
  if (!(BENCH_ARCHS as readonly unknown[]).includes(arch)) throw new Error(`bench models --model: ${dir}/config.json model_type ${JSON.stringify(cfg.model_type)} is not one of ${BENCH_ARCHS.join(', ')}`);
  if (opts.arch?.length && !opts.arch.includes(arch)) throw new Error(`bench models: --arch ${opts.arch.join(',')} does not include ${dir}'s ${arch}`);
  // the row's dtype label: what config.json says the weights were saved in
  const saved = ({ float32: 'F32', float16: 'F16', bfloat16: 'BF16' } as Record<string, BenchDType>)[String(cfg.torch_dtype ?? cfg.dtype)];
  return { arch: [arch], checkpoints: { [arch]: opts.layers ? await layerCutCheckpoint(dir, opts.layers) : dir }, ...(saved ? { dtype: saved } : {}) };
}

/** Write (when absent) the checkpoints a run with these options reads, for a runtime that cannot write them (a tab). */
export async function benchCheckpoints(opts: ModelBenchOptions): Promise<Partial<Record<BenchArch, string>>> {
  if (opts.model) return (await givenCheckpoint(opts)).checkpoints!;
  const o = { dims: opts.dims ?? 'tiny', dtype: opts.dtype ?? 'F16', cacheDir: opts.cacheDir ?? 'out/bench-models', layers: opts.layers ?? 0 };
  const out: Partial<Record<BenchArch, string>> = {};
  for (const arch of benchArchs(opts)) out[arch] = await benchCheckpointDir(arch, o, (s) => console.error(`bench models: ${s}`));
  return out;
}

/** Run the model benchmark and print the table (or one JSON object per line). */
export async function benchModels(gpu: Gpu, opts: ModelBenchOptions = {}): Promise<ModelBenchRow[]> {
  const dims = opts.dims ?? 'tiny', real = dims === 'real-0.5b' || !!opts.model;
  if (dims !== 'tiny' && dims !== 'real-0.5b') throw new Error(`bench models: --dims ${dims} is not one of tiny, real-0.5b`);
  if (opts.model) opts = { ...opts, ...await givenCheckpoint(opts) };
  if (opts.dtype !== undefined && !['F32', 'F16', 'BF16'].includes(opts.dtype)) throw new Error(`bench models: --dtype ${opts.dtype} is not one of F32, F16, BF16`);
  if (opts.image && !(opts.image.length === 2 && opts.image.every((v) => Number.isInteger(v) && v > 0))) {
    throw new Error(`bench models: --image wants HxW in pixels (e.g. 84x112), got ${opts.image.join('x')}`);
  }
  const archs = benchArchs(opts);
  const full = {
    dims, dtype: opts.dtype ?? 'F16', reps: opts.reps ?? (real ? 1 : 5), decode: opts.decode ?? (real ? 4 : 16),
    image: opts.image ?? (real ? [384, 384] as const : [84, 112] as const), textTokens: opts.textTokens ?? (real ? 8 : 16),
    cacheDir: opts.cacheDir ?? 'out/bench-models', layers: opts.layers ?? 0, warmup: opts.warmup ?? 1, kvDtype: opts.kvDtype ?? 'f32', actDtype: checkActDType(opts.actDtype ?? 'f32', 'bench models: --act-dtype'), checkpoints: opts.checkpoints ?? {}, model: opts.model ?? '',
  };
  if (!(Number.isInteger(full.warmup) && full.warmup >= 0)) throw new Error(`bench models: --warmup must be an integer ≥ 0, got ${full.warmup}`);
  if (full.layers && !real) throw new Error('bench models: --layers is for --dims real-0.5b (the tiny models have 2–4 layers)');
  if (!(full.reps >= 1 && Number.isInteger(full.reps))) throw new Error(`bench models: --reps must be an integer ≥ 1, got ${full.reps}`);
  const log = (s: string) => console.error(`bench models: ${s}`);
  const say = (s: string) => { if (!opts.json) console.log(s); };
  say(`device: ${gpu.describe()}; runtime: ${benchRuntime()}; timing: wall clock to queue idle (the models record their own stages); medians of ${full.reps} rep(s)` +
    ` after ${full.warmup} warm-up forward pair(s)`);
  say(`inputs: ${full.image[0]}×${full.image[1]} picture through the checkpoint's image processor, ${full.textTokens} text tokens around it; decode ${full.decode} new tokens`);
  if (real && /llvmpipe|swiftshader|lavapipe|software/i.test(gpu.describe())) {
    log(`software adapter (${gpu.describe()}): the real-0.5b run takes many minutes (checkpoint write, ~1.8 GB load, minutes per forward)`);
  }
  const roofline = await benchRoofline(gpu, log);
  say(`bandwidth roofline: ${roofline.roof.read_peak.toFixed(1)} GB/s storage read (read_peak; ${roofline.source})`);
  const rows: ModelBenchRow[] = [];
  for (const arch of archs) {
    const row = await benchOne(gpu, arch, full, roofline, log);
    rows.push(row);
    if (opts.json) console.log(JSON.stringify(row));
  }
  if (!opts.json) {
    console.log(modelBenchTable(rows));
    console.log('vision = image forward − text-only forward of the same length (tower + projector/merger + packing + scatter); ' +
      'prefill = text-only forward (embedding + decoder + last-row logits); decode = (N−1) one-token steps after the prefill token; ' +
      'GFLOP are estimates (2 per multiply-add; norms/activations/softmax left out); ' +
      'disp = compute dispatches (prefill = layers × /layer + fixed; * = decoder layers differ, median shown); ' +
      'decode MB/step = weights in their stored dtype + LM head + K/V read, over the decode step time vs the cached bench roofline read_peak');
    for (const r of rows) if (r.memory.leaked_bytes !== 0) console.log(`note: ${r.arch}: ${r.memory.leaked_bytes} bytes still live after dispose`);
  }
  return rows;
}
