// Semantic correspondence task: oracle features (a Fourier code of each pixel's point on the object's canonical
// frame) give 100% PCK on synthetic pairs and on the SPair layout; constant features collapse every prediction to
// pixel (0, 0); per-image and per-point PCK differ as they must; end to end with a tiny OneVision and resume.
import { directoryOverlays } from '../../src/analysis/runSink.ts';
import type { FeatureMap } from '../../src/capture/features.ts';
import { acquireGpu, type Gpu } from '../../src/gpu/device.ts';
import { Tensor } from '../../src/gpu/tensor.ts';
import { loadLlava } from '../../src/models/llava.ts';
import { writeTinyLlavaOnevision } from '../../src/models/tiny/tinyLlava.ts';
import { pairPck, type Point } from '../../src/probe/metrics/pck.ts';
import { aggregateCorrespondence, type CorrespondencePair, evaluatePair, spairTask, syntheticCorrespondenceTask } from '../../src/tasks/correspondence.ts';
import { statKey, sumStats } from '../../src/tasks/resultsLog.ts';
import { runProbe } from '../../src/analysis/runProbe.ts';
import { type Affine, applyAffine, invertAffine } from '../../src/tasks/synthetic/affine.ts';
import { syntheticCorrespondencePairs } from '../../src/tasks/synthetic/correspondencePairs.ts';
import type { ProbeContext } from '../../src/tasks/task.ts';
import { assert, assertEquals } from '../gpu/assert.ts';
import { rgbJpeg, writeTree } from './fixtureWriters.ts';

const gpu = await acquireGpu();
const opts = { sanitizeResources: false, sanitizeOps: false };

const PERIODS = [512, 128, 32, 16];
/** Fourier code of a point: cos/sin of x and y at a few periods (cosine of two codes peaks only where they meet). */
function code(p: Point): number[] {
  return PERIODS.flatMap((T) => {
    const w = (2 * Math.PI) / T;
    return [Math.cos(w * p[0]), Math.sin(w * p[0]), Math.cos(w * p[1]), Math.sin(w * p[1])];
  });
}

/** A map with one cell per `cell`×`cell` pixels whose feature is f(cell centre). */
function mapOf(g: Gpu, img: { width: number; height: number }, cell: number, f: (p: Point) => number[], label = 'oracle'): FeatureMap {
  const rows = Math.ceil(img.height / cell), cols = Math.ceil(img.width / cell);
  const dim = f([0, 0]).length;
  const values = new Float32Array(rows * cols * dim), rects = new Float32Array(rows * cols * 4);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const x0 = c * cell, y0 = r * cell, x1 = Math.min(img.width, x0 + cell), y1 = Math.min(img.height, y0 + cell);
      values.set(f([(x0 + x1) / 2, (y0 + y1) / 2]), (r * cols + c) * dim);
      rects.set([x0, y0, x1, y1], (r * cols + c) * 4);
    }
  }
  const features = Tensor.from(g, 'f32', [rows, cols, dim], values, label) as Tensor<'f32'>;
  return {
    tap: label, image: 0, grid: 'main', rows, cols, dim, features, valid: new Uint8Array(rows * cols).fill(1), rects,
    imageSize: { height: img.height, width: img.width }, dispose: () => features.dispose(),
  };
}

/** Oracle maps of a pair related by `transform` (source px → target px): both code the source-frame point. */
function oracleMaps(pair: CorrespondencePair, transform: Affine, key: string) {
  const inv = invertAffine(transform);
  return {
    src: new Map([[key, mapOf(gpu, pair.src, 1, code)]]),
    trg: new Map([[key, mapOf(gpu, pair.trg, 1, (q) => code(applyAffine(inv, q)))]]),
  };
}

function assertClose(got: number, want: number, tol: number, what: string): void {
  assert(Math.abs(got - want) <= tol, `${what}: ${got}, expected ${want} ± ${tol}`);
}

const disposeAll = (...ms: Map<string, FeatureMap>[]) => ms.forEach((m) => m.forEach((f) => f.dispose()));

async function syntheticPairs(n: number, size: number, seed: number) {
  const task = syntheticCorrespondenceTask({ n, size, seed });
  const raw = syntheticCorrespondencePairs({ n, size, seed });
  const samples = await task.samples();
  return Promise.all(samples.map(async (s, i) => ({ pair: await s.sample.load(), transform: raw[i].transform, task })));
}

Deno.test({ name: 'oracle features: PCK@0.1 = 100% per image and per point on synthetic pairs', ...opts, async fn() {
  const key = statKey('lm.value', 3);
  const all = [];
  for (const { pair, transform } of await syntheticPairs(3, 64, 5)) {
    assert(pair.srcKps.length >= 3, `${pair.id}: keypoints visible in both`);
    const m = oracleMaps(pair, transform, key);
    const r = await evaluatePair(pair, m.src, m.trg);
    disposeAll(m.src, m.trg);
    assertEquals(r.stats[key].correct, pair.srcKps.length, `${pair.id} all keypoints correct`);
    all.push(r.stats);
  }
  const rows = aggregateCorrespondence('t', sumStats(all));
  assertEquals(rows.map((r) => [r.tap, r.layer, r.metric, r.value, r.n]), [['lm.value', 3, 'PCK@0.1', 100, 3], ['lm.value', 3, 'PCK@0.1 per-point', 100, 3]]);
} });

Deno.test({ name: 'constant features: every prediction is pixel (0, 0) and PCK is that of (0, 0)', ...opts, async fn() {
  const key = statKey('projector', null);
  const [{ pair }] = await syntheticPairs(1, 48, 9);
  const src = new Map([[key, mapOf(gpu, pair.src, 4, () => [1, 2, 3])]]);
  const trg = new Map([[key, mapOf(gpu, pair.trg, 4, () => [1, 2, 3])]]);
  const r = await evaluatePair(pair, src, trg);
  disposeAll(src, trg);
  assertEquals(r.predictions.get(key), pair.srcKps.map(() => [0, 0]), 'ties go to the lowest pixel index');
  const want = pairPck({ predKps: pair.srcKps.map(() => [0, 0]), trgKps: pair.trgKps, trgBox: pair.trgBox });
  assertEquals([r.stats[key].correct, r.stats[key].total], [want.correct, want.total]);
  assert(want.correct < want.total, 'the floor is below 100%');
} });

Deno.test({ name: 'per-image PCK is the mean of pair ratios, per-point the pooled ratio', ...opts, async fn() {
  const key = 'lm.value@0';
  const pairs = await syntheticPairs(2, 64, 5);
  const stats = [];
  // pair 0 as is (all right); pair 1 with all but one ground-truth keypoint moved far away (only one right)
  for (const [i, { pair, transform }] of pairs.entries()) {
    const p = i === 0 ? { ...pair, srcKps: pair.srcKps.slice(0, 1), trgKps: pair.trgKps.slice(0, 1) }
      : { ...pair, trgKps: pair.trgKps.map((q, k) => (k === 0 ? q : [q[0] + 40, q[1] + 40] as Point)) };
    const m = oracleMaps(p, transform, key);
    stats.push((await evaluatePair(p, m.src, m.trg)).stats);
    disposeAll(m.src, m.trg);
  }
  const k1 = pairs[1].pair.srcKps.length;
  const rows = aggregateCorrespondence('t', sumStats(stats));
  assertClose(rows[0].value, 100 * (1 + 1 / k1) / 2, 1e-9, 'per-image');
  assertClose(rows[1].value, 100 * 2 / (1 + k1), 1e-9, 'per-point');
  assertEquals(rows[1].keypoints, 1 + k1);
} });

/** A tiny SPair-71k tree holding synthetic pairs as JPEGs with the real JSON fields. */
async function spairTree(n: number, seed: number): Promise<{ root: string; raw: ReturnType<typeof syntheticCorrespondencePairs> }> {
  const raw = syntheticCorrespondencePairs({ n, size: { width: 64, height: 56 }, seed, occlusion: 0 });
  const files: Record<string, string | Uint8Array> = {};
  raw.forEach((p, i) => {
    const cat = i % 2 ? 'dog' : 'cat';
    const src = `2008_00${i}1.jpg`, trg = `2008_00${i}2.jpg`;
    files[`JPEGImages/${cat}/${src}`] = rgbJpeg(p.src.width, p.src.height, p.src.data);
    files[`JPEGImages/${cat}/${trg}`] = rgbJpeg(p.trg.width, p.trg.height, p.trg.data);
    const px = (q: Point) => [Math.floor(q[0]), Math.floor(q[1])];
    files[`PairAnnotation/test/00000${i}-${src.slice(0, -4)}-${trg.slice(0, -4)}:${cat}.json`] = JSON.stringify({
      pair_id: i, filename: `00000${i}-${src.slice(0, -4)}-${trg.slice(0, -4)}:${cat}`, src_imname: src, trg_imname: trg,
      src_imsize: [64, 56, 3], trg_imsize: [64, 56, 3], src_bndbox: p.srcBox, trg_bndbox: p.trgBox, category: cat,
      src_pose: 'Left', trg_pose: 'Right', src_kps: p.srcKps.map(px), trg_kps: p.trgKps.map(px), kps_ids: p.srcKps.map((_, k) => String(k)),
      mirror: 0, viewpoint_variation: 1, scale_variation: 0, truncation: 0, occlusion: 0,
    });
  });
  return { root: await writeTree(files), raw };
}

Deno.test({ name: 'SPair-71k layout: pairs, category filter, limit; oracle features give 100%', ...opts, async fn() {
  const { root, raw } = await spairTree(3, 21);
  const task = spairTask(root, { split: 'test', categories: ['cat'] });
  const samples = await task.samples();
  assertEquals(samples.map((s) => s.id), ['000000-2008_0001-2008_0002:cat', '000002-2008_0021-2008_0022:cat'], 'category filter on the file names');
  assertEquals((await spairTask(root, { split: 'test', limit: 1 }).samples()).length, 1, 'limit');
  const key = 'lm.value@1';
  for (const [j, s] of samples.entries()) {
    const i = j * 2;
    const pair = await s.sample.load();
    assertEquals([pair.category, pair.src.width, pair.src.height, pair.trgBox], ['cat', 64, 56, raw[i].trgBox], 'fields');
    assertEquals(pair.trgKps, raw[i].trgKps.map((q) => [Math.floor(q[0]), Math.floor(q[1])]), 'target keypoints [x, y]');
    const m = oracleMaps(pair, raw[i].transform, key);
    const r = await evaluatePair(pair, m.src, m.trg);
    disposeAll(m.src, m.trg);
    assertEquals([r.stats[key].correct, r.stats[key].total], [pair.srcKps.length, pair.srcKps.length], `${s.id}: oracle PCK`);
  }
} });

Deno.test({ name: 'end to end with a tiny OneVision: rows, an overlay, and a resumed run gives identical rows', ...opts, async fn() {
  const dir = await Deno.makeTempDir({ prefix: 'kvscope-corr-' });
  await writeTinyLlavaOnevision(`${dir}/model`, { seed: 3 });
  const model = await loadLlava(gpu, `${dir}/model`);
  try {
    const ctx: ProbeContext = {
      model, siglip: null, taps: ['lm.value', 'projector'], layers: [0, 1], agnostic: null, grid: 'main',
      overlays: directoryOverlays(`${dir}/overlays`), overlaysLeft: 1,
    };
    const task = syntheticCorrespondenceTask({ n: 2, size: 40, seed: 2 });
    const first = await runProbe(task, ctx, `${dir}/run`, { model: 'tiny' });
    assertEquals(first.computed, 2);
    const metrics = first.rows.map((r) => `${r.tap}@${r.layer}:${r.metric}`);
    assertEquals(metrics, ['lm.value@0:PCK@0.1', 'lm.value@0:PCK@0.1 per-point', 'lm.value@1:PCK@0.1', 'lm.value@1:PCK@0.1 per-point', 'projector@null:PCK@0.1', 'projector@null:PCK@0.1 per-point']);
    for (const r of first.rows) assert(r.value >= 0 && r.value <= 100 && r.n === 2, `${r.metric} ${r.value} n=${r.n}`);
    const overlays = [...Deno.readDirSync(`${dir}/overlays`)].map((e) => e.name);
    assertEquals(overlays.length, 1, 'one overlay');
    assertEquals(ctx.overlaysLeft, 0);
    const again = await runProbe(task, ctx, `${dir}/run`, { model: 'tiny' });
    assertEquals([again.computed, again.resumed], [0, 2]);
    assertEquals(again.rows, first.rows, 'resumed aggregate');
  } finally {
    model.dispose();
  }
} });

