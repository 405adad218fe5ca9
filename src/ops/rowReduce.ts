// Row reductions over the last dimension: softmax (f32 -> f32) and argmax (f32 -> u32 indices).
import type { Stage } from '../gpu/stage.ts';
import { Tensor } from '../gpu/tensor.ts';
import { expectDType, expectShape } from './check.ts';

function rowGrid(stage: Stage, rows: number): { workgroups: [number, number]; rowStride: number } {
  const gx = Math.min(rows, stage.gpu.limits.maxComputeWorkgroupsPerDimension);
  return { workgroups: [gx, Math.ceil(rows / gx)], rowStride: gx };
}

/** softmax over the last dim, max-subtracted. */
export function softmax(stage: Stage, x: Tensor<'f32'>, out?: Tensor<'f32'>): Tensor<'f32'> {
  expectDType('softmax', 'x', x, ['f32']);
  const y = out ?? Tensor.empty(stage.gpu, 'f32', x.shape, `softmax(${x.label})`);
  expectShape('softmax', 'out', y, x.shape);
  const { workgroups, rowStride } = rowGrid(stage, x.rows);
  stage.dispatch(stage.gpu.kernels.get('softmax'), {
    label: `softmax [${x.rows}×${x.rowLength}]`, bindings: { x: x.buffer('softmax'), y: y.buffer('softmax') },
    uniforms: { rows: x.rows, d: x.rowLength, row_stride: rowStride }, workgroups,
  });
  return y;
}

/** argmax over the last dim -> [rows] u32; ties -> lowest index; NaN counts as the maximum. */
export function argmax(stage: Stage, x: Tensor<'f32'>, out?: Tensor<'u32'>): Tensor<'u32'> {
  expectDType('argmax', 'x', x, ['f32']);
  const shape = x.shape.slice(0, -1);
  const y = out ?? Tensor.empty(stage.gpu, 'u32', shape.length ? shape : [1], `argmax(${x.label})`);
  if (y.numel !== x.rows) expectShape('argmax', 'out', y, shape);
  const { workgroups, rowStride } = rowGrid(stage, x.rows);
  stage.dispatch(stage.gpu.kernels.get('argmax'), {
    label: `argmax [${x.rows}×${x.rowLength}]`, bindings: { x: x.buffer('argmax'), out: y.buffer('argmax') },
    uniforms: { rows: x.rows, d: x.rowLength, row_stride: rowStride }, workgroups,
  });
  return y;
}
