// The per-dispatch profiler: timestamps on every dispatch across stages (aligned resolves, several query sets),
// the device-wide hook Stage picks up, wall time per stage without timestamp-query, and the dispatch cost model.
import { acquireGpu } from '../../src/gpu/device.ts';
import { dispatchCost } from '../../src/gpu/dispatchCost.ts';
import { Profiler } from '../../src/gpu/profiler.ts';
import { Stage } from '../../src/gpu/stage.ts';
import { Tensor } from '../../src/gpu/tensor.ts';
import { add } from '../../src/ops/add.ts';
import { matmul } from '../../src/ops/matmul.ts';
import { assert, assertEquals } from './assert.ts';

const gpu = await acquireGpu();
const opts = { sanitizeResources: false, sanitizeOps: false };

/** Record `n` adds in one stage and submit it. */
async function adds(g: typeof gpu, label: string, n: number, profiler: Profiler | null = null): Promise<void> {
  const a = Tensor.from(g, 'f32', [3, 5], Array.from({ length: 15 }, (_, i) => i), 'a');
  const one = Tensor.from(g, 'f32', [3, 5], Array(15).fill(1), 'one');
  const stage = new Stage(g, label, profiler);
  let x = a;
  for (let i = 0; i < n; i++) x = add(stage, x, one);
  await stage.submit();
  assertEquals([...(await x.read())].slice(0, 3), [n, n + 1, n + 2], `${label}: the adds ran`);
}

Deno.test({ name: 'timestamps: every dispatch of every stage timed through gpu.profiler, across stages and query sets', ignore: !gpu.features.timestampQuery, ...opts, async fn() {
  const prof = Profiler.forGpu(gpu);
  assertEquals(prof.mode, 'timestamp');
  gpu.profiler = prof;
  try {
    // stage sizes that leave unaligned resolve offsets (3, 17, ...) and a total past one 2048-pair query set
    const sizes = [3, 17, 1, 1300, 900];
    for (const [i, n] of sizes.entries()) await adds(gpu, `stage ${i}`, n);
  } finally {
    gpu.profiler = null;
  }
  const e = await prof.read();
  assertEquals(e.length, 3 + 17 + 1 + 1300 + 900, 'one entry per dispatch');
  assertEquals(prof.dropped, 0);
  assertEquals(e.filter((x) => x.stage === 'stage 3').length, 1300);
  for (const x of e) {
    assert(x.endNs >= x.startNs && x.ms >= 0 && x.ms < 10_000, `implausible interval ${x.startNs}..${x.endNs}`);
    assertEquals(x.kernel.split(':')[0], 'add');
    assertEquals(x.boundBytes, 3 * 15 * 4, 'a, b and out: three 60-byte buffers');
  }
  // submissions run in order: each stage starts after the previous one began
  for (let i = 1; i < e.length; i++) assert(e[i].startNs >= e[i - 1].startNs, `dispatch ${i} began before dispatch ${i - 1}`);
  // a second read sees nothing new; a later stage is timed on the same clock
  assertEquals((await prof.read()).length, 0);
  gpu.profiler = prof;
  try { await adds(gpu, 'late', 2); } finally { gpu.profiler = null; }
  const late = await prof.read();
  assertEquals(late.length, 2);
  assert(late[0].startNs >= e[e.length - 1].startNs, 'relative to the first read, not restarted at 0');
  prof.destroy();
} });

Deno.test({ name: 'capacity: dispatches past it are counted as dropped, not timed', ignore: !gpu.features.timestampQuery, ...opts, async fn() {
  const prof = new Profiler(gpu, 5);
  await adds(gpu, 'small', 8, prof);
  assertEquals((await prof.read()).length, 5);
  assertEquals(prof.dropped, 3);
  prof.destroy();
} });

Deno.test({ name: 'without timestamp-query: wall time per stage, dispatches counted', ...opts, async fn() {
  const plain = await acquireGpu({ noOptionalFeatures: true });
  assertEquals(plain.features.timestampQuery, false);
  let threw = '';
  try { new Profiler(plain, 4); } catch (e) { threw = (e as Error).message; }
  assert(/needs 'timestamp-query'/.test(threw), `constructing a timestamp profiler says why it cannot: ${threw}`);
  const prof = Profiler.forGpu(plain);
  assertEquals(prof.mode, 'wall');
  plain.profiler = prof;
  try {
    await adds(plain, 'one', 4);
    await adds(plain, 'two', 2);
  } finally {
    plain.profiler = null;
  }
  assertEquals(await prof.read(), []);
  const st = prof.readStages();
  assertEquals(st.map((s) => [s.stage, s.dispatches]), [['one', 4], ['two', 2]]);
  for (const s of st) assert(s.ms >= 0 && Number.isFinite(s.ms), `stage ${s.stage} time ${s.ms}`);
  assert(st[1].startMs >= st[0].startMs + st[0].ms - 1e-6, 'stages serialised: two starts after one finished');
  plain.destroy();
} });

Deno.test({ name: 'a matmul dispatch: its label carries the shape the cost model reads', ignore: !gpu.features.timestampQuery, ...opts, async fn() {
  const prof = new Profiler(gpu, 16);
  const x = Tensor.from(gpu, 'f32', [5, 12], Array(60).fill(0.5), 'x');
  const w = Tensor.from(gpu, 'f16', [7, 12], Array(84).fill(0.25), 'w');
  const stage = new Stage(gpu, 'mm', prof);
  matmul(stage, x, w);
  await stage.submit();
  const [e] = await prof.read();
  const c = dispatchCost(e.kernel, e.label, e.boundBytes);
  assertEquals([c.family, c.flops, c.bytes, c.bytesFrom], ['matmul', 2 * 5 * 7 * 12, 5 * 12 * 4 + 7 * 12 * 2 + 5 * 7 * 4, 'shapes']);
  prof.destroy();
} });

// cost model case table: (kernel key, label, bound bytes) -> (family, flops, bytes)
const COST_CASES: [string, string, number, string, number, number][] = [
  ['matmul:tile_16{B_DTYPE=0,W_DTYPE=1,WG=8}', 'matmul tiled m=40 n=896 k=896 w=f16 +bias', 0, 'matmul', 2 * 40 * 896 * 896, 40 * 896 * 4 + 896 * 896 * 2 + 40 * 896 * 4 + 896 * 2],
  // a row-chunked weight: only the chunk's rows, and x/y pieces
  ['matmul:tile_f32{}', 'matmul tiled m=9 n=100 k=8 w=f32 w rows 64..99 x/y rows 4..8', 0, 'matmul', 2 * 5 * 36 * 8, 5 * 8 * 4 + 36 * 8 * 4 + 5 * 36 * 4],
  ['matmul:gemv_any{}', 'matmul gemv m=1 n=151936 k=897 w=bf16', 0, 'matmul gemv', 2 * 151936 * 897, 897 * 4 + 151936 * 897 * 2 + 151936 * 4],
  // causal prefill: query i sees i + 1 keys
  ['attention:main{WG=16}', 'attention q[7×14×64] kv[2×7/71] causal', 0, 'attention', 4 * 14 * 64 * 28, 2 * 7 * 14 * 64 * 4 + 2 * 2 * 7 * 64 * 4],
  // decode at cache length 50: one query sees all 50
  ['attention:split{WG=8}', 'attention q[1×14×64] kv[2×50/71] causal split ×2', 0, 'attention split', 4 * 14 * 64 * 50, 2 * 14 * 64 * 4 + 2 * 2 * 50 * 64 * 4],
  ['attention:main{WG=16}', 'attention q[3×2×8] kv[2×3/3] segments', 0, 'attention', 4 * 2 * 8 * 9, 2 * 3 * 2 * 8 * 4 + 2 * 2 * 3 * 8 * 4],
  ['attention:combine{WG=8}', 'attention q[1×14×64] kv[2×50/71] causal combine', 1234, 'attention combine', 0, 1234],
  ['embedding:main{W_DTYPE=2}', 'embedding 3 ids from [1000×16] bf16', 32000, 'embedding', 0, 3 * 4 + 3 * 16 * 6],
  ['norm:rms{W_DTYPE=0}', 'rmsNorm [4×8] w=f32', 288, 'norm', 0, 288],
  ['rows:main{}', 'sliceRows 2×8 a -> b', 100, 'copy rows', 0, 100],
  ['kv_write:main{}', 'kvWrite 3 rows at 0 into k0', 500, 'kv write', 0, 500],
];

Deno.test('dispatch cost: FLOPs and bytes per kernel family from the labels the ops write', () => {
  for (const [kernel, label, bound, family, flops, bytes] of COST_CASES) {
    const c = dispatchCost(kernel, label, bound);
    assertEquals([c.family, c.flops, c.bytes], [family, flops, bytes], label);
  }
  assert(dispatchCost('attention:main{}', 'attention q[3×2×8] kv[2×3/3] segments', 0).flopsUpperBound, 'segments: an upper bound');
  // a label without a shape falls back to the bound bytes
  assertEquals(dispatchCost('matmul:tile_f32{}', 'matmul of something', 77).bytes, 77);
});
