// Residual add on the GPU: out = a + b, elementwise, f32.
import type { Stage } from '../gpu/stage.ts';
import { Tensor } from '../gpu/tensor.ts';
import { expectDType, expectShape } from './check.ts';
import { grid1d } from './grid.ts';

export function add(stage: Stage, a: Tensor<'f32'>, b: Tensor<'f32'>, out?: Tensor<'f32'>): Tensor<'f32'> {
  expectDType('add', 'a', a, ['f32']);
  expectDType('add', 'b', b, ['f32']);
  expectShape('add', 'b', b, a.shape);
  const o = out ?? Tensor.empty(stage.gpu, 'f32', a.shape, `add(${a.label}, ${b.label})`);
  expectShape('add', 'out', o, a.shape);
  const kernel = stage.gpu.kernels.get('add');
  const { workgroups, rowStride } = grid1d(a.numel, 256);
  stage.dispatch(kernel, {
    label: `add [${a.shape.join('×')}]`,
    bindings: { a: a.buffer('add'), b: b.buffer('add'), out: o.buffer('add') },
    uniforms: { n: a.numel, row_stride: rowStride },
    workgroups,
  });
  return o;
}
