// Text-driven segmentation by dot product (protocols §3.3, ImageNet-S / RefCOCO): score maps = image features
// [..., d] · text vectors [C, d] (or one [d]), optionally both L2-normalised (cosine, as MaskCLIP), then a binary
// mask by threshold or a label map by argmax over classes (shaders/probe/score_map.wgsl). Which text token stands
// for a class and which rule selects the region are open in the paper; both rules are offered.
import { OpArgumentError } from '../gpu/errors.ts';
import type { Stage } from '../gpu/stage.ts';
import { Tensor } from '../gpu/tensor.ts';
import { expectDType, expectRank } from '../ops/check.ts';
import { grid1d } from '../ops/grid.ts';
import { matmul } from '../ops/matmul.ts';
import { asRows, expectRowMask, l2Normalize } from './similarity.ts';

/** scores [..., C] = features · textᵀ for text [C, d] (C = 1 for one text vector [d]); cosine normalises both. */
export async function textDotProduct(stage: Stage, features: Tensor<'f32'>, text: Tensor<'f32'>, opts: { cosine?: boolean } = {}): Promise<Tensor<'f32'>> {
  const op = 'textDotProduct';
  expectDType(op, 'features', features, ['f32']);
  expectDType(op, 'text', text, ['f32']);
  expectRank(op, 'text', text, [1, 2]);
  if (text.rowLength !== features.rowLength) throw new OpArgumentError(op, `text (${text.label}) has ${text.rowLength} features, features (${features.label}) rows ${features.rowLength}`);
  const t2 = text.rank === 1 ? text.reshape([1, text.numel]) : text;
  const f = opts.cosine ? await l2Normalize(stage, features) : features;
  const t = opts.cosine ? await l2Normalize(stage, t2) : t2;
  const s = await matmul(stage, f, t);
  if (opts.cosine) stage.onDone(() => { f.dispose(); t.dispose(); });
  return s;
}

export interface ScoreRuleOptions {
  /** Cells at or below it are background (0). Default −∞ for labels (every valid cell gets a class). */
  threshold?: number;
  /** u32 per cell; 0 = no token, always background. */
  mask?: Tensor<'u32'>;
}

/** Binary mask (u32 [...]: 1 where score > threshold) of a single-class score map. */
export async function scoreMask(stage: Stage, scores: Tensor<'f32'>, threshold: number, opts: { mask?: Tensor<'u32'> } = {}): Promise<Tensor<'u32'>> {
  return await scoreRule(stage, 'threshold', scores, scores.numel, 1, { ...opts, threshold });
}

/** Label map u32 [...] of scores [..., C]: 1 + argmax class (ties to the lower class) where its score > threshold, else 0. */
export async function scoreLabels(stage: Stage, scores: Tensor<'f32'>, opts: ScoreRuleOptions = {}): Promise<Tensor<'u32'>> {
  return await scoreRule(stage, 'label', scores, scores.rows, scores.rowLength, opts);
}

async function scoreRule(stage: Stage, entry: 'threshold' | 'label', scores: Tensor<'f32'>, cells: number, classes: number, opts: ScoreRuleOptions): Promise<Tensor<'u32'>> {
  const op = entry === 'label' ? 'scoreLabels' : 'scoreMask';
  expectDType(op, 'scores', scores, ['f32']);
  expectRowMask(op, 'mask', opts.mask, cells, `scores (${scores.label})`);
  const threshold = opts.threshold ?? -3.4e38;
  if (Number.isNaN(threshold)) throw new OpArgumentError(op, 'threshold is NaN');
  const shape = entry === 'label' ? scores.shape.slice(0, -1) : scores.shape;
  const out = Tensor.empty(stage.gpu, 'u32', shape.length ? shape : [1], `${op}(${scores.label})`);
  const g = grid1d(cells, 64, stage.gpu.limits.maxComputeWorkgroupsPerDimension);
  stage.dispatch(stage.gpu.kernels.get('probe/score_map', entry), {
    label: `${op} ${cells} cells × ${classes} classes`,
    bindings: { scores: scores.buffer(op), cell_mask: opts.mask?.buffer(op) ?? stage.gpu.dummyBuffer, out: out.buffer(op) },
    uniforms: { cells, classes, has_mask: opts.mask ? 1 : 0, row_stride: g.rowStride, threshold: Math.max(threshold, -3.4e38) },
    workgroups: g.workgroups,
  });
  return out;
}
