// Cases for `attention` (shaders/attention.wgsl flash, shaders/attention_f16.wgsl over f16 caches, and
// shaders/attention_tiled.wgsl: every f32 prefill case runs the flash and the tiled variant): GQA groupings, head dims 24/64/72/80/128, causal and bidirectional, a continuing prefill
// (qStart > 0), cu_seqlens segments, blocking specs (one query fully blocked), decode over a long cache with
// flash-decoding splits, and stale cache rows beyond kvLength filled with huge values that must be ignored.
// f16 caches (shaders/attention_f16.wgsl): K and V held as f16, the reference given the same f16 values, so the
// f32 tolerance holds (widening is exact, arithmetic is f32). Where the adapter has no shader-f16 (SwiftShader) an
// f16 case checks instead that attention refuses the cache, naming the adapter and the feature.
// Every f32 prefill case runs both variants (flash and tiled, src/ops/attentionTiled.ts), whatever the adapter's tuned
// choice; tiled also with scores split into several query chunks (chunkBytes), whose boundaries fall inside a query's
// GQA group of pairs and inside a 16-pair tile.
import { Stage } from '../../../src/gpu/stage.ts';
import { Tensor } from '../../../src/gpu/tensor.ts';
import { attention, blockMask, type BlockRule } from '../../../src/ops/attention.ts';
import { attentionTiled } from '../../../src/ops/attentionTiled.ts';
import type { AttentionVariant } from '../../../src/gpu/tuning.ts';
import { attention as attentionRef } from '../../../src/ops/ref/attention.ts';
import { hostTensor } from '../../../src/gpu/hostTensor.ts';
import type { OpCase } from '../opCase.ts';
import { roundTo } from '../../../src/gpu/dtype.ts';

interface AttnCase {
  sQ: number; heads: number; kvHeads: number; d: number; kvLen: number; capacity: number; qStart?: number;
  causal: boolean; segments?: number[]; block?: BlockRule[]; splits?: number; f16?: boolean;
  variant?: AttentionVariant; chunkBytes?: number;
  /** q multiplied by this: scaled scores of tens, where a softmax max off by more than ~80 overflows e^x */
  qScale?: number;
}

const list: AttnCase[] = [
  { sQ: 1, heads: 4, kvHeads: 2, d: 64, kvLen: 1, capacity: 1, causal: true },
  { sQ: 7, heads: 4, kvHeads: 2, d: 64, kvLen: 7, capacity: 9, causal: true },
  { sQ: 129, heads: 3, kvHeads: 3, d: 24, kvLen: 129, capacity: 140, causal: false },
  { sQ: 7, heads: 6, kvHeads: 1, d: 128, kvLen: 300, capacity: 311, qStart: 293, causal: true },
  // 150 (query, head) pairs per KV head: three `main` workgroups whose boundaries split a query's heads
  { sQ: 50, heads: 6, kvHeads: 2, d: 128, kvLen: 300, capacity: 320, qStart: 250, causal: true },
  { sQ: 129, heads: 2, kvHeads: 2, d: 80, kvLen: 129, capacity: 129, causal: false, segments: [0, 16, 17, 80, 129] },
  { sQ: 33, heads: 4, kvHeads: 1, d: 72, kvLen: 33, capacity: 40, causal: true,
    block: [{ queries: [10, 33], keys: [[2, 6]] }, { queries: [5, 6], keys: [[0, 33]] }] },
  { sQ: 20, heads: 2, kvHeads: 1, d: 64, kvLen: 20, capacity: 20, causal: false, block: [{ queries: [0, 20], keys: [[3, 4], [7, 12]] }] },
  { sQ: 1, heads: 6, kvHeads: 2, d: 128, kvLen: 1000, capacity: 1024, qStart: 999, causal: true },
  { sQ: 1, heads: 4, kvHeads: 4, d: 80, kvLen: 300, capacity: 300, qStart: 299, causal: true, splits: 7 },
  { sQ: 3, heads: 2, kvHeads: 1, d: 64, kvLen: 130, capacity: 130, qStart: 127, causal: true, splits: 5,
    block: [{ queries: [1, 2], keys: [[0, 130]] }] },
  // f16 caches: prefill (main), GQA with a workgroup boundary inside a query's heads, d = 24 and 72, decode splits
  { sQ: 7, heads: 4, kvHeads: 2, d: 64, kvLen: 7, capacity: 9, causal: true, f16: true },
  { sQ: 50, heads: 6, kvHeads: 2, d: 72, kvLen: 300, capacity: 320, qStart: 250, causal: true, f16: true },
  { sQ: 129, heads: 3, kvHeads: 3, d: 24, kvLen: 129, capacity: 140, causal: false, f16: true, block: [{ queries: [10, 33], keys: [[2, 6]] }] },
  { sQ: 1, heads: 6, kvHeads: 2, d: 128, kvLen: 1000, capacity: 1024, qStart: 999, causal: true, f16: true },
  { sQ: 3, heads: 2, kvHeads: 1, d: 80, kvLen: 130, capacity: 131, qStart: 127, causal: true, splits: 5, f16: true },
  // tiled only: 28/4 heads at d 128 (the 7B's grouping), a ragged causal prefill with blocking spec and segments,
  // chunked scores (the chunk boundary inside a GQA group and a 16-pair tile), a chunked continuing prefill
  { sQ: 37, heads: 28, kvHeads: 4, d: 128, kvLen: 37, capacity: 41, causal: true, variant: 'tiled' },
  { sQ: 45, heads: 6, kvHeads: 2, d: 40, kvLen: 45, capacity: 50, causal: true, segments: [0, 9, 30, 45], variant: 'tiled',
    block: [{ queries: [3, 40], keys: [[1, 2], [17, 22]] }, { queries: [20, 21], keys: [[0, 45]] }] },
  { sQ: 61, heads: 4, kvHeads: 1, d: 20, kvLen: 61, capacity: 64, causal: false, variant: 'tiled', chunkBytes: 4 * 4 * 64 * 9 },
  // large scores (q × 25): the per-tile maxima the tiled softmax starts from must be the row's true max
  { sQ: 70, heads: 4, kvHeads: 2, d: 64, kvLen: 70, capacity: 72, causal: true, qScale: 25 },
  { sQ: 40, heads: 2, kvHeads: 1, d: 32, kvLen: 90, capacity: 90, qStart: 50, causal: false, qScale: 25, segments: [0, 37, 90] },
  { sQ: 50, heads: 6, kvHeads: 2, d: 128, kvLen: 300, capacity: 320, qStart: 250, causal: true, variant: 'tiled', chunkBytes: 4 * 6 * 300 * 7,
    block: [{ queries: [0, 50], keys: [[100, 180]] }] },
];

// the f32 prefill cases the tiled variant applies to (≥ 16 queries and keys, no splits) run with both variants
const tiledCopies = list.filter((c) => !c.variant && !c.f16 && !c.splits && c.sQ >= 16 && c.kvLen >= 16).map((c): AttnCase => ({ ...c, variant: 'tiled' }));
for (const c of list) if (!c.variant) c.variant = 'flash';
list.push(...tiledCopies);

function name(c: AttnCase): string {
  return `attention S_q=${c.sQ} heads=${c.heads}/${c.kvHeads} d=${c.d} kv=${c.kvLen}/${c.capacity}` +
    `${c.qStart ? ` qStart=${c.qStart}` : ''} ${c.causal ? 'causal' : 'bidirectional'}${c.segments ? ` segments ${c.segments.join(',')}` : ''}` +
    `${c.block ? ` ${c.block.length} block rules` : ''}${c.splits ? ` splits=${c.splits}` : ''}${c.f16 ? ' f16 cache' : ''}` +
    ` ${c.variant}${c.chunkBytes ? ` chunks ≤${c.chunkBytes} B` : ''}${c.qScale ? ` q×${c.qScale}` : ''}`;
}

export const cases: OpCase[] = list.map((c) => ({
  op: 'attention',
  name: name(c),
  // f32 scores of d products and an online softmax: errors of a few ulp per step, relative 1e-5 is ample
  tol: { atol: 2e-5, rtol: 1e-4 },
  async run(gpu, rng) {
    const dt = c.f16 ? 'f16' : 'f32';
    const qv = rng.normals(c.sQ * c.heads * c.d).map((x) => Math.fround(x * (c.qScale ?? 1)));
    const kv = rng.normals(c.kvHeads * c.capacity * c.d).map((x) => roundTo(dt, x));
    const vv = rng.normals(c.kvHeads * c.capacity * c.d).map((x) => roundTo(dt, x));
    // stale rows beyond kvLength: huge values that would dominate if read (6e4: near the top of f16's range)
    for (let h = 0; h < c.kvHeads; h++) {
      for (let j = c.kvLen; j < c.capacity; j++) {
        for (let t = 0; t < c.d; t++) { kv[(h * c.capacity + j) * c.d + t] = 1e4; vv[(h * c.capacity + j) * c.d + t] = c.f16 ? 6e4 : 1e6; }
      }
    }
    const k = Tensor.from(gpu, dt, [c.kvHeads, c.capacity, c.d], kv, 'k cache');
    const v = Tensor.from(gpu, dt, [c.kvHeads, c.capacity, c.d], vv, 'v cache');
    if (c.f16 && !gpu.features.shaderF16) {
      // no f16 here: the op must refuse the cache by name, not run a wrong kernel
      const q1 = Tensor.from(gpu, 'f32', [c.sQ, c.heads, c.d], qv, 'q');
      let msg = '';
      try {
        attention(new Stage(gpu, 'test attention f16 refusal'), q1, k, v, { kvLength: c.kvLen, qStart: c.qStart, causal: c.causal, variant: c.variant });
      } catch (e) {
        msg = (e as Error).message;
      }
      [q1, k, v].forEach((t) => t.dispose());
      const refused = msg.includes('shader-f16') && msg.includes(gpu.describe()) ? 1 : 0;
      if (!refused) throw new Error(`attention on an f16 cache without shader-f16: expected a refusal naming the adapter and shader-f16, got ${msg ? `'${msg}'` : 'no error'}`);
      return { got: [refused], want: [1] };
    }
    const q = Tensor.from(gpu, 'f32', [c.sQ, c.heads, c.d], qv, 'q');
    const segments = c.segments ? Tensor.from(gpu, 'u32', [c.segments.length], c.segments, 'cu_seqlens') : undefined;
    const stage = new Stage(gpu, 'test attention');
    const block = c.block ? blockMask(stage, c.block, c.sQ, c.kvLen) : undefined;
    const opts = { kvLength: c.kvLen, qStart: c.qStart, causal: c.causal, segments, block };
    const out = c.chunkBytes
      ? attentionTiled(stage, q, k as Tensor<'f32'>, v as Tensor<'f32'>, { ...opts, chunkBytes: c.chunkBytes })
      : attention(stage, q, k, v, { ...opts, splits: c.splits, variant: c.variant });
    await stage.submit();
    const got = await out.read();
    [q, k, v, out, segments, block?.qBits, block?.kBits].forEach((t) => t?.dispose());
    const want = attentionRef(hostTensor([c.sQ, c.heads, c.d], qv), hostTensor([c.kvHeads, c.capacity, c.d], kv), hostTensor([c.kvHeads, c.capacity, c.d], vv),
      { kvLength: c.kvLen, qStart: c.qStart, causal: c.causal, segments: c.segments, block: c.block });
    return { got, want: want.data };
  },
}));
