// Bilinear resize of a feature map [h, w, d] to [H, W, d] for the probes: torch F.interpolate(mode='bilinear',
// align_corners=False) with the output size given — the engine's interpolate kernel (src/ops/interpolate.ts).
import { OpArgumentError } from '../gpu/errors.ts';
import type { Stage } from '../gpu/stage.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { interpolateBilinear } from '../ops/interpolate.ts';

export function expectSize(op: string, what: string, height: number, width: number): void {
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1) {
    throw new OpArgumentError(op, `${what} must be positive integers, got ${height}×${width}`);
  }
}

export function bilinearUpsample(stage: Stage, x: Tensor<'f32'>, height: number, width: number): Tensor<'f32'> {
  return interpolateBilinear(stage, x, height, width);
}
