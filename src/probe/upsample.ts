// Bilinear resize of a feature map [h, w, d] to [H, W, d] on the GPU (shaders/probe/bilinear_upsample.wgsl),
// torch F.interpolate(mode='bilinear', align_corners=False) with the output size given.
import { OpArgumentError } from '../gpu/errors.ts';
import type { Stage } from '../gpu/stage.ts';
import { Tensor } from '../gpu/tensor.ts';
import { expectDType, expectRank } from '../ops/check.ts';
import { grid1d } from '../ops/grid.ts';

export function expectSize(op: string, what: string, height: number, width: number): void {
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1) {
    throw new OpArgumentError(op, `${what} must be positive integers, got ${height}×${width}`);
  }
}

export async function bilinearUpsample(stage: Stage, x: Tensor<'f32'>, height: number, width: number): Promise<Tensor<'f32'>> {
  const op = 'bilinearUpsample';
  expectDType(op, 'x', x, ['f32']);
  expectRank(op, 'x', x, [3]);
  expectSize(op, 'output height and width', height, width);
  const [h, w, d] = x.shape;
  const y = Tensor.empty(stage.gpu, 'f32', [height, width, d], `bilinearUpsample(${x.label})`);
  const { workgroups, rowStride } = grid1d(y.numel, 256, stage.gpu.limits.maxComputeWorkgroupsPerDimension);
  stage.dispatch(await stage.gpu.kernels.get('probe/bilinear_upsample'), {
    label: `bilinearUpsample [${h}×${w}×${d}] -> [${height}×${width}]`,
    bindings: { x: x.buffer(op), y: y.buffer(op) },
    uniforms: { h, w, d, out_h: height, out_w: width, row_stride: rowStride, scale_y: h / height, scale_x: w / width },
    workgroups,
  });
  return y;
}
