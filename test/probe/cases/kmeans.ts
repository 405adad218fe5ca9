// Cases for `kmeans` (shaders/probe/kmeans.wgsl): 130 points in d = 33 and d = 5, k = 4 and 7, euclidean and
// cosine, several restarts. The labels of the chosen restart must match the float64 reference exactly (the same
// seeded k-means++ draws), the per-restart inertias and centroids closely.
import { Stage } from '../../../src/gpu/stage.ts';
import { Tensor } from '../../../src/gpu/tensor.ts';
import { hostTensor } from '../../../src/gpu/hostTensor.ts';
import { kmeans } from '../../../src/probe/kmeans.ts';
import { kmeans as kmeansRef } from '../../../src/probe/ref/kmeans.ts';
import type { OpCase, Rng } from '../../ops/opCase.ts';

/** Points around `blobs` random centres (spread `spread`), shuffled. */
export function blobPoints(rng: Rng, n: number, d: number, blobs: number, spread: number): { values: number[]; truth: number[] } {
  const centres = Array.from({ length: blobs }, () => rng.normals(d, 3));
  const truth = Array.from({ length: n }, () => rng.int(0, blobs));
  const values = truth.flatMap((b) => centres[b].map((c) => Math.fround(c + spread * rng.normal())));
  return { values, truth };
}

const list: [number, number, number, number, 'euclidean' | 'cosine', number][] = [
  [130, 33, 4, 3, 'euclidean', 1.5],
  [130, 5, 7, 4, 'cosine', 1.0],
  [61, 3, 5, 2, 'euclidean', 2.0],
];

export const cases: OpCase[] = list.map(([n, d, k, restarts, metric, spread]) => ({
  op: 'kmeans',
  name: `kmeans n=${n} d=${d} k=${k} ${metric}, ${restarts} restarts × 8 iterations`,
  tol: { atol: 1e-4, rtol: 1e-4 }, // labels exact; inertias/centroids: f32 sums over ≤ 130 points
  async run(gpu, rng) {
    const { values } = blobPoints(rng, n, d, k, spread);
    const x = Tensor.from(gpu, 'f32', [n, d], values, 'points');
    const opts = { iterations: 8, restarts, seed: 17, metric };
    const stage = new Stage(gpu, 'test kmeans');
    const r = await kmeans(stage, x, k, opts);
    await stage.submit();
    const got = [...await r.labels.read(), ...await r.inertias.read(), ...await r.centroids.read()];
    r.dispose(); x.dispose();
    const want = kmeansRef(hostTensor([n, d], values), k, opts);
    return { got, want: [...want.labels, ...want.inertias, ...want.centroids.data] };
  },
}));
