// Cases for `add` (residual add).
import { Stage } from '../../../src/gpu/stage.ts';
import { Tensor } from '../../../src/gpu/tensor.ts';
import { add } from '../../../src/ops/add.ts';
import { add as addRef } from '../../../src/ops/ref/add.ts';
import { hostTensor } from '../../../src/gpu/hostTensor.ts';
import type { OpCase } from '../opCase.ts';

const shapes = [[1], [7], [129], [3, 1000], [2, 7, 129]];

export const cases: OpCase[] = shapes.map((shape) => ({
  op: 'add',
  name: `add [${shape.join('×')}] f32`,
  tol: { atol: 0, rtol: 1e-7 }, // one f32 rounding
  async run(gpu, rng) {
    const n = shape.reduce((a, b) => a * b, 1);
    const av = rng.normals(n).map(Math.fround), bv = rng.normals(n).map(Math.fround);
    const a = Tensor.from(gpu, 'f32', shape, av, 'a'), b = Tensor.from(gpu, 'f32', shape, bv, 'b');
    const stage = new Stage(gpu, 'test add');
    const out = await add(stage, a, b);
    await stage.submit();
    const got = await out.read();
    [a, b, out].forEach((t) => t.dispose());
    return { got, want: addRef(hostTensor(shape, av), hostTensor(shape, bv)).data };
  },
}));
