// RMSNorm and LayerNorm over the last dimension, HF semantics (see shaders/norm.wgsl).
import { floatDTypeCode } from '../gpu/dtype.ts';
import { OpArgumentError } from '../gpu/errors.ts';
import type { Stage } from '../gpu/stage.ts';
import { Tensor } from '../gpu/tensor.ts';
import { expectDType, expectShape } from './check.ts';

/** add_rms_norm's residual: r, added to x and written (x + r) to sum. */
interface Residual { r: Tensor<'f32'>; sum: Tensor<'f32'> }

function rowNorm<O extends 'f32' | 'f16'>(kind: 'rms_norm' | 'layer_norm', stage: Stage, x: Tensor<'f32'>, weight: Tensor, bias: Tensor | null, eps: number, out?: Tensor<O>, residual?: Residual): Tensor<O> {
  const op = residual ? 'addRmsNorm' : kind === 'rms_norm' ? 'rmsNorm' : 'layerNorm';
  expectDType(op, 'x', x, ['f32']);
  if (residual) {
    expectDType(op, 'r', residual.r, ['f32']);
    expectShape(op, 'r', residual.r, x.shape);
    expectDType(op, 'sum', residual.sum, ['f32']);
    expectShape(op, 'sum', residual.sum, x.shape);
  }
  expectDType(op, 'weight', weight, ['f32', 'f16', 'bf16']);
  const d = x.rowLength;
  if (weight.numel !== d) throw new OpArgumentError(op, `weight (${weight.label}) has ${weight.numel} values, x (${x.label}) rows have ${d}`);
  if (bias) {
    expectDType(op, 'bias', bias, ['f32', 'f16', 'bf16']);
    if (bias.numel !== d) throw new OpArgumentError(op, `bias (${bias.label}) has ${bias.numel} values, x rows have ${d}`);
  }
  if (!(eps >= 0)) throw new OpArgumentError(op, `eps must be ≥ 0, got ${eps}`);
  const y = out ?? Tensor.empty(stage.gpu, 'f32', x.shape, `${op}(${x.label})`) as Tensor<O>;
  expectShape(op, 'out', y, x.shape);
  expectDType(op, 'out', y, kind === 'rms_norm' ? ['f32', 'f16'] : ['f32']);
  const half = y.dtype === 'f16';
  if (half && d % 2 !== 0) throw new OpArgumentError(op, `an f16 out (${y.label}) needs an even row length (whole u32 words per row), x rows have ${d}`);
  if (half && y.isChunked) throw new OpArgumentError(op, `an f16 out (${y.label}) is stored in ${y.chunks.length} chunks; ${op} binds it whole`);
  const rows = x.rows;
  const maxWg = stage.gpu.limits.maxComputeWorkgroupsPerDimension;
  const gx = Math.min(rows, maxWg);
  const entry = `${residual ? 'add_' : ''}${kind}${half ? '_h' : ''}`;
  const kernel = stage.gpu.kernels.get('norm', entry, { W_DTYPE: floatDTypeCode(weight.dtype), ...(bias ? { B_DTYPE: floatDTypeCode(bias.dtype) } : {}) });
  stage.dispatch(kernel, {
    label: `${op} [${rows}×${d}] w=${weight.dtype}${half ? ' out=f16' : ''}`,
    bindings: { x: x.buffer(op), weight: weight.buffer(op), ...(bias ? { bias: bias.buffer(op) } : {}),
      ...(residual ? { resid: residual.r.buffer(op), sum_out: residual.sum.buffer(op) } : {}), [half ? 'y16' : 'y']: y.buffer(op) },
    uniforms: { rows, d, eps, row_stride: gx },
    workgroups: [gx, Math.ceil(rows / gx)],
  });
  return y;
}

/**
 * y = x · rsqrt(mean(x²) + eps) · weight (HF Qwen2RMSNorm / LlamaRMSNorm); x f32, computed in f32, written to an
 * f32 out or (the f16 activation path) rounded to nearest even into an f16 out.
 */
export function rmsNorm<O extends 'f32' | 'f16' = 'f32'>(stage: Stage, x: Tensor<'f32'>, weight: Tensor, eps: number, out?: Tensor<O>): Tensor<O> {
  return rowNorm('rms_norm', stage, x, weight, null, eps, out);
}

/**
 * The residual add and the next RMSNorm in one dispatch: sum = x + r, y = rmsNorm(sum) (f32 or f16 y), the same f32
 * operations in the same order as `add` then `rmsNorm`, so bit-identical to them.
 */
export function addRmsNorm<O extends 'f32' | 'f16'>(stage: Stage, x: Tensor<'f32'>, r: Tensor<'f32'>, weight: Tensor, eps: number, sum: Tensor<'f32'>, out: Tensor<O>): Tensor<O> {
  return rowNorm('rms_norm', stage, x, weight, null, eps, out, { r, sum });
}

/** y = (x − mean)/sqrt(var + eps) · weight + bias, biased variance (nn.LayerNorm). */
export function layerNorm(stage: Stage, x: Tensor<'f32'>, weight: Tensor, bias: Tensor, eps: number, out?: Tensor<'f32'>): Tensor<'f32'> {
  return rowNorm<'f32'>('layer_norm', stage, x, weight, bias, eps, out);
}
