// Attention over the static KV cache (flash style, GQA from the cache layout, causal / block-diagonal segments /
// blocking spec), and the builder for blocking specs. See shaders/attention.wgsl for the math. An f16 cache is read
// by shaders/attention_f16.wgsl (same kernels, f32 arithmetic), which needs shader-f16. Prefill over an f32 cache may
// run as the `tiled` variant instead (src/ops/attentionTiled.ts), per the adapter's tuned choice (src/gpu/tuning.ts).
import type { Gpu } from '../gpu/device.ts';
import { OpArgumentError } from '../gpu/errors.ts';
import type { Stage } from '../gpu/stage.ts';
import { Tensor } from '../gpu/tensor.ts';
import { type AttentionVariant, kernelChoice } from '../gpu/tuning.ts';
import { attentionTiled } from './attentionTiled.ts';
import { expectDType, expectRank } from './check.ts';

export interface AttentionOptions {
  /** Valid cache positions (keys 0..kvLength−1). */
  kvLength: number;
  /** Absolute position of the first query (causal: query i sees keys ≤ qStart + i). Default 0. */
  qStart?: number;
  causal: boolean;
  /** Default head_dim^−1/2. */
  scale?: number;
  /** cu_seqlens [n_seg + 1]: query position p attends only to keys of its own segment. */
  segments?: Tensor<'u32'>;
  /** Blocking spec from `blockMask`. */
  block?: BlockMask;
  out?: Tensor<'f32'>;
  /** Key slices for flash-decoding; default: automatic (used when there are few queries and many keys). */
  splits?: number;
  /** Kernel variant; default: the adapter's tuned choice where it applies (prefill, f32 cache), else `flash`. */
  variant?: AttentionVariant;
}

/** Where the tiled variant applies: an f32 cache, enough queries and keys for its 16×16 tiles, no flash-decoding. */
function tiledApplies(gpu: Gpu, cacheDType: string, sQ: number, nHeads: number, kvLength: number, splits: number): boolean {
  return cacheDType === 'f32' && splits <= 1 && sQ >= 16 && kvLength >= 16 && gpu.kernels.has('attention_tiled') &&
    4 * nHeads * Math.ceil(kvLength / 4) * 4 <= gpu.maxBindingBytes;
}

/** The variant `attention` runs for these shapes on this adapter (what bench rows name). */
export function attentionVariant(gpu: Gpu, cacheDType: string, sQ: number, nHeads: number, kvLength: number, splits?: number): AttentionVariant {
  const s = splits ?? autoSplits(sQ, nHeads, kvLength);
  return kernelChoice(gpu).attention === 'tiled' && tiledApplies(gpu, cacheDType, sQ, nHeads, kvLength, s) ? 'tiled' : 'flash';
}

// flash-decoding when the (query, head) grid is too small to fill the device and the keys are many
function autoSplits(sQ: number, nHeads: number, kvLength: number): number {
  return sQ * nHeads < 256 && kvLength >= 256 ? Math.min(64, Math.ceil(kvLength / 128)) : 1;
}

/** Query i may not attend to key j when qBits[i] & kBits[j] ≠ 0 (up to 32 independent rules). */
export interface BlockMask {
  qBits: Tensor<'u32'>;
  kBits: Tensor<'u32'>;
}

export interface BlockRule {
  /** Query positions [start, end) (indices into this call's queries). */
  queries: readonly [number, number];
  /** Key position ranges [start, end) these queries may not see. */
  keys: readonly (readonly [number, number])[];
}

/** Host-side bit vectors for up to 32 rules (rule r sets bit r on its queries and on its keys). */
export function blockMaskBits(rules: readonly BlockRule[], sQ: number, kvLength: number): { qBits: Uint32Array; kBits: Uint32Array } {
  if (rules.length > 32) throw new OpArgumentError('blockMask', `at most 32 rules, got ${rules.length}`);
  const qBits = new Uint32Array(sQ), kBits = new Uint32Array(kvLength);
  rules.forEach((rule, r) => {
    const bit = (1 << r) >>> 0;
    const [qs, qe] = rule.queries;
    if (!(0 <= qs && qs <= qe && qe <= sQ)) throw new OpArgumentError('blockMask', `rule ${r}: queries [${qs}, ${qe}) outside 0..${sQ}`);
    for (let i = qs; i < qe; i++) qBits[i] |= bit;
    for (const [ks, ke] of rule.keys) {
      if (!(0 <= ks && ks <= ke && ke <= kvLength)) throw new OpArgumentError('blockMask', `rule ${r}: keys [${ks}, ${ke}) outside 0..${kvLength}`);
      for (let j = ks; j < ke; j++) kBits[j] |= bit;
    }
  });
  return { qBits, kBits };
}

/** The blocking spec as GPU tensors. */
export function blockMask(stage: Stage, rules: readonly BlockRule[], sQ: number, kvLength: number): BlockMask {
  const { qBits, kBits } = blockMaskBits(rules, sQ, kvLength);
  return { qBits: Tensor.from(stage.gpu, 'u32', [sQ], qBits, 'block qBits'), kBits: Tensor.from(stage.gpu, 'u32', [kvLength], kBits, 'block kBits') };
}

// shaders/attention.wgsl: `main` runs TQ (query, head) pairs per invocation, MAIN_WG invocations per workgroup;
// `split` one pair per invocation, SPLIT_WG per workgroup (a GQA group of up to 8 query heads fills one)
const TQ = 4, MAIN_WG = 16, SPLIT_WG = 8;

export function attention(stage: Stage, q: Tensor<'f32'>, k: Tensor<'f32' | 'f16'>, v: Tensor<'f32' | 'f16'>, opts: AttentionOptions): Tensor<'f32'> {
  const op = 'attention';
  expectDType(op, 'q', q, ['f32']);
  for (const [name, t] of [['k', k], ['v', v]] as const) expectDType(op, name, t, ['f32', 'f16']);
  if (k.dtype !== v.dtype) throw new OpArgumentError(op, `k (${k.label}) is ${k.dtype} but v (${v.label}) is ${v.dtype}; the cache holds both in one dtype`);
  expectRank(op, 'q', q, [3]);
  expectRank(op, 'k', k, [3]);
  const [sQ, nHeads, d] = q.shape;
  const [nKv, capacity, dk] = k.shape;
  if (v.shape.join() !== k.shape.join()) throw new OpArgumentError(op, `v (${v.label}) [${v.shape.join(', ')}] must match k (${k.label}) [${k.shape.join(', ')}]`);
  if (dk !== d) throw new OpArgumentError(op, `q head_dim ${d} ≠ cache head_dim ${dk}`);
  if (d % 4 !== 0 || d > 128 || d < 4) throw new OpArgumentError(op, `head_dim must be a multiple of 4 in 4..128, got ${d}`);
  if (nHeads % nKv !== 0) throw new OpArgumentError(op, `n_heads ${nHeads} is not a multiple of n_kv_heads ${nKv}`);
  const qStart = opts.qStart ?? 0;
  if (!Number.isInteger(opts.kvLength) || opts.kvLength < 0 || opts.kvLength > capacity) {
    throw new OpArgumentError(op, `kvLength ${opts.kvLength} outside the cache capacity ${capacity}`);
  }
  if (opts.segments) {
    expectDType(op, 'segments', opts.segments, ['u32']);
    if (opts.segments.numel < 2) throw new OpArgumentError(op, `segments (cu_seqlens) needs at least 2 entries, got ${opts.segments.numel}`);
  }
  if (opts.block) {
    if (opts.block.qBits.numel !== sQ) throw new OpArgumentError(op, `block qBits has ${opts.block.qBits.numel} entries for ${sQ} queries`);
    if (opts.block.kBits.numel < opts.kvLength) throw new OpArgumentError(op, `block kBits has ${opts.block.kBits.numel} entries for ${opts.kvLength} keys`);
  }
  const out = opts.out ?? Tensor.empty(stage.gpu, 'f32', [sQ, nHeads * d], `attention(${q.label})`);
  if (out.numel !== sQ * nHeads * d) throw new OpArgumentError(op, `out (${out.label}) must hold ${sQ}×${nHeads * d} values`);
  const gpu = stage.gpu;
  const shader = k.dtype === 'f16' ? 'attention_f16' : 'attention';
  if (shader === 'attention_f16' && !(gpu.features.shaderF16 && gpu.kernels.has(shader))) {
    throw new OpArgumentError(op, `an f16 KV cache (${k.label}) needs shader-f16, which ${gpu.describe()} ${gpu.features.shaderF16 ? 'has but attention_f16.wgsl is not compiled' : 'does not offer (or failed its self-test)'}`);
  }
  const splits = opts.splits ?? autoSplits(sQ, nHeads, opts.kvLength);
  const variant = opts.variant ?? attentionVariant(gpu, k.dtype, sQ, nHeads, opts.kvLength, splits);
  if (variant === 'tiled') {
    if (!tiledApplies(gpu, k.dtype, sQ, nHeads, opts.kvLength, splits)) {
      throw new OpArgumentError(op, `the tiled variant needs an f32 cache (${k.label} is ${k.dtype}), no splits (${splits}), ≥ 16 queries (${sQ}) and keys (${opts.kvLength}), and one query's scores within a storage binding`);
    }
    return attentionTiled(stage, q, k as Tensor<'f32'>, v as Tensor<'f32'>, { ...opts, out });
  }
  const uniforms = {
    s_q: sQ, n_heads: nHeads, n_kv_heads: nKv, head_dim: d, capacity, kv_len: opts.kvLength, q_start: qStart,
    causal: opts.causal ? 1 : 0, has_segments: opts.segments ? 1 : 0, n_segments: opts.segments ? opts.segments.numel - 1 : 0,
    has_block: opts.block ? 1 : 0, splits, scale: opts.scale ?? 1 / Math.sqrt(d),
  };
  const common = {
    q: q.buffer(op), k: k.buffer(op), v: v.buffer(op),
    segments: opts.segments?.buffer(op) ?? gpu.dummyBuffer,
    qbits: opts.block?.qBits.buffer(op) ?? gpu.dummyBuffer,
    kbits: opts.block?.kBits.buffer(op) ?? gpu.dummyBuffer,
  };
  const pairs = sQ * (nHeads / nKv); // (query, head) pairs per KV head
  const what = `attention q[${sQ}×${nHeads}×${d}] kv[${nKv}×${opts.kvLength}/${capacity}]${k.dtype === 'f16' ? ' f16' : ''}${opts.causal ? ' causal' : ''}${opts.segments ? ' segments' : ''}${opts.block ? ' blocked' : ''}`;
  if (splits <= 1) {
    const kernel = gpu.kernels.get(shader, 'main', { WG: MAIN_WG });
    stage.dispatch(kernel, { label: what, bindings: { ...common, out: out.buffer(op) }, uniforms, workgroups: [Math.ceil(pairs / (TQ * MAIN_WG)), nKv] });
    return out;
  }
  const partials = Tensor.empty(gpu, 'f32', [sQ * nHeads * splits, d + 4], 'attention partials');
  const split = gpu.kernels.get(shader, 'split', { WG: SPLIT_WG });
  const combine = gpu.kernels.get('attention', 'combine', { WG: SPLIT_WG }) // partials only: one kernel for both dtypes;
  stage.dispatch(split, { label: `${what} split ×${splits}`, bindings: { ...common, partials: partials.buffer(op) }, uniforms, workgroups: [Math.ceil(pairs / SPLIT_WG), nKv, splits] });
  stage.dispatch(combine, { label: `${what} combine`, bindings: { partials: partials.buffer(op), out: out.buffer(op) }, uniforms, workgroups: [Math.ceil(nHeads / SPLIT_WG), sQ] });
  stage.onDone(() => partials.dispose());
  return out;
}
