// Text segmentation tasks: oracle features (one-hot of each cell's class) against one-hot class vectors give
// ≥ 90% mIoU (ImageNet-S accumulation) and ≥ 90% mIoU / oIoU (RefCOCO); constant features give the exact floors
// (everything background); Otsu's cut; text vectors from a tiny OneVision are exactly the cached value / hidden row
// of the prompt's last user-text token; the ImageNet-S factory's candidates; one end-to-end run of each task on the
// tiny checkpoint (LM taps only, projector skipped), then a resumed run that recomputes nothing and repeats the rows.
import { directoryOverlays } from '../../src/analysis/runSink.ts';
import type { FeatureMap } from '../../src/capture/features.ts';
import { pixelsToCells } from '../../src/capture/gridPixels.ts';
import { acquireGpu } from '../../src/gpu/device.ts';
import { Tensor } from '../../src/gpu/tensor.ts';
import { loadLlava } from '../../src/models/llava.ts';
import { writeTinyLlavaOnevision } from '../../src/models/tiny/tinyLlava.ts';
import { SemanticIouAccumulator } from '../../src/probe/metrics/iou.ts';
import { sumStats } from '../../src/tasks/resultsLog.ts';
import { runProbe } from '../../src/analysis/runProbe.ts';
import type { ProbeContext, ProbeTask } from '../../src/tasks/task.ts';
import { referringRows, referringSampleStats, syntheticReferringTask } from '../../src/tasks/referringSegmentation.ts';
import { imagenetSTask, semanticImageStats, semanticRows, syntheticSemanticTask } from '../../src/tasks/semanticSegmentation.ts';
import { otsuThreshold, paintCells, textSegmentCells } from '../../src/tasks/textRegions.ts';
import { promptSuffixLength, textVectors } from '../../src/tasks/textVectors.ts';
import { sweepEntries } from '../../src/tasks/featureSweep.ts';
import { encodePng } from '../../src/io/image.ts';
import { assert, assertEquals } from '../gpu/assert.ts';

const gpu = await acquireGpu();
const opts = { sanitizeResources: false, sanitizeOps: false };
const tmp = await Deno.makeTempDir({ prefix: 'kvscope-textseg-' });
globalThis.addEventListener('unload', () => Deno.removeSync(tmp, { recursive: true }));

/** A FeatureMap on a uniform grid whose cell features are one-hot of `code(cell)` (or a constant vector). */
function codedMap(width: number, height: number, rows: number, cols: number, dim: number, code: (cell: number) => number | number[]): FeatureMap {
  const values = new Float32Array(rows * cols * dim);
  const rects = new Float32Array(rows * cols * 4);
  for (let c = 0; c < rows * cols; c++) {
    const v = code(c);
    if (Array.isArray(v)) values.set(v, c * dim);
    else values[c * dim + v] = 1;
    const r = Math.floor(c / cols), k = c % cols;
    rects.set([k * width / cols, r * height / rows, (k + 1) * width / cols, (r + 1) * height / rows], c * 4);
  }
  const features = Tensor.from(gpu, 'f32', [rows, cols, dim], values, 'oracle features');
  return { tap: 'oracle', image: 0, grid: 'main', rows, cols, dim, features, valid: new Uint8Array(rows * cols).fill(1), rects, imageSize: { width, height }, dispose: () => features.dispose() };
}

/** Majority class per cell (−1 if none). */
function majority(labels: ArrayLike<number>, map: FeatureMap, classes: number): Int32Array {
  const { width, height } = map.imageSize;
  const best = new Int32Array(map.rows * map.cols).fill(-1), share = new Float32Array(map.rows * map.cols).fill(-1);
  for (let k = 0; k < classes; k++) {
    const s = pixelsToCells(labels, map.rects, width, height, (v) => v === k, 255);
    for (let c = 0; c < s.length; c++) if (s[c] > share[c]) { share[c] = s[c]; best[c] = k; }
  }
  return best;
}

const oneHot = (d: number, ks: readonly number[]) => Tensor.from(gpu, 'f32', [ks.length, d], ks.flatMap((k) => Array.from({ length: d }, (_, i) => (i === k ? 1 : 0))), 'class vectors');

Deno.test('otsuThreshold: cuts between two groups; one value (constant map) cuts nothing', () => {
  assertEquals(otsuThreshold([0, 0, 0, 1, 1]), 0.5, 'two values');
  const t = otsuThreshold([0.1, 0.12, 0.09, 0.8, 0.85, 0.82, 0.11]);
  assert(t > 0.12 && t < 0.8, `cut ${t}`);
  assertEquals(otsuThreshold([3, 3, 3]), 3, 'constant: the value itself, so nothing exceeds it');
});

const C = 3, SIZE = 64, G = 32;

Deno.test({ name: 'semantic: oracle class features give ≥ 90% mIoU (image candidates and all classes); constant features the exact floor', ...opts, async fn() {
  for (const candidates of ['image', 'all'] as const) {
    const task = syntheticSemanticTask({ images: 4, classes: C, seed: 1, size: SIZE, candidates });
    const stats = [], flatStats = [];
    const bgTotal = { t0: 0, all: 0 };
    for (const s of await task.samples()) {
      const im = await s.sample.read();
      const probe = codedMap(SIZE, SIZE, G, G, C + 1, () => 0);
      const cls = majority(im.labels.data, probe, C + 1);
      probe.dispose();
      const map = codedMap(SIZE, SIZE, G, G, C + 1, (c) => Math.max(0, cls[c]));
      const text = oneHot(C + 1, im.candidates);
      const r = await textSegmentCells(map, text, {});
      const acc = new SemanticIouAccumulator(C);
      acc.add({ width: SIZE, height: SIZE, data: paintCells(map, r.cells, im.candidates) }, im.labels);
      stats.push({ oracle: semanticImageStats(acc) });
      // constant features: one best score everywhere → no cut → all background
      const flat = codedMap(SIZE, SIZE, 8, 8, C + 1, () => [0.3, 0.2, 0.1, 0.4]);
      const f = await textSegmentCells(flat, text, {});
      assert(f.cells.every((v) => v === -1), 'constant: all background');
      const facc = new SemanticIouAccumulator(C);
      facc.add({ width: SIZE, height: SIZE, data: paintCells(flat, f.cells, im.candidates) }, im.labels);
      flatStats.push({ flat: semanticImageStats(facc) });
      for (const v of im.labels.data) { bgTotal.all++; if (v === 0) bgTotal.t0++; }
      [map, flat, text].forEach((t) => t.dispose());
    }
    const [row] = semanticRows('syn', sumStats(stats), C);
    console.log(`${candidates}: oracle mIoU ${row.value.toFixed(2)} (present ${(row.mIoUPresent as number).toFixed(2)})`);
    assert(row.value >= 90 && row.value <= 100 && row.n === 4, `oracle ${JSON.stringify(row)}`);
    const [flat] = semanticRows('syn', sumStats(flatStats), C);
    const want = 100 * (bgTotal.t0 / bgTotal.all) / (C + 1);
    assert(Math.abs(flat.value - want) < 1e-6, `constant mIoU ${flat.value} vs ${want}`);
  }
} });

Deno.test({ name: 'referring: oracle class features give ≥ 90% mIoU and oIoU; constant features give 0', ...opts, async fn() {
  const task = syntheticReferringTask({ images: 4, classes: C, seed: 2, size: SIZE });
  const stats = [], flatStats = [];
  for (const s of await task.samples()) {
    const im = await s.sample.read();
    const probe = codedMap(SIZE, SIZE, G, G, 2, () => 0);
    const cls = majority(im.mask, probe, 2);
    probe.dispose();
    const map = codedMap(SIZE, SIZE, G, G, 2, (c) => Math.max(0, cls[c]));
    const text = oneHot(2, [1]);
    const r = await textSegmentCells(map, text.reshape([2]), {});
    stats.push({ oracle: referringSampleStats(Uint8Array.from(paintCells(map, r.cells, [1])), im.mask, SIZE, SIZE, s.id) });
    const flat = codedMap(SIZE, SIZE, 4, 4, 2, () => [0.5, 0.5]);
    const f = await textSegmentCells(flat, text, {});
    flatStats.push({ flat: referringSampleStats(Uint8Array.from(paintCells(flat, f.cells, [1])), im.mask, SIZE, SIZE, s.id) });
    [map, flat, text].forEach((t) => t.dispose());
  }
  const rows = referringRows('ref', sumStats(stats));
  console.log(`referring oracle: ${rows.map((r) => `${r.metric} ${r.value.toFixed(2)}`).join(', ')}`);
  assertEquals(rows.map((r) => r.metric), ['mIoU', 'oIoU'], 'metrics');
  for (const r of rows) assert(r.value >= 90 && r.value <= 100 && r.n === 4, `oracle ${JSON.stringify(r)}`);
  assertEquals(referringRows('ref', sumStats(flatStats)).map((r) => r.value), [0, 0], 'constant floor');
} });

Deno.test({ name: 'imagenetS factory: candidates = folder class + classes in the mask, or all; ignore id kept in the labels', ...opts, async fn() {
  const root = `${tmp}/ins`;
  const wnids = Array.from({ length: 50 }, (_, i) => `n0${String(1440000 + 37 * i).padStart(7, '0')}`);
  await Deno.mkdir(`${root}/validation/${wnids[3]}`, { recursive: true });
  await Deno.mkdir(`${root}/validation-segmentation/${wnids[3]}`, { recursive: true });
  await Deno.writeTextFile(`${root}/categories.txt`, wnids.join('\n'));
  const w = 4, h = 2, ids = [0, 4, 4, 7, 1000 % 256, 0, 4, 0];
  const seg = new Uint8Array(w * h * 3);
  ids.forEach((v, p) => { seg[3 * p] = v; });
  seg[3 * 4] = 1000 % 256; seg[3 * 4 + 1] = Math.floor(1000 / 256); // pixel 4 = ignore
  await Deno.writeFile(`${root}/validation-segmentation/${wnids[3]}/ILSVRC2012_val_00000001.png`, encodePng({ width: w, height: h, data: seg }));
  await Deno.writeFile(`${root}/validation/${wnids[3]}/ILSVRC2012_val_00000001.JPEG`, encodePng({ width: w, height: h, data: new Uint8Array(w * h * 3) }));
  const names = wnids.map((_, i) => `class ${i + 1}`);
  const t = imagenetSTask(root, { classes: 50, categoriesFile: 'categories.txt', classNames: names });
  const [s] = await t.samples();
  const im = await s.sample.read();
  assertEquals(im.candidates, [4, 7], 'folder class 4 and class 7 from the mask');
  assertEquals(im.labels.data[4], 1000, 'ignore id');
  const all = await (await imagenetSTask(root, { classes: 50, categoriesFile: 'categories.txt', candidates: 'all' }).samples())[0].sample.read();
  assertEquals(all.candidates.length, 50, 'all classes');
  assert(t.notes.some((n) => n.includes('Otsu')) && t.notes.some((n) => n.includes('projector')), 'notes say the rule and the skipped taps');
} });

Deno.test({ name: 'text segmentation on a tiny OneVision: text vectors are the last user-text token rows; end-to-end runs resume exactly', ...opts, async fn() {
  const dir = `${tmp}/tiny-ov`;
  await writeTinyLlavaOnevision(dir, { seed: 9 });
  const model = await loadLlava(gpu, dir);
  const suffix = await promptSuffixLength(model);
  assertEquals(suffix, 5, 'Qwen2 chat template: <|im_end|> \\n <|im_start|> assistant \\n');
  const entries = sweepEntries({ taps: ['lm.value', 'lm.hidden', 'projector'], layers: [1] });
  const prompt = 'a photo of a red striped object';
  const vecs = await textVectors(model, prompt, entries);
  assertEquals([...vecs.keys()], ['lm.value@1', 'lm.hidden@1'], 'LM taps only');
  const ref = await model.prefill({ images: [], prompt, taps: ['lm.layers.1.out'] });
  const pos = ref.inputIds.length - 1 - suffix;
  const kv = ref.cache.kvHeads, hd = ref.cache.headDim;
  const values = await ref.cache.readLayer(1, 'value');
  const wantV = Array.from({ length: kv * hd }, (_, i) => values[(Math.floor(i / hd) * ref.cache.length + pos) * hd + (i % hd)]);
  assertEquals(Array.from((await vecs.get('lm.value@1')!.read()) as Float32Array), Array.from(Float32Array.from(wantV)), 'value row of the last user-text token, heads concatenated');
  const hidden = (await ref.taps.get('lm.layers.1.out')!.read()) as Float32Array;
  const H = ref.taps.get('lm.layers.1.out')!.rowLength;
  assertEquals(Array.from((await vecs.get('lm.hidden@1')!.read()) as Float32Array), Array.from(hidden.subarray(pos * H, (pos + 1) * H)), 'hidden row');
  ref.dispose();
  vecs.forEach((t) => t.dispose());

  const overlays = `${tmp}/overlays`;
  await Deno.mkdir(overlays);
  const ctx: ProbeContext = { model, siglip: null, taps: ['lm.value', 'lm.hidden', 'projector'], layers: [0, 1], agnostic: null, grid: 'main', overlays: directoryOverlays(overlays), overlaysLeft: 2 };
  const tasks: ProbeTask<unknown>[] = [syntheticSemanticTask({ images: 2, classes: 2, seed: 3, size: 56 }), syntheticReferringTask({ images: 2, classes: 2, seed: 4, size: 56 })] as ProbeTask<unknown>[];
  for (const [i, task] of tasks.entries()) {
    const out = `${tmp}/run-${i}`;
    const first = await runProbe(task, ctx, out, { model: 'tiny' });
    assertEquals([first.computed, first.resumed], [2, 0], `${task.name}: first run computes both`);
    const metrics = i === 0 ? ['mIoU'] : ['mIoU', 'oIoU'];
    const want = ['lm.value@0', 'lm.value@1', 'lm.hidden@0', 'lm.hidden@1'].flatMap((k) => metrics.map((m) => `${k}:${m}`)).sort();
    assertEquals(first.rows.map((r) => `${r.tap}@${r.layer}:${r.metric}`).sort(), want, `${task.name}: rows (no projector)`);
    for (const r of first.rows) assert(Number.isFinite(r.value) && r.value >= 0 && r.value <= 100 && r.n === 2, `row ${JSON.stringify(r)}`);
    const again = await runProbe(task, { ...ctx, overlaysLeft: 0 }, out, { model: 'tiny' });
    assertEquals([again.computed, again.resumed], [0, 2], `${task.name}: resumed run computes nothing`);
    assertEquals(JSON.stringify(again.rows), JSON.stringify(first.rows), `${task.name}: same aggregates`);
  }
  assertEquals([...Deno.readDirSync(overlays)].length, 2, 'overlays written');
  model.dispose();
} });
