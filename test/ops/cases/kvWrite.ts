// Cases for `kvWrite` (shaders/kv_write.wgsl): awkward head counts, head dims and positions, the write at the cache's end.
import { Stage } from '../../../src/gpu/stage.ts';
import { Tensor } from '../../../src/gpu/tensor.ts';
import { kvWrite } from '../../../src/ops/kvWrite.ts';
import { hostTensor } from '../../../src/gpu/hostTensor.ts';
import { kvWrite as kvWriteRef } from '../../../src/ops/ref/kvWrite.ts';
import type { OpCase } from '../opCase.ts';

// [seq, kvHeads, headDim, capacity, start]
const shapes: [number, number, number, number, number][] = [[1, 1, 1, 1, 0], [7, 2, 24, 20, 3], [129, 3, 80, 129, 0], [1, 4, 128, 1000, 999], [13, 1, 7, 40, 27]];

export const cases: OpCase[] = shapes.map(([seq, kvh, d, cap, start]) => ({
  op: 'kvWrite',
  name: `kvWrite S=${seq} kv_heads=${kvh} d=${d} capacity=${cap} at ${start}`,
  tol: { atol: 0, rtol: 0 }, // a copy: exact
  async run(gpu, rng) {
    const srcV = rng.normals(seq * kvh * d).map(Math.fround);
    const cacheV = rng.normals(kvh * cap * d).map(Math.fround);
    const src = Tensor.from(gpu, 'f32', [seq, kvh, d], srcV, 'new k');
    const cache = Tensor.from(gpu, 'f32', [kvh, cap, d], cacheV, 'cache');
    const stage = new Stage(gpu, 'test kvWrite');
    await kvWrite(stage, src, cache, start);
    await stage.submit();
    const got = await cache.read();
    src.dispose(); cache.dispose();
    return { got, want: kvWriteRef(hostTensor([seq, kvh, d], srcV), hostTensor([kvh, cap, d], cacheV), start).data };
  },
}));
