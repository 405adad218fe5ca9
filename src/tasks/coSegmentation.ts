// Co-segmentation by clustering (the paper's MSRC task; protocols.md §1.2, §3.2 after Amir et al.): every image of
// a set (one object class) goes through one forward; per (tap, layer) the features of all valid cells of the set
// are clustered together and the clusters common to the set are the foreground:
//   k-means   spherical (cells L2-normalised, pooled over the set's images), k = 1, 2, … kMax; objective(k) = the
//             best restart's mean squared distance; stop at the first k with objective(k) > elbow·objective(k−1)
//             and keep that k (Amir's quirk); no stop → kMax
//   votes     image i votes for cluster k when k holds cells of i and — with the 'centre' prior — their mean centre
//             saliency exceeds the mean over all of i's cells (saliency = 1 − normalised Chebyshev distance of the
//             cell centre to the image centre); cluster k is foreground with ≥ ceil(votesShare·images) votes
//   mask      foreground cells painted onto the pixels of their rectangles (nearest); no GrabCut refinement
//   metric    Jaccard and precision per image at GT resolution, mean over the set's images, then over sets
// Amir et al.'s saliency is DINO's CLS attention, which LLaVA/Qwen image tokens have no counterpart of; the centre
// prior (or 'none': commonness alone) is kvscope's substitute.
import type { FileSource } from '../io/source.ts';
import type { FeatureMap } from '../capture/features.ts';
import { cellsToPixels } from '../capture/gridPixels.ts';
import { Stage } from '../gpu/stage.ts';
import { Tensor } from '../gpu/tensor.ts';
import type { RgbImage } from '../io/rgbImage.ts';
import { concatRows, gatherRows } from '../ops/rows.ts';
import { kmeans, type KmeansResult } from '../probe/kmeans.ts';
import { CosegAccumulator, type CosegImageScore, type EmptyJaccard } from '../probe/metrics/jaccard.ts';
import { VOID_LABEL } from '../probe/metrics/iou.ts';
import { denoFileTree, IMAGE_CODEC } from './datasets/dataset.ts';
import { CosegReader, MSRC_CLASSES, MSRC_V2_LAYOUT, MSRC_VOID, type MsrcLabelLayout, MsrcLabelReader } from './datasets/msrc.ts';
import { sweepEntries, sweepImage } from './featureSweep.ts';
import { parseStatKey, type ResultRow, type SampleStats } from './resultsLog.ts';
import { syntheticSegmentationSet } from './synthetic/segmentationSet.ts';
import { emitMaskOverlay, type ProbeContext, type ProbeSample, type ProbeTask } from './task.ts';

/** One image of a co-segmentation set with its mask (1 fg, 0 bg, 255 void), row-major at the image's size. */
export interface CosegShot {
  readonly name: string;
  readonly image: RgbImage;
  readonly mask: Uint8Array;
}

export interface CosegSetSample {
  readonly name: string;
  read(): Promise<readonly CosegShot[]>;
}

export type CosegPrior = 'centre' | 'none';

export interface CosegProbeOptions {
  /** Largest k tried. Default 14 (Amir et al.). */
  kMax?: number;
  /** Elbow factor. Default 0.975. */
  elbow?: number;
  /** Share of the set's images that must vote for a cluster. Default 0.75. */
  votesShare?: number;
  /** Saliency prior of the vote. Default 'centre'. */
  prior?: CosegPrior;
  /** k-means settings. Defaults: 50 Lloyd iterations, 10 restarts, seed 0 (Amir: faiss, 300 iterations). */
  iterations?: number;
  restarts?: number;
  seed?: number;
  /** J when prediction and GT are both empty. Default 'one'. */
  emptyJaccard?: EmptyJaccard;
}

export const COSEG_DEFAULTS = { kMax: 14, elbow: 0.975, votesShare: 0.75, prior: 'centre' as CosegPrior, iterations: 50, restarts: 10, seed: 0 };

export interface CosegSetResult {
  k: number;
  /** Per cluster: foreground or not. */
  foreground: boolean[];
  /** 0/1 per pixel, per image. */
  predictions: Uint8Array[];
  scores: CosegImageScore[];
  /** Mean over the images (J over those scored; NaN when none). */
  jaccard: number;
  precision: number;
}

/** Centre saliency of each cell of a map: 1 − max(|dx|/(W/2), |dy|/(H/2)) of its rectangle's centre. */
function centreSaliency(map: FeatureMap): Float64Array {
  const { width, height } = map.imageSize;
  const out = new Float64Array(map.rows * map.cols);
  for (let c = 0; c < out.length; c++) {
    const [x0, y0, x1, y1] = map.rects.subarray(4 * c, 4 * c + 4);
    const dx = Math.abs((x0 + x1) / 2 - width / 2) / (width / 2), dy = Math.abs((y0 + y1) / 2 - height / 2) / (height / 2);
    out[c] = 1 - Math.min(1, Math.max(dx, dy));
  }
  return out;
}

/** The model-free core for one (tap, layer): cluster the set's cells, vote, paint and score every image. */
export async function cosegSet(maps: readonly FeatureMap[], masks: readonly Uint8Array[], opts: CosegProbeOptions = {}): Promise<CosegSetResult> {
  const o = { ...COSEG_DEFAULTS, ...opts };
  if (!maps.length || maps.length !== masks.length) throw new Error(`cosegSet: ${maps.length} feature maps for ${masks.length} masks`);
  const gpu = maps[0].features.gpu, dim = maps[0].dim;
  // the valid cells of every image, pooled in image order
  const cellsOf = maps.map((m, i) => {
    if (m.dim !== dim) throw new Error(`cosegSet: image ${i} features have ${m.dim} dims, image 0's ${dim}`);
    const { width, height } = m.imageSize;
    if (masks[i].length !== width * height) throw new Error(`cosegSet: image ${i} mask has ${masks[i].length} pixels, its image is ${width}×${height}`);
    return [...m.valid.keys()].filter((c) => m.valid[c]);
  });
  const total = cellsOf.reduce((a, c) => a + c.length, 0);
  if (!total) throw new Error('cosegSet: no image of the set has a valid cell');
  const gather = new Stage(gpu, 'coseg cells');
  const index = cellsOf.map((cells, i) => cells.length ? Tensor.from(gpu, 'u32', [cells.length], cells, `coseg image ${i} cells`) : null);
  const parts: Tensor<'f32'>[] = [];
  for (const [i, m] of maps.entries()) {
    if (index[i]) parts.push(await gatherRows(gather, m.features.reshape([m.rows * m.cols, dim]), index[i]!));
  }
  const x = parts.length === 1 ? parts[0] : await concatRows(gather, parts);
  await gather.submit();
  if (parts.length > 1) parts.forEach((t) => t.dispose());
  index.forEach((t) => t?.dispose());

  // k by the elbow rule: the first k whose objective exceeds elbow × the previous one
  let chosen: KmeansResult | null = null, k = 0, previous = Infinity;
  const kMax = Math.min(o.kMax, total);
  try {
    for (let kk = 1; kk <= kMax; kk++) {
      const stage = new Stage(gpu, `coseg kmeans k=${kk}`);
      const res = await kmeans(stage, x, kk, { metric: 'cosine', iterations: o.iterations, restarts: o.restarts, seed: o.seed });
      await stage.submit();
      const objective = Math.min(...((await res.inertias.read()) as Float32Array));
      chosen?.dispose();
      chosen = res;
      k = kk;
      if (kk > 1 && objective > o.elbow * previous) break;
      previous = objective;
    }
    const labels = (await chosen!.labels.read()) as Uint32Array;

    // votes: per image, the clusters present (and, with the centre prior, more central than the image's average)
    const votes = new Float64Array(k);
    let at = 0;
    const cellLabels = maps.map((m, i) => {
      const lab = new Int32Array(m.rows * m.cols).fill(-1);
      for (const c of cellsOf[i]) lab[c] = labels[at++];
      const sal = o.prior === 'centre' ? centreSaliency(m) : null;
      const count = new Float64Array(k), salSum = new Float64Array(k);
      let allSal = 0;
      for (const c of cellsOf[i]) {
        count[lab[c]]++;
        salSum[lab[c]] += sal ? sal[c] : 1;
        allSal += sal ? sal[c] : 1;
      }
      const mean = cellsOf[i].length ? allSal / cellsOf[i].length : 0;
      for (let j = 0; j < k; j++) if (count[j] > 0 && (!sal || salSum[j] / count[j] > mean)) votes[j]++;
      return lab;
    });
    const need = Math.ceil(o.votesShare * maps.length);
    const foreground = Array.from(votes, (v) => v >= need);

    const acc = new CosegAccumulator({ ignoreVoid: true, emptyJaccard: o.emptyJaccard });
    const predictions: Uint8Array[] = [], scores: CosegImageScore[] = [];
    maps.forEach((m, i) => {
      const { width, height } = m.imageSize;
      const cellFg = Uint8Array.from(cellLabels[i], (l) => (l >= 0 && foreground[l] ? 1 : 0));
      const pred = cellsToPixels(cellFg, m.rects, width, height, 0);
      predictions.push(pred);
      scores.push(acc.add('set', { width, height, data: pred }, { width, height, data: masks[i] }, `co-segmentation image ${i}`));
    });
    const r = acc.result();
    return { k, foreground, predictions, scores, jaccard: r.jaccard, precision: r.precision };
  } finally {
    chosen?.dispose();
    x.dispose();
  }
}

/** Additive statistics of one set: its mean J and precision (for the mean over sets) and image sums (pooled). */
export function cosegSetStats(r: CosegSetResult): Record<string, number> {
  const js = r.scores.flatMap((s) => (s.jaccard === null ? [] : [s.jaccard]));
  return {
    sets: 1, jaccardSets: Number.isNaN(r.jaccard) ? 0 : 1, setJaccard: Number.isNaN(r.jaccard) ? 0 : r.jaccard, setPrecision: r.precision,
    images: r.scores.length, jaccardImages: js.length, jaccardSum: js.reduce((a, b) => a + b, 0),
    precisionSum: r.scores.reduce((a, s) => a + s.precision, 0), k: r.k,
  };
}

/** "Jaccard" and "precision" rows (mean over sets of the per-set means; pooled means as extra fields). */
export function cosegRows(task: string, summed: SampleStats): ResultRow[] {
  const rows: ResultRow[] = [];
  for (const [key, s] of Object.entries(summed)) {
    const { tap, layer } = parseStatKey(key);
    const v = (f: string) => (s[f] as number | undefined) ?? 0;
    if (!v('sets')) continue;
    const common = { task, tap, layer, n: v('sets'), images: v('images'), meanK: v('k') / v('sets') };
    rows.push({ ...common, metric: 'Jaccard', value: v('jaccardSets') ? 100 * v('setJaccard') / v('jaccardSets') : 0, pooled: v('jaccardImages') ? 100 * v('jaccardSum') / v('jaccardImages') : 0 });
    rows.push({ ...common, metric: 'precision', value: 100 * v('setPrecision') / v('sets'), pooled: 100 * v('precisionSum') / v('images') });
  }
  return rows;
}

export interface CosegTaskOptions {
  name: string;
  samples(): Promise<ProbeSample<CosegSetSample>[]>;
  probe?: CosegProbeOptions;
  notes?: readonly string[];
}

/** The task: one forward per image of the set, then the clustering for every (tap, layer). */
export function coSegmentationTask(t: CosegTaskOptions): ProbeTask<CosegSetSample> {
  const o = { ...COSEG_DEFAULTS, ...(t.probe ?? {}) };
  const notes = [
    ...(t.notes ?? []),
    `Clustering: spherical k-means (cells L2-normalised, pooled over the set; k-means++ seeding, ${o.iterations} Lloyd iterations, best of ${o.restarts} restarts), ` +
      `k = first k ≤ ${o.kMax} whose objective exceeds ${o.elbow}× the previous one (Amir et al.'s elbow, that k kept).`,
    `Foreground: clusters voted for by ≥ ${Math.round(100 * o.votesShare)}% of the set's images; an image votes for a cluster holding some of its cells` +
      (o.prior === 'centre' ? ' whose mean centre saliency exceeds the image\'s average (centre prior standing in for DINO\'s CLS-attention saliency, which MLM image tokens lack).' : ' (no saliency prior: commonness alone).'),
    'Masks: foreground cells painted onto their pixel rectangles (nearest); no GrabCut refinement. Jaccard and precision (pixel accuracy) per image at GT resolution, void pixels left out; ' +
      `mean over each set's images, then over sets (pooled image means as extra fields); empty prediction and GT give J = ${o.emptyJaccard === 'skip' ? 'skip' : '1'}.`,
  ];
  return {
    name: t.name,
    notes,
    samples: t.samples,
    async evaluate(ctx: ProbeContext, sample: ProbeSample<CosegSetSample>): Promise<SampleStats> {
      const shots = await sample.sample.read();
      if (!shots.length) throw new Error(`${t.name}: set ${sample.sample.name} has no images`);
      const sweeps: Awaited<ReturnType<typeof sweepImage>>[] = [];
      const stats: SampleStats = {};
      try {
        for (const s of shots) sweeps.push(await sweepImage(ctx, s.image));
        for (const e of sweepEntries(ctx)) {
          const r = await cosegSet(sweeps.map((s) => s.maps.get(e.key)!), shots.map((s) => s.mask), o);
          stats[e.key] = cosegSetStats(r);
          for (const [i, s] of shots.entries()) {
            await emitMaskOverlay(ctx, [t.name, sample.id, s.name, e.key], s.image, r.predictions[i], s.mask);
          }
        }
      } finally {
        for (const s of sweeps) s.dispose();
      }
      return stats;
    },
    aggregate(summed: SampleStats): ResultRow[] {
      return cosegRows(t.name, summed);
    },
  };
}

export interface MsrcTaskOptions {
  /**
   * 'sets' (default): one folder per set with images and GroundTruth/<name>.png binary masks (CosegReader);
   * 'labels': MSRC-v2 colour label maps, one set per class = the images showing it, mask = that class (void kept).
   */
  source?: 'sets' | 'labels';
  /** 'labels' only: file layout (default MSRC-v2's Images/, GroundTruth/). */
  layout?: MsrcLabelLayout;
  /** 'labels' only: class names forming sets (default every class but void). */
  classes?: readonly string[];
  /** 'labels' only: fewest images a class needs to form a set. Default 2. */
  minImages?: number;
  /** 'sets' only: mask folder inside each set (default 'GroundTruth'). */
  maskDir?: string;
  probe?: CosegProbeOptions;
}

/** MSRC co-segmentation on disk. */
export function msrcTask(root: string | FileSource, opts: MsrcTaskOptions = {}): ProbeTask<CosegSetSample> {
  const files = denoFileTree(root);
  const source = opts.source ?? 'sets';
  const samples = async (): Promise<ProbeSample<CosegSetSample>[]> => {
    if (source === 'sets') {
      const reader = new CosegReader(files, IMAGE_CODEC, { maskDir: opts.maskDir });
      return (await reader.ids()).map((set) => ({
        id: set,
        sample: { name: set, read: async () => (await reader.read(set)).images.map((im) => ({ name: im.name, image: im.image, mask: im.mask })) },
      }));
    }
    const reader = new MsrcLabelReader(files, IMAGE_CODEC, opts.layout ?? MSRC_V2_LAYOUT);
    const byClass = new Map<number, string[]>();
    for (const id of await reader.ids()) {
      for (const c of (await reader.read(id)).classes) byClass.set(c, [...(byClass.get(c) ?? []), id]);
    }
    const wanted = opts.classes ?? MSRC_CLASSES.filter((_, c) => c !== MSRC_VOID);
    for (const name of wanted) if (!MSRC_CLASSES.includes(name)) throw new Error(`msrcTask: unknown MSRC class "${name}" (known: ${MSRC_CLASSES.slice(1).join(', ')})`);
    return wanted.flatMap((name) => {
      const c = MSRC_CLASSES.indexOf(name);
      const ids = byClass.get(c) ?? [];
      if (ids.length < (opts.minImages ?? 2)) return [];
      const read = async () => {
        const out: CosegShot[] = [];
        for (const id of ids) {
          const s = await reader.read(id);
          out.push({ name: id, image: s.image, mask: Uint8Array.from(s.labels, (v) => (v === MSRC_VOID ? VOID_LABEL : v === c ? 1 : 0)) });
        }
        return out;
      };
      return [{ id: name, sample: { name, read } }];
    });
  };
  return coSegmentationTask({
    name: 'msrc-coseg',
    probe: opts.probe,
    samples,
    notes: [source === 'sets'
      ? `MSRC co-segmentation sets from ${root} (one folder per set, binary masks).`
      : `MSRC sets built from colour label maps in ${root}: one set per class over the images showing it; void pixels are not scored.`],
  });
}

export interface SyntheticCosegOptions {
  sets?: number;
  imagesPerSet?: number;
  size?: number | { width: number; height: number };
  classes?: number;
  seed?: number;
  /** Objects per image (the common one included). Default [1, 2]. */
  objectsPerImage?: readonly [number, number];
  probe?: CosegProbeOptions;
}

/** Synthetic co-segmentation: set s shows class 1 + (s mod classes) in every image, on backgrounds that vary. */
export function syntheticCosegTask(opts: SyntheticCosegOptions = {}): ProbeTask<CosegSetSample> {
  const sets = opts.sets ?? 2, per = opts.imagesPerSet ?? 4, C = opts.classes ?? 3, seed = opts.seed ?? 0;
  const readSet = (s: number): CosegShot[] => {
    const common = 1 + (s % C);
    const d = syntheticSegmentationSet({ n: per, size: opts.size ?? 64, classes: C, seed: seed * 7919 + s, commonClass: common, objectsPerImage: opts.objectsPerImage ?? [1, 2] });
    return d.images.map((image, i) => ({ name: `image-${i}`, image, mask: Uint8Array.from(d.masks[i].data, (v) => (v === 255 ? 255 : v === common ? 1 : 0)) }));
  };
  return coSegmentationTask({
    name: 'synthetic-coseg',
    probe: opts.probe,
    notes: [`Synthetic co-segmentation: ${sets} sets of ${per} images, ${C} classes, seed ${seed}; set s shares class 1 + (s mod ${C}).`],
    async samples() {
      return Array.from({ length: sets }, (_, s) => ({ id: `set-${s}`, sample: { name: `set-${s}`, read: async () => readSet(s) } }));
    },
  });
}
