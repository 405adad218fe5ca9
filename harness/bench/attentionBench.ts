// attention at the study's shapes, 28 query / 4 KV heads, head_dim 128 (Qwen2-7B): 729 and 7290 image tokens
// (bidirectional), 1024 causal text tokens, and one decode step over caches of the same lengths; kvscope's variants
// (flash, tiled) side by side, onnxruntime-web's MultiHeadAttention / GroupQueryAttention as the peer, all timed by
// the one method of ./timing.ts. Each row also carries its rate over the f32 1024³ matmul rate measured right
// interleaved with it (matmul_share), so "attention vs matmul" is read from one run under the same load: per
// repetition the matmul and then each variant run once, round robin, and each reports its median.
// Big shapes cost one timed run: every kernel is compiled and warmed on a small shape first, and a shape stops
// repeating once it has used its time budget.
import type { Gpu } from '../../src/gpu/device.ts';
import { Tensor } from '../../src/gpu/tensor.ts';
import type { AttentionVariant } from '../../src/gpu/tuning.ts';
import { attention, attentionVariant } from '../../src/ops/attention.ts';
import { matmul } from '../../src/ops/matmul.ts';
import { benchRow, type BenchRow } from './benchRow.ts';
import { ortAttentionMs } from './ortPeer.ts';
import { median, timeStage } from './timing.ts';

export interface AttentionShape { tokens: number; kv: number; causal: boolean; quick: boolean; name: string }

export const ATTENTION_SHAPES: AttentionShape[] = [
  { name: 'prefill 729 image tokens', tokens: 729, kv: 729, causal: false, quick: true },
  { name: 'prefill 1024 causal', tokens: 1024, kv: 1024, causal: true, quick: true },
  { name: 'prefill 7290 image tokens', tokens: 7290, kv: 7290, causal: false, quick: false },
  { name: 'decode over 729', tokens: 1, kv: 729, causal: true, quick: true },
  { name: 'decode over 1024', tokens: 1, kv: 1024, causal: true, quick: false },
  { name: 'decode over 7290', tokens: 1, kv: 7290, causal: true, quick: true },
];

const HEADS = 28, KV_HEADS = 4, D = 128;

function fill(gpu: Gpu, t: Tensor<'f32'>): void {
  gpu.device.queue.writeBuffer(t.buffer(), 0, new Float32Array(t.numel).map((_, i) => ((i * 7919) % 17) / 17 - 0.5));
}


/** Compile and warm each variant's kernels on a small problem, so that a big shape needs no warmup run. */
async function warmKernels(gpu: Gpu, variants: readonly AttentionVariant[]): Promise<void> {
  for (const [tokens, kv] of [[64, 64], [1, 512]]) {
    const q = Tensor.empty(gpu, 'f32', [tokens, HEADS, D], 'warm q'), k = Tensor.empty(gpu, 'f32', [KV_HEADS, kv, D], 'warm k');
    fill(gpu, q);
    fill(gpu, k);
    for (const v of tokens > 1 ? variants : ['flash' as const]) {
      await timeStage(gpu, 1, (stage) => { attention(stage, q, k, k, { kvLength: kv, qStart: kv - tokens, causal: true, variant: v }); }, 0);
    }
    [q, k].forEach((t) => t.dispose());
  }
}

export async function benchAttention(gpu: Gpu, opts: { quick?: boolean; reps?: number; peers?: boolean; log?: (s: string) => void; budgetMs?: number } = {}): Promise<BenchRow[]> {
  const heads = HEADS, kvHeads = KV_HEADS, d = D;
  const reps = opts.reps ?? 5;
  const budget = opts.budgetMs ?? (opts.quick ? 10_000 : 30_000);
  const rows: BenchRow[] = [];
  const device = gpu.describe();
  const variants: AttentionVariant[] = ['flash', 'tiled'];
  await warmKernels(gpu, variants);
  // the same-run reference: the f32 1024³ kvscope matmul, timed between the attention runs
  const x = Tensor.empty(gpu, 'f32', [1024, 1024], 'bench ref x'), w = Tensor.empty(gpu, 'f32', [1024, 1024], 'bench ref w');
  const y = Tensor.empty(gpu, 'f32', [1024, 1024], 'bench ref y');
  fill(gpu, x);
  fill(gpu, w);
  const refRun = () => timeStage(gpu, 1, (stage) => { matmul(stage, x, w, { out: y }); }, 0);
  await refRun();
  // the peer's rate at an earlier prefill row: a later row it would spend far over the budget on is not run
  let peerGflops: number | null = null;
  for (const s of ATTENTION_SHAPES) {
    if (opts.quick && !s.quick) continue;
    const q = Tensor.empty(gpu, 'f32', [s.tokens, heads, d], 'bench q');
    const k = Tensor.empty(gpu, 'f32', [kvHeads, s.kv, d], 'bench k');
    const v = Tensor.empty(gpu, 'f32', [kvHeads, s.kv, d], 'bench v');
    const out = Tensor.empty(gpu, 'f32', [s.tokens, heads * d], 'bench out');
    for (const t of [q, k, v]) fill(gpu, t);
    const qStart = s.kv - s.tokens;
    // QKᵀ and PV: 2·2·d flops per (query, key, head); causal prefill sees about half the keys
    const pairs = s.causal && s.tokens > 1 ? (s.tokens * (s.tokens + 1)) / 2 : s.tokens * s.kv;
    const flops = 4 * d * heads * pairs;
    const bytes = 4 * (q.numel + out.numel + 2 * kvHeads * s.kv * d);
    const shape = { tokens: s.tokens, kv_tokens: s.kv, heads, kv_heads: kvHeads, head_dim: d, causal: s.causal ? 1 : 0 };
    // a shape over ~5·10¹⁰ flops is one timed run after the small-shape warmup (its kernels are compiled)
    const big = flops > 5e10;
    // prefill: both variants (the tuned default is marked in the log); decode: flash-decoding, the only one that applies
    const mine: AttentionVariant[] = s.tokens > 1 ? variants : ['flash'];
    opts.log?.(`attention ${s.name}: this adapter's default variant is ${attentionVariant(gpu, 'f32', s.tokens, heads, s.kv)}`);
    const runs = (variant: AttentionVariant) => timeStage(gpu, 1, (stage) => {
      attention(stage, q, k, v, { kvLength: s.kv, qStart, causal: s.causal, out, variant });
    }, 0);
    if (!big) for (const variant of mine) await runs(variant); // warm this shape's buffers
    const times = new Map<string, number[]>([['matmul', []], ...mine.map((m): [string, number[]] => [m, []])]);
    let spent = 0;
    for (let r = 0; r < (big ? 1 : reps) && (r === 0 || spent * (r + 1) / r <= budget * (mine.length + 1)); r++) {
      const t0 = performance.now();
      times.get('matmul')!.push(await refRun());
      for (const variant of mine) {
        times.get(variant)!.push(await runs(variant));
        // one run of a big shape lasts minutes, over which the load changes: the reference is sampled around each
        if (big) times.get('matmul')!.push(await refRun());
      }
      spent += performance.now() - t0;
    }
    const refMs = median(times.get('matmul')!);
    const refGflops = (2 * 1024 ** 3) / refMs / 1e6;
    opts.log?.(`f32 1024³ matmul interleaved with ${s.name}: ${refMs.toFixed(1)} ms (${refGflops.toFixed(1)} GFLOP/s)`);
    for (const variant of mine) {
      const ms = median(times.get(variant)!);
      const row = benchRow({ kernel: 'attention', case: s.name, shape, dtype: 'f32', impl: 'kvscope', variant, median_ms: ms, flops, bytes, device });
      rows.push({ ...row, matmul_share: row.gflops / refGflops });
      opts.log?.(`attention ${s.name} ${variant}: ${ms.toFixed(1)} ms over ${times.get(variant)!.length} runs`);
    }
    [q, k, v, out].forEach((t) => t.dispose());
    if (opts.peers === false) continue;
    if (peerGflops !== null && s.tokens > 1 && flops / peerGflops / 1e6 > 10 * budget) {
      opts.log?.(`onnxruntime-web not measured for attention ${s.name}: at the ${peerGflops.toFixed(2)} GFLOP/s it ran an earlier prefill row, one run would take about ${(flops / peerGflops / 1e9).toFixed(0)} s (over 10× the ${(budget / 1000).toFixed(0)} s row budget)`);
      continue;
    }
    const peer = await ortAttentionMs({ tokens: s.tokens, kv: s.kv, heads, kvHeads, d, causal: s.causal }, big ? 1 : reps, budget);
    if ('error' in peer) opts.log?.(`onnxruntime-web not measured for attention ${s.name}: ${peer.error}`);
    else {
      // MultiHeadAttention reads K and V at all 28 heads (no GQA): its bytes say so
      const peerBytes = s.causal ? bytes : 4 * (q.numel + out.numel + 2 * heads * s.kv * d);
      const row = benchRow({ kernel: 'attention', case: s.name, shape, dtype: 'f32', impl: 'onnxruntime-web', variant: s.causal ? 'GroupQueryAttention' : 'MultiHeadAttention', median_ms: peer.ms, flops, bytes: peerBytes, device });
      rows.push({ ...row, matmul_share: row.gflops / refGflops });
      if (s.tokens > 1) peerGflops = row.gflops;
    }
  }
  [x, w, y].forEach((t) => t.dispose());
  return rows;
}
