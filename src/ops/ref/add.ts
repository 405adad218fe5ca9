// float64 reference for `add`.
import { type HostTensor, hostTensor } from '../../gpu/hostTensor.ts';

export function add(a: HostTensor, b: HostTensor): HostTensor {
  const out = hostTensor(a.shape);
  for (let i = 0; i < out.data.length; i++) out.data[i] = a.data[i] + b.data[i];
  return out;
}
