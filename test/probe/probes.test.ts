// The probe kernels against their float64 references (test/probe/cases), then behavioural checks that fail when a
// probe does not do its job: nearest neighbours of noisy copies, propagation of a mask with oracle features,
// k-means on separated blobs and its restart choice, logistic regression on separable data, masked rows.
import { acquireGpu } from '../../src/gpu/device.ts';
import { compare, Rng } from '../ops/opCase.ts';
import { probeCases } from './cases/index.ts';

const gpu = await acquireGpu();
gpu.poisonNewTensors = true;
const opts = { sanitizeResources: false, sanitizeOps: false };

for (const [i, c] of probeCases.entries()) {
  Deno.test({
    name: `${c.op}: ${c.name}`, ...opts,
    async fn() {
      const { got, want } = await c.run(gpu, new Rng(2000 + i));
      const r = compare(got, want, c.tol);
      if (!r.ok) {
        throw new Error(`${c.name}: ${r.bad} of ${want.length} outside atol ${c.tol.atol} + rtol ${c.tol.rtol}` +
          ` (non-finite ${r.nonFinite}; max abs err ${r.maxAbsErr.toExponential(3)}); first: ${r.firstBad}`);
      }
    },
  });
}

// ---- behavioural checks ----
import { Stage } from '../../src/gpu/stage.ts';
import { Tensor } from '../../src/gpu/tensor.ts';
import { correspondence } from '../../src/probe/correspondence.ts';
import { kmeans } from '../../src/probe/kmeans.ts';
import { oneHotLabels, propagateVideo } from '../../src/probe/labelPropagation.ts';
import { logisticRegression, predict } from '../../src/probe/logisticRegression.ts';
import { nearestNeighbours, NO_NEIGHBOUR } from '../../src/probe/nearestNeighbours.ts';
import { assert, assertEquals } from '../gpu/assert.ts';
import { blobPoints } from './cases/kmeans.ts';
import { linearData } from './cases/logisticRegression.ts';

Deno.test({ name: 'nearestNeighbours: noisy copies of keys find their key; masked keys are never chosen', ...opts, async fn() {
  const rng = new Rng(1), d = 33, m = 130, n = 63;
  const kv = rng.normals(m * d);
  const src = Array.from({ length: n }, () => rng.int(0, m));
  const qv = src.flatMap((j) => kv.slice(j * d, (j + 1) * d).map((v) => v + 0.2 * rng.normal()));
  const mv = Array.from({ length: m }, (_, j) => (j % 4 === 3 ? 0 : 1));
  const keys = Tensor.from(gpu, 'f32', [10, 13, d], kv, 'keys'), q = Tensor.from(gpu, 'f32', [7, 9, d], qv, 'queries');
  const mask = Tensor.from(gpu, 'u32', [m], mv, 'key mask');
  const stage = new Stage(gpu, 'nn behaviour');
  const open = await nearestNeighbours(stage, q, keys, 1);
  const masked = await nearestNeighbours(stage, q, keys, 5, { keyMask: mask });
  await stage.submit();
  const top1 = await open.indices.read(), mi = await masked.indices.read();
  assertEquals([...top1], src, 'top-1 neighbour of each noisy copy');
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < 5; t++) assert(mi[i * 5 + t] !== NO_NEIGHBOUR && mv[mi[i * 5 + t]] === 1, `query ${i} slot ${t}: masked key ${mi[i * 5 + t]} chosen`);
    if (mv[src[i]] === 1) assertEquals(mi[i * 5], src[i], `query ${i}: its own key is valid and first`);
  }
  [keys, q, mask].forEach((t) => t.dispose()); open.dispose(); masked.dispose();
} });

Deno.test({ name: 'correspondence: identical maps return the keypoints; a map shifted by 2 cells returns them shifted', ...opts, async fn() {
  const rng = new Rng(2), h = 6, w = 8, d = 16, cell = 4;
  const fv = rng.normals(h * w * d);
  const size = { height: h * cell, width: w * cell };
  // target cell (r, c) holds source cell (r, c − 2): content moves right by 2 cells = 8 px
  const shifted = Array.from({ length: h * w * d }, (_, i) => {
    const e = i % d, c = Math.floor(i / d) % w, r = Math.floor(i / d / w);
    return fv[(r * w + Math.max(c - 2, 0)) * d + e];
  });
  // interior pixels: within 2 px of the border the clamped upsampled map repeats itself (ties)
  const kps: [number, number][] = [[5, 6], [9, 13], [14, 17], [17, 5], [3, 10]];
  const src = Tensor.from(gpu, 'f32', [h, w, d], fv, 'source'), same = Tensor.from(gpu, 'f32', [h, w, d], fv, 'same');
  const moved = Tensor.from(gpu, 'f32', [h, w, d], shifted, 'shifted');
  const stage = new Stage(gpu, 'correspondence behaviour');
  const a = await correspondence(stage, src, size, same, size, kps);
  const b = await correspondence(stage, src, size, moved, size, kps.slice(1, 4));
  await stage.submit();
  assertEquals([...await a.pixels.read()], kps.flat(), 'identity matches');
  const sa = await a.scores.read();
  assert(sa.every((s) => Math.abs(s - 1) < 1e-5), `identity cosines ${[...sa]}`);
  assertEquals([...await b.pixels.read()], kps.slice(1, 4).flatMap(([x, y]) => [x + 2 * cell, y]), 'shifted matches');
  [src, same, moved].forEach((t) => t.dispose()); a.dispose(); b.dispose();
} });

Deno.test({ name: 'propagateVideo: a moving square is tracked through 8 frames with oracle features', ...opts, async fn() {
  const rng = new Rng(3), h = 9, w = 11, T = 8;
  // object = 3×3 square moving one cell right per frame; features = 2·(label one-hot) + a small position code + noise
  const labelAt = (t: number, r: number, c: number) => (r >= 3 && r < 6 && c >= 1 + t && c < 4 + t ? 1 : 0);
  const frames = Array.from({ length: T }, (_, t) => {
    const v: number[] = [];
    for (let r = 0; r < h; r++) {
      for (let c = 0; c < w; c++) {
        const l = labelAt(t, r, c);
        v.push(2 * (1 - l), 2 * l, 0.3 * Math.cos(r), 0.3 * Math.sin(r), 0.3 * Math.cos(c), 0.3 * Math.sin(c), ...rng.normals(3, 0.05));
      }
    }
    return Tensor.from(gpu, 'f32', [h, w, 9], v, `frame ${t}`);
  });
  const first = oneHotLabels(gpu, Array.from({ length: h * w }, (_, i) => labelAt(0, Math.floor(i / w), i % w)), h, w, 2);
  const out = await propagateVideo(frames, first, {});
  let wrong = 0;
  for (const [i, soft] of out.entries()) {
    const s = await soft.read();
    for (let cIdx = 0; cIdx < h * w; cIdx++) {
      const pred = s[2 * cIdx + 1] > s[2 * cIdx] ? 1 : 0;
      if (pred !== labelAt(i + 1, Math.floor(cIdx / w), cIdx % w)) wrong++;
    }
    soft.dispose();
  }
  assertEquals(wrong, 0, 'mislabelled cells over 7 propagated frames');
  [...frames, first].forEach((t) => t.dispose());
} });

Deno.test({ name: 'kmeans: separated blobs are recovered; the kept restart has the lowest inertia and equals its single run', ...opts, async fn() {
  const rng = new Rng(4), n = 120, d = 8, k = 5;
  const { values, truth } = blobPoints(rng, n, d, k, 0.3);
  const x = Tensor.from(gpu, 'f32', [n, d], values, 'blobs');
  const stage = new Stage(gpu, 'kmeans behaviour');
  const r = await kmeans(stage, x, k, { restarts: 8, iterations: 10, seed: 5 });
  await stage.submit();
  const labels = await r.labels.read(), inertias = [...await r.inertias.read()];
  // a bijection between blobs and clusters
  const map = new Map<number, number>();
  truth.forEach((t, i) => { if (!map.has(t)) map.set(t, labels[i]); assertEquals(labels[i], map.get(t), `point ${i} of blob ${t}`); });
  assertEquals(new Set(map.values()).size, k, 'distinct clusters per blob');
  const best = inertias.indexOf(Math.min(...inertias));
  assert(Math.max(...inertias) > 1.5 * Math.min(...inertias), `some restart should land in a worse optimum: ${inertias}`);
  const stage2 = new Stage(gpu, 'kmeans single restart');
  const single = await kmeans(stage2, x, k, { restarts: 1, iterations: 10, seed: 5 + best });
  await stage2.submit();
  assertEquals([...await single.labels.read()], [...labels], `labels of restart ${best}`);
  assertEquals([...await single.inertias.read()], [inertias[best]], 'its inertia');
  r.dispose(); single.dispose(); x.dispose();
} });

Deno.test({ name: 'logisticRegression: linearly separable few-shot data is separated, query too', ...opts, async fn() {
  const rng = new Rng(5), n = 65, d = 33;
  const train = linearData(rng, n, d, 0);
  const query = linearData(rng, 99, d, 0, train.wTrue);
  const x = Tensor.from(gpu, 'f32', [n, d], train.x, 'support'), y = Tensor.from(gpu, 'f32', [n], train.y, 'labels');
  const q = Tensor.from(gpu, 'f32', [9, 11, d], query.x, 'query');
  const stage = new Stage(gpu, 'logistic behaviour');
  const model = await logisticRegression(stage, x, y, { steps: 300, weightDecay: 0 });
  const pTrain = await predict(stage, model, x), pQuery = await predict(stage, model, q);
  await stage.submit();
  const pt = await pTrain.read(), pq = await pQuery.read();
  assertEquals([...pt].map((p) => (p > 0.5 ? 1 : 0)), train.y, 'training labels');
  const acc = [...pq].filter((p, i) => (p > 0.5 ? 1 : 0) === query.y[i]).length / 99;
  assert(acc >= 0.8, `query accuracy ${acc}`);
  [x, y, q, pTrain, pQuery].forEach((t) => t.dispose()); model.dispose();
} });

import { coSegmentation } from '../../src/probe/coSegmentation.ts';

Deno.test({ name: 'coSegmentation: the salient object shared by a set of images is foreground, the rest background', ...opts, async fn() {
  const rng = new Rng(6), d = 12;
  const centre = () => rng.normals(d, 1);
  const object = centre(), grass = centre(), sky = centre();
  const truth: number[][] = [];
  const images = [0, 1, 2].map((m) => {
    const kinds = Array.from({ length: 30 + 7 * m }, () => rng.int(0, 3)); // 0 object, 1 grass, 2 sky
    truth.push(kinds.map((t) => (t === 0 ? 1 : 0)));
    const f = kinds.flatMap((t) => [object, grass, sky][t].map((c) => c + 0.05 * rng.normal()));
    const s = kinds.map((t) => (t === 0 ? 0.6 + 0.3 * rng.next() : 0.03 * rng.next()));
    return { features: Tensor.from(gpu, 'f32', [kinds.length, d], f, `image ${m}`), saliency: Tensor.from(gpu, 'f32', [kinds.length], s, `saliency ${m}`) };
  });
  const r = await coSegmentation(images, { sampleInterval: 2, iterations: 10, restarts: 3, maxK: 6 });
  assert(r.k >= 3, `k = ${r.k} (objectives ${r.objectives})`);
  for (let m = 0; m < 3; m++) assertEquals([...await r.foreground[m].read()], truth[m], `image ${m} foreground`);
  r.dispose();
  images.forEach((im) => { im.features.dispose(); im.saliency.dispose(); });
} });
