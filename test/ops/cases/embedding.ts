// Cases for `embedding`: every table dtype, odd hidden sizes (16-bit rows starting mid-u32), a row-chunked
// table, and out-of-range ids (zero rows).
import type { DType } from '../../../src/gpu/dtype.ts';
import { roundTo } from '../../../src/gpu/dtype.ts';
import { Stage } from '../../../src/gpu/stage.ts';
import { Tensor } from '../../../src/gpu/tensor.ts';
import { embedding } from '../../../src/ops/embedding.ts';
import { embedding as embeddingRef } from '../../../src/ops/ref/embedding.ts';
import { hostTensor } from '../../../src/gpu/hostTensor.ts';
import { type OpCase, withBindingLimit } from '../opCase.ts';

const list: { vocab: number; hidden: number; seq: number; dt: DType; chunkBytes?: number; outOfRange?: boolean }[] = [
  { vocab: 7, hidden: 1, seq: 1, dt: 'f32' },
  { vocab: 1000, hidden: 129, seq: 7, dt: 'bf16' },
  { vocab: 129, hidden: 7, seq: 129, dt: 'f16' },
  { vocab: 1000, hidden: 33, seq: 40, dt: 'bf16', chunkBytes: 2640 },  // 66-byte rows, 40 per chunk
  { vocab: 300, hidden: 16, seq: 50, dt: 'f32', chunkBytes: 1024, outOfRange: true },
];

export const cases: OpCase[] = list.map((c) => ({
  op: 'embedding',
  name: `embedding ${c.seq} ids from [${c.vocab}×${c.hidden}] ${c.dt}${c.chunkBytes ? ` chunked ≤${c.chunkBytes} B` : ''}${c.outOfRange ? ' with ids ≥ vocab' : ''}`,
  tol: { atol: 0, rtol: 0 }, // a gather of exactly representable values
  async run(gpu, rng) {
    const tv = rng.normals(c.vocab * c.hidden).map((v) => roundTo(c.dt, v));
    const iv = Array.from({ length: c.seq }, (_, i) => (i === 0 ? c.vocab - 1 : c.outOfRange && i % 7 === 3 ? c.vocab + i : rng.int(0, c.vocab)));
    const ids = Tensor.from(gpu, 'u32', [c.seq], iv, 'ids');
    const table = c.chunkBytes ? await withBindingLimit(gpu, c.chunkBytes, async () => Tensor.from(gpu, c.dt, [c.vocab, c.hidden], tv, 'table')) : Tensor.from(gpu, c.dt, [c.vocab, c.hidden], tv, 'table');
    if (c.chunkBytes && !table.isChunked) throw new Error('table meant to be chunked is not');
    const stage = new Stage(gpu, 'test embedding');
    const out = await embedding(stage, ids, table);
    await stage.submit();
    const got = await out.read();
    [ids, table, out].forEach((t) => t.dispose());
    return { got, want: embeddingRef(hostTensor([c.seq], iv), hostTensor([c.vocab, c.hidden], tv)).data };
  },
}));
