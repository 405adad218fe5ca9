// Cases for `l2Normalize`, `cosineSimilarity` (shaders/probe/l2_normalize.wgsl + matmul) and `bilinearUpsample`
// (shaders/probe/bilinear_upsample.wgsl): a 7×9 grid with d = 33, masked rows, long rows, zero rows, up- and downsampling.
import { Stage } from '../../../src/gpu/stage.ts';
import { Tensor } from '../../../src/gpu/tensor.ts';
import { hostTensor } from '../../../src/gpu/hostTensor.ts';
import { cosineSimilarity as cosineRef, l2Normalize as l2Ref } from '../../../src/probe/ref/similarity.ts';
import { bilinearUpsample as upsampleRef } from '../../../src/probe/ref/upsample.ts';
import { cosineSimilarity, l2Normalize } from '../../../src/probe/similarity.ts';
import { bilinearUpsample } from '../../../src/probe/upsample.ts';
import type { OpCase, Rng } from '../../ops/opCase.ts';

const f32 = (rng: Rng, n: number, std = 1) => rng.normals(n, std).map(Math.fround);
const mask = (rng: Rng, n: number) => Array.from({ length: n }, () => (rng.next() < 0.3 ? 0 : 1));

const normCases: OpCase[] = ([[[7, 9, 33], true], [[5, 1000], false], [[1, 1], false]] as [number[], boolean][]).map(([shape, masked]) => ({
  op: 'l2Normalize',
  name: `l2Normalize [${shape.join('×')}]${masked ? ' masked, a zero row' : ''}`,
  tol: { atol: 1e-7, rtol: 1e-6 }, // one f32 sum of squares and a division per row
  async run(gpu, rng) {
    const n = shape.reduce((a, b) => a * b, 1), d = shape[shape.length - 1];
    const xv = f32(rng, n, 3);
    if (masked) xv.fill(0, 2 * d, 3 * d); // a zero row stays zero (eps), not NaN
    const mv = masked ? mask(rng, n / d) : undefined;
    const x = Tensor.from(gpu, 'f32', shape, xv, 'x');
    const m = mv ? Tensor.from(gpu, 'u32', [mv.length], mv, 'mask') : undefined;
    const stage = new Stage(gpu, 'test l2Normalize');
    const y = await l2Normalize(stage, x, { mask: m });
    await stage.submit();
    const got = await y.read();
    [x, y, m].forEach((t) => t?.dispose());
    return { got, want: l2Ref(hostTensor(shape, xv), { mask: mv }).data };
  },
}));

const cosineCases: OpCase[] = ([[[7, 9, 33], [130, 33]], [[1, 5], [3, 5]]] as [number[], number[]][]).map(([as, bs]) => ({
  op: 'cosineSimilarity',
  name: `cosineSimilarity a[${as.join('×')}] b[${bs.join('×')}] (b masked)`,
  tol: { atol: 3e-6, rtol: 0 }, // |cos| ≤ 1, f32 dot of unit rows
  async run(gpu, rng) {
    const na = as.reduce((a, b) => a * b, 1), nb = bs.reduce((a, b) => a * b, 1);
    const av = f32(rng, na), bv = f32(rng, nb), mv = mask(rng, nb / bs[bs.length - 1]);
    const a = Tensor.from(gpu, 'f32', as, av, 'a'), b = Tensor.from(gpu, 'f32', bs, bv, 'b');
    const m = Tensor.from(gpu, 'u32', [mv.length], mv, 'b mask');
    const stage = new Stage(gpu, 'test cosine');
    const s = await cosineSimilarity(stage, a, b, { bMask: m });
    await stage.submit();
    const got = await s.read();
    [a, b, m, s].forEach((t) => t.dispose());
    return { got, want: cosineRef(hostTensor(as, av), hostTensor(bs, bv), { bMask: mv }).data };
  },
}));

const upsampleCases: OpCase[] = ([[[7, 9, 33], [20, 31]], [[7, 9, 5], [3, 4]], [[1, 1, 3], [5, 2]], [[6, 8, 2], [6, 8]]] as [number[], [number, number]][]).map(([shape, [oh, ow]]) => ({
  op: 'bilinearUpsample',
  name: `bilinearUpsample [${shape.join('×')}] -> ${oh}×${ow}`,
  tol: { atol: 2e-6, rtol: 1e-6 }, // a 4-term lerp in f32; coordinates in f32
  async run(gpu, rng) {
    const xv = f32(rng, shape.reduce((a, b) => a * b, 1));
    const x = Tensor.from(gpu, 'f32', shape, xv, 'fmap');
    const stage = new Stage(gpu, 'test upsample');
    const y = await bilinearUpsample(stage, x, oh, ow);
    await stage.submit();
    const got = await y.read();
    x.dispose(); y.dispose();
    return { got, want: upsampleRef(hostTensor(shape, xv), oh, ow).data };
  },
}));

export const cases: OpCase[] = [...normCases, ...cosineCases, ...upsampleCases];
