// Bilinear resize of a channels-last feature map (torch `interpolate` bilinear, align_corners=False, no antialias);
// see shaders/interpolate.wgsl. The map is [H, W, C]: a grid of feature rows, as image tokens lie in a sequence.
import { OpArgumentError } from '../gpu/errors.ts';
import type { Stage } from '../gpu/stage.ts';
import { Tensor } from '../gpu/tensor.ts';
import { expectDType, expectRank } from './check.ts';
import { grid1d } from './grid.ts';

/** x [inH, inW, C] -> [outH, outW, C]. */
export function interpolateBilinear(stage: Stage, x: Tensor<'f32'>, outH: number, outW: number, out?: Tensor<'f32'>): Tensor<'f32'> {
  const op = 'interpolateBilinear';
  expectDType(op, 'x', x, ['f32']);
  expectRank(op, 'x', x, [3]);
  const [inH, inW, c] = x.shape;
  if (inH < 1 || inW < 1 || c < 1) throw new OpArgumentError(op, `x (${x.label}) [${x.shape.join(', ')}] is empty`);
  if (!(Number.isInteger(outH) && Number.isInteger(outW) && outH >= 1 && outW >= 1)) {
    throw new OpArgumentError(op, `output size ${outH}×${outW} must be positive integers`);
  }
  const y = out ?? Tensor.empty(stage.gpu, 'f32', [outH, outW, c], `interpolate(${x.label})`);
  if (y.shape.join() !== [outH, outW, c].join()) throw new OpArgumentError(op, `out (${y.label}) [${y.shape.join(', ')}] must be [${outH}, ${outW}, ${c}]`);
  const kernel = stage.gpu.kernels.get('interpolate');
  const { workgroups, rowStride } = grid1d(y.numel, 256);
  stage.dispatch(kernel, {
    label: `interpolate bilinear [${inH}×${inW}×${c}] -> [${outH}×${outW}]`,
    bindings: { x: x.buffer(op), y: y.buffer(op) },
    uniforms: { in_h: inH, in_w: inW, channels: c, out_h: outH, out_w: outW, scale_h: inH / outH, scale_w: inW / outW, row_stride: rowStride },
    workgroups,
  });
  return y;
}
