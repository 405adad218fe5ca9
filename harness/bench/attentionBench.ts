// attention at the study's shapes, 28 query / 4 KV heads, head_dim 128 (Qwen2-7B): 729 and 7290 image tokens
// (bidirectional), 1024 causal text tokens, one decode step over 7290 cached tokens; onnxruntime-web's
// MultiHeadAttention / GroupQueryAttention as the peer, timed by the one method of ./timing.ts.
import type { Gpu } from '../../src/gpu/device.ts';
import { Tensor } from '../../src/gpu/tensor.ts';
import { attention } from '../../src/ops/attention.ts';
import { benchRow, type BenchRow } from './benchRow.ts';
import { ortAttentionMs } from './ortPeer.ts';
import { timeStage } from './timing.ts';

export interface AttentionShape { tokens: number; kv: number; causal: boolean; quick: boolean; name: string }

export const ATTENTION_SHAPES: AttentionShape[] = [
  { name: 'prefill 729 image tokens', tokens: 729, kv: 729, causal: false, quick: true },
  { name: 'prefill 1024 causal', tokens: 1024, kv: 1024, causal: true, quick: true },
  { name: 'prefill 7290 image tokens', tokens: 7290, kv: 7290, causal: false, quick: false },
  { name: 'decode over 7290', tokens: 1, kv: 7290, causal: true, quick: true },
];

export async function benchAttention(gpu: Gpu, opts: { quick?: boolean; reps?: number; peers?: boolean; log?: (s: string) => void } = {}): Promise<BenchRow[]> {
  const heads = 28, kvHeads = 4, d = 128;
  const reps = opts.reps ?? 5;
  const rows: BenchRow[] = [];
  const device = gpu.describe();
  for (const s of ATTENTION_SHAPES) {
    if (opts.quick && !s.quick) continue;
    const q = Tensor.empty(gpu, 'f32', [s.tokens, heads, d], 'bench q');
    const k = Tensor.empty(gpu, 'f32', [kvHeads, s.kv, d], 'bench k');
    const v = Tensor.empty(gpu, 'f32', [kvHeads, s.kv, d], 'bench v');
    const out = Tensor.empty(gpu, 'f32', [s.tokens, heads * d], 'bench out');
    for (const t of [q, k, v]) gpu.device.queue.writeBuffer(t.buffer(), 0, new Float32Array(t.numel).map((_, i) => ((i * 7919) % 17) / 17 - 0.5));
    const qStart = s.kv - s.tokens;
    const r = s.tokens * s.kv > 1e7 ? 1 : reps;
    const ms = await timeStage(gpu, r, (stage) => {
      attention(stage, q, k, v, { kvLength: s.kv, qStart, causal: s.causal, out });
    });
    // QKᵀ and PV: 2·2·d flops per (query, key, head); causal prefill sees about half the keys
    const pairs = s.causal && s.tokens > 1 ? (s.tokens * (s.tokens + 1)) / 2 : s.tokens * s.kv;
    const flops = 4 * d * heads * pairs;
    const bytes = 4 * (q.numel + out.numel + 2 * kvHeads * s.kv * d);
    const shape = { tokens: s.tokens, kv_tokens: s.kv, heads, kv_heads: kvHeads, head_dim: d, causal: s.causal ? 1 : 0 };
    rows.push(benchRow({ kernel: 'attention', case: s.name, shape, dtype: 'f32', impl: 'kvscope', median_ms: ms, flops, bytes, device }));
    opts.log?.(`attention ${s.name}: ${ms.toFixed(1)} ms`);
    [q, k, v, out].forEach((t) => t.dispose());
    if (opts.peers === false) continue;
    const peer = await ortAttentionMs({ tokens: s.tokens, kv: s.kv, heads, kvHeads, d, causal: s.causal }, r);
    if ('error' in peer) opts.log?.(`onnxruntime-web not measured for attention ${s.name}: ${peer.error}`);
    else {
      // MultiHeadAttention reads K and V at all 28 heads (no GQA): its bytes say so
      const peerBytes = s.causal ? bytes : 4 * (q.numel + out.numel + 2 * heads * s.kv * d);
      rows.push(benchRow({ kernel: 'attention', case: s.name, shape, dtype: 'f32', impl: 'onnxruntime-web', variant: s.causal ? 'GroupQueryAttention' : 'MultiHeadAttention', median_ms: peer.ms, flops, bytes: peerBytes, device }));
    }
  }
  return rows;
}
