// Co-segmentation by clustering (Amir et al. `cosegmentation.py`, protocols §3.2) over the descriptors of a set of
// images, on the GPU: pool and L2-normalise all descriptors; k-means (euclidean on the unit descriptors, as faiss
// there) trained on every `sampleInterval`-th descriptor of each image for k = 1, 2, …, maxK; objective(k) = mean
// squared distance of all descriptors to their nearest centroid; stop at the first k whose objective exceeds
// elbow × objective(k − 1) and use that k (Amir's quirk; maxK if none); label all descriptors; an image votes for
// a cluster when the mean saliency of its descriptors there exceeds the threshold; clusters with
// ≥ ⌈votes% · images⌉ votes are foreground (shaders/probe/co_segmentation.wgsl).
// Choices where the protocol is silent for LM value tokens (documented, parameters): the saliency map is the
// caller's (Amir uses DINO's CLS attention; the paper's source is unconfirmed), k-means is kvscope's kmeans
// (k-means++ seeding, not faiss's), no GrabCut refinement (no JS port; the mask stays at grid resolution).
// Only one objective value per k is read back (the elbow decision is host control flow).
import { OpArgumentError } from '../gpu/errors.ts';
import { Stage } from '../gpu/stage.ts';
import { Tensor } from '../gpu/tensor.ts';
import { expectDType } from '../ops/check.ts';
import { grid1d } from '../ops/grid.ts';
import { kmeans, kmeansAssign } from './kmeans.ts';
import { asRows, l2Normalize } from './similarity.ts';

export interface CoSegmentationImage {
  /** Descriptors [..., d] of the image's valid cells (n_i rows). */
  features: Tensor<'f32'>;
  /** Saliency in [0, 1] per descriptor, f32 [n_i]. */
  saliency: Tensor<'f32'>;
}

export interface CoSegmentationOptions {
  maxK?: number;          // 14
  elbow?: number;         // 0.975
  sampleInterval?: number; // 100
  saliencyThreshold?: number; // 0.065
  votesPercentage?: number;   // 75
  iterations?: number;    // Lloyd iterations per k-means (Amir/faiss: 300)
  restarts?: number;      // 10
  seed?: number;
}

export const AMIR_COSEGMENTATION = { maxK: 14, elbow: 0.975, sampleInterval: 100, saliencyThreshold: 0.065, votesPercentage: 75, iterations: 300, restarts: 10 } as const;

export interface CoSegmentationResult {
  /** The k used. */
  k: number;
  /** Objective per k tried (k = 1, 2, …). */
  objectives: number[];
  /** Per image u32 [n_i]: 1 = foreground. */
  foreground: Tensor<'u32'>[];
  /** Per image u32 [n_i] cluster labels. */
  labels: Tensor<'u32'>[];
  dispose(): void;
}

export async function coSegmentation(images: readonly CoSegmentationImage[], opts: CoSegmentationOptions = {}): Promise<CoSegmentationResult> {
  const op = 'coSegmentation';
  if (!images.length) throw new OpArgumentError(op, 'no images given');
  const o = { ...AMIR_COSEGMENTATION, seed: 0, ...opts };
  const gpu = images[0].features.gpu;
  const d = images[0].features.rowLength;
  const counts = images.map((im, m) => {
    expectDType(op, `images[${m}].features`, im.features, ['f32']);
    expectDType(op, `images[${m}].saliency`, im.saliency, ['f32']);
    if (im.features.rowLength !== d) throw new OpArgumentError(op, `images[${m}].features (${im.features.label}) has ${im.features.rowLength} features, images[0] ${d}`);
    if (im.saliency.numel !== im.features.rows) throw new OpArgumentError(op, `images[${m}].saliency (${im.saliency.label}) has ${im.saliency.numel} values for ${im.features.rows} descriptors`);
    if (im.features.rows < 1) throw new OpArgumentError(op, `images[${m}] has no descriptors`);
    return im.features.rows;
  });
  if (!Number.isInteger(o.sampleInterval) || o.sampleInterval < 1) throw new OpArgumentError(op, `sampleInterval must be an integer ≥ 1, got ${o.sampleInterval}`);
  const offsets = counts.map((_, m) => counts.slice(0, m).reduce((a, b) => a + b, 0));
  const n = counts.reduce((a, b) => a + b, 0);
  const sampled: number[] = [];
  counts.forEach((c, m) => { for (let i = 0; i < c; i += o.sampleInterval) sampled.push(offsets[m] + i); });
  const maxK = Math.min(o.maxK, sampled.length);

  // pool, normalise, gather the training rows (row copies inside one stage)
  let stage = new Stage(gpu, 'coSegmentation pool');
  const pooled = Tensor.empty(gpu, 'f32', [n, d], 'co-seg descriptors');
  const sal = Tensor.empty(gpu, 'f32', [n], 'co-seg saliency');
  images.forEach((im, m) => {
    stage.copy(im.features.buffer(op), 0, pooled.buffer(op), offsets[m] * d * 4, counts[m] * d * 4);
    stage.copy(im.saliency.buffer(op), 0, sal.buffer(op), offsets[m] * 4, counts[m] * 4);
  });
  const unit = await l2Normalize(stage, pooled);
  const train = Tensor.empty(gpu, 'f32', [sampled.length, d], 'co-seg training descriptors');
  sampled.forEach((row, i) => stage.copy(unit.buffer(op), row * d * 4, train.buffer(op), i * d * 4, d * 4));
  await stage.submit();
  pooled.dispose();

  const objectives: number[] = [];
  let chosen: Tensor<'f32'> | null = null;
  let k = maxK;
  const meanDist = gpu.kernels.get('probe/kmeans', 'mean_inertia');
  for (let kk = 1; kk <= maxK; kk++) {
    stage = new Stage(gpu, `coSegmentation k=${kk}`);
    const km = await kmeans(stage, train, kk, { iterations: o.iterations, restarts: o.restarts, seed: o.seed });
    const all = await kmeansAssign(stage, unit, km.centroids);
    const obj = Tensor.empty(gpu, 'f32', [1], 'co-seg objective');
    stage.dispatch(meanDist, {
      label: `coSegmentation objective k=${kk} over ${n} descriptors`, bindings: { dist: all.distances.buffer(op), inertia: obj.buffer(op) },
      uniforms: { n, d, k: kk, restart: 0, j: 0, restarts: 1, spherical: 0, row_stride: 0, u: 0 }, workgroups: [1],
    });
    await stage.submit();
    objectives.push((await obj.read())[0]);
    [obj, all.labels, all.distances, km.labels, km.inertias].forEach((t) => t.dispose());
    chosen?.dispose();
    chosen = km.centroids;
    if (kk > 1 && objectives[kk - 1] > o.elbow * objectives[kk - 2]) { k = kk; break; }
  }

  // labels of all descriptors, votes, foreground
  stage = new Stage(gpu, 'coSegmentation vote');
  const all = await kmeansAssign(stage, unit, chosen!);
  const ranges = Tensor.from(gpu, 'u32', [images.length, 2], counts.flatMap((c, m) => [offsets[m], c]), 'co-seg image ranges');
  const vote = Tensor.empty(gpu, 'u32', [images.length, k], 'co-seg votes');
  const fg = Tensor.empty(gpu, 'u32', [n], 'co-seg foreground');
  const g = grid1d(n, 64, gpu.limits.maxComputeWorkgroupsPerDimension);
  const u = { n, k, images: images.length, min_votes: Math.ceil((o.votesPercentage / 100) * images.length), row_stride: g.rowStride, threshold: o.saliencyThreshold };
  stage.dispatch(gpu.kernels.get('probe/co_segmentation', 'votes'), {
    label: `coSegmentation votes ${images.length} images × ${k} clusters`, uniforms: u, workgroups: [Math.ceil((images.length * k) / 64)],
    bindings: { labels: all.labels.buffer(op), saliency: sal.buffer(op), ranges: ranges.buffer(op), vote: vote.buffer(op) },
  });
  stage.dispatch(gpu.kernels.get('probe/co_segmentation', 'foreground'), {
    label: `coSegmentation foreground of ${n} descriptors`, uniforms: u, workgroups: g.workgroups,
    bindings: { labels: all.labels.buffer(op), vote_in: vote.buffer(op), fg: fg.buffer(op) },
  });
  // split back per image
  const foreground = counts.map((c, m) => Tensor.empty(gpu, 'u32', [c], `co-seg foreground image ${m}`));
  const labels = counts.map((c, m) => Tensor.empty(gpu, 'u32', [c], `co-seg labels image ${m}`));
  counts.forEach((c, m) => {
    stage.copy(fg.buffer(op), offsets[m] * 4, foreground[m].buffer(op), 0, c * 4);
    stage.copy(all.labels.buffer(op), offsets[m] * 4, labels[m].buffer(op), 0, c * 4);
  });
  await stage.submit();
  [unit, train, sal, chosen!, all.labels, all.distances, ranges, vote, fg].forEach((t) => t.dispose());
  return { k, objectives, foreground, labels, dispose: () => [...foreground, ...labels].forEach((t) => t.dispose()) };
}
