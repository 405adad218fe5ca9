// float64 references for `l2Normalize` and `cosineSimilarity` (src/probe/similarity.ts).
import { type HostTensor, hostTensor } from '../../gpu/hostTensor.ts';

export function l2Normalize(x: HostTensor, opts: { mask?: ArrayLike<number>; eps?: number } = {}): HostTensor {
  const d = x.shape[x.shape.length - 1];
  const y = hostTensor(x.shape);
  for (let r = 0; r < x.data.length / d; r++) {
    if (opts.mask && opts.mask[r] === 0) continue;
    let s = 0;
    for (let e = 0; e < d; e++) s += x.data[r * d + e] ** 2;
    const inv = 1 / Math.max(Math.sqrt(s), opts.eps ?? 1e-12);
    for (let e = 0; e < d; e++) y.data[r * d + e] = x.data[r * d + e] * inv;
  }
  return y;
}

/** [n, m] inner products of the rows of a and b. */
export function rowDots(a: HostTensor, b: HostTensor): HostTensor {
  const d = a.shape[a.shape.length - 1];
  const n = a.data.length / d, m = b.data.length / d;
  const s = hostTensor([n, m]);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      let v = 0;
      for (let e = 0; e < d; e++) v += a.data[i * d + e] * b.data[j * d + e];
      s.data[i * m + j] = v;
    }
  }
  return s;
}

export function cosineSimilarity(a: HostTensor, b: HostTensor, opts: { aMask?: ArrayLike<number>; bMask?: ArrayLike<number> } = {}): HostTensor {
  return rowDots(l2Normalize(a, { mask: opts.aMask }), l2Normalize(b, { mask: opts.bMask }));
}
