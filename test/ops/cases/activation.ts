// Cases for the activations: awkward sizes, large |x| (±100: no NaN from exp/tanh overflow), a dense grid on
// [−6, 6] for exact GELU (checks the erf approximation), and the gated forms.
import { Stage } from '../../../src/gpu/stage.ts';
import { Tensor } from '../../../src/gpu/tensor.ts';
import { activation, type Activation, gatedActivation, gatedActivationFused } from '../../../src/ops/activation.ts';
import { act, activation as activationRef, gatedActivation as gatedRef } from '../../../src/ops/ref/activation.ts';
import { hostTensor } from '../../../src/gpu/hostTensor.ts';
import type { OpCase, Rng } from '../opCase.ts';

const ACTS: Activation[] = ['silu', 'gelu', 'gelu_tanh', 'quick_gelu'];
// a few f32 roundings in exp/tanh/erf and the products: relative ~3e-7, absolute near 0 ~1.5e-7
const tol = { atol: 1.5e-7, rtol: 5e-7 };

function values(rng: Rng, n: number): number[] {
  const v = rng.normals(n, 3).map(Math.fround);
  if (n > 4) { v[0] = 100; v[1] = -100; v[2] = 0; v[3] = -88.5; }
  return v;
}

const elementwise: OpCase[] = ACTS.flatMap((a) => [[1], [7], [129], [3, 1000]].map((shape): OpCase => ({
  op: 'activation',
  name: `${a} [${shape.join('×')}]`,
  tol,
  async run(gpu, rng) {
    const n = shape.reduce((p, q) => p * q, 1);
    const xv = values(rng, n);
    const x = Tensor.from(gpu, 'f32', shape, xv, 'x');
    const stage = new Stage(gpu, `test ${a}`);
    const y = await activation(stage, a, x);
    await stage.submit();
    const got = await y.read();
    x.dispose(); y.dispose();
    return { got, want: activationRef(a, hostTensor(shape, xv)).data };
  },
})));

const geluGrid: OpCase = {
  op: 'activation',
  name: 'gelu (exact erf) dense grid x ∈ [−6, 6], step 2⁻¹⁰',
  tol,
  async run(gpu) {
    const xv = Array.from({ length: 12 * 1024 + 1 }, (_, i) => -6 + i / 1024);
    const x = Tensor.from(gpu, 'f32', [xv.length], xv, 'grid');
    const stage = new Stage(gpu, 'test gelu grid');
    const y = await activation(stage, 'gelu', x);
    await stage.submit();
    const got = await y.read();
    x.dispose(); y.dispose();
    return { got, want: xv.map((v) => act('gelu', v)) };
  },
};

const gated: OpCase[] = (['silu', 'gelu'] as Activation[]).flatMap((a) => [[1, 7], [7, 129], [2, 3, 1000]].flatMap((shape): OpCase[] => [
  {
    op: 'activation',
    name: `gated ${a} [${shape.join('×')}]`,
    tol,
    async run(gpu, rng) {
      const n = shape.reduce((p, q) => p * q, 1);
      const gv = values(rng, n), uv = rng.normals(n).map(Math.fround);
      const g = Tensor.from(gpu, 'f32', shape, gv, 'gate'), u = Tensor.from(gpu, 'f32', shape, uv, 'up');
      const stage = new Stage(gpu, 'test gated');
      const y = await gatedActivation(stage, a, g, u);
      await stage.submit();
      const got = await y.read();
      [g, u, y].forEach((t) => t.dispose());
      return { got, want: gatedRef(a, hostTensor(shape, gv), hostTensor(shape, uv)).data };
    },
  },
  {
    op: 'activation',
    name: `gated ${a} fused [${shape.slice(0, -1).join('×')}×2·${shape[shape.length - 1]}]`,
    tol,
    async run(gpu, rng) {
      const inner = shape[shape.length - 1], rows = shape.slice(0, -1).reduce((p, q) => p * q, 1);
      const gv = values(rng, rows * inner), uv = rng.normals(rows * inner).map(Math.fround);
      const fused: number[] = [];
      for (let r = 0; r < rows; r++) fused.push(...gv.slice(r * inner, (r + 1) * inner), ...uv.slice(r * inner, (r + 1) * inner));
      const gu = Tensor.from(gpu, 'f32', [...shape.slice(0, -1), 2 * inner], fused, 'gate_up');
      const stage = new Stage(gpu, 'test gated fused');
      const y = await gatedActivationFused(stage, a, gu);
      await stage.submit();
      const got = await y.read();
      gu.dispose(); y.dispose();
      return { got, want: gatedRef(a, hostTensor(shape, gv), hostTensor(shape, uv)).data };
    },
  },
]));

export const cases: OpCase[] = [...elementwise, geluGrid, ...gated];
