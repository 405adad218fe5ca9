// Cases for `matmul`: awkward M, N, K, every weight dtype, bias dtypes, batched leading dims, both paths,
// row-chunked weights (odd K in bf16 puts chunk rows mid-u32).
import type { DType } from '../../../src/gpu/dtype.ts';
import { roundTo } from '../../../src/gpu/dtype.ts';
import { Stage } from '../../../src/gpu/stage.ts';
import { Tensor } from '../../../src/gpu/tensor.ts';
import { type GemvVariant, MATMUL_TILE_VARIANTS, type MatmulTileVariant } from '../../../src/gpu/tuning.ts';
import { matmul, subgroupGemv } from '../../../src/ops/matmul.ts';
import { hostTensor } from '../../../src/gpu/hostTensor.ts';
import { matmul as matmulRef } from '../../../src/ops/ref/matmul.ts';
import { type OpCase, withBindingLimit } from '../opCase.ts';

interface MatmulCase {
  lead: number[]; n: number; k: number; w: DType; bias?: DType; path?: 'tiled' | 'gemv';
  x?: 'f16'; // the f16 activation path (shaders/matmul_xh.wgsl); default f32
  variant?: MatmulTileVariant | GemvVariant; // default: the adapter's choice
  chunkBytes?: number; // binding limit for w
  chunkAllBytes?: number; // binding limit for x, w and y (their chunks break at different rows)
}

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
  // K % 4 == 0: the vec4 paths (tile_f32, tile_16, gemv_f32, gemv_16); the cases above with K % 4 != 0 take *_any
  { lead: [7], n: 129, k: 1000, w: 'bf16', bias: 'bf16' },
  { lead: [33], n: 65, k: 132, w: 'f16', bias: 'f32' },
  { lead: [129], n: 7, k: 1000, w: 'f32' },
  { lead: [1], n: 1001, k: 132, w: 'f32', bias: 'bf16' },
  { lead: [7], n: 129, k: 64, w: 'bf16', chunkBytes: 1280 },
  { lead: [1], n: 129, k: 64, w: 'f16', bias: 'f16', chunkBytes: 1280 },
  { lead: [9], n: 37, k: 64, w: 'f32', chunkBytes: 1280 },
  // 16×16 tiles straddling chunk edges (40-row chunks) and both grid dimensions
  { lead: [3, 13], n: 257, k: 36, w: 'f16', bias: 'bf16', chunkBytes: 2880 },
  { lead: [40], n: 300, k: 36, w: 'f32', chunkBytes: 5760 },
  // x, w and y all row-chunked (long prefills): x rows of 144 B, y rows of 80 B, w rows of 72 B under 1000 B
  { lead: [37], n: 20, k: 36, w: 'bf16', bias: 'f32', chunkAllBytes: 1000 },
  { lead: [3, 11], n: 50, k: 33, w: 'f16', chunkAllBytes: 800 },
  { lead: [70], n: 24, k: 64, w: 'f32', chunkAllBytes: 4096 },
  // every variant the tuning run may choose, forced, on awkward shapes and every weight dtype
  ...MATMUL_TILE_VARIANTS.flatMap((variant): MatmulCase[] => [
    { lead: [65], n: 67, k: 33, w: 'f32', bias: 'f32', variant },
    { lead: [3, 43], n: 130, k: 40, w: 'bf16', bias: 'bf16', variant },
    { lead: [2], n: 70, k: 1000, w: 'f16', variant },
    { lead: [129], n: 65, k: 17, w: 'f16', bias: 'f16', variant, chunkBytes: 340 },
    { lead: [37], n: 20, k: 36, w: 'bf16', bias: 'f32', variant, chunkAllBytes: 1000 },
  ]),
  // reg32's 32×32 tiles (16-bit weights, K % 4 == 0) across tile and 256-column workgroup edges, M = 1; f32
  // weights fall back to the 16×16 tile (dtype/bias pairs the cases above already compiled: each new pair is a
  // ~20 s llvmpipe compile of tile32_16)
  { lead: [70], n: 300, k: 132, w: 'f32', bias: 'f32', variant: 'reg32' },
  { lead: [1], n: 129, k: 1000, w: 'bf16', bias: 'bf16', path: 'tiled', variant: 'reg32' },
  { lead: [33], n: 65, k: 64, w: 'f16', variant: 'reg32' },
  { lead: [2, 20], n: 257, k: 36, w: 'bf16', bias: 'bf16', variant: 'reg32', chunkBytes: 2880 },
  { lead: [37], n: 20, k: 36, w: 'f32', variant: 'reg32', chunkAllBytes: 1000 },
  ...(['rows', 'split'] as const).flatMap((variant): MatmulCase[] => [
    { lead: [1], n: 129, k: 1000, w: 'f32', bias: 'f32', path: 'gemv', variant },
    { lead: [1], n: 7, k: 4100, w: 'bf16', path: 'gemv', variant },
    { lead: [1], n: 130, k: 64, w: 'f16', bias: 'bf16', path: 'gemv', variant, chunkBytes: 1280 },
    { lead: [1], n: 33, k: 129, w: 'f32', path: 'gemv', variant },  // K % 4 ≠ 0: split falls back to rows
  ]),
  // the subgroup gemv (matmul_subgroups.wgsl), where `subgroups` is offered and its self-test passed; elsewhere
  // (llvmpipe in Deno, SwiftShader) each case checks that forcing it is refused naming the feature and adapter
  ...([
    { lead: [1], n: 129, k: 1000, w: 'f32', bias: 'f32' },
    { lead: [1], n: 7, k: 4100, w: 'bf16' },
    { lead: [1], n: 130, k: 64, w: 'f16', bias: 'bf16', chunkBytes: 1280 },
    { lead: [1], n: 1001, k: 132, w: 'bf16', bias: 'f16' },
    { lead: [1], n: 33, k: 129, w: 'f32' },  // K % 4 ≠ 0: falls back to rows
  ] as MatmulCase[]).map((c): MatmulCase => ({ ...c, path: 'gemv', variant: 'subgroup' })),
  // an f16 x (the f16 activation path): every tile variant on vec4 (K % 4 == 0) and masked (odd K) loads, the gemv
  // variants, x/w/y row-chunked (each new (entry, dtype) pair of tile32_16 is a ~50 s llvmpipe compile: one here)
  ...([
    ...MATMUL_TILE_VARIANTS.flatMap((variant): MatmulCase[] => [
      { lead: [3, 43], n: 130, k: 40, w: 'bf16', bias: 'bf16', variant },
      { lead: [65], n: 67, k: 33, w: 'f32', bias: 'f32', variant },
    ]),
    { lead: [129], n: 7, k: 1000, w: 'f32' },
    ...(['rows', 'split'] as const).flatMap((variant): MatmulCase[] => [
      { lead: [1], n: 129, k: 1000, w: 'f32', bias: 'f32', path: 'gemv', variant },
      { lead: [1], n: 130, k: 64, w: 'f16', bias: 'bf16', path: 'gemv', variant, chunkBytes: 1280 },
      { lead: [1], n: 33, k: 129, w: 'f32', path: 'gemv', variant },
    ]),
    { lead: [37], n: 20, k: 36, w: 'f32', chunkAllBytes: 600 },
    // a forced subgroup gemv takes an f32 x only: refused naming x's dtype
    { lead: [1], n: 129, k: 1000, w: 'f32', path: 'gemv', variant: 'subgroup' },
  ] as MatmulCase[]).map((c): MatmulCase => ({ ...c, x: 'f16' })),
];

function name(c: MatmulCase): string {
  const m = c.lead.reduce((a, b) => a * b, 1);
  return `matmul x[${c.lead.join('×')}×${c.k}]${c.x ? ` ${c.x}` : ''} w[${c.n}×${c.k}] ${c.w}${c.bias ? ` bias ${c.bias}` : ''}${c.path ? ` ${c.path}` : m === 1 ? ' gemv' : ''}${c.chunkBytes ? ` chunked ≤${c.chunkBytes} B` : ''}${c.chunkAllBytes ? ` x/w/y chunked ≤${c.chunkAllBytes} B` : ''}${c.variant ? ` variant ${c.variant}` : ''}`;
}

export const cases: OpCase[] = list.map((c) => ({
  op: 'matmul',
  name: name(c),
  // f32 accumulation of K products of O(1) terms: error ~ K·2⁻²⁴ in the worst case, ~√K·2⁻²⁴ typically
  tol: { atol: 2e-6 * Math.sqrt(c.k) * 4, rtol: 1e-5 },
  async run(gpu, rng) {
    const m = c.lead.reduce((a, b) => a * b, 1);
    const xv = rng.normals(m * c.k).map((v) => roundTo(c.x ?? 'f32', v));
    const wv = rng.normals(c.n * c.k, 1 / Math.sqrt(c.k)).map((v) => roundTo(c.w, v));
    const bv = c.bias ? rng.normals(c.n, 0.5).map((v) => roundTo(c.bias!, v)) : undefined;
    // tensors made (and y allocated by matmul) under a small binding limit are row-chunked
    const under = <T>(bytes: number | undefined, make: () => T | Promise<T>): Promise<T> => bytes ? withBindingLimit(gpu, bytes, async () => await make()) : Promise.resolve(make());
    const x = await under(c.chunkAllBytes, () => Tensor.from(gpu, c.x ?? 'f32', [...c.lead, c.k], xv, 'x'));
    const w = await under(c.chunkAllBytes ?? c.chunkBytes, () => Tensor.from(gpu, c.w, [c.n, c.k], wv, 'w'));
    const bias = bv ? Tensor.from(gpu, c.bias!, [c.n], bv, 'bias') : undefined;
    const stage = new Stage(gpu, 'test matmul');
    // a forced subgroup gemv it cannot run: refused, the message naming what is missing (checked by `names`)
    const refusal = c.variant !== 'subgroup' ? null
      : c.x === 'f16' ? { what: 'with an f16 x', needs: 'naming the dtype', names: (m: string) => m.includes('f32 x') && m.includes('is f16') }
      : !subgroupGemv(gpu) ? { what: 'without subgroups', needs: 'naming the feature and adapter', names: (m: string) => m.includes("'subgroups'") && m.includes(gpu.describe()) }
      : null;
    if (refusal) {
      let msg = '';
      try {
        matmul(stage, x, w, { bias, path: c.path, variant: c.variant });
      } catch (e) {
        msg = (e as Error).message;
      }
      [x, w, bias].forEach((t) => t?.dispose());
      const refused = refusal.names(msg) ? 1 : 0;
      if (!refused) throw new Error(`matmul variant subgroup ${refusal.what}: expected a refusal ${refusal.needs}, got ${msg ? `'${msg}'` : 'no error'}`);
      return { got: [refused], want: [1] };
    }
    const y = await under(c.chunkAllBytes, () => matmul(stage, x, w, { bias, path: c.path, variant: c.variant }));
    if (c.chunkBytes && w.chunks.length < 2) throw new Error(`case meant to be chunked has ${w.chunks.length} chunk`);
    if (c.chunkAllBytes && (x.chunks.length < 3 || w.chunks.length < 2 || y.chunks.length < 2)) {
      throw new Error(`case meant to chunk x, w and y has ${x.chunks.length}, ${w.chunks.length}, ${y.chunks.length} chunks`);
    }
    await stage.submit();
    const got = await y.read();
    [x, w, y, bias].forEach((t) => t?.dispose());
    const want = matmulRef(hostTensor([...c.lead, c.k], xv), hostTensor([c.n, c.k], wv), { bias: bv && hostTensor([c.n], bv) });
    return { got, want: want.data };
  },
}));
