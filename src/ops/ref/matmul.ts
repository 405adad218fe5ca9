// float64 reference for `matmul`: y = x·Wᵀ + b, W [N, K] (values already rounded to their dtype by the caller).
import { type HostTensor, hostTensor } from '../../gpu/hostTensor.ts';

export function matmul(x: HostTensor, w: HostTensor, opts: { bias?: HostTensor } = {}): HostTensor {
  const [n, k] = w.shape;
  const m = x.data.length / k;
  const y = hostTensor([...x.shape.slice(0, -1), n]);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = opts.bias ? opts.bias.data[j] : 0;
      for (let t = 0; t < k; t++) s += x.data[i * k + t] * w.data[j * k + t];
      y.data[i * n + j] = s;
    }
  }
  return y;
}
