// Few-shot segmentation task: oracle features (each cell's fg share) give near-perfect mIoU / FB-IoU through the
// real probe (GPU logistic regression) and the HSNet accumulation; constant features give the exact floor (all
// background: mIoU 0, FB-IoU = ½·bg share of the non-void pixels); the Pascal-5i factory reads a VOC tree; one
// end-to-end run on a tiny OneVision checkpoint, then a resumed run that recomputes nothing and gives the same rows.
import { directoryOverlays } from '../../src/analysis/runSink.ts';
import type { FeatureMap } from '../../src/capture/features.ts';
import { pixelsToCells } from '../../src/capture/gridPixels.ts';
import { acquireGpu, type Gpu } from '../../src/gpu/device.ts';
import { Tensor } from '../../src/gpu/tensor.ts';
import { loadLlava } from '../../src/models/llava.ts';
import { writeTinyLlavaOnevision } from '../../src/models/tiny/tinyLlava.ts';
import { fewShotEpisode, fewShotEpisodeStats, fewShotRows, pascal5iTask, syntheticFewShotTask } from '../../src/tasks/fewShotSegmentation.ts';
import { sumStats } from '../../src/tasks/resultsLog.ts';
import { runProbe } from '../../src/analysis/runProbe.ts';
import type { ProbeContext } from '../../src/tasks/task.ts';
import { assert, assertEquals } from '../gpu/assert.ts';
import { encodePng } from '../../src/io/image.ts';
import { encode as encodePngRaw } from 'fast-png';

const gpu = await acquireGpu();
const opts = { sanitizeResources: false, sanitizeOps: false };
const tmp = await Deno.makeTempDir({ prefix: 'kvscope-fewshot-' });
globalThis.addEventListener('unload', () => Deno.removeSync(tmp, { recursive: true }));

/** A FeatureMap on a uniform rows×cols grid over a width×height image, features from each cell's index. */
function gridMap(g: Gpu, width: number, height: number, rows: number, cols: number, feature: (cell: number) => number[]): FeatureMap {
  const rects = new Float32Array(rows * cols * 4);
  const values: number[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      rects.set([c * width / cols, r * height / rows, (c + 1) * width / cols, (r + 1) * height / rows], (r * cols + c) * 4);
    }
  }
  for (let i = 0; i < rows * cols; i++) values.push(...feature(i));
  const dim = values.length / (rows * cols);
  const features = Tensor.from(g, 'f32', [rows, cols, dim], values, 'oracle features');
  return {
    tap: 'oracle', image: 0, grid: 'main', rows, cols, dim, features, valid: new Uint8Array(rows * cols).fill(1), rects,
    imageSize: { width, height }, dispose: () => features.dispose(),
  };
}

/** Oracle: [fg share, 1 − fg share] of each cell (void-only cells: [0.5, 0.5]). */
function oracleMap(mask: Uint8Array, width: number, height: number, rows: number, cols: number): FeatureMap {
  const probe = gridMap(gpu, width, height, rows, cols, () => [0]);
  const share = pixelsToCells(mask, probe.rects, width, height, (v) => v === 1, 255);
  probe.dispose();
  return gridMap(gpu, width, height, rows, cols, (c) => Number.isNaN(share[c]) ? [0.5, 0.5] : [share[c], 1 - share[c]]);
}

const SIZE = 64, GRID = 32;
const task = syntheticFewShotTask({ images: 16, classes: 2, seed: 5, shots: 5, episodes: 4, size: SIZE });
const episodes = await Promise.all((await task.samples()).map((s) => s.sample.read()));

Deno.test({ name: 'few-shot: oracle cell features give ≥ 90% mIoU and FB-IoU (void band ignored)', ...opts, async fn() {
  const stats = [];
  for (const ep of episodes) {
    assert(ep.query.mask.includes(255), `episode ${ep.id}: the synthetic masks carry a void band`);
    const sup = ep.supports.map((s) => ({ map: oracleMap(s.mask, SIZE, SIZE, GRID, GRID), mask: s.mask }));
    const q = { map: oracleMap(ep.query.mask, SIZE, SIZE, GRID, GRID), mask: ep.query.mask };
    const r = await fewShotEpisode(sup, q, { logistic: { steps: 200 } });
    assert(r.trainFg > 0 && r.trainFg < r.trainCells, `episode ${ep.id}: both labels in training`);
    stats.push({ 'oracle@0': fewShotEpisodeStats(r, ep.classId - 1, 2) });
    [...sup, q].forEach((m) => m.map.dispose());
  }
  const rows = fewShotRows('t', sumStats(stats), [1, 2]);
  const miou = rows.find((r) => r.metric === 'mIoU')!, fb = rows.find((r) => r.metric === 'FB-IoU')!;
  console.log(`oracle: mIoU ${miou.value.toFixed(2)}, FB-IoU ${fb.value.toFixed(2)}`);
  assertEquals([miou.tap, miou.layer, miou.n, miou.classes], ['oracle', 0, 4, 2], 'row identity');
  assert(miou.value >= 90 && miou.value <= 100, `oracle mIoU ${miou.value}`);
  assert(fb.value >= 90 && fb.value <= 100, `oracle FB-IoU ${fb.value}`);
} });

Deno.test({ name: 'few-shot: constant features predict all background: mIoU 0, FB-IoU = ½·Σbg/Σnon-void exactly', ...opts, async fn() {
  const stats = [];
  let bg = 0, nonVoid = 0;
  for (const ep of episodes) {
    const constant = () => gridMap(gpu, SIZE, SIZE, 8, 8, () => [1, 2, 3]);
    const sup = ep.supports.map((s) => ({ map: constant(), mask: s.mask }));
    const q = { map: constant(), mask: ep.query.mask };
    const r = await fewShotEpisode(sup, q, { logistic: { steps: 100 } });
    assert(r.trainFg < r.trainCells / 2, 'fg is the minority of training cells (so the bias alone says background)');
    assertEquals(r.prediction.reduce((a, b) => a + b, 0), 0, `episode ${ep.id}: all background`);
    for (const v of ep.query.mask) { if (v !== 255) nonVoid++; if (v === 0) bg++; }
    stats.push({ 'const@0': fewShotEpisodeStats(r, ep.classId - 1, 2) });
    [...sup, q].forEach((m) => m.map.dispose());
  }
  const rows = fewShotRows('t', sumStats(stats), [1, 2]);
  assertEquals(rows.find((r) => r.metric === 'mIoU')!.value, 0, 'mIoU');
  const fb = rows.find((r) => r.metric === 'FB-IoU')!.value;
  assert(Math.abs(fb - 50 * bg / nonVoid) < 1e-9, `FB-IoU ${fb} vs ${50 * bg / nonVoid}`);
} });

Deno.test({ name: 'pascal5i factory: episodes from a VOC tree (imageset pairs), masks binary for the class with void kept', ...opts, async fn() {
  const root = `${tmp}/voc`;
  await Deno.mkdir(`${root}/JPEGImages`, { recursive: true });
  await Deno.mkdir(`${root}/SegmentationClassAug`, { recursive: true });
  await Deno.mkdir(`${root}/ImageSets/Segmentation`, { recursive: true });
  const w = 6, h = 4, ids = ['a', 'b', 'c'];
  for (const [i, id] of ids.entries()) {
    const lab = new Uint8Array(w * h).map((_, p) => (p % w < 2 + i ? 6 : p === w * h - 1 ? 255 : 0)); // class 6 = bus (fold 1)
    await Deno.writeFile(`${root}/SegmentationClassAug/${id}.png`, encodePngRaw({ width: w, height: h, data: lab, channels: 1, depth: 8 }));
    await Deno.writeFile(`${root}/JPEGImages/${id}.jpg`, encodePng({ width: w, height: h, data: new Uint8Array(w * h * 3).fill(40 * i) }));
  }
  await Deno.writeTextFile(`${root}/ImageSets/Segmentation/val.txt`, ids.join('\n') + '\n');
  const t = pascal5iTask(root, { fold: 1, episodes: 3, seed: 0, shots: 2 });
  assertEquals(t.name, 'pascal5i-fold1', 'name');
  const samples = await t.samples();
  assertEquals(samples.map((s) => s.id), ['episode-0', 'episode-1', 'episode-2'], 'episode ids');
  const ep = await samples[1].sample.read();
  assertEquals([ep.classId, ep.className, ep.supports.length], [6, 'bus', 2], 'episode class and shots');
  assertEquals(ep.query.id, 'b', 'query = pair 1');
  assertEquals(Array.from(ep.query.mask.subarray(0, w)), [1, 1, 1, 0, 0, 0], 'query mask row 0');
  assertEquals(ep.query.mask[w * h - 1], 255, 'void kept');
  assert(t.notes.some((n) => n.includes('fold 1')), 'notes name the fold');
} });

Deno.test({ name: 'few-shot end to end on a tiny OneVision: rows well formed; a resumed run recomputes nothing and repeats them', ...opts, async fn() {
  const dir = `${tmp}/tiny-ov`;
  await writeTinyLlavaOnevision(dir, { seed: 7 });
  const model = await loadLlava(gpu, dir);
  const overlays = `${tmp}/overlays`;
  await Deno.mkdir(overlays);
  const ctx: ProbeContext = { model, siglip: null, taps: ['lm.value', 'projector'], layers: [0, 1], agnostic: null, grid: 'main', overlays: directoryOverlays(overlays), overlaysLeft: 2 };
  const e2e = syntheticFewShotTask({ images: 8, classes: 2, seed: 3, shots: 2, episodes: 2, size: 56, probe: { logistic: { steps: 40 } } });
  const out = `${tmp}/run`;
  const first = await runProbe(e2e, ctx, out, { model: 'tiny' });
  assertEquals([first.computed, first.resumed], [2, 0], 'first run computes both');
  const keys = ['lm.value@0', 'lm.value@1', 'projector'];
  assertEquals(first.rows.length, keys.length * 2, 'one mIoU and one FB-IoU row per key');
  for (const r of first.rows) {
    assert(['mIoU', 'FB-IoU'].includes(r.metric) && r.task === 'synthetic-fewshot', `row ${JSON.stringify(r)}`);
    assert(Number.isFinite(r.value) && r.value >= 0 && r.value <= 100 && r.n === 2, `row value ${JSON.stringify(r)}`);
    assert(keys.includes(r.layer === null ? r.tap : `${r.tap}@${r.layer}`), `row key ${r.tap}@${r.layer}`);
  }
  assertEquals([...Deno.readDirSync(overlays)].length, 2, 'overlays written');
  const again = await runProbe(e2e, { ...ctx, overlaysLeft: 0 }, out, { model: 'tiny' });
  assertEquals([again.computed, again.resumed], [0, 2], 'resumed run computes nothing');
  assertEquals(JSON.stringify(again.rows), JSON.stringify(first.rows), 'same aggregates');
  model.dispose();
} });
