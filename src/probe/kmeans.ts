// k-means on the GPU (shaders/probe/kmeans.wgsl): k-means++ seeding whose random draws come from a seeded host
// stream (uploaded as uniforms, so nothing is read back), a fixed number of Lloyd iterations (assignment kernel +
// centroid update kernel), several restarts, the restart of lowest inertia kept on the GPU.
// Choices (faiss, which Amir et al. use, seeds uniformly and splits empty clusters): k-means++ seeding; an empty
// cluster keeps its centroid; 'cosine' = spherical k-means (unit points, centroids renormalised after each update).
import type { Gpu } from '../gpu/device.ts';
import { OpArgumentError } from '../gpu/errors.ts';
import { Stage } from '../gpu/stage.ts';
import { Tensor } from '../gpu/tensor.ts';
import { expectDType } from '../ops/check.ts';
import { grid1d } from '../ops/grid.ts';
import { asRows, l2Normalize } from './similarity.ts';

export interface KmeansOptions {
  /** Lloyd iterations (assignment + update), fixed. Default 50. */
  iterations?: number;
  /** Independent seedings; the lowest inertia wins. Default 10. */
  restarts?: number;
  /** Restart r draws its seeding from the stream `seededUniforms(seed + r)`. Default 0. */
  seed?: number;
  /** 'euclidean' (default) or 'cosine' (spherical). */
  metric?: 'euclidean' | 'cosine';
}

export interface KmeansResult {
  /** [n] cluster of each point under the best restart. */
  labels: Tensor<'u32'>;
  /** [k, d] its centroids. */
  centroids: Tensor<'f32'>;
  /** [restarts] mean squared distance of the points to their centroid, per restart (after a final assignment). */
  inertias: Tensor<'f32'>;
  dispose(): void;
}

/** mulberry32 uniforms in [0, 1): the seeding draws of one restart (the same stream in the float64 reference). */
export function seededUniforms(seed: number, count: number): Float64Array {
  let s = seed >>> 0;
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    let t = (s = (s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  return out;
}

const WG = 64;

/** k clusters of the rows of points [..., d]. */
export async function kmeans(stage: Stage, points: Tensor<'f32'>, k: number, opts: KmeansOptions = {}): Promise<KmeansResult> {
  const op = 'kmeans';
  expectDType(op, 'points', points, ['f32']);
  const n = points.rows, d = points.rowLength;
  const iterations = opts.iterations ?? 50, restarts = opts.restarts ?? 10, seed = opts.seed ?? 0;
  const metric = opts.metric ?? 'euclidean';
  if (!Number.isInteger(k) || k < 1 || k > n) throw new OpArgumentError(op, `k must be an integer in 1..${n} (the points of ${points.label}), got ${k}`);
  if (!Number.isInteger(iterations) || iterations < 0) throw new OpArgumentError(op, `iterations must be an integer ≥ 0, got ${iterations}`);
  if (!Number.isInteger(restarts) || restarts < 1) throw new OpArgumentError(op, `restarts must be an integer ≥ 1, got ${restarts}`);
  if (metric !== 'euclidean' && metric !== 'cosine') throw new OpArgumentError(op, `metric must be 'euclidean' or 'cosine', got ${metric}`);
  const gpu = stage.gpu;
  const x = metric === 'cosine' ? await l2Normalize(stage, asRows(points)) : asRows(points);
  const cent = Tensor.empty(gpu, 'f32', [restarts, k, d], 'kmeans centroids (all restarts)');
  const labelsAll = Tensor.empty(gpu, 'u32', [restarts, n], 'kmeans labels (all restarts)');
  const minD2 = Tensor.empty(gpu, 'f32', [n], 'kmeans D²');
  const dist = Tensor.empty(gpu, 'f32', [n], 'kmeans distances');
  const inertias = Tensor.empty(gpu, 'f32', [restarts], 'kmeans inertias');
  const labels = Tensor.empty(gpu, 'u32', [n], 'kmeans labels');
  const centroids = Tensor.empty(gpu, 'f32', [k, d], 'kmeans centroids');
  const kernel = (entry: string) => gpu.kernels.get('probe/kmeans', entry);
  const [seedFirst, minDistance, sampleNext, assign, update, meanInertia, selectBest] = await Promise.all(
    ['seed_first', 'min_distance', 'sample_next', 'assign', 'update', 'mean_inertia', 'select_best'].map(kernel),
  );
  const points1d = grid1d(n, WG, gpu.limits.maxComputeWorkgroupsPerDimension);
  const base = { n, d, k, restarts, spherical: metric === 'cosine' ? 1 : 0, row_stride: points1d.rowStride };
  const tag = `kmeans n=${n} d=${d} k=${k}`;
  for (let r = 0; r < restarts; r++) {
    const u = seededUniforms(seed + r, k);
    const at = (j: number) => ({ ...base, restart: r, j, u: u[j] });
    stage.dispatch(seedFirst, { label: `${tag} restart ${r} seed 0`, bindings: { x: x.buffer(op), cent: cent.buffer(op) }, uniforms: at(0), workgroups: [Math.ceil(d / WG)] });
    for (let j = 1; j < k; j++) {
      stage.dispatch(minDistance, { label: `${tag} restart ${r} D² to ${j - 1}`, bindings: { x: x.buffer(op), cent: cent.buffer(op), min_d2: minD2.buffer(op) }, uniforms: at(j - 1), workgroups: points1d.workgroups });
      stage.dispatch(sampleNext, { label: `${tag} restart ${r} seed ${j}`, bindings: { x: x.buffer(op), cent: cent.buffer(op), min_d2: minD2.buffer(op) }, uniforms: at(j), workgroups: [1] });
    }
    const lloyd = { ...at(0) };
    const assignBindings = { x: x.buffer(op), cent: cent.buffer(op), labels: labelsAll.buffer(op), dist: dist.buffer(op) };
    for (let it = 0; it < iterations; it++) {
      stage.dispatch(assign, { label: `${tag} restart ${r} assign ${it}`, bindings: assignBindings, uniforms: lloyd, workgroups: points1d.workgroups });
      stage.dispatch(update, { label: `${tag} restart ${r} update ${it}`, bindings: { x: x.buffer(op), cent: cent.buffer(op), labels: labelsAll.buffer(op) }, uniforms: lloyd, workgroups: [k] });
    }
    stage.dispatch(assign, { label: `${tag} restart ${r} final assign`, bindings: assignBindings, uniforms: lloyd, workgroups: points1d.workgroups });
    stage.dispatch(meanInertia, { label: `${tag} restart ${r} inertia`, bindings: { dist: dist.buffer(op), inertia: inertias.buffer(op) }, uniforms: lloyd, workgroups: [1] });
  }
  const sel = grid1d(Math.max(n, k * d), WG, gpu.limits.maxComputeWorkgroupsPerDimension);
  stage.dispatch(selectBest, {
    label: `${tag} best of ${restarts} restarts`,
    bindings: { cent_in: cent.buffer(op), labels_in: labelsAll.buffer(op), inertia_in: inertias.buffer(op), best_labels: labels.buffer(op), best_cent: centroids.buffer(op) },
    uniforms: { ...base, restart: 0, j: 0, u: 0, row_stride: sel.rowStride }, workgroups: sel.workgroups,
  });
  stage.onDone(() => {
    [cent, labelsAll, minD2, dist].forEach((t) => t.dispose());
    if (metric === 'cosine') x.dispose();
  });
  return { labels, centroids, inertias, dispose: () => { labels.dispose(); centroids.dispose(); inertias.dispose(); } };
}

/** Nearest centroid (squared euclidean; ties to the lower index) of every row of points [..., d]. */
export async function kmeansAssign(stage: Stage, points: Tensor<'f32'>, centroids: Tensor<'f32'>): Promise<{ labels: Tensor<'u32'>; distances: Tensor<'f32'> }> {
  const op = 'kmeansAssign';
  expectDType(op, 'points', points, ['f32']);
  expectDType(op, 'centroids', centroids, ['f32']);
  if (centroids.rank !== 2 || centroids.shape[1] !== points.rowLength) {
    throw new OpArgumentError(op, `centroids (${centroids.label}) [${centroids.shape.join(', ')}] must be [k, ${points.rowLength}]`);
  }
  const gpu: Gpu = stage.gpu;
  const n = points.rows, d = points.rowLength, k = centroids.shape[0];
  const labels = Tensor.empty(gpu, 'u32', [n], 'kmeans labels');
  const distances = Tensor.empty(gpu, 'f32', [n], 'kmeans distances');
  const g = grid1d(n, WG, gpu.limits.maxComputeWorkgroupsPerDimension);
  stage.dispatch(gpu.kernels.get('probe/kmeans', 'assign'), {
    label: `kmeansAssign n=${n} d=${d} k=${k}`,
    bindings: { x: points.buffer(op), cent: centroids.buffer(op), labels: labels.buffer(op), dist: distances.buffer(op) },
    uniforms: { n, d, k, restarts: 1, spherical: 0, row_stride: g.rowStride, restart: 0, j: 0, u: 0 },
    workgroups: g.workgroups,
  });
  return { labels, distances };
}
