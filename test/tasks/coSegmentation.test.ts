// Co-segmentation task: on the real MSRC fixture (the 'grass' set: images 2 and 3) oracle class features give
// ≥ 90% Jaccard and precision; on synthetic sets oracle appearance features (objects by class, backgrounds unique
// per image) likewise; the centre prior separates a central object from a background every image shares, where
// commonness alone cannot; constant features give the exact floors of both rules; one end-to-end run on a tiny
// OneVision checkpoint, then a resumed run that recomputes nothing and repeats the rows.
import { directoryOverlays } from '../../src/analysis/runSink.ts';
import type { FeatureMap } from '../../src/capture/features.ts';
import { pixelsToCells } from '../../src/capture/gridPixels.ts';
import { acquireGpu } from '../../src/gpu/device.ts';
import { Tensor } from '../../src/gpu/tensor.ts';
import { loadLlava } from '../../src/models/llava.ts';
import { writeTinyLlavaOnevision } from '../../src/models/tiny/tinyLlava.ts';
import { MSRC_CLASSES, MSRC_PAIRED_PNG_LAYOUT, MsrcLabelReader } from '../../src/tasks/datasets/msrc.ts';
import { denoFileTree, IMAGE_CODEC } from '../../src/tasks/datasets/dataset.ts';
import { cosegRows, cosegSet, cosegSetStats, msrcTask, syntheticCosegTask } from '../../src/tasks/coSegmentation.ts';
import { sumStats } from '../../src/tasks/resultsLog.ts';
import { runProbe } from '../../src/analysis/runProbe.ts';
import type { ProbeContext } from '../../src/tasks/task.ts';
import { assert, assertEquals } from '../gpu/assert.ts';
import { SHARED_FIXTURES } from '../fixtures/sharedFixtures.ts';

const gpu = await acquireGpu();
const opts = { sanitizeResources: false, sanitizeOps: false };
const tmp = await Deno.makeTempDir({ prefix: 'kvscope-coseg-' });
globalThis.addEventListener('unload', () => Deno.removeSync(tmp, { recursive: true }));
const FIXTURES = `${SHARED_FIXTURES}/`;
const FAST = { kMax: 8, restarts: 2, iterations: 10 };

/** Uniform rows×cols cell rectangles over a width×height image. */
function gridRects(width: number, height: number, rows: number, cols: number): Float32Array {
  const rects = new Float32Array(rows * cols * 4);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) rects.set([c * width / cols, r * height / rows, (c + 1) * width / cols, (r + 1) * height / rows], (r * cols + c) * 4);
  return rects;
}

/** A FeatureMap whose cell features are one-hot of `code(cell)` (dim `dim`). */
function codedMap(width: number, height: number, rows: number, cols: number, dim: number, code: (cell: number) => number): FeatureMap {
  const values = new Float32Array(rows * cols * dim);
  for (let c = 0; c < rows * cols; c++) values[c * dim + code(c)] = 1;
  const features = Tensor.from(gpu, 'f32', [rows, cols, dim], values, 'oracle features');
  return {
    tap: 'oracle', image: 0, grid: 'main', rows, cols, dim, features, valid: new Uint8Array(rows * cols).fill(1),
    rects: gridRects(width, height, rows, cols), imageSize: { width, height }, dispose: () => features.dispose(),
  };
}

/** Majority label of each cell among `labels` (ignoring `ignore`), −1 when the cell holds none. */
function majority(labels: ArrayLike<number>, width: number, height: number, rows: number, cols: number, classes: number, ignore: number): Int32Array {
  const rects = gridRects(width, height, rows, cols);
  const best = new Int32Array(rows * cols).fill(-1), share = new Float32Array(rows * cols).fill(-1);
  for (let k = 0; k < classes; k++) {
    if (k === ignore) continue;
    const s = pixelsToCells(labels, rects, width, height, (v) => v === k, ignore);
    for (let c = 0; c < s.length; c++) if (s[c] > share[c]) { share[c] = s[c]; best[c] = k; }
  }
  return best;
}

Deno.test({ name: 'coseg on the MSRC fixture (grass in images 2 and 3): oracle class features give ≥ 90% Jaccard and precision', ...opts, async fn() {
  const task = msrcTask(`${FIXTURES}msrc`, { source: 'labels', layout: MSRC_PAIRED_PNG_LAYOUT, classes: ['grass', 'water'], probe: { ...FAST, prior: 'none' } });
  const samples = await task.samples();
  assertEquals(samples.map((s) => s.id), ['grass'], 'water is in one image only: no set');
  const shots = await samples[0].sample.read();
  assertEquals(shots.map((s) => s.name), ['2', '3'], 'grass images');
  const reader = new MsrcLabelReader(denoFileTree(`${FIXTURES}msrc`), IMAGE_CODEC, MSRC_PAIRED_PNG_LAYOUT);
  const maps: FeatureMap[] = [];
  for (const s of shots) {
    const { labels } = await reader.read(s.name);
    const { width, height } = s.image;
    const rows = Math.round(height / 8), cols = Math.round(width / 8);
    const cls = majority(labels, width, height, rows, cols, MSRC_CLASSES.length, 0);
    maps.push(codedMap(width, height, rows, cols, MSRC_CLASSES.length, (c) => Math.max(0, cls[c])));
  }
  const r = await cosegSet(maps, shots.map((s) => s.mask), { ...FAST, prior: 'none' });
  const rows = cosegRows('msrc', sumStats([{ oracle: cosegSetStats(r) }]));
  const j = rows.find((x) => x.metric === 'Jaccard')!, p = rows.find((x) => x.metric === 'precision')!;
  console.log(`MSRC grass, oracle: k ${r.k}, Jaccard ${j.value.toFixed(2)}, precision ${p.value.toFixed(2)}; per image J ${r.scores.map((s) => s.jaccard!.toFixed(3)).join(', ')}`);
  assertEquals(r.foreground.filter((f) => f).length >= 1 && r.foreground.some((f) => !f), true, 'some clusters foreground, some not');
  assert(j.value >= 90 && p.value >= 90, `Jaccard ${j.value}, precision ${p.value}`);
  assertEquals([j.n, j.images], [1, 2], 'one set of two images');
  maps.forEach((m) => m.dispose());
} });

Deno.test({ name: 'coseg on synthetic sets: oracle appearance features give ≥ 90% Jaccard; constant features give the exact floors', ...opts, async fn() {
  const S = 96, G = 48;
  const task = syntheticCosegTask({ sets: 2, imagesPerSet: 4, classes: 3, seed: 2, size: S, objectsPerImage: [1, 1] });
  const stats = [], constNone = [], constCentre = [];
  let wantNoneJ = 0, wantCentreP = 0;
  for (const s of await task.samples()) {
    const shots = await s.sample.read();
    const d = 16;
    // objects: one-hot of their class; background: one code per image (backgrounds differ from image to image)
    const maps = shots.map((sh, i) => {
      const cls = majority(sh.mask, S, S, G, G, 2, 255);
      return codedMap(S, S, G, G, d, (c) => (cls[c] === 1 ? 1 : 4 + i));
    });
    const r = await cosegSet(maps, shots.map((x) => x.mask), { ...FAST, prior: 'none' });
    stats.push({ oracle: cosegSetStats(r) });
    maps.forEach((m) => m.dispose());
    // constant features: one cluster in every image → all fg ('none'), or never more central than average → all bg ('centre')
    const flat = shots.map(() => codedMap(S, S, 6, 6, 3, () => 2));
    const none = await cosegSet(flat, shots.map((x) => x.mask), { ...FAST, prior: 'none' });
    const centre = await cosegSet(flat, shots.map((x) => x.mask), { ...FAST, prior: 'centre' });
    constNone.push({ c: cosegSetStats(none) });
    constCentre.push({ c: cosegSetStats(centre) });
    flat.forEach((m) => m.dispose());
    const share = (m: Uint8Array) => m.filter((v) => v === 1).length / m.filter((v) => v !== 255).length;
    wantNoneJ += shots.reduce((a, x) => a + share(x.mask), 0) / shots.length;
    wantCentreP += shots.reduce((a, x) => a + 1 - share(x.mask), 0) / shots.length;
  }
  const rows = cosegRows('syn', sumStats(stats));
  const j = rows.find((x) => x.metric === 'Jaccard')!;
  console.log(`synthetic oracle: Jaccard ${j.value.toFixed(2)}, precision ${rows[1].value.toFixed(2)}`);
  assert(j.value >= 90 && rows[1].value >= 90, `oracle ${JSON.stringify(rows)}`);
  const none = cosegRows('syn', sumStats(constNone)), centre = cosegRows('syn', sumStats(constCentre));
  assert(Math.abs(none[0].value - 100 * wantNoneJ / 2) < 1e-9, `constant, no prior: Jaccard ${none[0].value} vs fg share ${100 * wantNoneJ / 2}`);
  assert(Math.abs(none[1].value - 100 * wantNoneJ / 2) < 1e-9, 'constant, no prior: precision = fg share');
  assertEquals(centre[0].value, 0, 'constant, centre prior: nothing selected, J 0');
  assert(Math.abs(centre[1].value - 100 * wantCentreP / 2) < 1e-9, `constant, centre prior: precision ${centre[1].value} = bg share ${100 * wantCentreP / 2}`);
} });

Deno.test({ name: 'coseg centre prior: a central object on a background all images share is found; commonness alone takes everything', ...opts, async fn() {
  const W = 40, rows = 10;
  const masks = [0, 1, 2].map((i) => Uint8Array.from({ length: W * W }, (_, p) => {
    // squares aligned to the 4-px cells, so the cell oracle is exact
    const x = p % W, y = Math.floor(p / W), r = [8, 12, 8][i], o = [0, 0, 4][i];
    return x >= 20 - r + o && x < 20 + r + o && y >= 20 - r && y < 20 + r ? 1 : 0;
  }));
  const maps = masks.map((m) => {
    const cls = majority(m, W, W, rows, rows, 2, 255);
    return codedMap(W, W, rows, rows, 4, (c) => (cls[c] === 1 ? 1 : 3));
  });
  const centre = await cosegSet(maps, masks, { ...FAST, prior: 'centre' });
  const none = await cosegSet(maps, masks, { ...FAST, prior: 'none' });
  console.log(`centre prior J ${centre.jaccard.toFixed(3)}, none J ${none.jaccard.toFixed(3)}`);
  assertEquals(centre.jaccard, 1, 'centre prior: the object exactly');
  assert(Math.abs(none.jaccard - masks.reduce((a, m) => a + m.filter((v) => v).length / m.length, 0) / 3) < 1e-12, 'no prior: all foreground');
  maps.forEach((m) => m.dispose());
} });

Deno.test({ name: 'coseg end to end on a tiny OneVision: rows well formed; a resumed run recomputes nothing and repeats them', ...opts, async fn() {
  const dir = `${tmp}/tiny-ov`;
  await writeTinyLlavaOnevision(dir, { seed: 8 });
  const model = await loadLlava(gpu, dir);
  const overlays = `${tmp}/overlays`;
  await Deno.mkdir(overlays);
  const ctx: ProbeContext = { model, siglip: null, taps: ['lm.value', 'projector'], layers: [1], agnostic: null, grid: 'main', overlays: directoryOverlays(overlays), overlaysLeft: 3 };
  const task = syntheticCosegTask({ sets: 2, imagesPerSet: 2, classes: 2, seed: 4, size: 56, probe: FAST });
  const out = `${tmp}/run`;
  const first = await runProbe(task, ctx, out, { model: 'tiny' });
  assertEquals([first.computed, first.resumed], [2, 0], 'first run computes both sets');
  assertEquals(first.rows.map((r) => `${r.tap}@${r.layer}:${r.metric}`).sort(), ['lm.value@1:Jaccard', 'lm.value@1:precision', 'projector@null:Jaccard', 'projector@null:precision'], 'rows');
  for (const r of first.rows) assert(Number.isFinite(r.value) && r.value >= 0 && r.value <= 100 && r.n === 2 && r.images === 4, `row ${JSON.stringify(r)}`);
  assertEquals([...Deno.readDirSync(overlays)].length, 3, 'overlays written');
  const again = await runProbe(task, { ...ctx, overlaysLeft: 0 }, out, { model: 'tiny' });
  assertEquals([again.computed, again.resumed], [0, 2], 'resumed run computes nothing');
  assertEquals(JSON.stringify(again.rows), JSON.stringify(first.rows), 'same aggregates');
  model.dispose();
} });
