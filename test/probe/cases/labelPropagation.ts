// Cases for `labelPropagation` (shaders/probe/label_propagation.wgsl + top_k.wgsl) and `propagateVideo`: a 7×9
// grid, d = 33, windows smaller and larger than the grid, masked sources and targets, the context ring wrapping.
import { Stage } from '../../../src/gpu/stage.ts';
import { Tensor } from '../../../src/gpu/tensor.ts';
import { hostTensor } from '../../../src/gpu/hostTensor.ts';
import { labelPropagation, propagateVideo } from '../../../src/probe/labelPropagation.ts';
import { labelPropagation as propRef, propagateVideo as videoRef } from '../../../src/probe/ref/labelPropagation.ts';
import { l2Normalize as l2Ref } from '../../../src/probe/ref/similarity.ts';
import type { OpCase, Rng } from '../../ops/opCase.ts';

const softLabels = (rng: Rng, cells: number, nl: number) => {
  const v: number[] = [];
  for (let i = 0; i < cells; i++) {
    const row = Array.from({ length: nl }, () => rng.next());
    const s = row.reduce((a, b) => a + b, 0);
    v.push(...row.map((x) => Math.fround(x / s)));
  }
  return v;
};
const maskOf = (rng: Rng, n: number, p: number) => Array.from({ length: n }, () => (rng.next() < p ? 0 : 1));

// e^((a − a_max)/τ) multiplies f32 affinity errors (~1e-7) by 1/τ = 10
const tol = { atol: 2e-5, rtol: 1e-4 };

const frameCases: OpCase[] = ([[2, 5, 0.1, false], [20, 5, 0.7, true], [1, 32, 0.1, true]] as [number, number, number, boolean][]).map(([r, k, tau, masked]) => ({
  op: 'labelPropagation',
  name: `labelPropagation 7×9 d=33, 3 context frames, 4 labels, r=${r} top-${k} τ=${tau}${masked ? ', masked' : ''}`,
  tol,
  async run(gpu, rng) {
    const h = 7, w = 9, d = 33, nCtx = 3, nl = 4, hw = h * w;
    const tv = l2Ref(hostTensor([h, w, d], rng.normals(hw * d).map(Math.fround))).data.map(Math.fround);
    const cv = l2Ref(hostTensor([nCtx, h, w, d], rng.normals(nCtx * hw * d).map(Math.fround))).data.map(Math.fround);
    const lv = softLabels(rng, nCtx * hw, nl);
    const cm = masked ? maskOf(rng, nCtx * hw, 0.3) : undefined, tm = masked ? maskOf(rng, hw, 0.2) : undefined;
    const target = Tensor.from(gpu, 'f32', [h, w, d], tv, 'target');
    const features = Tensor.from(gpu, 'f32', [nCtx, h, w, d], cv, 'context features');
    const labels = Tensor.from(gpu, 'f32', [nCtx, h, w, nl], lv, 'context labels');
    const mask = cm ? Tensor.from(gpu, 'u32', [cm.length], cm, 'context mask') : undefined;
    const targetMask = tm ? Tensor.from(gpu, 'u32', [hw], tm, 'target mask') : undefined;
    const stage = new Stage(gpu, 'test labelPropagation');
    const soft = await labelPropagation(stage, target, { features, labels, mask }, { neighbourhood: r, topk: k, temperature: tau, targetMask });
    await stage.submit();
    const got = await soft.read();
    [target, features, labels, mask, targetMask, soft].forEach((t) => t?.dispose());
    const want = propRef(hostTensor([h, w, d], tv), { features: hostTensor([nCtx, h, w, d], cv), labels: hostTensor([nCtx, h, w, nl], lv), mask: cm }, { neighbourhood: r, topk: k, temperature: tau, targetMask: tm });
    return { got, want: want.data };
  },
}));

const videoCase: OpCase = {
  op: 'propagateVideo',
  name: 'propagateVideo 6 frames 5×6 d=17, n_last 2 (the ring wraps), r=2 top-3 τ=0.1, masked cells',
  tol,
  async run(gpu, rng) {
    const h = 5, w = 6, d = 17, nl = 3, hw = h * w, T = 6;
    const fv = Array.from({ length: T }, () => rng.normals(hw * d).map(Math.fround));
    const mv = Array.from({ length: T }, () => maskOf(rng, hw, 0.15));
    const first = softLabels(rng, hw, nl);
    const frames = fv.map((v, i) => Tensor.from(gpu, 'f32', [h, w, d], v, `frame ${i}`));
    const masks = mv.map((v, i) => Tensor.from(gpu, 'u32', [hw], v, `mask ${i}`));
    const firstLabels = Tensor.from(gpu, 'f32', [h, w, nl], first, 'first labels');
    const opts = { nLastFrames: 2, neighbourhood: 2, topk: 3, temperature: 0.1 };
    const out = await propagateVideo(frames, firstLabels, { ...opts, masks });
    const got: number[] = [];
    for (const t of out) { got.push(...await t.read()); t.dispose(); }
    [...frames, ...masks, firstLabels].forEach((t) => t.dispose());
    const want = videoRef(fv.map((v) => hostTensor([h, w, d], v)), hostTensor([h, w, nl], first), { ...opts, masks: mv });
    return { got, want: want.flatMap((t) => [...t.data]) };
  },
};

export const cases: OpCase[] = [...frameCases, videoCase];
