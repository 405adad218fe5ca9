// features() end to end on tiny random checkpoints (Qwen2.5-VL and LLaVA-OneVision): every map is checked, cell by
// cell, against a host gather from the read-back cache / tap tensors at sequence positions this file derives itself
// from the packing conventions (Qwen: raster over the merged grid; OneVision: base p×p raster, then the unpadded grid
// row by row, each row followed by a newline), not from features.ts's own cell table. Cache and row-tap gathers are
// copies, so they must be bit-exact. The row taps are also tied to the cache through the weights (host float64):
// V_{l+1} = v_proj(RMSNorm(lm.layers.{l}.out)), K_pre_l = k_proj(RMSNorm(·)), K_l = RoPE(K_pre_l) at the token's
// position (OneVision, 1D RoPE), projector.out = merger(vision.out's 2×2 patches) (Qwen) / MLP(vision.out) (LLaVA);
// those agree normwise within REL. Also: heads subsets, validity and rects, a cell without a token, OneVision
// main and base grids with newlines never appearing, two images in one prompt, a text prefix, the errors.
import { acquireGpu } from '../../src/gpu/device.ts';
import type { Tensor } from '../../src/gpu/tensor.ts';
import type { LlavaOnevisionConfig, Qwen2_5VLConfig, TextConfig } from '../../src/io/config.ts';
import type { RgbImage } from '../../src/io/rgbImage.ts';
import { openCheckpoint } from '../../src/io/safetensors.ts';
import { type FeatureMap, features } from '../../src/capture/features.ts';
import { pixelCells } from '../../src/capture/gridPixels.ts';
import { canonicalTap, parseTap, planTaps, SHORT_TAPS, type TapName, tapName } from '../../src/capture/taps.ts';
import type { ImageSpan } from '../../src/capture/spans.ts';
import type { ForwardResult } from '../../src/models/model.ts';
import { loadModel } from '../../src/models/registry.ts';
import { WeightRng } from '../../src/models/tiny/randomWeights.ts';
import { writeTinyLlavaOnevision } from '../../src/models/tiny/tinyLlava.ts';
import { writeTinyQwen2_5_vl } from '../../src/models/tiny/tinyQwen2_5_vl.ts';
import { Weights } from '../../src/models/weights.ts';
import { activation } from '../../src/ops/ref/activation.ts';
import { type HostTensor, hostTensor } from '../../src/gpu/hostTensor.ts';
import { matmul } from '../../src/ops/ref/matmul.ts';
import { rmsNorm } from '../../src/ops/ref/norm.ts';
import { rope } from '../../src/ops/ref/rope.ts';
import { assert, assertEquals, assertRejects, assertThrows, normwiseError } from '../gpu/assert.ts';

const gpu = await acquireGpu();
gpu.poisonNewTensors = true; // a cell the gather leaves unwritten reads as NaN
const opts = { sanitizeResources: false, sanitizeOps: false };
const tmp = await Deno.makeTempDir({ prefix: 'kvscope-features-' });
globalThis.addEventListener('unload', () => Deno.removeSync(tmp, { recursive: true }));

// GPU f32 forward vs float64 host recomputation of one matmul/norm step from gathered features, normwise per map:
// max |got − want| ≤ REL · max |want|. Measured on llvmpipe (printed): ≤ 3e-7; REL leaves > 10×.
const REL = 1e-5;
const worst = new Map<string, number>();

const qDir = `${tmp}/qwen`, lDir = `${tmp}/onevision`;
const qCfg = await writeTinyQwen2_5_vl(qDir, { seed: 31 }) as Qwen2_5VLConfig;
const lCfg = await writeTinyLlavaOnevision(lDir, { seed: 32 }) as LlavaOnevisionConfig;
const qwen = await loadModel(gpu, qDir), llava = await loadModel(gpu, lDir);
const qW = new Weights(await openCheckpoint(qDir, 'qwen2_5_vl')), lW = new Weights(await openCheckpoint(lDir, 'llava_onevision'));
const P = Math.floor(lCfg.vision_config.image_size / lCfg.vision_config.patch_size); // OneVision patches per tile side
const Q_IMAGE = 151655, L_IMAGE = lCfg.image_token_index;

/** A deterministic picture (gradients + noise) so every token differs. */
function picture(width: number, height: number, seed: number): RgbImage {
  const rng = new WeightRng(seed);
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    const x = i % width, y = Math.floor(i / width);
    data[i * 3] = (x * 255 / width + 50 * rng.uniform()) & 255;
    data[i * 3 + 1] = (y * 255 / height + 50 * rng.uniform()) & 255;
    data[i * 3 + 2] = (x * y + 80 * rng.uniform()) & 255;
  }
  return { width, height, data, source: `picture ${width}×${height}` };
}

function dispose(r: ForwardResult): void {
  for (const t of new Set(r.taps.values())) t.dispose();
  r.cache.dispose();
  r.logits.dispose();
}

/** Expected sequence position of every cell (row-major), −1 where no token. */
type Layout = { rows: number; cols: number; pos: number[] };
function layout(rows: number, cols: number, at: (r: number, c: number) => number): Layout {
  return { rows, cols, pos: Array.from({ length: rows * cols }, (_, i) => at(Math.floor(i / cols), i % cols)) };
}
const qwenMain = (s: ImageSpan) => layout(s.grid.rows, s.grid.cols, (r, c) => s.start + r * s.grid.cols + c);
const llavaBase = (s: ImageSpan) => layout(P, P, (r, c) => s.start + r * P + c);
/** OneVision anyres: after the p×p base tile, grid rows of `cols` tokens each followed by one newline. */
const llavaMain = (s: ImageSpan) => layout(s.grid.rows, s.grid.cols, (r, c) => s.start + P * P + r * (s.grid.cols + 1) + c);

/** Host gather from cache layer data [kvHeads, length, d]: cell c = heads' rows at pos[c] concatenated. */
function gatherCache(data: Float32Array, kvHeads: number, length: number, d: number, pos: number[], heads: number[]): Float32Array {
  const out = new Float32Array(pos.length * heads.length * d);
  pos.forEach((p, c) => {
    if (p < 0) return;
    heads.forEach((h, j) => out.set(data.subarray((h * length + p) * d, (h * length + p + 1) * d), (c * heads.length + j) * d));
  });
  return out;
}

/** Host gather of rows of a [rows, dim] tensor. */
function gatherRows(data: Float32Array, dim: number, rows: number[]): Float32Array {
  const out = new Float32Array(rows.length * dim);
  rows.forEach((p, c) => p >= 0 && out.set(data.subarray(p * dim, (p + 1) * dim), c * dim));
  return out;
}

function exact(got: Float32Array, want: Float32Array, what: string): void {
  assertEquals(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i])) throw new Error(`${what}: element ${i} (cell ${Math.floor(i / (want.length / got.length))}) is ${got[i]}, want ${want[i]}`);
  }
}

function close(got: ArrayLike<number>, want: ArrayLike<number>, what: string, group: string): void {
  const e = normwiseError(got, want, what);
  worst.set(group, Math.max(worst.get(group) ?? 0, e));
  assert(e <= REL, `${what}: normwise error ${e.toExponential(2)} > ${REL}`);
}

async function read(fm: FeatureMap): Promise<Float32Array> {
  return (await fm.features.read()) as Float32Array;
}

/** features(), checked for shape and validity against the expected layout; the map's host data. */
async function mapOf(res: ForwardResult, req: Parameters<typeof features>[1], want: Layout, dim: number): Promise<{ fm: FeatureMap; data: Float32Array }> {
  const fm = await features(res, req);
  const what = `${req.tap} image ${req.image ?? 0} ${req.grid ?? 'main'}`;
  assertEquals([fm.rows, fm.cols, fm.dim], [want.rows, want.cols, dim], `${what}: rows, cols, dim`);
  assertEquals(fm.features.shape, [want.rows, want.cols, dim], `${what}: tensor shape`);
  assertEquals([...fm.valid], want.pos.map((p) => (p < 0 ? 0 : 1)), `${what}: validity`);
  return { fm, data: await read(fm) };
}

/** Every cache tap (K and V, every layer, all heads and subsets) of one image against the host gather. */
async function checkCache(res: ForwardResult, image: number, grid: 'main' | 'base', want: Layout, ids: number, cfg: TextConfig): Promise<void> {
  const kvH = cfg.num_key_value_heads, d = cfg.head_dim;
  for (const p of want.pos) if (p >= 0) assertEquals(res.inputIds[p], ids, `position ${p} holds an image token`);
  for (let l = 0; l < cfg.num_hidden_layers; l++) {
    for (const [which, suffix] of [['key', 'k'], ['value', 'v']] as const) {
      const host = await res.cache.readLayer(l, which);
      for (const heads of [undefined, [1], [1, 0]]) {
        const sel = heads ?? Array.from({ length: kvH }, (_, h) => h);
        const { fm, data } = await mapOf(res, { tap: `lm.layers.${l}.attn.${suffix}`, image, grid, heads }, want, sel.length * d);
        exact(data, gatherCache(host, kvH, res.cache.length, d, want.pos, sel), `${fm.tap} heads ${sel} image ${image} ${grid}`);
        fm.dispose();
      }
    }
  }
}

/** Row tap at the expected positions (bit-exact). */
async function checkRows(res: ForwardResult, tap: TapName, image: number, grid: 'main' | 'base', want: Layout, rowOf = (p: number) => p): Promise<Float32Array> {
  const t = res.taps.get(tap)!;
  const { fm, data } = await mapOf(res, { tap, image, grid }, want, t.shape[1]);
  exact(data, gatherRows((await t.read()) as Float32Array, t.shape[1], want.pos.map((p) => (p < 0 ? -1 : rowOf(p)))), `${tap} image ${image} ${grid}`);
  fm.dispose();
  return data;
}

/** y = W·RMSNorm(x; layer's input_layernorm) + b for rows x [cells, H] (host float64). */
async function projectRows(w: Weights, cfg: TextConfig, x: Float32Array, layer: number, proj: 'k_proj' | 'v_proj'): Promise<HostTensor> {
  const pre = `model.language_model.layers.${layer}.`;
  const xn = rmsNorm(hostTensor([x.length / cfg.hidden_size, cfg.hidden_size], x), await w.host(`${pre}input_layernorm.weight`), cfg.rms_norm_eps);
  return matmul(xn, await w.host(`${pre}self_attn.${proj}.weight`), { bias: cfg.qkv_bias ? await w.host(`${pre}self_attn.${proj}.bias`) : undefined });
}

/** The cache/row-tap maps of one image, tied through the weights: rows (image tokens' LM input, layer outputs) → K pre-RoPE and V. */
async function checkChain(res: ForwardResult, w: Weights, cfg: TextConfig, image: number, grid: 'main' | 'base', want: Layout, what: string): Promise<void> {
  const L = cfg.num_hidden_layers;
  // row-tap maps: projector.out is the image tokens' LM input, lm.layers.{l}.out the input of layer l + 1
  const before = res.spans.images.slice(0, image).reduce((a, s) => a + s.length, 0);
  const start = res.spans.images[image].start;
  const inputs = [await checkRows(res, 'projector.out', image, grid, want, (p) => before + p - start)];
  for (let l = 0; l < L - 1; l++) inputs.push(await checkRows(res, `lm.layers.${l}.out`, image, grid, want));
  for (let l = 0; l < L; l++) {
    const pre = await checkRows(res, `lm.layers.${l}.attn.k_pre_rope`, image, grid, want);
    close(pre, (await projectRows(w, cfg, inputs[l], l, 'k_proj')).data, `${what}: k_pre_rope ${l} = k_proj(RMSNorm(input of layer ${l}))`, 'k_pre_rope from rows');
    const v = await features(res, { tap: `lm.layers.${l}.attn.v`, image, grid });
    close(await read(v), (await projectRows(w, cfg, inputs[l], l, 'v_proj')).data, `${what}: V ${l} = v_proj(RMSNorm(input of layer ${l}))`, 'V from rows');
    v.dispose();
    if (!cfg.mrope_section) {
      // 1D RoPE at the token's sequence position: K_l = RoPE(K_pre_l)
      const cells = want.pos.length, kvH = cfg.num_key_value_heads, d = cfg.head_dim;
      const rotated = rope(hostTensor([cells, kvH, d], pre), hostTensor([cells], want.pos), { theta: cfg.rope_theta });
      const k = await features(res, { tap: `lm.layers.${l}.attn.k`, image, grid });
      close(await read(k), rotated.data, `${what}: K ${l} = RoPE(k_pre_rope ${l}) at the cells' positions`, 'K = RoPE(K pre)');
      k.dispose();
    }
  }
}

const ALL_ROW_TAPS = (cfg: TextConfig): TapName[] => ['projector.out', 'vision.out', ...Array.from({ length: cfg.num_hidden_layers }, (_, l) => [`lm.layers.${l}.out`, `lm.layers.${l}.attn.k_pre_rope`] as TapName[]).flat()];

/** Qwen merger on a [2R, 2C, Hv] patch map: per merged cell RMSNorm each of its 2×2 patches, concatenate, Lin → GELU → Lin. */
async function qwenMerger(vis: Float32Array, R: number, C: number, hv: number): Promise<HostTensor> {
  const p = 'model.visual.merger.';
  const x = hostTensor([R * C * 4, hv]);
  for (let r = 0; r < R; r++) {
    for (let c = 0; c < C; c++) {
      [[0, 0], [0, 1], [1, 0], [1, 1]].forEach(([dr, dc], k) => {
        const src = ((2 * r + dr) * 2 * C + 2 * c + dc) * hv;
        for (let e = 0; e < hv; e++) x.data[((r * C + c) * 4 + k) * hv + e] = vis[src + e];
      });
    }
  }
  const xn = rmsNorm(x, await qW.host(`${p}ln_q.weight`), 1e-6);
  const grouped: HostTensor = { shape: [R * C, 4 * hv], data: xn.data };
  const h = activation('gelu', matmul(grouped, await qW.host(`${p}mlp.0.weight`), { bias: await qW.host(`${p}mlp.0.bias`) }));
  return matmul(h, await qW.host(`${p}mlp.2.weight`), { bias: await qW.host(`${p}mlp.2.bias`) });
}

/** LLaVA projector linear_2(gelu(linear_1(x))) on rows [n, Hv]. */
async function llavaProjector(x: Float32Array): Promise<HostTensor> {
  const p = 'model.multi_modal_projector.';
  const hv = lCfg.vision_config.hidden_size;
  const h = activation('gelu', matmul(hostTensor([x.length / hv, hv], x), await lW.host(`${p}linear_1.weight`), { bias: await lW.host(`${p}linear_1.bias`) }));
  return matmul(h, await lW.host(`${p}linear_2.weight`), { bias: await lW.host(`${p}linear_2.bias`) });
}

/** Qwen vision.out on the patch grid (2× the merged grid), checked: patch rows raster per image, rects quartering the token rects, merger = projector.out. */
async function checkQwenVision(res: ForwardResult, image: number): Promise<void> {
  const s = res.spans.images[image], R = s.grid.rows, C = s.grid.cols, hv = qCfg.vision_config.hidden_size;
  const patchesBefore = res.spans.images.slice(0, image).reduce((a, x) => a + 4 * x.grid.rows * x.grid.cols, 0);
  const want = layout(2 * R, 2 * C, (r, c) => patchesBefore + r * 2 * C + c);
  const { fm, data } = await mapOf(res, { tap: 'vision.out', image }, want, hv);
  exact(data, gatherRows((await res.taps.get('vision.out')!.read()) as Float32Array, hv, want.pos), `vision.out image ${image}`);
  for (let r = 0; r < 2 * R; r++) {
    for (let c = 0; c < 2 * C; c++) {
      const [x0, y0, x1, y1] = s.tokens[(r >> 1) * C + (c >> 1)].rect;
      const hx = (x1 - x0) / 2, hy = (y1 - y0) / 2;
      const wantRect = [x0 + (c & 1) * hx, y0 + (r & 1) * hy, x0 + ((c & 1) + 1) * hx, y0 + ((r & 1) + 1) * hy].map(Math.fround);
      assertEquals([...fm.rects.subarray((r * 2 * C + c) * 4, (r * 2 * C + c + 1) * 4)], wantRect, `vision.out image ${image} rect (${r}, ${c})`);
    }
  }
  const proj = await features(res, { tap: 'projector.out', image });
  close(await read(proj), (await qwenMerger(data, R, C, hv)).data, `image ${image}: merger(vision.out 2×2 patches) = projector.out`, 'projector from vision');
  proj.dispose();
  fm.dispose();
}

Deno.test({ name: 'features: Qwen2.5-VL cache and row taps on a non-square image equal host gathers at the raster token positions', ...opts, fn: async () => {
  // 84 wide × 112 tall: smart_resize keeps it; 8×6 patches → 4×3 merged tokens, each a 28-px square
  const res = await qwen.prefill({ images: [picture(84, 112, 1)], prompt: 'Describe it.', taps: ALL_ROW_TAPS(qCfg.text_config) });
  try {
    const s = res.spans.images[0];
    assertEquals([s.grid.rows, s.grid.cols, s.length], [4, 3, 12], 'merged grid');
    assertEquals(res.inputIds[s.start - 1], 151652, '<|vision_start|> before the run');
    const want = qwenMain(s);
    await checkCache(res, 0, 'main', want, Q_IMAGE, qCfg.text_config);
    await checkChain(res, qW, qCfg.text_config, 0, 'main', want, 'qwen');
    // rects: the 28-px squares of the unresized image, row-major
    const fm = await features(res, { tap: 'lm.layers.0.attn.v' });
    for (let c = 0; c < 12; c++) {
      const x = (c % 3) * 28, y = Math.floor(c / 3) * 28;
      assertEquals([...fm.rects.subarray(c * 4, c * 4 + 4)], [x, y, x + 28, y + 28], `rect of cell ${c}`);
    }
    assertEquals(fm.imageSize, { height: 112, width: 84 }, 'image size');
    fm.dispose();
    await checkQwenVision(res, 0);
  } finally {
    dispose(res);
  }
} });

Deno.test({ name: 'features: a cell without a token is invalid, zero and rect-less (span with one token removed)', ...opts, fn: async () => {
  const res = await qwen.prefill({ images: [picture(56, 56, 2)], prompt: 'Describe it.' });
  try {
    const s = res.spans.images[0];
    const holed: ImageSpan = { ...s, tokens: s.tokens.map((t, i) => (i === 2 ? { ...t, kind: 'newline' as const } : t)) };
    const fake: ForwardResult = { ...res, spans: { ...res.spans, images: [holed] } };
    const want = qwenMain(s);
    want.pos[2] = -1; // token 2 sits on cell (1, 0) of the 2×2 grid
    const { fm, data } = await mapOf(fake, { tap: 'lm.layers.1.attn.v' }, want, 32);
    exact(data, gatherCache(await res.cache.readLayer(1, 'value'), 2, res.cache.length, 16, want.pos, [0, 1]), 'holed map');
    assert(fm.rects.subarray(8, 12).every(Number.isNaN) && !fm.rects.subarray(0, 8).some(Number.isNaN), 'rect NaN exactly on the empty cell');
    fm.dispose();
  } finally {
    dispose(res);
  }
} });

Deno.test({ name: 'features: LLaVA-OneVision anyres main (unpadded) and base grids, newlines never gathered; vision.out on the base grid', ...opts, fn: async () => {
  // 70 wide × 30 tall: 2×3 crops, unpadded to a 2×6 grid (each row then a newline) after the 2×2 base tile
  const res = await llava.prefill({ images: [picture(70, 30, 3)], prompt: 'Describe it.', taps: ALL_ROW_TAPS(lCfg.text_config) });
  try {
    const s = res.spans.images[0];
    assertEquals([s.grid.rows, s.grid.cols, s.length], [2, 6, P * P + 2 * 7], 'unpadded grid and run length');
    const newlines = [0, 1].map((r) => s.start + P * P + r * 7 + 6);
    const main = llavaMain(s), base = llavaBase(s);
    for (const [grid, want] of [['main', main], ['base', base]] as const) {
      await checkCache(res, 0, grid, want, L_IMAGE, lCfg.text_config);
      await checkChain(res, lW, lCfg.text_config, 0, grid, want, `onevision ${grid}`);
      const fm = await features(res, { tap: 'lm.layers.0.attn.v', grid });
      for (let c = 0; c < want.pos.length; c++) {
        assertEquals([...fm.rects.subarray(c * 4, c * 4 + 4)], s.tokens[want.pos[c] - s.start].rect.map(Math.fround), `${grid} rect of cell ${c}`);
      }
      // pixels covered: the base tile covers all; the main grid loses what HF's unpad crops off the feature grid —
      // best pinpoint 56×84, resize ×1.2 to 36×84 at letterbox top 10, unpad keeps feature rows 1..3 of 4 = canvas
      // rows 14..42 = image rows 3.33..26.67, so pixel rows 0–2 and 27–29 (centres outside) belong to no cell
      const map = pixelCells(fm.rects, 70, 30);
      const uncoveredRows = [...new Set([...map.keys()].filter((i) => map[i] < 0).map((i) => Math.floor(i / 70)))];
      assertEquals(uncoveredRows, grid === 'base' ? [] : [0, 1, 2, 27, 28, 29], `${grid}: pixel rows outside every cell`);
      fm.dispose();
    }
    // newline rows (one learned vector: equal V rows at layer 0) appear in no cell of either grid
    const v0 = await res.cache.readLayer(0, 'value');
    const d = lCfg.text_config.head_dim, S = res.cache.length;
    const nl = gatherCache(v0, 2, S, d, newlines, [0, 1]);
    for (const grid of ['main', 'base'] as const) {
      const data = await read(await features(res, { tap: 'lm.layers.0.attn.v', grid }));
      for (let c = 0; c < data.length / (2 * d); c++) {
        assert(data.subarray(c * 2 * d, (c + 1) * 2 * d).some((x, e) => x !== nl[e]), `${grid} cell ${c} holds the newline's value`);
      }
    }
    // vision.out: tile 0's p×p patch rows; the projector of those = projector.out on the base grid
    const hv = lCfg.vision_config.hidden_size;
    const { fm, data } = await mapOf(res, { tap: 'vision.out', grid: 'base' }, layout(P, P, (r, c) => r * P + c), hv);
    exact(data, gatherRows((await res.taps.get('vision.out')!.read()) as Float32Array, hv, Array.from({ length: P * P }, (_, c) => c)), 'vision.out base');
    const proj = await features(res, { tap: 'projector.out', grid: 'base' });
    close(await read(proj), (await llavaProjector(data)).data, 'projector(vision.out base) = projector.out base', 'projector from vision');
    proj.dispose();
    fm.dispose();
    await assertRejects(() => features(res, { tap: 'vision.out' }), /vision\.out of a LLaVA model lies on the base tile grid; ask for grid 'base'/, 'vision.out main');
  } finally {
    dispose(res);
  }
} });

Deno.test({ name: 'features: OneVision two images in one prompt (one tile each) with a text prefix: second image on its p×p grid', ...opts, fn: async () => {
  const images = [picture(70, 30, 4), picture(40, 50, 5)];
  const plain = await llava.prefill({ images, prompt: 'Compare.', taps: ['projector.out', 'vision.out'] });
  const res = await llava.prefill({ images, prompt: 'Compare.', prefix: 'Two cats. ', taps: ['projector.out', 'vision.out', 'lm.layers.0.out', 'lm.layers.1.out', 'lm.layers.0.attn.k_pre_rope', 'lm.layers.1.attn.k_pre_rope'] });
  try {
    const [a, b] = res.spans.prefix!;
    const shift = b - a;
    assert(shift > 0, 'the prefix has tokens');
    for (const k of [0, 1]) {
      const s = res.spans.images[k];
      assertEquals(s.start, plain.spans.images[k].start + shift, `image ${k} start shifts by the prefix`);
      assertEquals([s.length, s.grid.rows, s.grid.cols], [P * P + 1, P, P], `image ${k}: one tile + one newline`);
      const want = llavaBase(s);
      for (const grid of ['main', 'base'] as const) {
        await checkCache(res, k, grid, want, L_IMAGE, lCfg.text_config);
        await checkChain(res, lW, lCfg.text_config, k, grid, want, `onevision multi-image ${k} ${grid}`);
      }
      // layer-0 V has no position in it: the same with and without the prefix; layer 1 sees the prefix
      const v0 = await read(await features(res, { tap: 'lm.layers.0.attn.v', image: k }));
      close(v0, await read(await features(plain, { tap: 'lm.layers.0.attn.v', image: k })), `image ${k}: layer-0 V without the prefix`, 'V0 prefix-free');
      const v1 = await read(await features(res, { tap: 'lm.layers.1.attn.v', image: k }));
      const v1plain = await read(await features(plain, { tap: 'lm.layers.1.attn.v', image: k }));
      assert(v1.some((x, i) => Math.abs(x - v1plain[i]) > 1e-4), `image ${k}: layer-1 V should see the prefix`);
      // vision.out: image k's tile is tile k
      const hv = lCfg.vision_config.hidden_size;
      const { fm, data } = await mapOf(res, { tap: 'vision.out', image: k, grid: 'base' }, layout(P, P, (r, c) => k * P * P + r * P + c), hv);
      exact(data, gatherRows((await res.taps.get('vision.out')!.read()) as Float32Array, hv, Array.from({ length: P * P }, (_, c) => k * P * P + c)), `vision.out image ${k}`);
      const proj = await features(res, { tap: 'projector.out', image: k, grid: 'base' });
      close(await read(proj), (await llavaProjector(data)).data, `image ${k}: projector(vision.out) = projector.out`, 'projector from vision');
      proj.dispose();
      fm.dispose();
    }
  } finally {
    dispose(res);
    dispose(plain);
  }
} });

Deno.test({ name: 'features: Qwen2.5-VL two images and a text prefix: spans shift, the second image maps to its own rows', ...opts, fn: async () => {
  const images = [picture(84, 56, 6), picture(56, 84, 7)];
  const plain = await qwen.prefill({ images, prompt: 'Compare.' });
  const res = await qwen.prefill({ images, prompt: 'Compare.', prefix: 'A photo of a cat. ', taps: ALL_ROW_TAPS(qCfg.text_config) });
  try {
    const shift = res.spans.prefix![1] - res.spans.prefix![0];
    for (const k of [0, 1]) {
      const s = res.spans.images[k];
      assertEquals(s.start, plain.spans.images[k].start + shift, `image ${k} start shifts by the prefix`);
      const want = qwenMain(s);
      await checkCache(res, k, 'main', want, Q_IMAGE, qCfg.text_config);
      await checkChain(res, qW, qCfg.text_config, k, 'main', want, `qwen image ${k}`);
      await checkQwenVision(res, k);
      const v0 = await read(await features(res, { tap: 'lm.layers.0.attn.v', image: k }));
      close(v0, await read(await features(plain, { tap: 'lm.layers.0.attn.v', image: k })), `image ${k}: layer-0 V without the prefix`, 'V0 prefix-free');
    }
    assertEquals([res.spans.images[0].grid, res.spans.images[1].grid], [{ rows: 2, cols: 3 }, { rows: 3, cols: 2 }], 'grids');
  } finally {
    dispose(res);
    dispose(plain);
  }
} });

Deno.test({ name: 'features: taps not kept, unknown taps, bad heads, images and grids are clear errors', ...opts, fn: async () => {
  const res = await qwen.prefill({ images: [picture(56, 56, 8)], prompt: 'Describe it.', taps: ['lm.layers.1.out'] });
  try {
    await assertRejects(() => features(res, { tap: 'lm.layers.2.out' }), /tap lm\.layers\.2\.out was not kept by the forward \(ask for it in taps; kept: lm\.layers\.1\.out\)/, 'not kept');
    await assertRejects(() => features(res, { tap: 'projector.out' }), /tap projector\.out was not kept/, 'projector not kept');
    await assertRejects(() => features(res, { tap: 'lm.layers.0.attn.k_pre_rope' }), /tap lm\.layers\.0\.attn\.k_pre_rope was not kept/, 'pre-RoPE not kept');
    await assertRejects(() => features(res, { tap: 'lm.layers.1.attn.q' as TapName }), /unknown tap "lm\.layers\.1\.attn\.q": known taps are/, 'unknown');
    await assertRejects(() => features(res, { tap: 'lm.layers.3.attn.v' }), /lm\.layers\.3\.attn\.v: the model has 3 layers/, 'layer out of range');
    await assertRejects(() => features(res, { tap: 'lm.layers.0.attn.k', heads: [2] }), /head 2 outside 0\.\.1/, 'head out of range');
    await assertRejects(() => features(res, { tap: 'lm.layers.1.out', heads: [0] }), /head selection applies to cache taps/, 'heads on a row tap');
    await assertRejects(() => features(res, { tap: 'vision.out', heads: [0] }), /head selection applies to cache taps.*not vision\.out/, 'heads on vision.out');
    await assertRejects(() => features(res, { tap: 'lm.layers.0.attn.v', image: 1 }), /holds 1 image\(s\), no image 1/, 'image out of range');
    await assertRejects(() => features(res, { tap: 'lm.layers.0.attn.v', grid: 'base' }), /has no base grid \(the base grid exists only for LLaVA models\)/, 'base on Qwen');
  } finally {
    dispose(res);
  }
  console.log(`worst normwise errors: ${[...worst].map(([k, v]) => `${k} ${v.toExponential(2)}`).join(', ')}`);
} });

Deno.test({ name: 'taps: canonical names of the short taps, parsed back; one parser, round trips, the tap plan', ...opts, fn: () => {
  assertEquals(SHORT_TAPS.map((t) => canonicalTap(t, 3)), ['lm.layers.3.attn.v', 'lm.layers.3.attn.k', 'lm.layers.3.attn.k_pre_rope', 'lm.layers.3.out', 'projector.out', 'vision.out', 'siglip.out'], 'names');
  assertEquals(['lm.layers.3.attn.v', 'lm.layers.12.attn.k', 'lm.layers.3.attn.k_pre_rope', 'lm.layers.3.out', 'projector.out', 'vision.out'].map(parseTap), [
    { kind: 'cache', which: 'value', layer: 3 }, { kind: 'cache', which: 'key', layer: 12 }, { kind: 'preRope', layer: 3 },
    { kind: 'hidden', layer: 3 }, { kind: 'projector' }, { kind: 'vision' },
  ], 'parsed');
  assertThrows(() => canonicalTap('lm.value'), /tap lm\.value needs a layer index, got undefined/, 'no layer');
  assertThrows(() => canonicalTap('lm.hidden', -1), /needs a layer index, got -1/, 'negative layer');
  assertThrows(() => parseTap('lm.layers.x.out'), /unknown tap "lm\.layers\.x\.out"/, 'bad layer');
  for (const name of ['vision.out', 'vision.layers.4.out', 'projector.out', 'lm.layers.0.attn.k', 'lm.layers.7.attn.v', 'lm.layers.2.attn.k_pre_rope', 'lm.layers.3.out', 'siglip.out']) {
    assertEquals(tapName(parseTap(name)), name, `${name} round trip`);
  }
  assertThrows(() => parseTap('lm.layers.01.out'), /unknown tap/, 'leading zero');
  const plan = planTaps(['lm.layers.0.attn.v', 'lm.layers.0.out', 'lm.layers.1.attn.k', 'projector.out', 'vision.layers.1.out'], 2, 2, 'tiny');
  assertEquals([plan.projector, plan.vision, [...plan.visionLayers], [...plan.hidden], [...plan.preRope], plan.cache.map((c) => c.name)], [true, false, [1], [0], [], ['lm.layers.0.attn.v', 'lm.layers.1.attn.k']], 'plan');
  assertThrows(() => planTaps(['lm.layers.2.out'], 2, 2, 'tiny'), /LM layer 2 does not exist \(tiny runs 2: 0\.\.1\)/, 'layer past the model');
  assertThrows(() => planTaps(['siglip.out'], 2, 2, 'tiny'), /standalone SigLIP encoder/, 'siglip is no model tap');
} });
