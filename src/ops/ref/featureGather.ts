// Reference for featureGather (src/ops/featureGather.ts): out[c, j·d + e] = src[heads[j], positions[c], e], zeros
// where positions[c] is outside the source rows.
import { type HostTensor, hostTensor } from '../../gpu/hostTensor.ts';

export function featureGather(src: HostTensor, positions: readonly number[], heads?: readonly number[]): HostTensor {
  const [groups, rows, dim] = src.shape.length === 3 ? src.shape : [1, src.shape[0], src.shape[1]];
  const sel = heads ?? Array.from({ length: groups }, (_, i) => i);
  const out = hostTensor([positions.length, sel.length * dim]);
  positions.forEach((p, c) => {
    if (p >= rows) return;
    sel.forEach((h, j) => {
      for (let e = 0; e < dim; e++) out.data[(c * sel.length + j) * dim + e] = src.data[(h * rows + p) * dim + e];
    });
  });
  return out;
}
