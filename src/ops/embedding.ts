// Token embedding gather from a (possibly row-chunked) table in its checkpoint dtype: out [S, H] f32.
// Ids ≥ vocab give zero rows (documented: the op cannot see ids without a readback, so the shader guards).
import { floatDTypeCode } from '../gpu/dtype.ts';
import type { Stage } from '../gpu/stage.ts';
import { Tensor } from '../gpu/tensor.ts';
import { expectDType, expectRank, expectShape } from './check.ts';
import { grid1d } from './grid.ts';

export function embedding(stage: Stage, ids: Tensor<'u32'>, table: Tensor, out?: Tensor<'f32'>): Tensor<'f32'> {
  const op = 'embedding';
  expectDType(op, 'ids', ids, ['u32']);
  expectDType(op, 'table', table, ['f32', 'f16', 'bf16']);
  expectRank(op, 'table', table, [2]);
  const [vocab, hidden] = table.shape;
  const seq = ids.numel;
  const y = out ?? Tensor.empty(stage.gpu, 'f32', [seq, hidden], `embedding(${ids.label})`);
  expectShape(op, 'out', y, [seq, hidden]);
  const kernel = stage.gpu.kernels.get('embedding', 'main', { W_DTYPE: floatDTypeCode(table.dtype) });
  const { workgroups, rowStride } = grid1d(seq * hidden, 256);
  for (const c of table.chunks) {
    stage.dispatch(kernel, {
      label: `embedding ${seq} ids from [${vocab}×${hidden}] ${table.dtype}${table.isChunked ? ` rows ${c.rowStart}..${c.rowStart + c.rows - 1}` : ''}`,
      bindings: { ids: ids.buffer(op), table: c.buffer, out: y.buffer(op) },
      uniforms: { seq, hidden, row_start: c.rowStart, rows: c.rows, vocab, row_stride: rowStride },
      workgroups,
    });
  }
  return y;
}
