// attention at the study's shapes: 729 and 7290 image tokens (bidirectional, like a vision tower) and 1024 causal
// text tokens, head_dim 128, 28 query / 4 KV heads (Qwen2-7B), plus one decode step over 7290 cached tokens.
import type { Gpu } from '../../src/gpu/device.ts';
import { Tensor } from '../../src/gpu/tensor.ts';
import { attention } from '../../src/ops/attention.ts';
import type { BenchRow } from './benchRow.ts';
import { timeStage } from './timing.ts';

interface Shape { tokens: number; kv: number; causal: boolean; quick: boolean; name: string }

const SHAPES: Shape[] = [
  { name: 'prefill 729 image tokens', tokens: 729, kv: 729, causal: false, quick: true },
  { name: 'prefill 1024 causal', tokens: 1024, kv: 1024, causal: true, quick: true },
  { name: 'prefill 7290 image tokens', tokens: 7290, kv: 7290, causal: false, quick: false },
  { name: 'decode over 7290', tokens: 1, kv: 7290, causal: true, quick: true },
];

export async function benchAttention(gpu: Gpu, opts: { quick?: boolean; reps?: number; log?: (s: string) => void } = {}): Promise<BenchRow[]> {
  const heads = 28, kvHeads = 4, d = 128;
  const reps = opts.reps ?? 5;
  const rows: BenchRow[] = [];
  for (const s of SHAPES) {
    if (opts.quick && !s.quick) continue;
    const q = Tensor.empty(gpu, 'f32', [s.tokens, heads, d], 'bench q');
    const k = Tensor.empty(gpu, 'f32', [kvHeads, s.kv, d], 'bench k');
    const v = Tensor.empty(gpu, 'f32', [kvHeads, s.kv, d], 'bench v');
    const out = Tensor.empty(gpu, 'f32', [s.tokens, heads * d], 'bench out');
    for (const t of [q, k, v]) gpu.device.queue.writeBuffer(t.buffer(), 0, new Float32Array(t.numel).map((_, i) => ((i * 7919) % 17) / 17 - 0.5));
    const qStart = s.kv - s.tokens;
    const ms = await timeStage(gpu, s.tokens * s.kv > 1e7 ? 1 : reps, async (stage) => {
      await attention(stage, q, k, v, { kvLength: s.kv, qStart, causal: s.causal, out });
    });
    // QKᵀ and PV: 2·2·d flops per (query, key, head); causal prefill sees about half the keys
    const pairs = s.causal && s.tokens > 1 ? (s.tokens * (s.tokens + 1)) / 2 : s.tokens * s.kv;
    const flops = 4 * d * heads * pairs;
    const bytes = 4 * (q.numel + out.numel + 2 * kvHeads * s.kv * d);
    rows.push({ kernel: 'attention', shape: { tokens: s.tokens, kv_tokens: s.kv, heads, kv_heads: kvHeads, head_dim: d, causal: s.causal ? 1 : 0 }, dtype: 'f32', impl: 'kvscope', median_ms: ms, gflops: flops / ms / 1e6, gbps: bytes / ms / 1e6, device: gpu.describe() });
    opts.log?.(`attention ${s.name}: ${ms.toFixed(1)} ms`);
    [q, k, v, out].forEach((t) => t.dispose());
  }
  return rows;
}
