// Input-agnostic image keys end to end on tiny random checkpoints (Qwen2.5-VL; LLaVA-OneVision for the newline-
// interleaved grid): findAgnosticKeys' per-layer similarities against a float64 host computation (mean pairwise
// cosine of each cell's cached key, heads concatenated) from the read-back caches of the same forwards; the strict
// `> threshold` rule; identical images are all agnostic; the grid-size mismatch error frees what it allocated.
// blockAgnosticKeys: exactly the flagged positions (newlines skipped; proportional cells on another grid), queries
// from the image start to the end, the flagged layers only. Prefill with the spec: every layer up to and including
// the first blocked one, and every position before the first blocked key, is bit-identical to the plain forward;
// later image and text positions change in the layers after it. sweepImage: a map per (tap, layer) with the right
// dims, equal to features() of a plain prefill, blocking applied when keys are known, all GPU memory freed by
// dispose().
import { features } from '../../src/capture/features.ts';
import type { ShortTap, TapName } from '../../src/capture/taps.ts';
import { acquireGpu } from '../../src/gpu/device.ts';
import type { LlavaOnevisionConfig, Qwen2_5VLConfig } from '../../src/io/config.ts';
import type { RgbImage } from '../../src/io/rgbImage.ts';
import type { AttentionBlockSpec } from '../../src/capture/interventions.ts';
import type { ImageSpan } from '../../src/capture/spans.ts';
import type { ForwardResult, MultimodalModel } from '../../src/models/model.ts';
import { loadModel } from '../../src/models/registry.ts';
import { WeightRng } from '../../src/models/tiny/randomWeights.ts';
import { writeTinyLlavaOnevision } from '../../src/models/tiny/tinyLlava.ts';
import { writeTinyQwen2_5_vl } from '../../src/models/tiny/tinyQwen2_5_vl.ts';
import { findAgnosticKeys } from '../../src/analysis/agnosticKeys.ts';
import { type AgnosticKeys, blockAgnosticKeys } from '../../src/capture/interventions.ts';
import { sweepEntries, sweepImage } from '../../src/tasks/featureSweep.ts';
import type { ProbeContext } from '../../src/tasks/task.ts';
import { assert, assertEquals, assertRejects } from '../gpu/assert.ts';

const gpu = await acquireGpu();
gpu.poisonNewTensors = true;
const opts = { sanitizeResources: false, sanitizeOps: false };
const tmp = await Deno.makeTempDir({ prefix: 'kvscope-agnostic-' });
globalThis.addEventListener('unload', () => Deno.removeSync(tmp, { recursive: true }));

// GPU similarity (f32, ‖Σ k̂‖² form) vs float64 pairwise cosines: |got − want| ≤ SIM_TOL. Measured on llvmpipe
// (printed): ≤ 2e-7; the tolerance leaves > 10×.
const SIM_TOL = 5e-6;
let worstSim = 0;

const qCfg = await writeTinyQwen2_5_vl(`${tmp}/qwen`, { seed: 41 }) as Qwen2_5VLConfig;
const lCfg = await writeTinyLlavaOnevision(`${tmp}/onevision`, { seed: 42 }) as LlavaOnevisionConfig;
const qwen = await loadModel(gpu, `${tmp}/qwen`), llava = await loadModel(gpu, `${tmp}/onevision`);
const P = Math.floor(lCfg.vision_config.image_size / lCfg.vision_config.patch_size);
const PROMPT = 'Describe the image.'; // findAgnosticKeys' default prompt

function picture(width: number, height: number, seed: number): RgbImage {
  const rng = new WeightRng(seed);
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    const x = i % width, y = Math.floor(i / width);
    data[i * 3] = (x * 255 / width + 90 * rng.uniform()) & 255;
    data[i * 3 + 1] = (y * 255 / height + 90 * rng.uniform()) & 255;
    data[i * 3 + 2] = (120 * rng.uniform() + seed * 40) & 255;
  }
  return { width, height, data, source: `picture ${width}×${height} #${seed}` };
}

/** Host float64: per cell, the mean over image pairs of cos(k_i, k_j), keys = all kv heads concatenated. */
async function hostSimilarity(model: MultimodalModel, images: RgbImage[], layers: number[], cellPos: (s: ImageSpan) => number[]): Promise<Map<number, Float64Array>> {
  const keys = new Map<number, Float64Array[][]>(layers.map((l) => [l, []]));
  for (const img of images) {
    const r = await model.prefill({ images: [img], prompt: PROMPT });
    const pos = cellPos(r.spans.images[0]);
    const { kvHeads, headDim: d, length } = r.cache;
    for (const l of layers) {
      const k = await r.cache.readLayer(l, 'key');
      keys.get(l)!.push(pos.map((p) => {
        const v = new Float64Array(kvHeads * d);
        for (let h = 0; h < kvHeads; h++) for (let e = 0; e < d; e++) v[h * d + e] = k[(h * length + p) * d + e];
        return v;
      }));
    }
    r.dispose();
  }
  const cos = (a: Float64Array, b: Float64Array) => {
    let ab = 0, aa = 0, bb = 0;
    for (let i = 0; i < a.length; i++) ab += a[i] * b[i], aa += a[i] * a[i], bb += b[i] * b[i];
    return ab / Math.sqrt(aa * bb);
  };
  const out = new Map<number, Float64Array>();
  for (const l of layers) {
    const per = keys.get(l)!, cells = per[0].length;
    out.set(l, Float64Array.from({ length: cells }, (_, c) => {
      let s = 0, pairs = 0;
      for (let i = 0; i < per.length; i++) for (let j = i + 1; j < per.length; j++) s += cos(per[i][c], per[j][c]), pairs++;
      return s / pairs;
    }));
  }
  return out;
}

function checkSimilarity(got: AgnosticKeys, want: Map<number, Float64Array>, what: string): void {
  for (const [l, w] of want) {
    const g = got.similarity.get(l)!;
    assertEquals(g.length, w.length, `${what} layer ${l}: cells`);
    w.forEach((x, c) => {
      const e = Math.abs(g[c] - x);
      worstSim = Math.max(worstSim, e);
      assert(e <= SIM_TOL, `${what} layer ${l} cell ${c}: similarity ${g[c]}, host ${x} (|Δ| ${e.toExponential(2)})`);
    });
    assertEquals(got.cells.get(l), [...g.keys()].filter((c) => g[c] > got.threshold), `${what} layer ${l}: cells above the threshold`);
  }
}

const qwenCells = (s: ImageSpan) => Array.from({ length: s.grid.rows * s.grid.cols }, (_, c) => s.start + c);
const llavaBaseCells = (s: ImageSpan) => Array.from({ length: P * P }, (_, c) => s.start + c);
const llavaMainCells = (s: ImageSpan) => Array.from({ length: s.grid.rows * s.grid.cols }, (_, c) => s.start + P * P + Math.floor(c / s.grid.cols) * (s.grid.cols + 1) + (c % s.grid.cols));

Deno.test({ name: 'findAgnosticKeys: similarities equal the host cosines of the same forwards; threshold is strict', ...opts, fn: async () => {
  const images = [picture(84, 56, 1), picture(84, 56, 2), picture(84, 56, 3)];
  const layers = [0, 1, 2];
  const want = await hostSimilarity(qwen, images, layers, qwenCells);
  const got = await findAgnosticKeys(qwen, images, { layers, threshold: 0.5 });
  assertEquals([got.grid, got.threshold, got.images], [{ rows: 2, cols: 3, choice: 'main' }, 0.5, 3], 'summary');
  checkSimilarity(got, want, 'qwen');
  const all = [...got.similarity.values()].flatMap((s) => [...s]);
  assert(all.every((x) => x < 0.9999) && new Set(all).size > all.length / 2, `similarities degenerate: ${all}`);
  // threshold = one cell's own value: that cell is out (strictly greater), the cells above it are in
  const l2 = got.similarity.get(2)!;
  const sorted = [...l2].sort((a, b) => a - b), t = sorted[2];
  const again = await findAgnosticKeys(qwen, images, { layers: [2], threshold: t });
  assertEquals([...again.similarity.get(2)!], [...l2], 'same forwards, same similarities');
  assertEquals(again.cells.get(2), [...l2.keys()].filter((c) => l2[c] > t), 'cells strictly above');
  assertEquals(again.cells.get(2)!.length, 3, 'three of six cells lie strictly above the third smallest');
  // identical images: every key is input-agnostic (similarity 1) at the default threshold 0.9
  const same = await findAgnosticKeys(qwen, [images[0], images[0], images[0]], { layers: [1] });
  assertEquals(same.threshold, 0.9, 'default threshold');
  assert(same.similarity.get(1)!.every((x) => Math.abs(x - 1) < 1e-6), `identical images: ${same.similarity.get(1)}`);
  assertEquals(same.cells.get(1), [0, 1, 2, 3, 4, 5], 'all cells agnostic');
} });

Deno.test({ name: 'findAgnosticKeys: OneVision base and main grids (newlines skipped) equal the host cosines', ...opts, fn: async () => {
  const images = [picture(70, 30, 4), picture(70, 30, 5), picture(70, 30, 6), picture(70, 30, 7)];
  const base = await findAgnosticKeys(llava, images, { layers: [1], grid: 'base', threshold: 0.2 });
  assertEquals(base.grid, { rows: P, cols: P, choice: 'base' }, 'base grid');
  checkSimilarity(base, await hostSimilarity(llava, images, [1], llavaBaseCells), 'onevision base');
  const main = await findAgnosticKeys(llava, images, { layers: [0, 1] });
  assertEquals(main.grid, { rows: 2, cols: 6, choice: 'main' }, 'main grid');
  checkSimilarity(main, await hostSimilarity(llava, images, [0, 1], llavaMainCells), 'onevision main');
} });

Deno.test({ name: 'findAgnosticKeys: images of different grids, or one image, are clear errors and leak nothing', ...opts, fn: async () => {
  const live = gpu.pool.liveBytes;
  await assertRejects(() => findAgnosticKeys(qwen, [picture(84, 56, 1), picture(56, 84, 2)], { layers: [0, 1] }),
    /image 1 \(picture 56×84 #2\) has a 3×2 grid, the first had 2×3; use images of one size/, 'grid mismatch');
  await assertRejects(() => findAgnosticKeys(qwen, [picture(84, 56, 1)], { layers: [0] }), /need at least 2 images, got 1/, 'one image');
  assertEquals(gpu.pool.liveBytes, live, 'GPU bytes live after the failed calls');
} });

/** A hand-made finding on a grid. */
function finding(cells: [number, number[]][], rows: number, cols: number, choice: 'main' | 'base' = 'main'): AgnosticKeys {
  return { cells: new Map(cells), similarity: new Map(cells.map(([l]) => [l, new Float32Array(rows * cols)])), grid: { rows, cols, choice }, threshold: 0.9, images: 3 };
}

Deno.test({ name: 'blockAgnosticKeys: the flagged positions, from the image start on, in the flagged layers', ...opts, fn: async () => {
  const q = await qwen.prefill({ images: [picture(84, 56, 1)], prompt: PROMPT });
  const l = await llava.prefill({ images: [picture(70, 30, 4)], prompt: PROMPT });
  try {
    const qs = q.spans.images[0], S = q.spans.length;
    const spec = blockAgnosticKeys(finding([[2, [4]], [0, []], [1, [1, 4]]], 2, 3), qs, S)!;
    assertEquals(spec, { layers: [1, 2], rules: [{ queries: [qs.start, S], keys: [[qs.start + 1, qs.start + 2], [qs.start + 4, qs.start + 5]] }] }, 'qwen spec');
    assertEquals(blockAgnosticKeys(finding([[0, []], [1, []]], 2, 3), qs, S), null, 'nothing flagged');
    // found on a 1×3 grid, applied to the 2×3 span: a column's cell covers both rows
    assertEquals(blockAgnosticKeys(finding([[1, [2]]], 1, 3), qs, S)!.rules[0].keys, [[qs.start + 2, qs.start + 3], [qs.start + 5, qs.start + 6]], 'proportional cells');
    // OneVision main grid 2×6: cell (r, c) at start + p² + r·7 + c (the newline after each row is never a key)
    const ls = l.spans.images[0], LS = l.spans.length;
    const main = blockAgnosticKeys(finding([[1, [0, 5, 6, 11]]], 2, 6), ls, LS)!;
    const at = (r: number, c: number) => ls.start + P * P + r * 7 + c;
    assertEquals(main, { layers: [1], rules: [{ queries: [ls.start, LS], keys: [[at(0, 0), at(0, 0) + 1], [at(0, 5), at(0, 5) + 1], [at(1, 0), at(1, 0) + 1], [at(1, 5), at(1, 5) + 1]] }] }, 'onevision main');
    const base = blockAgnosticKeys(finding([[0, [3]]], P, P, 'base'), ls, LS)!;
    assertEquals(base.rules[0].keys, [[ls.start + 3, ls.start + 4]], 'onevision base');
    assertEquals(blockAgnosticKeys(finding([[0, [0]]], P, P, 'base'), qs, S), null, 'a base-grid finding on Qwen (no base grid)');
    // OneVision with two images: each image's main grid is its one tile's p×p grid
    const m = await llava.prefill({ images: [picture(70, 30, 4), picture(40, 50, 5)], prompt: PROMPT });
    const s1 = m.spans.images[1];
    assertEquals(blockAgnosticKeys(finding([[1, [1, 2]]], P, P), s1, m.spans.length), { layers: [1], rules: [{ queries: [s1.start, m.spans.length], keys: [[s1.start + 1, s1.start + 2], [s1.start + 2, s1.start + 3]] }] }, 'multi-image tile');
    m.dispose();
  } finally {
    q.dispose();
    l.dispose();
  }
} });

/** Whether layer l's K and V rows at positions [from, to) are bit-identical between two forwards. */
async function sameRows(a: ForwardResult, b: ForwardResult, l: number, from: number, to: number): Promise<boolean[]> {
  const out: boolean[] = [];
  const { kvHeads, headDim: d } = a.cache;
  const rows = await Promise.all([a.cache.readLayer(l, 'key'), b.cache.readLayer(l, 'key'), a.cache.readLayer(l, 'value'), b.cache.readLayer(l, 'value')]);
  const S = a.cache.length;
  for (let p = from; p < to; p++) {
    let same = true;
    for (let h = 0; h < kvHeads; h++) {
      for (let e = 0; e < d; e++) {
        const i = (h * S + p) * d + e;
        if (!Object.is(rows[0][i], rows[1][i]) || !Object.is(rows[2][i], rows[3][i])) same = false;
      }
    }
    out.push(same);
  }
  return out;
}

Deno.test({ name: 'blockAgnosticKeys: prefill with the spec keeps everything before the blocked keys and earlier layers, changes the rest', ...opts, fn: async () => {
  const img = picture(84, 56, 1);
  const taps: TapName[] = ['lm.layers.0.out', 'lm.layers.1.out', 'lm.layers.2.out'];
  const plain = await qwen.prefill({ images: [img], prompt: PROMPT, taps });
  const s = plain.spans.images[0], S = plain.spans.length, L = qCfg.text_config.num_hidden_layers;
  const first = s.start + 1; // the first flagged key: cell 1
  const block = blockAgnosticKeys(finding([[1, [1, 4]]], 2, 3), s, S)!;
  const blocked = await qwen.prefill({ images: [img], prompt: PROMPT, taps, block });
  const late = await qwen.prefill({ images: [img], prompt: PROMPT, taps, block: blockAgnosticKeys(finding([[2, [1]]], 2, 3), s, S)! });
  try {
    assertEquals(blocked.inputIds, plain.inputIds, 'same sequence');
    for (let l = 0; l < L; l++) {
      const rows = await sameRows(plain, blocked, l, 0, S);
      // K/V of layer l come from the layer's input: unchanged up to the first blocked layer (1) itself
      if (l <= 1) assert(rows.every(Boolean), `layer ${l}: K/V should be bit-identical (blocking starts in layer 1)`);
      else {
        assert(rows.slice(0, first).every(Boolean), `layer ${l}: positions before the first blocked key should be bit-identical`);
        const changed = rows.slice(first).map((x, i) => [first + i, x] as const).filter(([, x]) => x).map(([p]) => p);
        assertEquals(changed, [], `layer ${l}: positions from the first blocked key on that did not change`);
      }
    }
    // residual stream: layer 0 untouched, layer 1 (blocked) changes from the first blocked key on
    const hidden = async (r: ForwardResult, l: number) => (await r.taps.get(`lm.layers.${l}.out`)!.read()) as Float32Array;
    const H = qCfg.text_config.hidden_size;
    const diffRows = (a: Float32Array, b: Float32Array) => Array.from({ length: S }, (_, p) => a.subarray(p * H, (p + 1) * H).some((x, e) => !Object.is(x, b[p * H + e])));
    assert(!diffRows(await hidden(plain, 0), await hidden(blocked, 0)).some(Boolean), 'layer 0 output unchanged');
    const d1 = diffRows(await hidden(plain, 1), await hidden(blocked, 1));
    assert(!d1.slice(0, first).some(Boolean) && d1.slice(first).every(Boolean), `layer 1 output changes exactly from position ${first}: ${d1.map(Number).join('')}`);
    // blocking only in the last layer: every cached K/V is as before, only that layer's output moves
    for (let l = 0; l < L; l++) assert((await sameRows(plain, late, l, 0, S)).every(Boolean), `last-layer block: layer ${l} K/V unchanged`);
    assert(!diffRows(await hidden(plain, 1), await hidden(late, 1)).some(Boolean), 'last-layer block: layer 1 output unchanged');
    assert(diffRows(await hidden(plain, 2), await hidden(late, 2)).slice(first).every(Boolean), 'last-layer block: layer 2 output changes');
  } finally {
    for (const r of [plain, blocked, late]) r.dispose();
  }
} });

const ALL_TAPS: ShortTap[] = ['lm.value', 'lm.key', 'lm.key_pre_rope', 'lm.hidden', 'projector', 'vision'];

/** Layers 0 and the last (Qwen 3 layers, OneVision 2). */
function context(model: MultimodalModel, agnostic: AgnosticKeys | null = null, taps: readonly ShortTap[] = ALL_TAPS): ProbeContext {
  const last = model.config.text_config.num_hidden_layers - 1;
  return { model, siglip: null, taps, layers: [0, last], agnostic, grid: 'main', overlays: null, overlaysLeft: 0 };
}

Deno.test({ name: 'sweepImage: one map per (tap, layer) with the right dims, equal to features(), all freed by dispose()', ...opts, fn: async () => {
  const img = picture(84, 56, 2);
  const tc = qCfg.text_config, kv = tc.num_key_value_heads * tc.head_dim;
  const live = gpu.pool.liveBytes;
  const ctx = context(qwen);
  const sweep = await sweepImage(ctx, img);
  assertEquals(sweep.forward, null, 'forward freed when not kept');
  assertEquals([...sweep.maps.keys()], sweepEntries(ctx).map((e) => e.key), 'one map per entry');
  assertEquals([...sweep.maps.keys()], ['lm.value@0', 'lm.value@2', 'lm.key@0', 'lm.key@2', 'lm.key_pre_rope@0', 'lm.key_pre_rope@2', 'lm.hidden@0', 'lm.hidden@2', 'projector', 'vision'], 'entry keys');
  const dims: Record<string, [number, number, number]> = { 'lm.value': [2, 3, kv], 'lm.key': [2, 3, kv], 'lm.key_pre_rope': [2, 3, kv], 'lm.hidden': [2, 3, tc.hidden_size], projector: [2, 3, tc.hidden_size], vision: [4, 6, qCfg.vision_config.hidden_size] };
  for (const [key, m] of sweep.maps) {
    assertEquals([m.rows, m.cols, m.dim], dims[key.split('@')[0]], `${key} dims`);
    assertEquals(m.features.shape, dims[key.split('@')[0]], `${key} tensor shape`);
  }
  // the same numbers as features() of a plain prefill
  const ref = await qwen.prefill({ images: [img], prompt: 'Describe the image.', taps: ['lm.layers.2.out'] });
  for (const [key, tap] of <[string, TapName][]>[['lm.value@2', 'lm.layers.2.attn.v'], ['lm.key@0', 'lm.layers.0.attn.k'], ['lm.hidden@2', 'lm.layers.2.out']]) {
    const fm = await features(ref, { tap });
    assertEquals([...(await sweep.maps.get(key)!.features.read())], [...(await fm.features.read())], `${key} = features(${tap})`);
    fm.dispose();
  }
  ref.dispose();
  sweep.dispose();
  for (const [key, m] of sweep.maps) await assertRejects(() => m.features.read(), /used after dispose/, `${key} after dispose`);
  assertEquals(gpu.pool.liveBytes, live, 'GPU bytes live after dispose');

  // keepForward: the forward stays until dispose
  const kept = await sweepImage(context(qwen, null, ['lm.value']), img, { keepForward: true });
  assert(kept.forward !== null && (await kept.forward.cache.readLayer(0, 'value')).length > 0, 'forward kept');
  kept.dispose();
  await assertRejects(() => kept.forward!.cache.keys[0].read(), /used after dispose/, 'kept cache after dispose');
  assertEquals(gpu.pool.liveBytes, live, 'GPU bytes live after dispose (kept forward)');
  await assertRejects(() => sweepImage(context(qwen, null, ['lm.value', 'siglip']), img), /tap siglip asked for, but no standalone SigLIP encoder was given/, 'siglip without encoder');
  assertEquals(gpu.pool.liveBytes, live, 'GPU bytes live after the failed sweep');
} });

Deno.test({ name: 'sweepImage: OneVision vision on the base grid, the rest on the main grid; known agnostic keys are blocked', ...opts, fn: async () => {
  const img = picture(70, 30, 4);
  const tc = lCfg.text_config, kv = tc.num_key_value_heads * tc.head_dim;
  const live = gpu.pool.liveBytes;
  const plain = await sweepImage(context(llava), img);
  for (const [key, m] of plain.maps) {
    const want = key === 'vision' ? [P, P, lCfg.vision_config.hidden_size] : [2, 6, key.startsWith('lm.value') || key.startsWith('lm.key') ? kv : tc.hidden_size];
    assertEquals([m.rows, m.cols, m.dim], want, `${key} dims`);
    assertEquals(m.grid, key === 'vision' ? 'base' : 'main', `${key} grid`);
  }
  // agnostic main-grid cell 3 in layer 0: layer-0 keys/values as before, layer-0 output and layer-1 values change
  const blocked = await sweepImage(context(llava, finding([[0, [3]]], 2, 6)), img);
  const data = async (s: typeof plain, key: string) => [...(await s.maps.get(key)!.features.read())];
  assertEquals(await data(blocked, 'lm.value@0'), await data(plain, 'lm.value@0'), 'layer-0 values unchanged');
  assertEquals(await data(blocked, 'projector'), await data(plain, 'projector'), 'projector unchanged');
  const h0 = await data(blocked, 'lm.hidden@0'), h0p = await data(plain, 'lm.hidden@0');
  const H = tc.hidden_size;
  const cellChanged = (c: number) => h0.slice(c * H, (c + 1) * H).some((x, e) => x !== h0p[c * H + e]);
  assertEquals(Array.from({ length: 12 }, (_, c) => cellChanged(c)), Array.from({ length: 12 }, (_, c) => c >= 3), 'layer-0 output changes from the blocked cell on');
  const v1 = await data(blocked, 'lm.value@1'), v1p = await data(plain, 'lm.value@1');
  assert(v1.some((x, i) => x !== v1p[i]), 'layer-1 values change');
  plain.dispose();
  blocked.dispose();
  assertEquals(gpu.pool.liveBytes, live, 'GPU bytes live after dispose');
  console.log(`worst |similarity − host| ${worstSim.toExponential(2)}`);
} });
