// Cases for the RoPE forms: awkward heads × head_dim, positions up to 32767 with theta 1e6 (where a naive
// cos of a large f32 angle loses accuracy), M-RoPE with Qwen2.5-VL's section split, vision 2D RoPE, in place.
import { Stage } from '../../../src/gpu/stage.ts';
import { Tensor } from '../../../src/gpu/tensor.ts';
import { hostTensor } from '../../../src/gpu/hostTensor.ts';
import { kvWrite as kvWriteRef } from '../../../src/ops/ref/kvWrite.ts';
import { mrope as mropeRef, rope as ropeRef, visionRope2d as rope2dRef } from '../../../src/ops/ref/rope.ts';
import { mrope, rope, visionRope2d } from '../../../src/ops/rope.ts';
import type { OpCase } from '../opCase.ts';
import { roundTo } from '../../../src/gpu/dtype.ts';

// cos/sin after the shader's range reduction are within ~1.1e-7 of float64 cos/sin of the same f32 angle
// (measured over positions 0..32767, theta 1e4 and 1e6); |x| ≲ 5, so each output is off by ≲ 1e-6 + rounding
const tol = { atol: 2e-6, rtol: 1e-6 };

type Form = 'rope' | 'mrope' | 'rope2d';
const list: { form: Form; s: number; h: number; d: number; theta: number; maxPos: number; inPlace?: boolean; section?: [number, number, number] }[] = [
  { form: 'rope', s: 1, h: 3, d: 24, theta: 10000, maxPos: 5 },
  { form: 'rope', s: 7, h: 2, d: 128, theta: 1e6, maxPos: 32767 },
  { form: 'rope', s: 3, h: 1, d: 128, theta: 1e6, maxPos: 102000 },
  { form: 'rope', s: 129, h: 7, d: 64, theta: 500000, maxPos: 8191, inPlace: true },
  { form: 'mrope', s: 7, h: 2, d: 128, theta: 1e6, maxPos: 2000, section: [16, 24, 24] },
  { form: 'mrope', s: 129, h: 3, d: 24, theta: 1e6, maxPos: 300, section: [2, 5, 5], inPlace: true },
  { form: 'rope2d', s: 129, h: 7, d: 80, theta: 10000, maxPos: 100 },
  { form: 'rope2d', s: 1, h: 1, d: 8, theta: 10000, maxPos: 3, inPlace: true },
];

export const cases: OpCase[] = list.map((c) => ({
  op: 'rope',
  name: `${c.form} [${c.s}×${c.h}×${c.d}] theta=${c.theta} positions ≤ ${c.maxPos}${c.section ? ` section ${c.section.join(',')}` : ''}${c.inPlace ? ' in place' : ''}`,
  tol,
  async run(gpu, rng) {
    const xv = rng.normals(c.s * c.h * c.d).map(Math.fround);
    const nPos = c.form === 'rope' ? c.s : c.form === 'mrope' ? 3 * c.s : 2 * c.s;
    const pv = Array.from({ length: nPos }, (_, i) => (i === 0 ? c.maxPos : rng.int(0, c.maxPos + 1)));
    const posShape = c.form === 'rope' ? [c.s] : c.form === 'mrope' ? [3, c.s] : [c.s, 2];
    const x = Tensor.from(gpu, 'f32', [c.s, c.h, c.d], xv, 'x');
    const pos = Tensor.from(gpu, 'i32', posShape, pv, 'positions');
    const stage = new Stage(gpu, `test ${c.form}`);
    const out = c.inPlace ? x : undefined;
    const y = c.form === 'rope' ? await rope(stage, x, pos, { theta: c.theta, out })
      : c.form === 'mrope' ? await mrope(stage, x, pos, { theta: c.theta, mropeSection: c.section!, out })
      : await visionRope2d(stage, x, pos, { theta: c.theta, out });
    await stage.submit();
    const got = await y.read();
    [x, pos, y].forEach((t) => t.dispose());
    const hx = hostTensor([c.s, c.h, c.d], xv), hp = hostTensor(posShape, pv);
    const want = c.form === 'rope' ? ropeRef(hx, hp, { theta: c.theta })
      : c.form === 'mrope' ? mropeRef(hx, hp, { theta: c.theta, mropeSection: c.section! })
      : rope2dRef(hx, hp, { theta: c.theta });
    return { got, want: want.data };
  },
}));

// RoPE written straight into a KV cache [H, capacity, d] at `start` (the decoder's rope + kv_write in one
// dispatch): the reference is RoPE, then kvWrite, over a cache holding other values (untouched rows must stay).
// Into an f16 cache (`to_cache_f16`) the reference is rounded to f16 as well: the kernel rounds its f32 rotation,
// so a value within f32 error of a rounding boundary may land one f16 ulp (2^-10 relative) away.
const intoCache: { form: 'rope' | 'mrope'; s: number; h: number; d: number; cap: number; start: number; section?: [number, number, number]; f16?: boolean }[] = [
  { form: 'rope', s: 7, h: 2, d: 24, cap: 20, start: 3 },
  { form: 'rope', s: 1, h: 4, d: 128, cap: 1000, start: 999 },
  { form: 'mrope', s: 13, h: 3, d: 24, cap: 40, start: 27, section: [2, 5, 5] },
  { form: 'rope', s: 7, h: 2, d: 24, cap: 20, start: 3, f16: true },
  { form: 'rope', s: 1, h: 4, d: 128, cap: 1000, start: 999, f16: true },
  { form: 'rope', s: 67, h: 3, d: 4, cap: 70, start: 2, f16: true },
  { form: 'mrope', s: 13, h: 3, d: 24, cap: 40, start: 27, section: [2, 5, 5], f16: true },
];
// f16: the f32 rotation's error (tol.atol) plus one f16 ulp of the value (≤ 2^-10 relative)
const tolF16 = { atol: tol.atol, rtol: 2 ** -10 };
cases.push(...intoCache.map((c): OpCase => ({
  op: 'rope',
  name: `${c.form} into ${c.f16 ? 'f16 ' : ''}cache [${c.h}×${c.cap}×${c.d}] S=${c.s} at ${c.start}${c.section ? ` section ${c.section.join(',')}` : ''}`,
  tol: c.f16 ? tolF16 : tol,
  async run(gpu, rng) {
    const dt = c.f16 ? 'f16' : 'f32';
    const xv = rng.normals(c.s * c.h * c.d).map(Math.fround);
    const cacheV = rng.normals(c.h * c.cap * c.d).map((x) => roundTo(dt, x));
    const nPos = c.form === 'rope' ? c.s : 3 * c.s;
    const pv = Array.from({ length: nPos }, () => rng.int(0, 4000));
    const posShape = c.form === 'rope' ? [c.s] : [3, c.s];
    const x = Tensor.from(gpu, 'f32', [c.s, c.h, c.d], xv, 'k');
    const pos = Tensor.from(gpu, 'i32', posShape, pv, 'positions');
    const cache = Tensor.from(gpu, dt, [c.h, c.cap, c.d], cacheV, 'cache');
    await Stage.run(gpu, `test ${c.form} into cache`, (st) => c.form === 'rope'
      ? rope(st, x, pos, { theta: 1e6, into: { cache, start: c.start } })
      : mrope(st, x, pos, { theta: 1e6, mropeSection: c.section!, into: { cache, start: c.start } }));
    const got = await cache.read();
    [x, pos, cache].forEach((t) => t.dispose());
    const hx = hostTensor([c.s, c.h, c.d], xv), hp = hostTensor(posShape, pv);
    const rotated = c.form === 'rope' ? ropeRef(hx, hp, { theta: 1e6 }) : mropeRef(hx, hp, { theta: 1e6, mropeSection: c.section! });
    return { got, want: kvWriteRef(rotated, hostTensor([c.h, c.cap, c.d], cacheV), c.start).data.map((x) => c.f16 ? roundTo('f16', x) : x) };
  },
})));
