// Temporal correspondence (DAVIS semi-supervised, protocols §1.6 / §2.1): every frame is swept once; per (tap, layer)
// the first frame's instance masks are propagated through the video with the GPU label-propagation probe and DINO's
// recipe (context = frame 0 with its one-hot labels + the n most recent frames with their soft labels; cosine
// affinity in a ±r window, top-k over all context frames jointly, e^(a/τ) weights). Each frame's soft labels on the
// grid are bilinearly upsampled to the frame's resolution, min–max normalised per channel and arg-maxed (DINO
// step 10), and scored with the DAVIS J and F of every object on frames 1 … T−2.
//
// Memory, streamed frame by frame: per (tap, layer) the GPU holds only the context ring — (1 + n) frames of
// unit features [h, w, d], soft labels [h, w, objects + 1] and validity — plus the current frame's map, which is
// freed once propagated. For E entries that is E·(1 + n)·h·w·(d + objects + 2)·4 bytes (7B values, d = 512 on a
// 27×48 grid, n = 7: ≈ 21 MB per entry), independent of the video's length. On the CPU only the current frame's
// upsampled scores [H, W, objects + 1] and per-object running J and F sums are kept.
import type { FileSource } from '../io/source.ts';
import type { FeatureMap } from '../capture/features.ts';
import { pixelsToCells } from '../capture/gridPixels.ts';
import { encodePng } from '../io/image.ts';
import type { RgbImage } from '../io/rgbImage.ts';
import { maskOverlay, sideBySide } from './overlay.ts';
import { Stage } from '../gpu/stage.ts';
import { Tensor } from '../gpu/tensor.ts';
import { DINO_PROPAGATION, labelPropagation, type LabelPropagationOptions, oneHotLabels } from '../probe/labelPropagation.ts';
import { contourAccuracy, DAVIS_BOUND_TH, regionSimilarity } from '../probe/metrics/davis.ts';
import type { LabelMap } from '../probe/metrics/iou.ts';
import { l2Normalize } from '../probe/similarity.ts';
import { bilinearUpsample } from '../probe/upsample.ts';
import { DAVIS_VOID, type DavisFormat, DavisReader } from './datasets/davis.ts';
import { denoFileTree, IMAGE_CODEC } from './datasets/dataset.ts';
import { sweepImage } from './featureSweep.ts';
import { parseStatKey, type ResultRow, type SampleStats } from './resultsLog.ts';
import { syntheticVideo } from './synthetic/video.ts';
import { emitOverlay, type ProbeContext, type ProbeSample, type ProbeTask } from './task.ts';

/** A video with instance ground truth: 0 background, 1..n objects, 255 void. */
export interface VideoSource {
  name: string;
  /** Frames used (the first `length` of the sequence). */
  length: number;
  frame(i: number): Promise<RgbImage>;
  mask(i: number): Promise<LabelMap>;
}

export interface PropagationSettings extends LabelPropagationOptions {
  /** Most recent frames in the context besides frame 0. DINO: 7. */
  nLastFrames?: number;
}

/** Feature maps of every (tap, layer) entry of one frame; the caller of this hook frees them. */
export type FrameFeatures = (frame: RgbImage, index: number) => Promise<Map<string, FeatureMap>>;

/**
 * DINO's output step on one frame: per channel min–max normalisation to [0, 1] (channels whose max > 0; a channel
 * with max = min becomes 0) of the upsampled scores [H·W, C], then the arg-max channel (ties → lowest id).
 */
export function labelsFromScores(scores: ArrayLike<number>, pixels: number, channels: number): Uint8Array {
  if (scores.length !== pixels * channels) throw new Error(`labelsFromScores: ${scores.length} scores for ${pixels} pixels × ${channels} channels`);
  const lo = new Float64Array(channels).fill(Infinity), hi = new Float64Array(channels).fill(-Infinity);
  for (let p = 0; p < pixels; p++) {
    for (let c = 0; c < channels; c++) {
      const v = scores[p * channels + c];
      if (v < lo[c]) lo[c] = v;
      if (v > hi[c]) hi[c] = v;
    }
  }
  const out = new Uint8Array(pixels);
  for (let p = 0; p < pixels; p++) {
    let best = 0, bestV = -Infinity;
    for (let c = 0; c < channels; c++) {
      let v = scores[p * channels + c];
      if (hi[c] > 0) v = hi[c] > lo[c] ? (v - lo[c]) / (hi[c] - lo[c]) : 0;
      if (v > bestV) { bestV = v; best = c; }
    }
    out[p] = best;
  }
  return out;
}

/** First-frame labels on a grid: each cell takes the label holding most of its (non-void) pixels; empty cells 0. */
export function cellLabels(mask: LabelMap, fm: FeatureMap, labels: number): Int32Array {
  const cells = fm.rows * fm.cols;
  const best = new Int32Array(cells), share = new Float32Array(cells).fill(-1);
  for (let k = 0; k < labels; k++) {
    const f = pixelsToCells(mask.data, fm.rects, mask.width, mask.height, (v) => v === k, DAVIS_VOID);
    for (let c = 0; c < cells; c++) if (f[c] > share[c]) { share[c] = f[c]; best[c] = k; }
  }
  return best;
}

/** Binary map of object k; void reads as background (the official evaluator's GT handling). */
function objectMask(m: LabelMap, k: number): LabelMap {
  const data = new Uint8Array(m.data.length);
  for (let i = 0; i < data.length; i++) data[i] = m.data[i] === k ? 1 : 0;
  return { width: m.width, height: m.height, data };
}

interface EntryState {
  h: number;
  w: number;
  d: number;
  features: Tensor<'f32'>;
  labels: Tensor<'f32'>;
  mask: Tensor<'u32'>;
  jSum: Float64Array;
  fSum: Float64Array;
}

export interface VideoResult {
  stats: SampleStats;
  objects: number;
  /** Per key, the predicted label maps of frames 1 … T−2 when `keepPredictions` was asked. */
  predictions: Map<string, LabelMap[]>;
}

/**
 * The model-free core: propagate the first frame's objects through `video` for every entry `featuresOf` returns,
 * and score frames 1 … T−2. Stats per key: jSum / fSum (Σ over objects of the object's mean over frames), objects.
 * The last frame is neither propagated nor scored (its prediction affects nothing that is scored).
 */
export async function evaluateVideo(
  video: VideoSource, featuresOf: FrameFeatures,
  opts: PropagationSettings & { keepPredictions?: boolean; boundTh?: number; onFrame?: (t: number, frame: RgbImage, gt: LabelMap, pred: Map<string, LabelMap>) => Promise<void> } = {},
): Promise<VideoResult> {
  const T = video.length;
  if (T < 3) throw new Error(`${video.name}: ${T} frames; DAVIS scores frames 1 … T−2, so a video needs at least 3`);
  const nLast = opts.nLastFrames ?? DINO_PROPAGATION.nLastFrames;
  if (!Number.isInteger(nLast) || nLast < 1) throw new Error(`${video.name}: nLastFrames must be an integer ≥ 1, got ${nLast}`);
  const gt0 = await video.mask(0);
  let n = 0;
  for (const v of gt0.data) if (v !== DAVIS_VOID && v > n) n = v;
  const predictions = new Map<string, LabelMap[]>();
  if (n === 0) return { stats: {}, objects: 0, predictions };
  const C = n + 1;
  // frames 1 … T−3 enter the ring (frame T−2 is context for nothing scored)
  const slots = 1 + Math.min(nLast, Math.max(T - 3, 0));
  const state = new Map<string, EntryState>();
  const freeAll = () => { for (const s of state.values()) { s.features.dispose(); s.labels.dispose(); s.mask.dispose(); } };
  // ring slot of frame s: 0 for frame 0, 1 + (s − 1) mod n after
  const put = (stage: Stage, s: EntryState, t: number, feat: Tensor<'f32'>, labels: Tensor<'f32'>, mask: Tensor<'u32'>) => {
    const slot = t === 0 ? 0 : 1 + ((t - 1) % nLast), cell = s.h * s.w;
    stage.copy(feat.buffer('evaluateVideo'), 0, s.features.buffer('evaluateVideo'), slot * cell * s.d * 4, cell * s.d * 4);
    stage.copy(labels.buffer('evaluateVideo'), 0, s.labels.buffer('evaluateVideo'), slot * cell * C * 4, cell * C * 4);
    stage.copy(mask.buffer('evaluateVideo'), 0, s.mask.buffer('evaluateVideo'), slot * cell * 4, cell * 4);
  };
  const validMask = (fm: FeatureMap) => Tensor.from(fm.features.gpu, 'u32', [fm.rows * fm.cols], fm.valid, `${fm.tap} validity`);
  try {
    // frame 0: unit features and one-hot labels into slot 0 of every entry's ring
    const first = await featuresOf(await video.frame(0), 0);
    try {
      for (const [key, fm] of first) {
        if (fm.imageSize.width !== gt0.width || fm.imageSize.height !== gt0.height) {
          throw new Error(`${video.name} ${key}: features are for a ${fm.imageSize.width}×${fm.imageSize.height} frame, the annotation is ${gt0.width}×${gt0.height}`);
        }
        const gpu = fm.features.gpu, { rows: h, cols: w, dim: d } = fm;
        const s: EntryState = {
          h, w, d,
          features: Tensor.empty(gpu, 'f32', [slots, h, w, d], `${key} context features`),
          labels: Tensor.empty(gpu, 'f32', [slots, h, w, C], `${key} context labels`),
          mask: Tensor.empty(gpu, 'u32', [slots * h * w], `${key} context validity`),
          jSum: new Float64Array(C), fSum: new Float64Array(C),
        };
        state.set(key, s);
        const onehot = oneHotLabels(gpu, cellLabels(gt0, fm, C), h, w, C);
        const mask = validMask(fm);
        const stage = new Stage(gpu, `${video.name} frame 0 ${key}`);
        const unit = await l2Normalize(stage, fm.features, { mask });
        put(stage, s, 0, unit, onehot, mask);
        stage.onDone(() => { unit.dispose(); onehot.dispose(); mask.dispose(); });
        await stage.submit();
      }
    } finally {
      for (const fm of first.values()) fm.dispose();
    }
    for (let t = 1; t <= T - 2; t++) {
      const frame = await video.frame(t);
      const gt = await video.mask(t);
      const maps = await featuresOf(frame, t);
      const preds = new Map<string, LabelMap>();
      try {
        for (const [key, s] of state) {
          const fm = maps.get(key);
          if (!fm) throw new Error(`${video.name} frame ${t}: no feature map for ${key}`);
          if (fm.rows !== s.h || fm.cols !== s.w || fm.dim !== s.d) {
            throw new Error(`${video.name} frame ${t} ${key}: a ${fm.rows}×${fm.cols}×${fm.dim} map, frame 0 had ${s.h}×${s.w}×${s.d} (frames must share one grid)`);
          }
          const gpu = fm.features.gpu;
          const mask = validMask(fm);
          const stage = new Stage(gpu, `${video.name} frame ${t} ${key}`);
          const unit = await l2Normalize(stage, fm.features, { mask });
          const soft = await labelPropagation(stage, unit, { features: s.features, labels: s.labels, mask: s.mask, frames: 1 + Math.min(t - 1, nLast) }, { ...opts, targetMask: mask });
          // frame t is context for frames t+1 … T−2 only
          if (t < T - 2) put(stage, s, t, unit, soft, mask);
          const up = await bilinearUpsample(stage, soft, gt.height, gt.width);
          stage.onDone(() => { unit.dispose(); soft.dispose(); mask.dispose(); });
          await stage.submit();
          const scores = await up.read();
          up.dispose();
          const pred: LabelMap = { width: gt.width, height: gt.height, data: labelsFromScores(scores, gt.width * gt.height, C) };
          preds.set(key, pred);
          for (let k = 1; k <= n; k++) {
            const g = objectMask(gt, k), p = objectMask(pred, k);
            s.jSum[k] += regionSimilarity(g, p, `${video.name} frame ${t}`);
            s.fSum[k] += contourAccuracy(g, p, opts.boundTh ?? DAVIS_BOUND_TH, `${video.name} frame ${t}`).f;
          }
          if (opts.keepPredictions) {
            const list = predictions.get(key) ?? [];
            list.push(pred);
            predictions.set(key, list);
          }
        }
      } finally {
        for (const fm of maps.values()) fm.dispose();
      }
      if (opts.onFrame) await opts.onFrame(t, frame, gt, preds);
    }
    const frames = T - 2;
    const stats: SampleStats = {};
    for (const [key, s] of state) {
      let j = 0, f = 0;
      for (let k = 1; k <= n; k++) { j += s.jSum[k] / frames; f += s.fSum[k] / frames; }
      stats[key] = { jSum: j, fSum: f, objects: n };
    }
    return { stats, objects: n, predictions };
  } finally {
    freeAll();
  }
}

/** Rows "J&F", "J", "F" (J-Mean / F-Mean over all objects of all videos, percent). */
export function aggregateVideo(task: string, summed: SampleStats, videos: number): ResultRow[] {
  const rows: ResultRow[] = [];
  for (const [key, s] of Object.entries(summed)) {
    const objects = s.objects as number;
    if (!objects) continue;
    const { tap, layer } = parseStatKey(key);
    const j = (s.jSum as number) / objects, f = (s.fSum as number) / objects;
    const base = { task, tap, layer, n: objects, videos };
    rows.push({ ...base, metric: 'J&F', value: 50 * (j + f) }, { ...base, metric: 'J', value: 100 * j }, { ...base, metric: 'F', value: 100 * f });
  }
  return rows;
}

const NOTES = [
  'Propagation: DINO eval_video_segmentation defaults (context = frame 0 + 7 most recent frames, window ±12 cells, top-5 with ties kept, τ = 0.1) on the model\'s token grid; VRLM does not say whether it kept the queue / window / top-k [paper: confirm].',
  'First-frame labels per cell: the label covering most of the cell\'s non-void pixels (through the token→pixel rectangles), one-hot; DINO resizes the mask with nearest neighbour instead.',
  'Predictions: soft labels bilinearly upsampled (align_corners = False) from the grid straight to the frame resolution, per-channel min–max normalised, arg-max; cells without a token are never sources and get zero labels.',
  'Scoring: official DAVIS J / F (void as background in GT, frames 1 … T−2, objects = max id of frame 0); J&F = (J-Mean + F-Mean)/2 over all objects, n = objects. The last frame is not propagated (it is not scored).',
  'Each frame is swept in its own forward with the default prompt (frames never share a context).',
];

function sweepFeatures(ctx: ProbeContext): FrameFeatures {
  return async (frame) => {
    const s = await sweepImage(ctx, frame);
    return s.maps;
  };
}

/** The probe task over any list of videos: one sweep per frame, the streaming core, an overlay for a few frames. */
export function videoTask(name: string, list: () => Promise<ProbeSample<VideoSource>[]>, settings: PropagationSettings = {}, notes: readonly string[] = []): ProbeTask<VideoSource> {
  return {
    name,
    notes: [...NOTES, ...notes],
    samples: list,
    async evaluate(ctx, sample) {
      const video = sample.sample;
      const r = await evaluateVideo(video, sweepFeatures(ctx), {
        ...settings,
        async onFrame(t, frame, gt, preds) {
          if (t !== 1) return;
          const [key, pred] = [...preds][0] ?? [];
          if (!key || !pred) return;
          await emitOverlay(ctx, ['video', video.name, `frame${t}`, key], () =>
            encodePng(sideBySide([maskOverlay(frame, gt.data.map((v) => (v === DAVIS_VOID ? 0 : v))), maskOverlay(frame, pred.data)])));
        },
      });
      return r.stats;
    },
    aggregate: (summed, n) => aggregateVideo(name, summed, n),
  };
}

export interface DavisTaskOptions {
  format: DavisFormat;
  /** Sequence names; default: the split list when `split` is given, else every folder under JPEGImages/480p. */
  sequences?: readonly string[];
  split?: string;
  /** Use only the first maxFrames frames of each sequence (scored: frames 1 … maxFrames−2). */
  maxFrames?: number;
  settings?: PropagationSettings;
}

/** DAVIS 2017 (palette ids) or 2016 (grey 0/255, one object) sequences from the official 480p layout. */
export function davisTask(root: string | FileSource, opts: DavisTaskOptions): ProbeTask<VideoSource> {
  const reader = new DavisReader(denoFileTree(root), IMAGE_CODEC, { format: opts.format, split: opts.split });
  const notes = [`DAVIS ${opts.format}${opts.maxFrames ? `, first ${opts.maxFrames} frames per sequence (a truncated sequence is scored on its own frames 1 … T−2)` : ''}.`];
  return videoTask(`davis${opts.format}`, async () => {
    const names = opts.sequences ?? await reader.ids();
    const out: ProbeSample<VideoSource>[] = [];
    for (const name of names) {
      const seq = await reader.read(name);
      const length = Math.min(seq.frames.length, opts.maxFrames ?? Infinity);
      out.push({
        id: name,
        sample: {
          name, length,
          frame: (i) => seq.frame(i),
          mask: async (i) => { const m = await seq.mask(i); return { width: m.width, height: m.height, data: m.ids }; },
        },
      });
    }
    return out;
  }, opts.settings, notes);
}

export interface SyntheticVideoTaskOptions {
  n: number;
  frames: number;
  size: number | { width: number; height: number };
  objects: number;
  seed: number;
  settings?: PropagationSettings;
}

/** Synthetic videos (synthetic.ts: textured objects moving and scaling over a static scene, exact instance masks). */
export function syntheticVideoTask(opts: SyntheticVideoTaskOptions): ProbeTask<VideoSource> {
  return videoTask(`synthetic-video-${opts.seed}`, () => Promise.resolve(Array.from({ length: opts.n }, (_, i) => {
    let video: ReturnType<typeof syntheticVideo> | null = null;
    const get = () => (video ??= syntheticVideo({ frames: opts.frames, size: opts.size, objects: opts.objects, seed: opts.seed + i }));
    const name = `synthetic-${opts.seed + i}`;
    return { id: name, sample: { name, length: opts.frames, frame: (t: number) => Promise.resolve(get().frames[t]), mask: (t: number) => Promise.resolve(get().masks[t]) } };
  })), opts.settings, ['Synthetic videos: ground truth exact by construction (no void pixels).']);
}
