// float64 references for `rmsNorm` and `layerNorm`.
import { type HostTensor, hostTensor } from '../../gpu/hostTensor.ts';

export function rmsNorm(x: HostTensor, weight: HostTensor, eps: number): HostTensor {
  const d = x.shape[x.shape.length - 1];
  const y = hostTensor(x.shape);
  for (let r = 0; r < x.data.length / d; r++) {
    let ss = 0;
    for (let i = 0; i < d; i++) ss += x.data[r * d + i] ** 2;
    const inv = 1 / Math.sqrt(ss / d + eps);
    for (let i = 0; i < d; i++) y.data[r * d + i] = x.data[r * d + i] * inv * weight.data[i];
  }
  return y;
}

export function layerNorm(x: HostTensor, weight: HostTensor, bias: HostTensor, eps: number): HostTensor {
  const d = x.shape[x.shape.length - 1];
  const y = hostTensor(x.shape);
  for (let r = 0; r < x.data.length / d; r++) {
    let s = 0;
    for (let i = 0; i < d; i++) s += x.data[r * d + i];
    const mean = s / d;
    let ss = 0;
    for (let i = 0; i < d; i++) ss += (x.data[r * d + i] - mean) ** 2;
    const inv = 1 / Math.sqrt(ss / d + eps);
    for (let i = 0; i < d; i++) y.data[r * d + i] = (x.data[r * d + i] - mean) * inv * weight.data[i] + bias.data[i];
  }
  return y;
}
