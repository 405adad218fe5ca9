// Cases for `kvWrite` (shaders/kv_write.wgsl): awkward head counts, head dims and positions, the write at the cache's end;
// into an f16 cache (`main_f16`), with values that test round-to-nearest-even: ties, f16 subnormals, underflow to 0,
// overflow to inf — exact against the host's f32 → f16 rounding.
import { Stage } from '../../../src/gpu/stage.ts';
import { Tensor } from '../../../src/gpu/tensor.ts';
import { kvWrite } from '../../../src/ops/kvWrite.ts';
import { hostTensor } from '../../../src/gpu/hostTensor.ts';
import { roundTo } from '../../../src/gpu/dtype.ts';
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

// f32 values whose f16 rounding is delicate: ties to even up and down, just past a tie, the largest half and the
// overflow boundary (65520 → inf), subnormals and their ties, underflow (2^-25 ties to 0), a carry into the exponent
const DELICATE = [1 + 2 ** -11, 1 + 3 * 2 ** -11, 1 + 2 ** -11 + 2 ** -23, 65504, 65519.996, 65520, -70000, 2 ** -24, 3 * 2 ** -25, 2 ** -25,
  2 ** -25 + 2 ** -40, 2 ** -14 - 2 ** -26, 2047.9999, -0, 6e-8, 1e-7, -3.0517578125e-5, 2 ** -15 + 2 ** -26, Infinity, -Infinity].map(Math.fround);

// [seq, kvHeads, headDim (even), capacity, start]
const shapes16: [number, number, number, number, number][] = [[1, 1, 2, 1, 0], [7, 2, 24, 20, 3], [129, 3, 80, 129, 0], [1, 4, 128, 1000, 999], [13, 1, 6, 40, 27]];

cases.push(...shapes16.map(([seq, kvh, d, cap, start]): OpCase => ({
  op: 'kvWrite',
  name: `kvWrite f16 cache S=${seq} kv_heads=${kvh} d=${d} capacity=${cap} at ${start}`,
  tol: { atol: 0, rtol: 0 }, // rounding to nearest even is specified: exact
  async run(gpu, rng) {
    const srcV = rng.normals(seq * kvh * d, 4).map((x, i) => Math.fround(i % 5 === 2 ? DELICATE[(i / 5 | 0) % DELICATE.length] : x));
    const cacheV = rng.normals(kvh * cap * d).map((x) => roundTo('f16', x));
    const src = Tensor.from(gpu, 'f32', [seq, kvh, d], srcV, 'new k');
    const cache = Tensor.from(gpu, 'f16', [kvh, cap, d], cacheV, 'cache f16');
    const stage = new Stage(gpu, 'test kvWrite f16');
    kvWrite(stage, src, cache, start);
    await stage.submit();
    const got = await cache.read();
    src.dispose(); cache.dispose();
    const want = kvWriteRef(hostTensor([seq, kvh, d], srcV), hostTensor([kvh, cap, d], cacheV), start).data.map((x) => roundTo('f16', x));
    return { got, want };
  },
})));
