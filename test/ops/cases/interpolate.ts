// Cases for `interpolateBilinear` (shaders/interpolate.wgsl): downscales as LLaVA-OneVision's anyres_max takes them
// (6×8 → 5×6), upscales, identity, single rows/columns, odd channel counts, and a map larger than one workgroup row;
// maps and outputs row-chunked under a small binding limit (a 7B OneVision's crop grid past 128 MiB), dispatches counted.
import { Stage } from '../../../src/gpu/stage.ts';
import { Tensor } from '../../../src/gpu/tensor.ts';
import { interpolateBilinear } from '../../../src/ops/interpolate.ts';
import { hostTensor } from '../../../src/gpu/hostTensor.ts';
import { interpolateBilinear as interpolateRef } from '../../../src/ops/ref/interpolate.ts';
import { type OpCase, withBindingLimit } from '../opCase.ts';

// [inH, inW, C, outH, outW]
const shapes: [number, number, number, number, number][] = [
  [6, 8, 16, 5, 6], [54, 81, 7, 47, 70], [3, 5, 3, 7, 11], [4, 4, 5, 4, 4], [1, 9, 2, 1, 4], [9, 1, 1, 3, 1], [5, 7, 33, 1, 1], [2, 3, 257, 5, 2],
];

const plain: OpCase[] = shapes.map(([inH, inW, c, outH, outW]) => ({
  op: 'interpolate',
  name: `interpolate bilinear [${inH}×${inW}×${c}] -> [${outH}×${outW}]`,
  // f32 weights and a 4-term blend: a few ulps of the inputs' scale
  tol: { atol: 1e-6, rtol: 1e-6 },
  async run(gpu, rng) {
    const vals = rng.normals(inH * inW * c).map(Math.fround);
    const x = Tensor.from(gpu, 'f32', [inH, inW, c], vals, 'map');
    const stage = new Stage(gpu, 'test interpolate');
    const y = await interpolateBilinear(stage, x, outH, outW);
    await stage.submit();
    const got = await y.read();
    x.dispose(); y.dispose();
    return { got, want: interpolateRef(hostTensor([inH, inW, c], vals), outH, outW).data };
  },
}));

// [inH, inW, C, outH, outW, limit bytes, chunks of x, chunks of y]; pixel rows of C f32
const chunkedShapes: [number, number, number, number, number, number, number, number][] = [
  [54, 81, 7, 47, 70, 12000, 11, 8], // downscale: chunks of 428 pixels (mid-row), bands of 5 input rows
  [6, 8, 16, 5, 6, 2048, 2, 1], // OneVision's 6×8 → 5×6: x in chunks of 32 pixels, bands of the 4 rows an output row may need
  [5, 5, 3, 7, 11, 250, 2, 4], // upscale: chunks of 20 pixels, bands of 4 input rows
];

const chunked: OpCase[] = chunkedShapes.map(([inH, inW, c, outH, outW, limit, xChunks, yChunks]) => ({
  op: 'interpolate',
  name: `interpolate bilinear [${inH}×${inW}×${c}] -> [${outH}×${outW}], x and y row-chunked ≤${limit} B`,
  tol: { atol: 1e-6, rtol: 1e-6 },
  async run(gpu, rng) {
    const vals = rng.normals(inH * inW * c).map(Math.fround);
    const got = await withBindingLimit(gpu, limit, async () => {
      const x = Tensor.from(gpu, 'f32', [inH * inW, c], vals, 'map').reshape([inH, inW, c]);
      const stage = new Stage(gpu, 'test interpolate chunked');
      const y = interpolateBilinear(stage, x, outH, outW);
      await stage.submit();
      if (x.chunks.length !== xChunks || y.chunks.length !== yChunks) throw new Error(`x ${x.chunks.length} and y ${y.chunks.length} chunks, the case needs ${xChunks} and ${yChunks}`);
      const out = await y.read();
      x.dispose(); y.dispose();
      return out;
    });
    return { got, want: interpolateRef(hostTensor([inH, inW, c], vals), outH, outW).data };
  },
}));

export const cases: OpCase[] = [...plain, ...chunked];
