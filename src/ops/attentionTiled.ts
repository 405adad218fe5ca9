// Prefill attention as register-tiled scores / softmax / P·V passes over chunks of queries (shaders/attention_tiled.wgsl):
// the variant `kvscope tune` picks where the flash kernel is load-bound (CPU adapters). Same tensors, masks and
// result as `attention` (src/ops/attention.ts) for an f32 cache; the scores of one chunk live in a temporary of at
// most `chunkBytes` (default 64 MiB, and never over one storage binding).
import { OpArgumentError } from '../gpu/errors.ts';
import type { Stage } from '../gpu/stage.ts';
import { Tensor } from '../gpu/tensor.ts';
import type { AttentionOptions } from './attention.ts';
import { expectDType, expectRank } from './check.ts';

const WG = 8;
const DEFAULT_CHUNK_BYTES = 64 * 1024 * 1024;

export interface TiledAttentionOptions extends Omit<AttentionOptions, 'splits'> {
  /** Most bytes of scores held at once (a chunk of queries × all keys × all heads). */
  chunkBytes?: number;
}

/** Queries per chunk so that n_heads × queries × stride f32 scores fit in `bytes`. */
export function tiledChunkQueries(nHeads: number, kvLength: number, bytes: number): number {
  const stride = Math.ceil(kvLength / 4) * 4;
  return Math.max(1, Math.floor(bytes / (4 * nHeads * stride)));
}

export function attentionTiled(stage: Stage, q: Tensor<'f32'>, k: Tensor<'f32'>, v: Tensor<'f32'>, opts: TiledAttentionOptions): Tensor<'f32'> {
  const op = 'attention (tiled)';
  for (const [name, t] of [['q', q], ['k', k], ['v', v]] as const) expectDType(op, name, t, ['f32']);
  expectRank(op, 'q', q, [3]);
  expectRank(op, 'k', k, [3]);
  const [sQ, nHeads, d] = q.shape;
  const [nKv, capacity, dk] = k.shape;
  if (v.shape.join() !== k.shape.join()) throw new OpArgumentError(op, `v (${v.label}) [${v.shape.join(', ')}] must match k (${k.label}) [${k.shape.join(', ')}]`);
  if (dk !== d) throw new OpArgumentError(op, `q head_dim ${d} ≠ cache head_dim ${dk}`);
  if (d % 4 !== 0 || d < 4) throw new OpArgumentError(op, `head_dim must be a multiple of 4, got ${d}`);
  if (nHeads % nKv !== 0) throw new OpArgumentError(op, `n_heads ${nHeads} is not a multiple of n_kv_heads ${nKv}`);
  const kvLength = opts.kvLength;
  if (!Number.isInteger(kvLength) || kvLength < 1 || kvLength > capacity) {
    throw new OpArgumentError(op, `kvLength ${kvLength} outside 1..${capacity} (the cache capacity)`);
  }
  if (opts.segments) {
    expectDType(op, 'segments', opts.segments, ['u32']);
    if (opts.segments.numel < 2) throw new OpArgumentError(op, `segments (cu_seqlens) needs at least 2 entries, got ${opts.segments.numel}`);
  }
  if (opts.block) {
    if (opts.block.qBits.numel !== sQ) throw new OpArgumentError(op, `block qBits has ${opts.block.qBits.numel} entries for ${sQ} queries`);
    if (opts.block.kBits.numel < kvLength) throw new OpArgumentError(op, `block kBits has ${opts.block.kBits.numel} entries for ${kvLength} keys`);
  }
  const gpu = stage.gpu;
  const out = opts.out ?? Tensor.empty(gpu, 'f32', [sQ, nHeads * d], `attention(${q.label})`);
  if (out.numel !== sQ * nHeads * d) throw new OpArgumentError(op, `out (${out.label}) must hold ${sQ}×${nHeads * d} values`);
  const group = nHeads / nKv;
  const stride = Math.ceil(kvLength / 4) * 4;
  const limit = Math.min(opts.chunkBytes ?? DEFAULT_CHUNK_BYTES, gpu.maxBindingBytes);
  const cq = Math.min(sQ, tiledChunkQueries(nHeads, kvLength, limit));
  if (4 * nHeads * stride > gpu.maxBindingBytes) {
    throw new OpArgumentError(op, `one query's scores (${nHeads} heads × ${kvLength} keys) exceed the ${gpu.maxBindingBytes}-byte storage binding limit of ${gpu.describe()}`);
  }
  const scores = Tensor.empty(gpu, 'f32', [nKv * cq * group, stride], 'attention scores');
  const rowinv = Tensor.empty(gpu, 'f32', [nKv * cq * group], 'attention 1/row sums');
  const base = {
    s_q: sQ, n_heads: nHeads, n_kv_heads: nKv, head_dim: d, capacity, kv_len: kvLength, q_start: opts.qStart ?? 0,
    causal: opts.causal ? 1 : 0, has_segments: opts.segments ? 1 : 0, n_segments: opts.segments ? opts.segments.numel - 1 : 0,
    has_block: opts.block ? 1 : 0, stride, scale: opts.scale ?? 1 / Math.sqrt(d),
  };
  const segments = opts.segments?.buffer(op) ?? gpu.dummyBuffer;
  const kScores = gpu.kernels.get('attention_tiled', 'scores', { WG });
  const kSoftmax = gpu.kernels.get('attention_tiled', 'softmax', { WG });
  const kPv = gpu.kernels.get('attention_tiled', 'pv', { WG });
  const what = `attention tiled q[${sQ}×${nHeads}×${d}] kv[${nKv}×${kvLength}/${capacity}]${opts.causal ? ' causal' : ''}${opts.segments ? ' segments' : ''}${opts.block ? ' blocked' : ''}`;
  const d4 = d / 4;
  for (let q0 = 0; q0 < sQ; q0 += cq) {
    const rows = Math.min(cq, sQ - q0) * group;
    const uniforms = { ...base, q0, n_rows: rows };
    const chunk = sQ > cq ? ` queries ${q0}..${q0 + rows / group - 1}` : '';
    stage.dispatch(kScores, {
      label: `${what} scores${chunk}`, uniforms, workgroups: [Math.ceil(Math.ceil(kvLength / 16) / WG), Math.ceil(rows / 16), nKv],
      bindings: { q: q.buffer(op), k: k.buffer(op), segments, s4: scores.buffer(op) },
    });
    stage.dispatch(kSoftmax, {
      label: `${what} softmax${chunk}`, uniforms, workgroups: [Math.ceil(rows / WG), nKv],
      bindings: { segments, qbits: opts.block?.qBits.buffer(op) ?? gpu.dummyBuffer, kbits: opts.block?.kBits.buffer(op) ?? gpu.dummyBuffer, s: scores.buffer(op), rowinv: rowinv.buffer(op) },
    });
    stage.dispatch(kPv, {
      label: `${what} pv${chunk}`, uniforms, workgroups: [Math.ceil(Math.ceil(d4 / 4) / WG), Math.ceil(rows / 16), nKv],
      bindings: { v: v.buffer(op), segments, p4: scores.buffer(op), rowinv: rowinv.buffer(op), out: out.buffer(op) },
    });
  }
  stage.onDone(() => { scores.dispose(); rowinv.dispose(); });
  return out;
}
