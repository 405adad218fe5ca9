// float64 reference for `kmeans` (src/probe/kmeans.ts): the same k-means++ draws (seededUniforms(seed + r), taken
// as f32 like the GPU's uniforms), the same Lloyd steps, empty clusters keep their centroid, lowest inertia wins.
import { type HostTensor, hostTensor } from '../../gpu/hostTensor.ts';
import { type KmeansOptions, seededUniforms } from '../kmeans.ts';
import { l2Normalize } from './similarity.ts';

export interface HostKmeans { labels: Uint32Array; centroids: HostTensor; inertias: Float64Array }

function sqDist(x: Float64Array, i: number, c: Float64Array, j: number, d: number): number {
  let s = 0;
  for (let e = 0; e < d; e++) s += (x[i * d + e] - c[j * d + e]) ** 2;
  return s;
}

export function kmeansAssign(x: Float64Array, c: Float64Array, n: number, k: number, d: number): { labels: Uint32Array; dist: Float64Array } {
  const labels = new Uint32Array(n), dist = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0, bv = sqDist(x, i, c, 0, d);
    for (let j = 1; j < k; j++) {
      const v = sqDist(x, i, c, j, d);
      if (v < bv) { bv = v; best = j; }
    }
    labels[i] = best;
    dist[i] = bv;
  }
  return { labels, dist };
}

export function kmeans(points: HostTensor, k: number, opts: KmeansOptions = {}): HostKmeans {
  const d = points.shape[points.shape.length - 1];
  const n = points.data.length / d;
  const iterations = opts.iterations ?? 50, restarts = opts.restarts ?? 10, seed = opts.seed ?? 0;
  const spherical = opts.metric === 'cosine';
  const x = spherical ? l2Normalize(points).data : points.data;
  const inertias = new Float64Array(restarts);
  let best: { r: number; labels: Uint32Array; c: Float64Array } = { r: -1, labels: new Uint32Array(n), c: new Float64Array(k * d) };
  for (let r = 0; r < restarts; r++) {
    const u = Array.from(seededUniforms(seed + r, k), Math.fround);
    const c = new Float64Array(k * d);
    const copy = (i: number, j: number) => c.set(x.subarray(i * d, (i + 1) * d), j * d);
    const uniformIndex = (v: number) => Math.min(Math.floor(v * n), n - 1);
    copy(uniformIndex(u[0]), 0);
    // k-means++: P(i) ∝ D²(i), by the first cumulative sum above u·ΣD²
    const minD2 = new Float64Array(n).fill(Infinity);
    for (let j = 1; j < k; j++) {
      for (let i = 0; i < n; i++) minD2[i] = Math.min(minD2[i], sqDist(x, i, c, j - 1, d));
      const total = minD2.reduce((a, v) => a + v, 0);
      const goal = u[j] * total;
      let pick = -1, run = 0, lastPositive = -1;
      for (let i = 0; i < n; i++) {
        run += minD2[i];
        if (minD2[i] > 0) lastPositive = i;
        if (pick < 0 && total > 0 && run > goal) pick = i;
      }
      if (pick < 0) pick = lastPositive >= 0 ? lastPositive : uniformIndex(u[j]);
      copy(pick, j);
    }
    let labels: Uint32Array = new Uint32Array(n);
    for (let it = 0; it < iterations; it++) {
      labels = kmeansAssign(x, c, n, k, d).labels;
      for (let j = 0; j < k; j++) {
        let count = 0;
        const sum = new Float64Array(d);
        for (let i = 0; i < n; i++) {
          if (labels[i] !== j) continue;
          count++;
          for (let e = 0; e < d; e++) sum[e] += x[i * d + e];
        }
        if (!count) continue;
        let sq = 0;
        for (let e = 0; e < d; e++) { sum[e] /= count; sq += sum[e] ** 2; }
        const inv = spherical ? 1 / Math.max(Math.sqrt(sq), 1e-12) : 1;
        for (let e = 0; e < d; e++) c[j * d + e] = sum[e] * inv;
      }
    }
    const fin = kmeansAssign(x, c, n, k, d);
    inertias[r] = fin.dist.reduce((a, v) => a + v, 0) / n;
    if (best.r < 0 || inertias[r] < inertias[best.r]) best = { r, labels: fin.labels, c };
  }
  return { labels: best.labels, centroids: hostTensor([k, d], best.c), inertias };
}
