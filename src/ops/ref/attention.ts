// float64 reference for `attention`: explicit scores and softmax, the same masks.
import type { BlockRule } from '../attention.ts';
import { type HostTensor, hostTensor } from '../../gpu/hostTensor.ts';

export interface AttentionRefOptions {
  kvLength: number;
  qStart?: number;
  causal: boolean;
  scale?: number;
  segments?: readonly number[];
  block?: readonly BlockRule[];
}

/** q [S_q, H, d], k/v [H_kv, capacity, d] -> [S_q, H·d]. A query that sees no key gives zeros. */
export function attention(q: HostTensor, k: HostTensor, v: HostTensor, opts: AttentionRefOptions): HostTensor {
  const [sQ, nHeads, d] = q.shape;
  const [nKv, capacity] = k.shape;
  const group = nHeads / nKv;
  const scale = opts.scale ?? 1 / Math.sqrt(d);
  const qStart = opts.qStart ?? 0;
  const out = hostTensor([sQ, nHeads * d]);
  const blocked = (i: number, j: number) =>
    (opts.block ?? []).some((r) => i >= r.queries[0] && i < r.queries[1] && r.keys.some(([a, b]) => j >= a && j < b));
  for (let i = 0; i < sQ; i++) {
    const pos = qStart + i;
    let lo = 0, hi = opts.kvLength;
    if (opts.causal) hi = Math.min(hi, pos + 1);
    if (opts.segments) {
      const cu = opts.segments;
      let s = 0;
      for (let t = 1; t < cu.length; t++) if (cu[t] <= pos) s = t;
      s = Math.min(s, cu.length - 2);
      lo = Math.max(lo, cu[s]);
      hi = Math.min(hi, cu[s + 1]);
    }
    for (let h = 0; h < nHeads; h++) {
      const kvh = Math.floor(h / group);
      const keys: number[] = [];
      for (let j = lo; j < hi; j++) if (!blocked(i, j)) keys.push(j);
      if (!keys.length) continue; // zeros
      const scores = keys.map((j) => {
        let s = 0;
        for (let t = 0; t < d; t++) s += q.data[(i * nHeads + h) * d + t] * k.data[(kvh * capacity + j) * d + t];
        return s * scale;
      });
      const mx = scores.reduce((a, b) => Math.max(a, b), -Infinity);
      const ps = scores.map((s) => Math.exp(s - mx));
      const sum = ps.reduce((a, b) => a + b, 0);
      for (let t = 0; t < d; t++) {
        let o = 0;
        keys.forEach((j, n) => { o += ps[n] * v.data[(kvh * capacity + j) * d + t]; });
        out.data[(i * nHeads + h) * d + t] = o / sum;
      }
    }
  }
  return out;
}
