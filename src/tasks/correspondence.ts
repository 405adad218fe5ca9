// Semantic correspondence (SPair-71k as DIFT evaluates it, protocols §1.5 / §2.2): both images of a pair are swept
// once each; per (tap, layer) the source keypoints' features are matched by cosine to every target pixel of the
// bilinearly upsampled target map (the GPU correspondence probe, hard argmax), and PCK@0.1 is taken with the
// target bounding box's max side as threshold. Statistics are additive (correct, total, Σ per-pair ratio, pairs),
// so per-image PCK (mean over pairs, all categories pooled: the headline) and per-point PCK come out exactly.
import type { FileSource } from '../io/source.ts';
import { encodePng } from '../io/image.ts';
import type { RgbImage } from '../io/rgbImage.ts';
import { matchesOverlay } from './overlay.ts';
import type { FeatureMap } from '../capture/features.ts';
import { Stage } from '../gpu/stage.ts';
import { correspondence } from '../probe/correspondence.ts';
import { type BoundingBox, pairPck, pckThreshold, type Point } from '../probe/metrics/pck.ts';
import { denoFileTree, IMAGE_CODEC } from './datasets/dataset.ts';
import { SPAIR_CATEGORIES, type SpairCategory, SpairReader, type SpairSplit } from './datasets/spair.ts';
import { sweepImage } from './featureSweep.ts';
import { parseStatKey, type ResultRow, type SampleStats } from './resultsLog.ts';
import { syntheticCorrespondencePairs } from './synthetic/correspondencePairs.ts';
import { emitOverlay, type ProbeContext, type ProbeSample, type ProbeTask } from './task.ts';

export const PCK_ALPHA = 0.1;

/** One pair as the protocol needs it: keypoints in pixel-index coordinates, visible in both images, index-aligned. */
export interface CorrespondencePair {
  id: string;
  category: string;
  src: RgbImage;
  trg: RgbImage;
  srcKps: Point[];
  trgKps: Point[];
  /** [x1, y1, x2, y2] of the target object (its max side is the PCK threshold). */
  trgBox: BoundingBox;
}

/** A pair read when it is evaluated (readers decode images lazily). */
export interface PairSource {
  load(): Promise<CorrespondencePair>;
}

/** Source keypoint → the integer pixel the probe samples (DIFT indexes the upsampled map at [y, x]). */
function sourcePixel(p: Point, img: RgbImage): [number, number] {
  const clamp = (v: number, n: number) => Math.min(n - 1, Math.max(0, Math.floor(v)));
  return [clamp(p[0], img.width), clamp(p[1], img.height)];
}

export interface PairResult {
  stats: SampleStats;
  /** Per statKey: predicted target pixels (x, y), index-aligned with the pair's keypoints. */
  predictions: Map<string, Point[]>;
}

/**
 * The model-free core: PCK statistics of one pair for every (tap, layer) key present in both map sets. A pair with
 * no keypoints gives no statistics (DIFT's per-image mean would divide by zero).
 */
export async function evaluatePair(pair: CorrespondencePair, srcMaps: ReadonlyMap<string, FeatureMap>, trgMaps: ReadonlyMap<string, FeatureMap>, alpha = PCK_ALPHA): Promise<PairResult> {
  const stats: SampleStats = {};
  const predictions = new Map<string, Point[]>();
  if (pair.srcKps.length !== pair.trgKps.length) throw new Error(`${pair.id}: ${pair.srcKps.length} source keypoints for ${pair.trgKps.length} target keypoints`);
  if (pair.srcKps.length === 0) return { stats, predictions };
  const srcSize = { height: pair.src.height, width: pair.src.width }, trgSize = { height: pair.trg.height, width: pair.trg.width };
  const kps = pair.srcKps.map((p) => sourcePixel(p, pair.src));
  for (const [key, src] of srcMaps) {
    const trg = trgMaps.get(key);
    if (!trg) throw new Error(`${pair.id}: the target image has no feature map for ${key}`);
    for (const [side, fm, size] of [['source', src, srcSize], ['target', trg, trgSize]] as const) {
      if (fm.imageSize.height !== size.height || fm.imageSize.width !== size.width) {
        throw new Error(`${pair.id} ${key}: the ${side} feature map is for a ${fm.imageSize.width}×${fm.imageSize.height} image, the ${side} image is ${size.width}×${size.height}`);
      }
    }
    const stage = new Stage(src.features.gpu, `correspondence ${pair.id} ${key}`);
    const match = await correspondence(stage, src.features, srcSize, trg.features, trgSize, kps);
    await stage.submit();
    const xy = await match.pixels.read();
    match.dispose();
    const pred: Point[] = kps.map((_, i) => [xy[2 * i], xy[2 * i + 1]]);
    predictions.set(key, pred);
    const { correct, total } = pairPck({ predKps: pred, trgKps: pair.trgKps, trgBox: pair.trgBox }, alpha, `${pair.id} ${key}`);
    const ratio = correct / total;
    stats[key] = {
      correct, total, ratioSum: ratio, pairs: 1,
      [`ratioSum:${pair.category}`]: ratio, [`pairs:${pair.category}`]: 1,
    };
  }
  return { stats, predictions };
}

/** Rows "PCK@0.1" (per-image, mean over pairs pooled across categories) and "PCK@0.1 per-point", in percent. */
export function aggregateCorrespondence(task: string, summed: SampleStats, alpha = PCK_ALPHA): ResultRow[] {
  const rows: ResultRow[] = [];
  for (const [key, s] of Object.entries(summed)) {
    const pairs = s.pairs as number, total = s.total as number;
    if (!pairs) continue;
    const { tap, layer } = parseStatKey(key);
    rows.push({ task, tap, layer, metric: `PCK@${alpha}`, value: (100 * (s.ratioSum as number)) / pairs, n: pairs });
    rows.push({ task, tap, layer, metric: `PCK@${alpha} per-point`, value: (100 * (s.correct as number)) / total, n: pairs, keypoints: total });
  }
  return rows;
}

const NOTES = [
  'PCK@0.1 is the per-image PCK (mean over pairs of correct/keypoints, all categories pooled, as DIFT eval_spair); "per-point" is Σ correct / Σ keypoints. [paper: confirm which one VRLM reports]',
  'Threshold: 0.1 × max(w, h) of the target bounding box in original target pixels; a keypoint is correct when its distance ≤ that (inclusive).',
  'Features: the model\'s own token grid of each image (no 768×768 resize as in DIFT-SD); both maps are bilinearly upsampled (align_corners = False) to their original image sizes, cosine, hard argmax (exact 4-neighbour form, never materialised). Cells without a token hold zero features.',
  'Source keypoints are sampled at their integer pixel (clamped into the image; SPair keypoints at x = width are moved to width − 1).',
  'Each image is swept in its own forward with the default prompt; source and target never share a context.',
];

async function writeOverlay(ctx: ProbeContext, pair: CorrespondencePair, key: string, pred: readonly Point[], alpha: number): Promise<void> {
  const thr = pckThreshold(pair.trgBox);
  const matches = pred.map((p, i) => ({
    src: sourcePixel(pair.srcKps[i], pair.src), pred: [p[0], p[1]] as [number, number],
    correct: Math.hypot(p[0] - pair.trgKps[i][0], p[1] - pair.trgKps[i][1]) / thr <= alpha,
  }));
  await emitOverlay(ctx, ['correspondence', pair.id, key], () => encodePng(matchesOverlay(pair.src, pair.trg, matches)));
}

/** The probe task over any list of pairs: one sweep per image, the core above, an overlay for the first pairs. */
export function correspondenceTask(name: string, list: () => Promise<ProbeSample<PairSource>[]>, notes: readonly string[] = []): ProbeTask<PairSource> {
  return {
    name,
    notes: [...NOTES, ...notes],
    samples: list,
    async evaluate(ctx, sample) {
      const pair = await sample.sample.load();
      if (pair.srcKps.length === 0) return {};
      const src = await sweepImage(ctx, pair.src);
      try {
        const trg = await sweepImage(ctx, pair.trg);
        try {
          const r = await evaluatePair(pair, src.maps, trg.maps);
          const first = [...r.predictions.keys()][0];
          if (first !== undefined) await writeOverlay(ctx, pair, first, r.predictions.get(first)!, PCK_ALPHA);
          return r.stats;
        } finally {
          trg.dispose();
        }
      } finally {
        src.dispose();
      }
    },
    aggregate: (summed) => aggregateCorrespondence(name, summed),
  };
}

export interface SpairTaskOptions {
  split: SpairSplit;
  /** The first `limit` pairs (after the category filter) in DIFT's order (sorted PairAnnotation listing). */
  limit?: number;
  categories?: readonly SpairCategory[];
}

/** SPair-71k pairs from the official layout under `root` (PairAnnotation/<split> listed, as DIFT does). */
export function spairTask(root: string | FileSource, opts: SpairTaskOptions): ProbeTask<PairSource> {
  const reader = new SpairReader(denoFileTree(root), IMAGE_CODEC, { split: opts.split });
  for (const c of opts.categories ?? []) {
    if (!(SPAIR_CATEGORIES as readonly string[]).includes(c)) throw new Error(`spairTask: unknown category "${c}" (known: ${SPAIR_CATEGORIES.join(', ')})`);
  }
  const notes = [`SPair-71k split ${opts.split}${opts.categories ? `, categories ${opts.categories.join(', ')}` : ''}${opts.limit !== undefined ? `, first ${opts.limit} pairs` : ''}.`];
  return correspondenceTask(`spair71k-${opts.split}`, async () => {
    // pair file names end in ":<category>"
    let ids = [...await reader.ids()];
    if (opts.categories) ids = ids.filter((id) => opts.categories!.some((c) => id.endsWith(`:${c}`)));
    if (opts.limit !== undefined) ids = ids.slice(0, opts.limit);
    return ids.map((id) => ({
      id,
      sample: {
        async load() {
          const p = await reader.read(id);
          return {
            id, category: p.category, src: p.src.image, trg: p.trg.image,
            srcKps: p.keypoints.map((k) => [k.src.x, k.src.y] as Point), trgKps: p.keypoints.map((k) => [k.trg.x, k.trg.y] as Point),
            trgBox: p.trg.bbox,
          };
        },
      },
    }));
  }, notes);
}

export interface SyntheticCorrespondenceOptions {
  n: number;
  size: number | { width: number; height: number };
  seed: number;
}

/**
 * Synthetic pairs (synthetic.ts: one object under a known similarity, exact keypoints). Keypoints visible in both
 * images are kept and moved to the pixel that holds them (pixel-index units, like SPair's integer keypoints).
 */
export function syntheticCorrespondenceTask(opts: SyntheticCorrespondenceOptions): ProbeTask<PairSource> {
  return correspondenceTask(`synthetic-correspondence-${opts.seed}`, () => {
    const pairs = syntheticCorrespondencePairs({ n: opts.n, size: opts.size, seed: opts.seed });
    return Promise.resolve(pairs.map((p, i) => {
      const keep = p.srcKps.map((_, k) => p.srcVisible[k] && p.trgVisible[k]);
      const px = (q: Point): Point => [Math.floor(q[0]), Math.floor(q[1])];
      const pair: CorrespondencePair = {
        id: `synthetic-${opts.seed}-${i}`, category: p.category, src: p.src, trg: p.trg,
        srcKps: p.srcKps.filter((_, k) => keep[k]).map(px), trgKps: p.trgKps.filter((_, k) => keep[k]).map(px), trgBox: p.trgBox,
      };
      return { id: pair.id, sample: { load: () => Promise.resolve(pair) } };
    }));
  }, ['Synthetic pairs: ground-truth keypoints are exact by construction; occluded keypoints are dropped as SPair lists only keypoints visible in both images.']);
}
