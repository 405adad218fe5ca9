// Label propagation through a video on the patch grid, DINO's DAVIS protocol (protocols §2.1): per target frame,
// cosine affinity to the first frame and the most recent frames within a spatial window, the top-k affinities
// over all context frames jointly (entries tied with the k-th kept), weights e^(a/τ) normalised to sum 1, and the
// weighted sum of the sources' soft labels. Kernels: shaders/probe/label_propagation.wgsl and top_k.wgsl.
// Features and labels stay on the GPU from the first frame to the last.
import { OpArgumentError } from '../gpu/errors.ts';
import { Stage } from '../gpu/stage.ts';
import { Tensor } from '../gpu/tensor.ts';
import { expectDType, expectRank } from '../ops/check.ts';
import { grid1d } from '../ops/grid.ts';
import { expectRowMask, l2Normalize } from './similarity.ts';
import { MAX_TOP_K, topK } from './nearestNeighbours.ts';

export interface LabelPropagationOptions {
  /** Window half-size on the patch grid: sources with |Δrow| ≤ r and |Δcol| ≤ r. DINO: 12. */
  neighbourhood?: number;
  /** Affinities kept per target (ties with the k-th kept too). DINO: 5. */
  topk?: number;
  /** Softmax temperature τ. DINO hard-codes 0.1. */
  temperature?: number;
}

/** DINO `eval_video_segmentation.py` defaults (n_last_frames 7, size_mask_neighborhood 12, topk 5, τ 0.1). */
export const DINO_PROPAGATION = { nLastFrames: 7, neighbourhood: 12, topk: 5, temperature: 0.1 } as const;

export interface PropagationContext {
  /** [n_ctx, h, w, d] unit feature rows of the context frames (zeros where masked). */
  features: Tensor<'f32'>;
  /** [n_ctx, h, w, n_labels] their soft label maps. */
  labels: Tensor<'f32'>;
  /** u32 [n_ctx·h·w]: 0 = the cell holds no token and is never a source. */
  mask?: Tensor<'u32'>;
  /** How many of the leading frames of `features`/`labels` to use (default all). */
  frames?: number;
}

/**
 * Soft labels [h, w, n_labels] of one target frame from a context; target [h, w, d] holds unit rows (see
 * l2Normalize). Cells with targetMask 0, or with no source in their window, get all-zero labels.
 */
export async function labelPropagation(
  stage: Stage, target: Tensor<'f32'>, context: PropagationContext, opts: LabelPropagationOptions & { targetMask?: Tensor<'u32'> } = {},
): Promise<Tensor<'f32'>> {
  const op = 'labelPropagation';
  expectDType(op, 'target', target, ['f32']);
  expectRank(op, 'target', target, [3]);
  expectDType(op, 'context.features', context.features, ['f32']);
  expectDType(op, 'context.labels', context.labels, ['f32']);
  expectRank(op, 'context.features', context.features, [4]);
  expectRank(op, 'context.labels', context.labels, [4]);
  const [h, w, d] = target.shape;
  const [frames, fh, fw, fd] = context.features.shape;
  const [lf, lh, lw, nLabels] = context.labels.shape;
  if (fh !== h || fw !== w || fd !== d) {
    throw new OpArgumentError(op, `context.features (${context.features.label}) [${context.features.shape.join(', ')}] must be [n_ctx, ${h}, ${w}, ${d}] like target (${target.label})`);
  }
  if (lf !== frames || lh !== h || lw !== w) {
    throw new OpArgumentError(op, `context.labels (${context.labels.label}) [${context.labels.shape.join(', ')}] must be [${frames}, ${h}, ${w}, n_labels]`);
  }
  const nCtx = context.frames ?? frames;
  if (!Number.isInteger(nCtx) || nCtx < 1 || nCtx > frames) throw new OpArgumentError(op, `context.frames = ${nCtx} must be in 1..${frames}`);
  expectRowMask(op, 'context.mask', context.mask, frames * h * w, `context.features (${context.features.label})`);
  expectRowMask(op, 'targetMask', opts.targetMask, h * w, `target (${target.label})`);
  const r = opts.neighbourhood ?? DINO_PROPAGATION.neighbourhood;
  const k = opts.topk ?? DINO_PROPAGATION.topk;
  const tau = opts.temperature ?? DINO_PROPAGATION.temperature;
  if (!Number.isInteger(r) || r < 0) throw new OpArgumentError(op, `neighbourhood must be an integer ≥ 0, got ${r}`);
  if (!Number.isInteger(k) || k < 1 || k > MAX_TOP_K) throw new OpArgumentError(op, `topk must be in 1..${MAX_TOP_K}, got ${k}`);
  if (!(tau > 0)) throw new OpArgumentError(op, `temperature must be > 0, got ${tau}`);
  // a window larger than the grid holds only out-of-grid cells beyond it
  const ry = Math.min(r, h - 1), rx = Math.min(r, w - 1);
  const width = nCtx * (2 * ry + 1) * (2 * rx + 1);
  const gpu = stage.gpu;
  const uniforms = {
    h, w, d, n_ctx: nCtx, ry, rx, n_labels: nLabels, k, has_ctx_mask: context.mask ? 1 : 0,
    has_target_mask: opts.targetMask ? 1 : 0, inv_temperature: 1 / tau,
  };
  const aff = Tensor.empty(gpu, 'f32', [h * w, width], 'windowed affinity');
  const maxWg = gpu.limits.maxComputeWorkgroupsPerDimension;
  const g1 = grid1d(aff.numel, 256, maxWg);
  stage.dispatch(gpu.kernels.get('probe/label_propagation', 'window_affinity'), {
    label: `labelPropagation affinity [${h}×${w}] × ${nCtx} frames, window ${2 * ry + 1}×${2 * rx + 1}, d=${d}`,
    bindings: {
      target_feat: target.buffer(op), ctx_feat: context.features.buffer(op), aff: aff.buffer(op),
      ctx_mask: context.mask?.buffer(op) ?? gpu.dummyBuffer, target_mask: opts.targetMask?.buffer(op) ?? gpu.dummyBuffer,
    },
    uniforms: { ...uniforms, row_stride: g1.rowStride },
    workgroups: g1.workgroups,
  });
  const top = await topK(stage, aff, Math.min(k, width));
  const soft = Tensor.empty(gpu, 'f32', [h, w, nLabels], 'propagated labels');
  const g2 = grid1d(soft.numel, 64, maxWg);
  stage.dispatch(gpu.kernels.get('probe/label_propagation', 'transfer'), {
    label: `labelPropagation transfer [${h}×${w}×${nLabels}] top-${k} τ=${tau}`,
    bindings: { aff_in: aff.buffer(op), top_score: top.scores.buffer(op), ctx_labels: context.labels.buffer(op), soft: soft.buffer(op) },
    uniforms: { ...uniforms, k: Math.min(k, width), row_stride: g2.rowStride },
    workgroups: g2.workgroups,
  });
  stage.onDone(() => { aff.dispose(); top.dispose(); });
  return soft;
}

export interface VideoPropagationOptions extends LabelPropagationOptions {
  /** Most recent frames kept in the context queue besides the first frame. DINO: 7. */
  nLastFrames?: number;
  /** Per frame u32 [h·w] validity masks (0 = no token), same order as the frames. */
  masks?: readonly Tensor<'u32'>[];
}

/**
 * Propagate the first frame's labels (firstLabels [h, w, n_labels], e.g. one-hot) through frames[1..] (features
 * [h, w, d] each, raw; they are L2-normalised here). Returns the soft labels of frames 1..T−1 ([h, w, n_labels]
 * each, caller disposes). Context of frame t: frame 0 with its given labels + frames max(1, t−n)..t−1 with their
 * predicted soft labels (DINO's queue). One stage per frame; nothing is read back.
 */
export async function propagateVideo(frames: readonly Tensor<'f32'>[], firstLabels: Tensor<'f32'>, opts: VideoPropagationOptions = {}): Promise<Tensor<'f32'>[]> {
  const op = 'propagateVideo';
  if (frames.length < 1) throw new OpArgumentError(op, 'no frames given');
  const gpu = frames[0].gpu;
  expectRank(op, 'frames[0]', frames[0], [3]);
  const [h, w, d] = frames[0].shape;
  frames.forEach((f, i) => {
    if (f.rank !== 3 || f.shape[0] !== h || f.shape[1] !== w || f.shape[2] !== d) {
      throw new OpArgumentError(op, `frames[${i}] (${f.label}) [${f.shape.join(', ')}] differs from frames[0] [${h}, ${w}, ${d}]`);
    }
  });
  expectRank(op, 'firstLabels', firstLabels, [3]);
  if (firstLabels.shape[0] !== h || firstLabels.shape[1] !== w) {
    throw new OpArgumentError(op, `firstLabels (${firstLabels.label}) [${firstLabels.shape.join(', ')}] must be [${h}, ${w}, n_labels]`);
  }
  if (opts.masks && opts.masks.length !== frames.length) throw new OpArgumentError(op, `${opts.masks.length} masks for ${frames.length} frames`);
  const nLast = opts.nLastFrames ?? DINO_PROPAGATION.nLastFrames;
  if (!Number.isInteger(nLast) || nLast < 1) throw new OpArgumentError(op, `nLastFrames must be an integer ≥ 1, got ${nLast}`);
  const nLabels = firstLabels.shape[2];
  const slots = 1 + Math.min(nLast, Math.max(frames.length - 2, 1));
  const cell = h * w;
  // the context ring: slot 0 = frame 0, slot 1 + (s − 1) mod n = frame s ≥ 1
  const ctxFeat = Tensor.empty(gpu, 'f32', [slots, h, w, d], 'context features');
  const ctxLabels = Tensor.empty(gpu, 'f32', [slots, h, w, nLabels], 'context labels');
  const ctxMask = opts.masks ? Tensor.empty(gpu, 'u32', [slots * cell], 'context masks') : undefined;
  const put = async (stage: Stage, t: number, feat: Tensor<'f32'>, labels: Tensor<'f32'>) => {
    const slot = t === 0 ? 0 : 1 + ((t - 1) % nLast);
    stage.copy(feat.buffer(op), 0, ctxFeat.buffer(op), slot * cell * d * 4, cell * d * 4);
    stage.copy(labels.buffer(op), 0, ctxLabels.buffer(op), slot * cell * nLabels * 4, cell * nLabels * 4);
    if (ctxMask) stage.copy(opts.masks![t].buffer(op), 0, ctxMask.buffer(op), slot * cell * 4, cell * 4);
  };
  const out: Tensor<'f32'>[] = [];
  try {
    let stage = new Stage(gpu, 'propagateVideo frame 0');
    const first = await l2Normalize(stage, frames[0], { mask: opts.masks?.[0] });
    await put(stage, 0, first, firstLabels);
    stage.onDone(() => first.dispose());
    await stage.submit();
    for (let t = 1; t < frames.length; t++) {
      stage = new Stage(gpu, `propagateVideo frame ${t}`);
      const target = await l2Normalize(stage, frames[t], { mask: opts.masks?.[t] });
      const soft = await labelPropagation(stage, target, { features: ctxFeat, labels: ctxLabels, mask: ctxMask, frames: 1 + Math.min(t - 1, nLast) }, {
        ...opts, targetMask: opts.masks?.[t],
      });
      if (t < frames.length - 1) await put(stage, t, target, soft);
      stage.onDone(() => target.dispose());
      await stage.submit();
      out.push(soft);
    }
  } catch (e) {
    out.forEach((t) => t.dispose());
    throw e;
  } finally {
    ctxFeat.dispose();
    ctxLabels.dispose();
    ctxMask?.dispose();
  }
  return out;
}

/** One-hot label maps [h, w, n_labels] from a host label map of class indices (h·w values in 0..n_labels−1). */
export function oneHotLabels(gpu: Tensor['gpu'], labels: ArrayLike<number>, h: number, w: number, nLabels: number): Tensor<'f32'> {
  if (labels.length !== h * w) throw new OpArgumentError('oneHotLabels', `label map has ${labels.length} values, expected ${h}×${w}`);
  const v = new Float32Array(h * w * nLabels);
  for (let i = 0; i < h * w; i++) {
    const c = labels[i];
    if (!Number.isInteger(c) || c < 0 || c >= nLabels) throw new OpArgumentError('oneHotLabels', `label ${c} at cell ${i} outside 0..${nLabels - 1}`);
    v[i * nLabels + c] = 1;
  }
  return Tensor.from(gpu, 'f32', [h, w, nLabels], v, 'one-hot labels');
}
