// RMSNorm and LayerNorm over the last dimension, HF semantics (see shaders/norm.wgsl).
import { floatDTypeCode } from '../gpu/dtype.ts';
import { OpArgumentError } from '../gpu/errors.ts';
import type { Stage } from '../gpu/stage.ts';
import { Tensor } from '../gpu/tensor.ts';
import { expectDType, expectShape } from './check.ts';

function rowNorm(kind: 'rms_norm' | 'layer_norm', stage: Stage, x: Tensor<'f32'>, weight: Tensor, bias: Tensor | null, eps: number, out?: Tensor<'f32'>): Tensor<'f32'> {
  const op = kind === 'rms_norm' ? 'rmsNorm' : 'layerNorm';
  expectDType(op, 'x', x, ['f32']);
  expectDType(op, 'weight', weight, ['f32', 'f16', 'bf16']);
  const d = x.rowLength;
  if (weight.numel !== d) throw new OpArgumentError(op, `weight (${weight.label}) has ${weight.numel} values, x (${x.label}) rows have ${d}`);
  if (bias) {
    expectDType(op, 'bias', bias, ['f32', 'f16', 'bf16']);
    if (bias.numel !== d) throw new OpArgumentError(op, `bias (${bias.label}) has ${bias.numel} values, x rows have ${d}`);
  }
  if (!(eps >= 0)) throw new OpArgumentError(op, `eps must be ≥ 0, got ${eps}`);
  const y = out ?? Tensor.empty(stage.gpu, 'f32', x.shape, `${op}(${x.label})`);
  expectShape(op, 'out', y, x.shape);
  const rows = x.rows;
  const maxWg = stage.gpu.limits.maxComputeWorkgroupsPerDimension;
  const gx = Math.min(rows, maxWg);
  const kernel = stage.gpu.kernels.get('norm', kind, { W_DTYPE: floatDTypeCode(weight.dtype), ...(bias ? { B_DTYPE: floatDTypeCode(bias.dtype) } : {}) });
  stage.dispatch(kernel, {
    label: `${op} [${rows}×${d}] w=${weight.dtype}`,
    bindings: { x: x.buffer(op), weight: weight.buffer(op), ...(bias ? { bias: bias.buffer(op) } : {}), y: y.buffer(op) },
    uniforms: { rows, d, eps, row_stride: gx },
    workgroups: [gx, Math.ceil(rows / gx)],
  });
  return y;
}

/** y = x · rsqrt(mean(x²) + eps) · weight (HF Qwen2RMSNorm / LlamaRMSNorm; activations f32). */
export function rmsNorm(stage: Stage, x: Tensor<'f32'>, weight: Tensor, eps: number, out?: Tensor<'f32'>): Tensor<'f32'> {
  return rowNorm('rms_norm', stage, x, weight, null, eps, out);
}

/** y = (x − mean)/sqrt(var + eps) · weight + bias, biased variance (nn.LayerNorm). */
export function layerNorm(stage: Stage, x: Tensor<'f32'>, weight: Tensor, bias: Tensor, eps: number, out?: Tensor<'f32'>): Tensor<'f32'> {
  return rowNorm('layer_norm', stage, x, weight, bias, eps, out);
}
