// Cases for `matmul`: awkward M, N, K, every weight dtype, bias dtypes, batched leading dims, both paths,
// row-chunked weights (odd K in bf16 puts chunk rows mid-u32).
import type { DType } from '../../../src/gpu/dtype.ts';
import { roundTo } from '../../../src/gpu/dtype.ts';
import { Stage } from '../../../src/gpu/stage.ts';
import { Tensor } from '../../../src/gpu/tensor.ts';
import { matmul } from '../../../src/ops/matmul.ts';
import { hostTensor } from '../../../src/ops/ref/hostTensor.ts';
import { matmul as matmulRef } from '../../../src/ops/ref/matmul.ts';
import { type OpCase, withBindingLimit } from '../opCase.ts';

interface MatmulCase { lead: number[]; n: number; k: number; w: DType; bias?: DType; path?: 'tiled' | 'gemv'; chunkBytes?: number }

const list: MatmulCase[] = [
  { lead: [1], n: 129, k: 1000, w: 'f32' },
  { lead: [1], n: 129, k: 1000, w: 'bf16', bias: 'f32' },
  { lead: [1], n: 1000, k: 129, w: 'f16', bias: 'f16' },
  { lead: [1], n: 7, k: 7, w: 'bf16', bias: 'bf16' },
  { lead: [7], n: 1000, k: 129, w: 'f32', bias: 'f32' },
  { lead: [7], n: 1000, k: 129, w: 'bf16' },
  { lead: [129], n: 7, k: 1000, w: 'f16' },
  { lead: [33], n: 65, k: 130, w: 'bf16', bias: 'bf16' },
  { lead: [2, 7], n: 129, k: 65, w: 'f32', bias: 'f16' },
  { lead: [1], n: 129, k: 1000, w: 'f32', path: 'tiled' },
  { lead: [130], n: 70, k: 33, w: 'f32' },
  { lead: [7], n: 129, k: 65, w: 'bf16', bias: 'f32', chunkBytes: 1300 },  // 130-byte rows: 10 per chunk
  { lead: [1], n: 129, k: 65, w: 'f16', chunkBytes: 1300 },
  { lead: [65], n: 100, k: 40, w: 'f32', chunkBytes: 1600 },
  // K % 4 == 0: the vec4 paths (tile_f32, tile_16, gemv_f32, gemv_16); the cases above with odd K take *_any
  { lead: [7], n: 129, k: 1000, w: 'bf16', bias: 'bf16' },
  { lead: [33], n: 65, k: 132, w: 'f16', bias: 'f32' },
  { lead: [129], n: 7, k: 1000, w: 'f32' },
  { lead: [1], n: 1001, k: 132, w: 'f32', bias: 'bf16' },
  { lead: [7], n: 129, k: 64, w: 'bf16', chunkBytes: 1280 },
  { lead: [1], n: 129, k: 64, w: 'f16', bias: 'f16', chunkBytes: 1280 },
  { lead: [9], n: 37, k: 64, w: 'f32', chunkBytes: 1280 },
];

function name(c: MatmulCase): string {
  const m = c.lead.reduce((a, b) => a * b, 1);
  return `matmul x[${c.lead.join('×')}×${c.k}] w[${c.n}×${c.k}] ${c.w}${c.bias ? ` bias ${c.bias}` : ''}${c.path ? ` ${c.path}` : m === 1 ? ' gemv' : ''}${c.chunkBytes ? ` chunked ≤${c.chunkBytes} B` : ''}`;
}

export const cases: OpCase[] = list.map((c) => ({
  op: 'matmul',
  name: name(c),
  // f32 accumulation of K products of O(1) terms: error ~ K·2⁻²⁴ in the worst case, ~√K·2⁻²⁴ typically
  tol: { atol: 2e-6 * Math.sqrt(c.k) * 4, rtol: 1e-5 },
  async run(gpu, rng) {
    const m = c.lead.reduce((a, b) => a * b, 1);
    const xv = rng.normals(m * c.k).map(Math.fround);
    const wv = rng.normals(c.n * c.k, 1 / Math.sqrt(c.k)).map((v) => roundTo(c.w, v));
    const bv = c.bias ? rng.normals(c.n, 0.5).map((v) => roundTo(c.bias!, v)) : undefined;
    const x = Tensor.from(gpu, 'f32', [...c.lead, c.k], xv, 'x');
    // only the weight is chunked: x, bias and y are allocated under the device's real limit
    const w = c.chunkBytes ? await withBindingLimit(gpu, c.chunkBytes, async () => Tensor.from(gpu, c.w, [c.n, c.k], wv, 'w')) : Tensor.from(gpu, c.w, [c.n, c.k], wv, 'w');
    if (c.chunkBytes && w.chunks.length < 2) throw new Error(`case meant to be chunked has ${w.chunks.length} chunk`);
    const bias = bv ? Tensor.from(gpu, c.bias!, [c.n], bv, 'bias') : undefined;
    const stage = new Stage(gpu, 'test matmul');
    const y = await matmul(stage, x, w, { bias, path: c.path });
    await stage.submit();
    const got = await y.read();
    [x, w, y, bias].forEach((t) => t?.dispose());
    const want = matmulRef(hostTensor([...c.lead, c.k], xv), hostTensor([c.n, c.k], wv), { bias: bv && hostTensor([c.n], bv) });
    return { got, want: want.data };
  },
}));
