// float64 reference for `embedding`: rows of the table by id; ids ≥ vocab give zero rows.
import { type HostTensor, hostTensor } from '../../gpu/hostTensor.ts';

export function embedding(ids: HostTensor, table: HostTensor): HostTensor {
  const [vocab, hidden] = table.shape;
  const out = hostTensor([ids.data.length, hidden]);
  ids.data.forEach((id, s) => {
    if (id < vocab) for (let c = 0; c < hidden; c++) out.data[s * hidden + c] = table.data[id * hidden + c];
  });
  return out;
}
