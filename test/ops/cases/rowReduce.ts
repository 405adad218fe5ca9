// Cases for `softmax` and `argmax`: awkward rows and widths up to a whole vocabulary (152064), large logits
// (max subtraction), ties (lowest index wins) and NaN (counts as the maximum).
import { Stage } from '../../../src/gpu/stage.ts';
import { Tensor } from '../../../src/gpu/tensor.ts';
import { hostTensor } from '../../../src/gpu/hostTensor.ts';
import { argmax as argmaxRef, softmax as softmaxRef } from '../../../src/ops/ref/rowReduce.ts';
import { argmax, softmax } from '../../../src/ops/rowReduce.ts';
import type { OpCase, Rng } from '../opCase.ts';

function logits(rng: Rng, n: number, scale: number): number[] {
  return rng.normals(n, scale).map(Math.fround);
}

const softmaxCases: OpCase[] = ([[[1, 1], 1], [[7, 7], 1], [[129, 1000], 10], [[1, 152064], 3], [[2, 3, 129], 100]] as [number[], number][]).map(([shape, scale]) => ({
  op: 'softmax',
  name: `softmax [${shape.join('×')}] logits σ=${scale}`,
  tol: { atol: 1e-7, rtol: 2e-5 }, // exp of f32 differences and an f32 sum over ≤ 152064 terms
  async run(gpu, rng) {
    const n = shape.reduce((a, b) => a * b, 1);
    const xv = logits(rng, n, scale);
    const x = Tensor.from(gpu, 'f32', shape, xv, 'logits');
    const stage = new Stage(gpu, 'test softmax');
    const y = await softmax(stage, x);
    await stage.submit();
    const got = await y.read();
    x.dispose(); y.dispose();
    return { got, want: softmaxRef(hostTensor(shape, xv)).data };
  },
}));

const argmaxCases: OpCase[] = (['plain', 'ties', 'nan'] as const).flatMap((kind) => [[1, 7], [7, 129], [2, 152064]].map((shape): OpCase => ({
  op: 'argmax',
  name: `argmax [${shape.join('×')}] ${kind}`,
  tol: { atol: 0, rtol: 0 },
  async run(gpu, rng) {
    const [rows, d] = shape;
    const xv = logits(rng, rows * d, 1);
    for (let r = 0; r < rows; r++) {
      if (kind === 'ties') { const a = rng.int(0, d), b = rng.int(0, d); xv[r * d + a] = 50; xv[r * d + b] = 50; }
      if (kind === 'nan' && d > 3) { xv[r * d + d - 2] = NaN; xv[r * d + 1] = 1e30; }
    }
    const x = Tensor.from(gpu, 'f32', shape, xv, 'logits');
    const stage = new Stage(gpu, 'test argmax');
    const y = await argmax(stage, x);
    await stage.submit();
    const got = await y.read();
    x.dispose(); y.dispose();
    return { got, want: argmaxRef(hostTensor(shape, xv)).data };
  },
})));

export const cases: OpCase[] = [...softmaxCases, ...argmaxCases];
