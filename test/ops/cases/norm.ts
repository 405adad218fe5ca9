// Cases for `rmsNorm` and `layerNorm`: awkward rows and the model widths (1152, 1280, 3584, 8192), every weight dtype, offsets in x
// (LayerNorm's two-pass variance must not cancel on rows with a large mean).
import type { DType } from '../../../src/gpu/dtype.ts';
import { roundTo } from '../../../src/gpu/dtype.ts';
import { Stage } from '../../../src/gpu/stage.ts';
import { Tensor } from '../../../src/gpu/tensor.ts';
import { layerNorm, rmsNorm } from '../../../src/ops/norm.ts';
import { hostTensor } from '../../../src/gpu/hostTensor.ts';
import { layerNorm as layerNormRef, rmsNorm as rmsNormRef } from '../../../src/ops/ref/norm.ts';
import type { OpCase } from '../opCase.ts';

const shapes: [number[], DType, number][] = [[[1, 7], 'f32', 0], [[7, 129], 'bf16', 0], [[129, 1000], 'f16', 3], [[3, 3584], 'bf16', 0], [[2, 7, 1152], 'f32', 100], [[7, 1280], 'f16', 0], [[2, 8192], 'bf16', 10], [[1, 1], 'f32', 0]];

// rmsNorm into an f16 out (the f16 activation path): the f32 result rounded to nearest even adds at most half an f16
// ulp (2⁻¹¹ relative) to the f32 tolerance; compared against the unrounded float64 reference
const f16Shapes: [number[], DType, number][] = [[[1, 2], 'f32', 0], [[7, 130], 'bf16', 0], [[3, 3584], 'bf16', 0], [[2, 7, 1152], 'f32', 100], [[65, 1280], 'f16', 0]];
const f16Cases: OpCase[] = f16Shapes.map(([shape, wdt, offset]): OpCase => {
  const d = shape[shape.length - 1];
  const n = shape.reduce((a, b) => a * b, 1);
  return {
    op: 'rmsNorm',
    name: `rmsNorm [${shape.join('×')}] w=${wdt}${offset ? ` x+${offset}` : ''} out f16`,
    tol: { atol: 2 ** -25 + 1e-6, rtol: 2 ** -11 + 2e-6 },
    async run(gpu, rng) {
      const xv = rng.normals(n).map((v) => Math.fround(v + offset));
      const wv = rng.normals(d, 0.2).map((v) => roundTo(wdt, 1 + v));
      const x = Tensor.from(gpu, 'f32', shape, xv, 'x'), w = Tensor.from(gpu, wdt, [d], wv, 'w');
      const y = Tensor.empty(gpu, 'f16', shape, 'y f16');
      const stage = new Stage(gpu, 'test rmsNorm f16');
      rmsNorm(stage, x, w, 1e-6, y);
      await stage.submit();
      const got = await y.read();
      [x, w, y].forEach((t) => t.dispose());
      return { got, want: rmsNormRef(hostTensor(shape, xv), hostTensor([d], wv), 1e-6).data };
    },
  };
});

export const cases: OpCase[] = [...f16Cases, ...shapes.flatMap(([shape, wdt, offset]): OpCase[] => {
  const d = shape[shape.length - 1];
  const n = shape.reduce((a, b) => a * b, 1);
  return [
    {
      op: 'rmsNorm',
      name: `rmsNorm [${shape.join('×')}] w=${wdt}${offset ? ` x+${offset}` : ''}`,
      tol: { atol: 1e-6, rtol: 2e-6 }, // sum of squares in f32 over ≤ 8192 terms, then a few roundings
      async run(gpu, rng) {
        const xv = rng.normals(n).map((v) => Math.fround(v + offset));
        const wv = rng.normals(d, 0.2).map((v) => roundTo(wdt, 1 + v));
        const x = Tensor.from(gpu, 'f32', shape, xv, 'x'), w = Tensor.from(gpu, wdt, [d], wv, 'w');
        const stage = new Stage(gpu, 'test rmsNorm');
        const y = await rmsNorm(stage, x, w, 1e-6);
        await stage.submit();
        const got = await y.read();
        [x, w, y].forEach((t) => t.dispose());
        return { got, want: rmsNormRef(hostTensor(shape, xv), hostTensor([d], wv), 1e-6).data };
      },
    },
    {
      op: 'layerNorm',
      name: `layerNorm [${shape.join('×')}] w,b=${wdt}${offset ? ` x+${offset}` : ''}`,
      tol: { atol: 2e-5, rtol: 2e-5 }, // mean and centred variance in f32; with x+100 the mean costs ~1e-5 relative
      async run(gpu, rng) {
        const xv = rng.normals(n).map((v) => Math.fround(v + offset));
        const wv = rng.normals(d, 0.2).map((v) => roundTo(wdt, 1 + v));
        const bv = rng.normals(d, 0.3).map((v) => roundTo(wdt, v));
        const x = Tensor.from(gpu, 'f32', shape, xv, 'x'), w = Tensor.from(gpu, wdt, [d], wv, 'w'), b = Tensor.from(gpu, wdt, [d], bv, 'b');
        const stage = new Stage(gpu, 'test layerNorm');
        const y = await layerNorm(stage, x, w, b, 1e-5);
        await stage.submit();
        const got = await y.read();
        [x, w, b, y].forEach((t) => t.dispose());
        return { got, want: layerNormRef(hostTensor(shape, xv), hostTensor([d], wv), hostTensor([d], bv), 1e-5).data };
      },
    },
  ];
})];
