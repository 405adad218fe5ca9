// Reference for keyConsistency: mean over image pairs of the cosine similarity of each cell's key.
import { type HostTensor, hostTensor } from '../../gpu/hostTensor.ts';

export function keyConsistency(keys: HostTensor): HostTensor {
  const [n, cells, dim] = keys.shape;
  const out = hostTensor([cells]);
  const at = (i: number, c: number) => keys.data.subarray((i * cells + c) * dim, (i * cells + c + 1) * dim);
  const norm = (v: Float64Array) => Math.sqrt(v.reduce((a, x) => a + x * x, 0));
  for (let c = 0; c < cells; c++) {
    const ok = Array.from({ length: n }, (_, i) => i).filter((i) => norm(at(i, c)) > 0);
    let total = 0, pairs = 0;
    for (let a = 0; a < ok.length; a++) {
      for (let b = a + 1; b < ok.length; b++) {
        const u = at(ok[a], c), v = at(ok[b], c);
        total += u.reduce((s, x, e) => s + x * v[e], 0) / (norm(u) * norm(v));
        pairs++;
      }
    }
    out.data[c] = pairs ? total / pairs : 0;
  }
  return out;
}
