// Cases for `featureGather` (shaders/feature_gather.wgsl): cache layers with chosen heads, row tensors, cells with
// no token, awkward sizes; f16 sources (an f16 KV cache) widened to f32 exactly.
import { Stage } from '../../../src/gpu/stage.ts';
import { Tensor } from '../../../src/gpu/tensor.ts';
import { featureGather, NO_TOKEN } from '../../../src/ops/featureGather.ts';
import { featureGather as featureGatherRef } from '../../../src/ops/ref/featureGather.ts';
import { hostTensor } from '../../../src/gpu/hostTensor.ts';
import type { OpCase } from '../opCase.ts';
import { roundTo } from '../../../src/gpu/dtype.ts';

// [groups (0 = 2D row tensor), rows, dim, cells, heads, dtype]
const shapes: [number, number, number, number, number[] | undefined, ('f32' | 'f16')?][] = [
  [2, 40, 16, 35, undefined], [4, 129, 7, 9, [3, 1]], [0, 100, 33, 63, undefined], [1, 1, 1, 1, undefined], [3, 50, 24, 130, [2]],
  [4, 129, 7, 9, [3, 1], 'f16'], [2, 41, 16, 35, undefined, 'f16'], [0, 101, 33, 63, undefined, 'f16'], [1, 1, 1, 1, undefined, 'f16'],
];

export const cases: OpCase[] = shapes.map(([groups, rows, dim, cells, heads, dtype = 'f32']) => ({
  op: 'featureGather',
  name: `featureGather ${dtype === 'f16' ? 'f16 ' : ''}${groups ? `[${groups}×${rows}×${dim}]` : `[${rows}×${dim}]`} → ${cells} cells heads ${heads ? heads.join(',') : 'all'}`,
  tol: { atol: 0, rtol: 0 }, // a copy (f16 → f32 is exact): exact
  async run(gpu, rng) {
    const shape = groups ? [groups, rows, dim] : [rows, dim];
    const srcV = rng.normals(shape.reduce((a, b) => a * b, 1)).map((x) => roundTo(dtype, x));
    // every 7th cell has no token; one cell points past the rows (also no token)
    const pos = Array.from({ length: cells }, (_, c) => (c % 7 === 3 ? NO_TOKEN : c === cells - 1 && cells > 2 ? rows + 5 : rng.int(0, rows)));
    const src = Tensor.from(gpu, dtype, shape, srcV, 'src');
    const posT = Tensor.from(gpu, 'u32', [cells], pos, 'positions');
    const stage = new Stage(gpu, 'test featureGather');
    const out = await featureGather(stage, src, posT, heads);
    await stage.submit();
    const got = await out.read();
    src.dispose(); posT.dispose(); out.dispose();
    return { got, want: featureGatherRef(hostTensor(shape, srcV), pos, heads).data };
  },
}));
