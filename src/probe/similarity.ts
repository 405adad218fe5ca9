// Unit rows and cosine similarity on the GPU (shaders/probe/l2_normalize.wgsl + matmul): features keep their
// patch-grid shape [rows, cols, dim] or any [..., dim]; a validity mask (u32, one per row, 0 = no token) zeroes rows.
import { OpArgumentError } from '../gpu/errors.ts';
import type { Stage } from '../gpu/stage.ts';
import { Tensor } from '../gpu/tensor.ts';
import { expectDType } from '../ops/check.ts';
import { grid1d } from '../ops/grid.ts';
import { matmul } from '../ops/matmul.ts';

/** A mask's number of entries must equal the number of feature rows it masks. */
export function expectRowMask(op: string, name: string, mask: Tensor | undefined, rows: number, of: string): void {
  if (!mask) return;
  expectDType(op, name, mask, ['u32']);
  if (mask.numel !== rows) throw new OpArgumentError(op, `${name} (${mask.label}) has ${mask.numel} entries, ${of} has ${rows} rows`);
}

/** y = x / max(‖x‖₂, eps) per row over the last dim (torch F.normalize, eps 1e-12); masked rows → 0. */
export async function l2Normalize(stage: Stage, x: Tensor<'f32'>, opts: { mask?: Tensor<'u32'>; eps?: number } = {}): Promise<Tensor<'f32'>> {
  const op = 'l2Normalize';
  expectDType(op, 'x', x, ['f32']);
  expectRowMask(op, 'mask', opts.mask, x.rows, `x (${x.label})`);
  const y = Tensor.empty(stage.gpu, 'f32', x.shape, `l2Normalize(${x.label})`);
  const { workgroups, rowStride } = grid1d(x.rows, 1, stage.gpu.limits.maxComputeWorkgroupsPerDimension);
  stage.dispatch(stage.gpu.kernels.get('probe/l2_normalize'), {
    label: `l2Normalize [${x.rows}×${x.rowLength}]${opts.mask ? ' masked' : ''}`,
    bindings: { x: x.buffer(op), mask: opts.mask?.buffer(op) ?? stage.gpu.dummyBuffer, y: y.buffer(op) },
    uniforms: { rows: x.rows, d: x.rowLength, row_stride: rowStride, has_mask: opts.mask ? 1 : 0, eps: opts.eps ?? 1e-12 },
    workgroups,
  });
  return y;
}

/** The rows of a [..., dim] tensor seen as a matrix [n, dim] (no copy). */
export function asRows<D extends 'f32'>(t: Tensor<D>): Tensor<D> {
  return t.rank === 2 ? t : t.reshape([t.rows, t.rowLength]);
}

export interface CosineOptions {
  aMask?: Tensor<'u32'>;
  bMask?: Tensor<'u32'>;
}

/** cos(a_i, b_j) for a [..., d] (n rows) and b [..., d] (m rows) -> [n, m]; masked rows give 0. */
export async function cosineSimilarity(stage: Stage, a: Tensor<'f32'>, b: Tensor<'f32'>, opts: CosineOptions = {}): Promise<Tensor<'f32'>> {
  const op = 'cosineSimilarity';
  expectDType(op, 'a', a, ['f32']);
  expectDType(op, 'b', b, ['f32']);
  if (a.rowLength !== b.rowLength) throw new OpArgumentError(op, `a (${a.label}) rows have ${a.rowLength} features, b (${b.label}) rows ${b.rowLength}`);
  const an = await l2Normalize(stage, a, { mask: opts.aMask });
  const bn = await l2Normalize(stage, b, { mask: opts.bMask });
  // A·Bᵀ is matmul with B as the weight
  const s = await matmul(stage, asRows(an), asRows(bn));
  stage.onDone(() => { an.dispose(); bn.dispose(); });
  return s;
}
