// float64 reference for `kvWrite`: returns the updated cache (the input cache is not modified).
import type { HostTensor } from '../../gpu/hostTensor.ts';

export function kvWrite(src: HostTensor, cache: HostTensor, start: number): HostTensor {
  const [kvHeads, capacity, headDim] = cache.shape;
  const seq = src.shape[0];
  const out = { shape: [...cache.shape], data: Float64Array.from(cache.data) };
  for (let s = 0; s < seq; s++) {
    for (let h = 0; h < kvHeads; h++) {
      for (let d = 0; d < headDim; d++) out.data[(h * capacity + start + s) * headDim + d] = src.data[(s * kvHeads + h) * headDim + d];
    }
  }
  return out;
}
