// float64 references for `softmax` and `argmax` over the last dim.
import { type HostTensor, hostTensor } from '../../gpu/hostTensor.ts';

export function softmax(x: HostTensor): HostTensor {
  const d = x.shape[x.shape.length - 1];
  const y = hostTensor(x.shape);
  for (let r = 0; r < x.data.length / d; r++) {
    const row = x.data.subarray(r * d, (r + 1) * d);
    let m = -Infinity;
    for (const v of row) m = Math.max(m, v);
    let s = 0;
    for (const v of row) s += Math.exp(v - m);
    for (let i = 0; i < d; i++) y.data[r * d + i] = Math.exp(row[i] - m) / s;
  }
  return y;
}

/** Lowest index of the maximum; the first NaN counts as the maximum (torch.argmax). */
export function argmax(x: HostTensor): HostTensor {
  const d = x.shape[x.shape.length - 1];
  const rows = x.data.length / d;
  const out = hostTensor([rows]);
  for (let r = 0; r < rows; r++) {
    let bi = 0;
    for (let i = 0; i < d; i++) {
      const v = x.data[r * d + i], b = x.data[r * d + bi];
      if (Number.isNaN(b)) break;
      if (Number.isNaN(v) || v > b) bi = i;
    }
    out.data[r] = bi;
  }
  return out;
}
