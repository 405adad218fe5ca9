// Few-shot (K-shot, default 5) foreground segmentation by a linear probe (the paper's Pascal-5i task; protocols.md
// §1.1, §3.1 "plain alternative"): per episode, every support image and the query go through one forward each; per
// (tap, layer) a logistic regression p = σ(w·x̃ + b) is trained on the support cells and applied to the query cells,
// and the query's prediction is scored at its ground truth's resolution with the HSNet/PFENet IoUs:
//   cell label   fg if ≥ fgShare (0.5) of its non-void pixels are fg; cells more than maxVoidShare (0.5) void, and
//                cells without a token, are left out of training
//   prediction   cell fg where p > 0.5, painted onto the pixels its rectangle covers (nearest, cellsToPixels)
//   metric       per class ΣI_fg / ΣU_fg over its episodes, mIoU = mean over the classes scored; FB-IoU over all
//                episodes; void (255) pixels count nowhere
// The statistics of one episode are per-class arrays of intersections and unions, so a resumed run sums exactly.
import type { FileSource } from '../io/source.ts';
import type { FeatureMap } from '../capture/features.ts';
import { cellsToPixels, pixelsToCells } from '../capture/gridPixels.ts';
import { Stage } from '../gpu/stage.ts';
import { Tensor } from '../gpu/tensor.ts';
import type { RgbImage } from '../io/rgbImage.ts';
import { concatRows, gatherRows } from '../ops/rows.ts';
import { logisticRegression, type LogisticRegressionOptions, predict } from '../probe/logisticRegression.ts';
import { type BinaryIouCounts, episodeIou, episodeMask, FewShotIouAccumulator } from '../probe/metrics/iou.ts';
import { denoFileTree, IMAGE_CODEC } from './datasets/dataset.ts';
import { Pascal5iReader, pascal5iFoldClasses, type Pascal5iPairs, VOC_CLASSES, type VocLayout } from './datasets/pascal5i.ts';
import { sweepEntries, sweepImage } from './featureSweep.ts';
import { parseStatKey, type ResultRow, type SampleStats } from './resultsLog.ts';
import { SeededRandom } from './synthetic/seededRandom.ts';
import { imagesContaining, syntheticSegmentationSet } from './synthetic/segmentationSet.ts';
import { emitMaskOverlay, type ProbeContext, type ProbeSample, type ProbeTask } from './task.ts';

/** One image of an episode with its binary mask for the episode class (1 fg, 0 bg, 255 void), row-major. */
export interface FewShotShot {
  readonly id: string;
  readonly image: RgbImage;
  readonly mask: Uint8Array;
}

export interface FewShotEpisode {
  readonly id: string;
  /** The episode's target class (dataset id). */
  readonly classId: number;
  readonly className: string;
  readonly query: FewShotShot;
  readonly supports: readonly FewShotShot[];
}

/** A sample: the episode is read (images decoded) only when it is evaluated. */
export interface FewShotSample {
  read(): Promise<FewShotEpisode>;
}

export interface FewShotProbeOptions {
  /** A training cell is fg when at least this share of its non-void pixels is fg. Default 0.5. */
  fgShare?: number;
  /** Training cells with more than this share of void pixels are left out. Default 0.5. */
  maxVoidShare?: number;
  /** The classifier (defaults: 300 full-batch Adam steps, lr 0.01, λ 1e-3, standardised features). */
  logistic?: LogisticRegressionOptions;
}

export const FEW_SHOT_DEFAULTS = { fgShare: 0.5, maxVoidShare: 0.5, threshold: 0.5 } as const;

/** A feature map with the binary mask of the image it came from (at the image's size). */
export interface MaskedMap {
  map: FeatureMap;
  mask: Uint8Array;
}

export interface FewShotEpisodeResult {
  counts: BinaryIouCounts;
  /** 0/1 per query pixel. */
  prediction: Uint8Array;
  /** Support cells the classifier was trained on, and how many of them were fg. */
  trainCells: number;
  trainFg: number;
}

function checkMask(m: MaskedMap, what: string): { width: number; height: number } {
  const { width, height } = m.map.imageSize;
  if (m.mask.length !== width * height) throw new Error(`${what}: mask has ${m.mask.length} pixels, its feature map's image is ${width}×${height}`);
  return { width, height };
}

/**
 * The model-free core of one episode for one (tap, layer): train on the supports' labelled cells, predict the query
 * cells, paint them to the query's pixels and count I and U for bg and fg against the query mask.
 */
export async function fewShotEpisode(supports: readonly MaskedMap[], query: MaskedMap, opts: FewShotProbeOptions = {}): Promise<FewShotEpisodeResult> {
  if (!supports.length) throw new Error('fewShotEpisode: no support images');
  const fgShare = opts.fgShare ?? FEW_SHOT_DEFAULTS.fgShare, maxVoid = opts.maxVoidShare ?? FEW_SHOT_DEFAULTS.maxVoidShare;
  const gpu = query.map.features.gpu;
  const dim = query.map.dim;
  const labels: number[] = [];
  const indexTensors: Tensor<'u32'>[] = [];
  const stage = new Stage(gpu, 'few-shot probe');
  const parts: Tensor<'f32'>[] = [];
  // training cells: per support, the valid, mostly non-void cells and their fg label (share of fg pixels ≥ fgShare)
  for (const [s, sup] of supports.entries()) {
    const { width, height } = checkMask(sup, `support ${s}`);
    if (sup.map.dim !== dim) throw new Error(`support ${s}: features have ${sup.map.dim} dims, the query's ${dim}`);
    const fg = pixelsToCells(sup.mask, sup.map.rects, width, height, (v) => v === 1, 255);
    const voidShare = pixelsToCells(sup.mask, sup.map.rects, width, height, (v) => v === 255, -1);
    const cells: number[] = [];
    for (let c = 0; c < fg.length; c++) {
      if (!sup.map.valid[c] || Number.isNaN(fg[c]) || voidShare[c] > maxVoid) continue;
      cells.push(c);
      labels.push(fg[c] >= fgShare ? 1 : 0);
    }
    if (!cells.length) continue;
    const index = Tensor.from(gpu, 'u32', [cells.length], cells, `support ${s} training cells`);
    indexTensors.push(index);
    const all = sup.map.features.reshape([sup.map.rows * sup.map.cols, dim]);
    parts.push(await gatherRows(stage, all, index));
  }
  if (!labels.length) throw new Error('fewShotEpisode: the support masks leave no labelled cell to train on (all void or no tokens)');
  const x = parts.length === 1 ? parts[0] : await concatRows(stage, parts);
  const y = Tensor.from(gpu, 'f32', [labels.length], labels, 'support cell labels');
  const model = await logisticRegression(stage, x, y, opts.logistic);
  const prob = await predict(stage, model, query.map.features);
  await stage.submit();
  const p = (await prob.read()) as Float32Array;
  [...parts, ...(parts.length === 1 ? [] : [x]), y, prob, ...indexTensors].forEach((t) => t.dispose());
  model.dispose();
  // query cells: fg where p > 0.5; painted through the cell rectangles at the query mask's resolution
  const { width, height } = checkMask(query, 'query');
  const cellPred = Uint8Array.from(p, (v, c) => (query.map.valid[c] && v > FEW_SHOT_DEFAULTS.threshold ? 1 : 0));
  const prediction = cellsToPixels(cellPred, query.map.rects, width, height, 0);
  const counts = episodeIou({ width, height, data: prediction }, { width, height, data: query.mask }, 'few-shot query');
  return { counts, prediction, trainCells: labels.length, trainFg: labels.reduce((a, b) => a + b, 0) };
}

/** Statistics of one episode: arrays over the task's classes (position of the episode class), additive. */
export function fewShotEpisodeStats(r: FewShotEpisodeResult, classIndex: number, classes: number): Record<string, number[] | number> {
  const one = (v: number) => Array.from({ length: classes }, (_, i) => (i === classIndex ? v : 0));
  return {
    iFg: one(r.counts.intersection[1]), uFg: one(r.counts.union[1]),
    iBg: one(r.counts.intersection[0]), uBg: one(r.counts.union[0]),
    episodes: one(1), trainCells: r.trainCells, trainFg: r.trainFg,
  };
}

/** mIoU (class-wise accumulated, over the classes with episodes) and FB-IoU rows from summed statistics. */
export function fewShotRows(task: string, summed: SampleStats, classes: readonly number[]): ResultRow[] {
  const rows: ResultRow[] = [];
  for (const [key, s] of Object.entries(summed)) {
    const { tap, layer } = parseStatKey(key);
    const arr = (f: string) => (s[f] as number[] | undefined) ?? [];
    const acc = new FewShotIouAccumulator();
    const episodes = arr('episodes');
    classes.forEach((c, i) => {
      if (!episodes[i]) return;
      acc.addCounts({ intersection: [arr('iBg')[i], arr('iFg')[i]], union: [arr('uBg')[i], arr('uFg')[i]] }, c);
    });
    const n = episodes.reduce((a, b) => a + b, 0);
    if (!n) continue;
    const r = acc.result();
    const perClass = Object.fromEntries([...r.perClass].map(([c, v]) => [c, 100 * v]));
    rows.push({ task, tap, layer, metric: 'mIoU', value: 100 * r.mIoU, n, classes: r.perClass.size, perClass });
    rows.push({ task, tap, layer, metric: 'FB-IoU', value: 100 * r.fbIoU, n, classes: r.perClass.size });
  }
  return rows;
}

export interface FewShotTaskOptions {
  name: string;
  /** Dataset class ids the episodes draw from (the stats arrays follow this order). */
  classes: readonly number[];
  samples(): Promise<ProbeSample<FewShotSample>[]>;
  probe?: FewShotProbeOptions;
  /** Extra notes (dataset protocol) printed under the table. */
  notes?: readonly string[];
}

/** The task: one forward per support and query image, then the probe for every (tap, layer) of the run. */
export function fewShotSegmentationTask(o: FewShotTaskOptions): ProbeTask<FewShotSample> {
  const probe = o.probe ?? {};
  const lr = probe.logistic ?? {};
  const notes = [
    ...(o.notes ?? []),
    `Linear probe: logistic regression on the support cells (${lr.optimizer ?? 'adam'}, ${lr.steps ?? 300} full-batch steps, ` +
      `λ ${lr.weightDecay ?? 1e-3}, features standardised with the support statistics: ${lr.standardize ?? true}); the paper does not give optimiser, steps or regularisation.`,
    `Training labels: a cell is foreground when ≥ ${probe.fgShare ?? FEW_SHOT_DEFAULTS.fgShare} of its non-void pixels are; cells more than ` +
      `${probe.maxVoidShare ?? FEW_SHOT_DEFAULTS.maxVoidShare} void (255) and cells without a token are not trained on.`,
    'Prediction: query cell foreground where p > 0.5, painted onto the pixels of its rectangle (nearest, no bilinear upsampling); scored at the ground truth\'s original resolution.',
    'mIoU: per class ΣI_fg/ΣU_fg over its episodes, averaged over the classes that had episodes (HSNet/PFENet class-wise accumulation); FB-IoU: (IoU_fg + IoU_bg)/2 accumulated over all episodes; void pixels count nowhere.',
  ];
  return {
    name: o.name,
    notes,
    samples: o.samples,
    async evaluate(ctx: ProbeContext, sample: ProbeSample<FewShotSample>): Promise<SampleStats> {
      const ep = await sample.sample.read();
      const ci = o.classes.indexOf(ep.classId);
      if (ci < 0) throw new Error(`${o.name}: episode ${ep.id} has class ${ep.classId}, not one of the task's classes ${o.classes.join(', ')}`);
      const shots = [...ep.supports, ep.query];
      const sweeps: Awaited<ReturnType<typeof sweepImage>>[] = [];
      const stats: SampleStats = {};
      try {
        for (const s of shots) sweeps.push(await sweepImage(ctx, s.image));
        const query = sweeps[sweeps.length - 1];
        for (const e of sweepEntries(ctx)) {
          const supportMaps = ep.supports.map((s, i) => ({ map: sweeps[i].maps.get(e.key)!, mask: s.mask }));
          const r = await fewShotEpisode(supportMaps, { map: query.maps.get(e.key)!, mask: ep.query.mask }, probe);
          stats[e.key] = fewShotEpisodeStats(r, ci, o.classes.length);
          await emitMaskOverlay(ctx, [o.name, sample.id, e.key], ep.query.image, r.prediction, ep.query.mask);
        }
      } finally {
        for (const s of sweeps) s.dispose();
      }
      return stats;
    },
    aggregate(summed: SampleStats): ResultRow[] {
      return fewShotRows(o.name, summed, o.classes);
    },
  };
}

export interface Pascal5iTaskOptions {
  fold: number;
  /** Default 1000 (HSNet). */
  episodes?: number;
  /** Default 0 (HSNet seeds its test sampler with 0). */
  seed?: number;
  shots?: number;
  /**
   * Where the query (image, class) pairs come from. Default: HSNet's list `splits/pascal/val/fold{f}.txt` under the
   * root when it exists, else every fold class present in ImageSets/Segmentation/val.txt.
   */
  pairs?: Pascal5iPairs;
  layout?: VocLayout;
  probe?: FewShotProbeOptions;
}

/** Pascal-5i fold f on a VOC2012 directory (JPEGImages, SegmentationClassAug, ImageSets). */
export function pascal5iTask(root: string | FileSource, opts: Pascal5iTaskOptions): ProbeTask<FewShotSample> {
  const classes = pascal5iFoldClasses(opts.fold);
  const files = denoFileTree(root);
  const shots = opts.shots ?? 5, episodes = opts.episodes ?? 1000, seed = opts.seed ?? 0;
  let reader: Promise<Pascal5iReader> | null = null;
  const open = () => reader ??= (async () => {
    const hsnet = `splits/pascal/val/fold${opts.fold}.txt`;
    const pairs: Pascal5iPairs = opts.pairs ??
      ((await files.exists(hsnet)) ? { kind: 'hsnet', list: hsnet } : { kind: 'imageset', list: 'ImageSets/Segmentation/val.txt' });
    return new Pascal5iReader(files, IMAGE_CODEC, { fold: opts.fold, pairs, shots, episodes, seed, layout: opts.layout });
  })();
  return fewShotSegmentationTask({
    name: `pascal5i-fold${opts.fold}`,
    classes,
    probe: opts.probe,
    notes: [
      `Pascal-5i fold ${opts.fold} (classes ${classes.map((c) => VOC_CLASSES[c]).join(', ')}), ${shots}-shot, ${episodes} episodes, seed ${seed}: ` +
        'query i = (image, class) pair i mod #pairs, supports drawn uniformly without replacement from the other images of the class (HSNet\'s rule, kvscope\'s PRNG).',
    ],
    async samples() {
      const r = await open();
      return (await r.ids()).map((id) => ({ id: `episode-${id}`, sample: { read: () => r.read(id) } }));
    },
  });
}

export interface SyntheticFewShotOptions {
  /** Images in the synthetic pool. Default 24. */
  images?: number;
  size?: number | { width: number; height: number };
  /** Object classes (ids 1..classes). Default 3. */
  classes?: number;
  seed?: number;
  episodes?: number;
  shots?: number;
  /** Void band width (px) on label changes, as VOC's boundaries. Default 1. */
  voidBorder?: number;
  probe?: FewShotProbeOptions;
}

/** Episodes over a synthetic segmentation set: episode e targets class 1 + (e mod classes), query and supports drawn by seed. */
export function syntheticFewShotTask(opts: SyntheticFewShotOptions = {}): ProbeTask<FewShotSample> {
  const n = opts.images ?? 24, C = opts.classes ?? 3, seed = opts.seed ?? 0, shots = opts.shots ?? 5;
  const episodes = opts.episodes ?? 2 * C;
  const classes = Array.from({ length: C }, (_, i) => i + 1);
  let set: ReturnType<typeof syntheticSegmentationSet> | null = null;
  const data = () => set ??= syntheticSegmentationSet({ n, size: opts.size ?? 64, classes: C, seed, voidBorder: opts.voidBorder ?? 1 });
  const episode = (e: number): FewShotEpisode => {
    const s = data();
    const c = classes[e % C];
    const pool = imagesContaining(s, c);
    if (pool.length < shots + 1) throw new Error(`syntheticFewShotTask: class ${c} is in ${pool.length} of ${n} images, ${shots + 1} needed (use more images)`);
    // Fisher–Yates with a PRNG seeded by (seed, episode)
    const rng = new SeededRandom(seed * 1000003 + e);
    for (let i = pool.length - 1; i > 0; i--) {
      const j = Math.floor(rng.next() * (i + 1));
      [pool[i], pool[j]] = [pool[j], pool[i]];
    }
    const shot = (i: number): FewShotShot => ({ id: `image-${i}`, image: s.images[i], mask: episodeMask(s.masks[i], c).data as Uint8Array });
    return { id: String(e), classId: c, className: s.classNames[c], query: shot(pool[0]), supports: pool.slice(1, shots + 1).map(shot) };
  };
  return fewShotSegmentationTask({
    name: 'synthetic-fewshot',
    classes,
    probe: opts.probe,
    notes: [`Synthetic few-shot episodes: ${n} images, ${C} classes, seed ${seed}, ${shots}-shot; episode e targets class 1 + (e mod ${C}).`],
    async samples() {
      return Array.from({ length: episodes }, (_, e) => ({ id: `episode-${e}`, sample: { read: async () => episode(e) } }));
    },
  });
}
