// Bilinear resize of a channels-last feature map (torch `interpolate` bilinear, align_corners=False, no antialias);
// see shaders/interpolate.wgsl. The map is [H, W, C]: a grid of feature rows, as image tokens lie in a sequence.
// A map past one storage binding (a 7B OneVision's unpadded crop grid: [h′·w′, 3584] f32 over 128 MiB past ~9400
// tokens) is row-chunked: each piece of output rows reads a band of input rows copied into one binding-sized
// buffer; a chunked output is written chunk by chunk. One dispatch when neither is chunked.
import { OpArgumentError } from '../gpu/errors.ts';
import type { Stage } from '../gpu/stage.ts';
import { Tensor } from '../gpu/tensor.ts';
import { sliceRows } from './rows.ts';
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
  const what = `interpolate bilinear [${inH}×${inW}×${c}] -> [${outH}×${outW}]`;
  const dispatch = (xb: GPUBuffer, inY0: number, yb: GPUBuffer, outBase: number, p0: number, p1: number, where: string) => {
    const { workgroups, rowStride } = grid1d((p1 - p0) * c, 256);
    stage.dispatch(kernel, {
      label: `${what}${where}`,
      bindings: { x: xb, y: yb },
      uniforms: { in_h: inH, in_w: inW, channels: c, out_h: outH, out_w: outW, scale_h: inH / outH, scale_w: inW / outW, row_stride: rowStride, n: (p1 - p0) * c, out_p0: p0, out_base: outBase, in_y0: inY0 },
      workgroups,
    });
  };
  if (!x.isChunked && !y.isChunked) {
    dispatch(x.buffer(op), 0, y.buffer(op), 0, 0, outH * outW, '');
    return y;
  }
  // input rows a band of output rows oy0..oy1 reads: torch's source index, widened by one row each side against
  // f32 rounding at integer boundaries (the kernel computes it in f32)
  const src = (oy: number) => Math.max((inH / outH) * (oy + 0.5) - 0.5, 0);
  const firstIn = (oy: number) => Math.max(Math.floor(src(oy)) - 1, 0);
  const lastIn = (oy: number) => Math.min(Math.floor(src(oy)) + 2, inH - 1);
  const rowBytes = inW * c * 4;
  const band = Math.min(inH, Math.floor(stage.gpu.maxBindingBytes / rowBytes));
  const need = Math.min(4, inH); // an output row reads 2 input rows, 4 with the widening
  if (x.isChunked && band < need) {
    throw new OpArgumentError(op, `x (${x.label}) [${inH}, ${inW}, ${c}]: ${need} input rows of ${rowBytes} bytes do not fit one ${stage.gpu.maxBindingBytes}-byte storage binding`);
  }
  const temp = x.isChunked ? Tensor.empty(stage.gpu, 'f32', [band * inW, c], `${x.label} row band`) : null;
  if (temp) stage.onDone(() => temp.dispose());
  const x2 = x.reshape([inH * inW, c]);
  for (const yc of y.chunks) {
    const end = yc.rowStart + yc.rows;
    for (let p0 = yc.rowStart; p0 < end;) {
      // output rows from p0's on, as many as one band of input rows serves
      const oy0 = Math.floor(p0 / outW), ys = firstIn(oy0);
      let oy1 = oy0;
      while (temp && oy1 + 1 < outH && lastIn(oy1 + 1) - ys + 1 <= band) oy1++;
      const p1 = temp ? Math.min(end, (oy1 + 1) * outW) : end;
      const where = ` pixels ${p0}..${p1 - 1}`;
      if (!temp) dispatch(x.buffer(op), 0, yc.buffer, yc.rowStart, p0, p1, where);
      else {
        const ye = Math.min(lastIn(oy1), inH - 1), rows = (ye - ys + 1) * inW;
        sliceRows(stage, x2, ys * inW, rows, temp.leadingRows(rows));
        dispatch(temp.buffer(op), ys, yc.buffer, yc.rowStart, p0, p1, `${where} from input rows ${ys}..${ye}`);
      }
      p0 = p1;
    }
  }
  return y;
}
