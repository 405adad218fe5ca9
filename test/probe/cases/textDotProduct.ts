// Cases for `textDotProduct` (matmul, cosine via l2_normalize.wgsl), `scoreLabels` and `scoreMask`
// (shaders/probe/score_map.wgsl): a 7×9 grid, d = 33, 5 class vectors or one, thresholds, masked cells.
import { Stage } from '../../../src/gpu/stage.ts';
import { Tensor } from '../../../src/gpu/tensor.ts';
import { hostTensor } from '../../../src/gpu/hostTensor.ts';
import { scoreLabels as labelsRef, scoreMask as maskRef, textDotProduct as dotRef } from '../../../src/probe/ref/textDotProduct.ts';
import { scoreLabels, scoreMask, textDotProduct } from '../../../src/probe/textDotProduct.ts';
import type { OpCase } from '../../ops/opCase.ts';

const list: [number, boolean, number | undefined][] = [[5, true, 0.1], [5, false, undefined], [1, true, 0.05], [1, false, 0]];

export const cases: OpCase[] = list.map(([classes, cosine, threshold]) => ({
  op: 'textDotProduct',
  name: `textDotProduct [7×9×33] · ${classes === 1 ? 'one text vector' : `${classes} class vectors`}${cosine ? ' cosine' : ' dot'}, ${classes === 1 ? 'mask' : 'labels'} threshold ${threshold ?? 'none'}, masked cells`,
  // scores: an f32 dot of 33 terms (atol for raw dots of N(0,1) features); labels/masks exact away from ties
  tol: { atol: 1e-5, rtol: 1e-5 },
  async run(gpu, rng) {
    const h = 7, w = 9, d = 33, cells = h * w;
    const fv = rng.normals(cells * d).map(Math.fround), tv = rng.normals(classes * d).map(Math.fround);
    const mv = Array.from({ length: cells }, () => (rng.next() < 0.2 ? 0 : 1));
    const f = Tensor.from(gpu, 'f32', [h, w, d], fv, 'image features');
    const t = Tensor.from(gpu, 'f32', classes === 1 ? [d] : [classes, d], tv, 'text vectors');
    const m = Tensor.from(gpu, 'u32', [cells], mv, 'cell mask');
    const stage = new Stage(gpu, 'test textDotProduct');
    const s = await textDotProduct(stage, f, t, { cosine });
    const l = classes === 1 ? await scoreMask(stage, s, threshold ?? 0, { mask: m }) : await scoreLabels(stage, s, { threshold, mask: m });
    await stage.submit();
    const got = [...await s.read(), ...await l.read()];
    [f, t, m, s, l].forEach((x) => x.dispose());
    const sr = dotRef(hostTensor([cells, d], fv), hostTensor([classes, d], tv), { cosine });
    const lr = classes === 1 ? maskRef(sr.data, threshold ?? 0, mv) : labelsRef(sr, { threshold, mask: mv });
    return { got, want: [...sr.data, ...lr] };
  },
}));
