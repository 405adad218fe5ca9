// Cases for `rmsNorm` and `layerNorm`: awkward rows and the model widths (1152, 1280, 3584, 8192), every weight dtype, offsets in x
// (LayerNorm's two-pass variance must not cancel on rows with a large mean).
import type { DType } from '../../../src/gpu/dtype.ts';
import { roundTo } from '../../../src/gpu/dtype.ts';
import { Stage } from '../../../src/gpu/stage.ts';
import { Tensor } from '../../../src/gpu/tensor.ts';
import { addRmsNorm, layerNorm, rmsNorm } from '../../../src/ops/norm.ts';
import { add } from '../../../src/ops/add.ts';
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

// addRmsNorm (the residual add fused into the next RMSNorm): the sum and the normalised row, f32 and f16 out
const addShapes: [number[], DType, 'f32' | 'f16'][] = [[[1, 7], 'f32', 'f32'], [[13, 130], 'bf16', 'f16'], [[3, 3584], 'bf16', 'f32'], [[2, 7, 1152], 'f16', 'f16'], [[65, 1000], 'f32', 'f32']];
const addCases: OpCase[] = addShapes.map(([shape, wdt, odt]): OpCase => {
  const d = shape[shape.length - 1];
  const n = shape.reduce((a, b) => a * b, 1);
  return {
    op: 'rmsNorm',
    name: `addRmsNorm [${shape.join('×')}] w=${wdt} out ${odt} (sum, then y)`,
    tol: odt === 'f16' ? { atol: 2 ** -25 + 1e-6, rtol: 2 ** -11 + 2e-6 } : { atol: 1e-6, rtol: 2e-6 },
    async run(gpu, rng) {
      const av = rng.normals(n).map(Math.fround), rv = rng.normals(n, 0.5).map(Math.fround);
      const wv = rng.normals(d, 0.2).map((v) => roundTo(wdt, 1 + v));
      const a = Tensor.from(gpu, 'f32', shape, av, 'a'), r = Tensor.from(gpu, 'f32', shape, rv, 'r'), w = Tensor.from(gpu, wdt, [d], wv, 'w');
      const sum = Tensor.empty(gpu, 'f32', shape, 'sum'), y = Tensor.empty(gpu, odt, shape, 'y');
      const stage = new Stage(gpu, 'test addRmsNorm');
      addRmsNorm(stage, a, r, w, 1e-6, sum, y);
      await stage.submit();
      const got = [...await sum.read(), ...await y.read()];
      [a, r, w, sum, y].forEach((t) => t.dispose());
      const sv = av.map((v, i) => v + rv[i]);
      return { got, want: [...sv, ...rmsNormRef(hostTensor(shape, sv), hostTensor([d], wv), 1e-6).data] };
    },
  };
});

// the decoder swaps add + rmsNorm for addRmsNorm: same f32 operations in the same order, so equal bit for bit
const addSame: OpCase[] = ([[37, 896, 'f32'], [5, 3584, 'f16']] as const).map(([rows, d, odt]): OpCase => ({
  op: 'rmsNorm',
  name: `addRmsNorm [${rows}×${d}] out ${odt} = add then rmsNorm, bit for bit`,
  tol: { atol: 0, rtol: 0 },
  async run(gpu, rng) {
    const a = Tensor.from(gpu, 'f32', [rows, d], rng.normals(rows * d).map(Math.fround), 'a');
    const r = Tensor.from(gpu, 'f32', [rows, d], rng.normals(rows * d).map(Math.fround), 'r');
    const w = Tensor.from(gpu, 'bf16', [d], rng.normals(d, 0.2).map((v) => roundTo('bf16', 1 + v)), 'w');
    const [s1, s2] = [0, 1].map(() => Tensor.empty(gpu, 'f32', [rows, d], 'sum')), [y1, y2] = [0, 1].map(() => Tensor.empty(gpu, odt, [rows, d], 'y'));
    const stage = new Stage(gpu, 'test addRmsNorm = add + rmsNorm');
    add(stage, a, r, s1);
    rmsNorm(stage, s1, w, 1e-6, y1);
    addRmsNorm(stage, a, r, w, 1e-6, s2, y2);
    await stage.submit();
    const got = [...await s2.read(), ...await y2.read()], want = [...await s1.read(), ...await y1.read()];
    [a, r, w, s1, s2, y1, y2].forEach((t) => t.dispose());
    return { got, want };
  },
}));

export const cases: OpCase[] = [...f16Cases, ...addCases, ...addSame, ...shapes.flatMap(([shape, wdt, offset]): OpCase[] => {
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
