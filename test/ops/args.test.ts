// Bad arguments to every op throw an OpArgumentError naming the tensor, before anything is dispatched.
import { acquireGpu } from '../../src/gpu/device.ts';
import { OpArgumentError } from '../../src/gpu/errors.ts';
import { Stage } from '../../src/gpu/stage.ts';
import { Tensor } from '../../src/gpu/tensor.ts';
import { activation, gatedActivation, gatedActivationFused } from '../../src/ops/activation.ts';
import { attention, blockMaskBits } from '../../src/ops/attention.ts';
import { embedding } from '../../src/ops/embedding.ts';
import { kvWrite } from '../../src/ops/kvWrite.ts';
import { matmul } from '../../src/ops/matmul.ts';
import { layerNorm, rmsNorm } from '../../src/ops/norm.ts';
import { mrope, rope, visionRope2d } from '../../src/ops/rope.ts';
import { argmax, softmax } from '../../src/ops/rowReduce.ts';
import { concatRows, copyInto, gatherRows, scatterRows, sliceCols, sliceRows } from '../../src/ops/rows.ts';
import { assert, assertEquals, assertThrows } from '../gpu/assert.ts';

const gpu = await acquireGpu();
const f32 = (shape: number[], label = 't') => Tensor.empty(gpu, 'f32', shape, label);
const u32 = (shape: number[], label = 'ids') => Tensor.empty(gpu, 'u32', shape, label);
const f16 = (shape: number[], label = 'h') => Tensor.empty(gpu, 'f16', shape, label);

async function rejects(what: string, fn: (s: Stage) => unknown, pattern: RegExp): Promise<void> {
  const stage = new Stage(gpu, what);
  try {
    await fn(stage);
  } catch (e) {
    assert(e instanceof OpArgumentError, `${what}: expected OpArgumentError, got ${(e as Error).name}: ${(e as Error).message}`);
    assert(pattern.test((e as Error).message), `${what}: message '${(e as Error).message}' does not match ${pattern}`);
    assert(stage.size === 0, `${what}: ${stage.size} commands were recorded before the error`);
    await stage.submit();
    return;
  }
  throw new Error(`${what}: no error (expected ${pattern})`);
}

const opts = { sanitizeResources: false, sanitizeOps: false };

Deno.test({ name: 'matmul: K mismatch, bias length, weight dtype', ...opts, async fn() {
  await rejects('K', (s) => matmul(s, f32([3, 5], 'x'), f32([4, 6], 'w')), /x \(x\) \[3, 5\] must end in K = 6 .*w \(w\) \[4, 6\]/);
  await rejects('bias', (s) => matmul(s, f32([3, 6]), f32([4, 6]), { bias: f32([5], 'b') }), /bias \(b\) has 5 values, w has N = 4/);
  await rejects('dtype', (s) => matmul(s, f32([3, 6]), u32([4, 6], 'w')), /w \(w\) must be f32 or f16 or bf16, found u32/);
  await rejects('gemv rows', (s) => matmul(s, f32([3, 8]), f32([4, 8]), { path: 'gemv' }), /gemv path takes one row, x has 3/);
} });

Deno.test({ name: 'attention: shapes, head_dim, GQA, kvLength, block sizes', ...opts, async fn() {
  const q = f32([5, 4, 64], 'q'), k = f32([2, 10, 64], 'k'), v = f32([2, 10, 64], 'v');
  await rejects('kvLength', (s) => attention(s, q, k, v, { kvLength: 11, causal: true }), /kvLength 11 outside the cache capacity 10/);
  await rejects('v shape', (s) => attention(s, q, k, f32([2, 9, 64], 'v'), { kvLength: 5, causal: true }), /v \(v\) \[2, 9, 64\] must match k/);
  await rejects('GQA', (s) => attention(s, f32([5, 3, 64]), k, v, { kvLength: 5, causal: true }), /n_heads 3 is not a multiple of n_kv_heads 2/);
  await rejects('head_dim', (s) => attention(s, f32([5, 2, 6]), f32([2, 10, 6]), f32([2, 10, 6]), { kvLength: 5, causal: true }), /head_dim must be a multiple of 4/);
  await rejects('block', (s) => attention(s, q, k, v, { kvLength: 5, causal: true, block: { qBits: u32([4]), kBits: u32([5]) } }), /block qBits has 4 entries for 5 queries/);
  assertThrows(() => blockMaskBits([{ queries: [0, 9], keys: [] }], 5, 5), /queries \[0, 9\) outside 0..5/);
  await rejects('k/v dtypes', (s) => attention(s, q, f16([2, 10, 64], 'k16'), v, { kvLength: 5, causal: true }), /k \(k16\) is f16 but v \(v\) is f32/);
  await rejects('q f16', (s) => attention(s, f16([5, 4, 64], 'q16') as unknown as Tensor<'f32'>, k, v, { kvLength: 5, causal: true }), /q \(q16\) must be f32, found f16/);
} });

Deno.test({ name: 'f16 cache writers: head_dim the packed words need', ...opts, async fn() {
  await rejects('kvWrite f16 odd d', (s) => kvWrite(s, f32([3, 2, 7]), f16([2, 10, 7], 'c16'), 0), /f16 cache needs an even head_dim .*c16 has 7/);
  await rejects('rope f16 d', (s) => rope(s, f32([3, 2, 6]), u32([3]), { theta: 1e4, into: { cache: f16([2, 10, 6], 'c16'), start: 0 } }), /head_dim must be a multiple of 4, c16 has 6/);
  await rejects('kvWrite u32 cache', (s) => kvWrite(s, f32([3, 2, 8]), u32([2, 10, 8], 'cu') as unknown as Tensor<'f32'>, 0), /cache \(cu\) must be f32 or f16, found u32/);
} });

Deno.test({ name: 'norms, rope, activations: mismatched widths and dtypes', ...opts, async fn() {
  await rejects('rms weight', (s) => rmsNorm(s, f32([3, 8], 'x'), f32([7], 'w'), 1e-6), /weight \(w\) has 7 values, x \(x\) rows have 8/);
  await rejects('ln bias', (s) => layerNorm(s, f32([3, 8]), f32([8]), f32([9], 'b'), 1e-5), /bias \(b\) has 9 values/);
  await rejects('rope odd', (s) => rope(s, f32([3, 2, 7], 'x'), u32([3]), { theta: 1e4 }), /head_dim must be even .* has 7/);
  await rejects('rope positions', (s) => rope(s, f32([3, 2, 8]), u32([4], 'pos'), { theta: 1e4 }), /positions \(pos\) has 4 entries for 3 rows/);
  await rejects('rope into cache heads', (s) => rope(s, f32([3, 2, 8]), u32([3]), { theta: 1e4, into: { cache: f32([3, 10, 8], 'cache'), start: 0 } }), /cache \(cache\) \[3, 10, 8\] does not hold 2 heads × 8/);
  await rejects('rope into cache range', (s) => rope(s, f32([3, 2, 8]), u32([3]), { theta: 1e4, into: { cache: f32([2, 10, 8], 'cache'), start: 8 } }), /positions 8\.\.10 are outside cache cache of capacity 10/);
  await rejects('rope out and cache', (s) => rope(s, f32([3, 2, 8]), u32([3]), { theta: 1e4, out: f32([3, 2, 8]), into: { cache: f32([2, 10, 8]), start: 0 } }), /either out or a cache/);
  await rejects('mrope section', (s) => mrope(s, f32([3, 2, 8]), u32([3, 3]), { theta: 1e6, mropeSection: [1, 1, 1] }), /mrope_section \[1, 1, 1\] sums to 3, head_dim\/2 is 4/);
  await rejects('rope2d positions', (s) => visionRope2d(s, f32([3, 2, 8]), u32([2, 3], 'pos')), /positions \(pos\) must have shape \[3, 2\]/);
  await rejects('gated shapes', (s) => gatedActivation(s, 'silu', f32([3, 8], 'g'), f32([3, 7], 'u')), /up \(u\) must have shape \[3, 8\]/);
  await rejects('fused odd', (s) => gatedActivationFused(s, 'silu', f32([3, 7], 'gu')), /last dim 7 is odd/);
  await rejects('act dtype', (s) => activation(s, 'gelu', u32([3]) as unknown as Tensor<'f32'>), /x \(ids\) must be f32, found u32/);
} });

Deno.test({ name: 'embedding, kvWrite, softmax/argmax, row ops: bad ranges and shapes', ...opts, async fn() {
  await rejects('ids dtype', (s) => embedding(s, f32([3], 'ids') as unknown as Tensor<'u32'>, f32([10, 4])), /ids \(ids\) must be u32, found f32/);
  await rejects('embedding out', (s) => embedding(s, u32([3]), f32([10, 4]), f32([3, 5], 'o')), /out \(o\) must have shape \[3, 4\]/);
  await rejects('kvWrite range', (s) => kvWrite(s, f32([3, 2, 8]), f32([2, 10, 8], 'cache'), 8), /positions 8..10 are outside cache cache of capacity 10/);
  await rejects('kvWrite shape', (s) => kvWrite(s, f32([3, 2, 7], 'k'), f32([2, 10, 8], 'cache'), 0), /does not hold 3 rows of 2 heads × 8/);
  await rejects('softmax out', (s) => softmax(s, f32([3, 8]), f32([3, 9], 'o')), /out \(o\) must have shape \[3, 8\]/);
  await rejects('argmax dtype', (s) => argmax(s, u32([3, 8], 'x') as unknown as Tensor<'f32'>), /x \(x\) must be f32, found u32/);
  await rejects('sliceRows', (s) => sliceRows(s, f32([5, 3], 'x'), 4, 2), /rows \[4, 6\) outside x with 5 rows/);
  await rejects('sliceCols', (s) => sliceCols(s, f32([5, 3], 'x'), 2, 2), /columns \[2, 4\) outside x with 3 columns/);
  await rejects('concat widths', (s) => concatRows(s, [f32([2, 3], 'a'), f32([2, 4], 'b')]), /b is f32 with rows of 4; expected f32 rows of 3/);
  await rejects('copyInto range', (s) => copyInto(s, f32([3, 4], 'src'), f32([5, 4], 'dst'), 3), /rows \[3, 6\) outside dst with 5 rows/);
  await rejects('scatter count', (s) => scatterRows(s, f32([3, 4], 'src'), u32([2]), f32([5, 4])), /index has 2 entries for 3 source rows/);
  await rejects('sliceRows into', (s) => sliceRows(s, f32([5, 3], 'x'), 1, 2, f32([3, 3], 'o')), /out \(o\) must be f32 \[2, 3\], found f32 \[3, 3\]/);
  await rejects('sliceCols into', (s) => sliceCols(s, f32([5, 3], 'x'), 1, 2, f32([5, 3], 'o')), /out \(o\) must be f32 \[5, 2\]/);
  await rejects('gatherRows into', (s) => gatherRows(s, f32([5, 3], 'x'), u32([4]), u32([4, 3], 'o') as unknown as Tensor<'f32'>), /out \(o\) must be f32 \[4, 3\], found u32/);
} });

Deno.test({ name: 'row ops write into a given output (a run-state view) exactly as into a new tensor', ...opts, async fn() {
  const x = Tensor.from(gpu, 'f32', [7, 5], Array.from({ length: 35 }, (_, i) => i * 0.5 - 3), 'x');
  const idx = Tensor.from(gpu, 'u32', [4], [6, 0, 9, 3], 'idx');
  const big = Tensor.empty(gpu, 'f32', [9, 5], 'arena');
  const bigCols = Tensor.empty(gpu, 'f32', [9, 2], 'arena cols');
  const got = await Stage.run(gpu, 'into', (s) => ({
    rows: [sliceRows(s, x, 2, 3), sliceRows(s, x, 2, 3, big.leadingRows(3))],
  }));
  const r0 = [...(await got.rows[0].read())], r1 = [...(await got.rows[1].read())];
  assertEquals(r1, r0, 'sliceRows into a view');
  const cols = await Stage.run(gpu, 'into cols', (s) => [sliceCols(s, x, 3, 2), sliceCols(s, x, 3, 2, bigCols.leadingRows(7))]);
  assertEquals([...(await cols[1].read())], [...(await cols[0].read())], 'sliceCols into a view');
  const gath = await Stage.run(gpu, 'into gather', (s) => [gatherRows(s, x, idx), gatherRows(s, x, idx, big.leadingRows(4))]);
  const g0 = [...(await gath[0].read())];
  assertEquals([...(await gath[1].read())], g0, 'gatherRows into a view (out-of-range index 9 gives a zero row)');
  assertEquals(g0.slice(10, 15), [0, 0, 0, 0, 0], 'zero row');
  for (const t of [x, idx, big, bigCols, got.rows[0], cols[0], gath[0]]) t.dispose();
} });
