// Cases for `logisticRegression` + `predict` (shaders/probe/logistic_regression.wgsl): 5 "shots" of 13 tokens
// (n = 65) in d = 33, Adam and gradient descent, with and without standardisation; query probabilities and weights
// against the float64 reference trained with the same init and steps.
import { Stage } from '../../../src/gpu/stage.ts';
import { Tensor } from '../../../src/gpu/tensor.ts';
import { hostTensor } from '../../../src/gpu/hostTensor.ts';
import { type LogisticRegressionOptions, logisticRegression, predict } from '../../../src/probe/logisticRegression.ts';
import { logisticRegression as trainRef, predict as predictRef } from '../../../src/probe/ref/logisticRegression.ts';
import type { OpCase, Rng } from '../../ops/opCase.ts';

/** Features [n, d] with labels from a noisy linear rule (overlapping classes unless noise = 0), offset and scaled columns. */
export function linearData(rng: Rng, n: number, d: number, noise: number, wTrue = rng.normals(d)): { x: number[]; y: number[]; wTrue: number[] } {
  const scale = Array.from({ length: d }, (_, e) => 0.5 + (e % 5)), shift = Array.from({ length: d }, (_, e) => (e % 3) - 1);
  const x: number[] = [], y: number[] = [];
  for (let i = 0; i < n; i++) {
    const row = rng.normals(d);
    const z = row.reduce((a, v, e) => a + v * wTrue[e], 0) + noise * rng.normal();
    y.push(z > 0 ? 1 : 0);
    x.push(...row.map((v, e) => Math.fround(v * scale[e] + shift[e])));
  }
  return { x, y, wTrue };
}

const list: LogisticRegressionOptions[] = [
  { optimizer: 'adam', steps: 60, standardize: true },
  { optimizer: 'gd', steps: 60, standardize: true, weightDecay: 0.01 },
  { optimizer: 'adam', steps: 40, standardize: false, lr: 0.02 },
];

export const cases: OpCase[] = list.map((o) => ({
  op: 'logisticRegression',
  name: `logisticRegression n=65 d=33 ${o.optimizer} ${o.steps} steps${o.standardize ? ' standardised' : ''}, 40 query rows`,
  // f32 vs float64 over tens of steps: gradients agree to ~1e-6 relative; Adam's g/√v amplifies that where g ≈ 0
  tol: { atol: 5e-5, rtol: 1e-4 },
  async run(gpu, rng) {
    const n = 65, d = 33;
    const train = linearData(rng, n, d, 1.0);
    const query = linearData(rng, 40, d, 1.0, train.wTrue);
    const x = Tensor.from(gpu, 'f32', [n, d], train.x, 'support features');
    const y = Tensor.from(gpu, 'f32', [n], train.y, 'support labels');
    const q = Tensor.from(gpu, 'f32', [5, 8, d], query.x, 'query features');
    const stage = new Stage(gpu, 'test logisticRegression');
    const model = await logisticRegression(stage, x, y, o);
    const p = await predict(stage, model, q);
    await stage.submit();
    const got = [...await p.read(), ...await model.theta.read()];
    model.dispose(); p.dispose(); x.dispose(); y.dispose(); q.dispose();
    const ref = trainRef(hostTensor([n, d], train.x), train.y, o);
    return { got, want: [...predictRef(ref, hostTensor([40, d], query.x)), ...ref.theta] };
  },
}));
