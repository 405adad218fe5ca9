// Semantic segmentation by text (the paper's ImageNet-S task): every candidate class name's text vector against the
// image cells, scored at GT resolution with the ImageNet-S accumulator (per-class TP/P/T; mIoU over all N+1 classes).
import type { FileSource } from '../io/source.ts';
import { Stage } from '../gpu/stage.ts';
import { Tensor } from '../gpu/tensor.ts';
import type { RgbImage } from '../io/rgbImage.ts';
import type { MultimodalModel } from '../models/model.ts';
import { concatRows } from '../ops/rows.ts';
import { IMAGENETS_IGNORE, type LabelMap, SemanticIouAccumulator } from '../probe/metrics/iou.ts';
import { denoFileTree, IMAGE_CODEC } from './datasets/dataset.ts';
import { ImagenetSReader } from './datasets/imagenetS.ts';
import type { SweepEntry } from './featureSweep.ts';
import { parseStatKey, type ResultRow, type SampleStats } from './resultsLog.ts';
import { syntheticSegmentationSet } from './synthetic/segmentationSet.ts';
import { emitMaskOverlay, type ProbeContext, type ProbeSample, type ProbeTask } from './task.ts';
import { textNotes, withTextSweep } from './textTask.ts';
import { paintCells, type TextProbeOptions, textSegmentCells } from './textRegions.ts';
import { textVectors } from './textVectors.ts';

export interface SemanticImage {
  readonly id: string;
  readonly image: RgbImage;
  /** Per-pixel class id 0..N (0 = background), IMAGENETS_IGNORE = ignored. */
  readonly labels: LabelMap;
  /** Class ids (1..N) whose names are scored against the image. */
  readonly candidates: readonly number[];
}

export interface SemanticSample {
  read(): Promise<SemanticImage>;
}

export interface SemanticTaskOptions {
  name: string;
  /** N: object classes (ids 1..N). */
  numClasses: number;
  /** Names by class id (index 0 = background, unused). */
  classNames(): Promise<readonly string[]>;
  samples(): Promise<ProbeSample<SemanticSample>[]>;
  /** Prompt with `{name}`. Default 'a photo of a {name}'. */
  template?: string;
  probe?: TextProbeOptions;
  notes?: readonly string[];
}

/** Additive sparse statistics of one image's accumulator: fields tp:k, p:k, t:k for the classes it touched. */
export function semanticImageStats(acc: SemanticIouAccumulator): Record<string, number> {
  const out: Record<string, number> = { images: 1 };
  for (let k = 0; k <= acc.numClasses; k++) {
    if (acc.tp[k]) out[`tp:${k}`] = acc.tp[k];
    if (acc.predArea[k]) out[`p:${k}`] = acc.predArea[k];
    if (acc.gtArea[k]) out[`t:${k}`] = acc.gtArea[k];
  }
  return out;
}

/** "mIoU" rows (official: all N+1 classes; `mIoUPresent` over the classes in the accumulated GT) from summed stats. */
export function semanticRows(task: string, summed: SampleStats, numClasses: number): ResultRow[] {
  const rows: ResultRow[] = [];
  for (const [key, s] of Object.entries(summed)) {
    const { tap, layer } = parseStatKey(key);
    const acc = new SemanticIouAccumulator(numClasses);
    for (const [f, v] of Object.entries(s)) {
      const m = /^(tp|p|t):(\d+)$/.exec(f);
      if (!m) continue;
      const k = Number(m[2]);
      if (k > numClasses) throw new Error(`${task}: statistics for class ${k}, the task has ${numClasses} classes`);
      (m[1] === 'tp' ? acc.tp : m[1] === 'p' ? acc.predArea : acc.gtArea)[k] = v as number;
    }
    const r = acc.result();
    rows.push({ task, tap, layer, metric: 'mIoU', value: 100 * r.mIoU, n: (s.images as number) ?? 0, mIoUPresent: 100 * r.mIoUPresent });
  }
  return rows;
}

export function semanticTextTask(o: SemanticTaskOptions): ProbeTask<SemanticSample> {
  const template = o.template ?? 'a photo of a {name}';
  if (!template.includes('{name}')) throw new Error(`${o.name}: template "${template}" has no {name}`);
  const probe = o.probe ?? {};
  // text vectors of each class, per model, kept on the GPU for the whole run
  const cache = new WeakMap<MultimodalModel, Map<number, Map<string, Tensor<'f32'>>>>();
  let names: readonly string[] | null = null;
  const classVectors = async (ctx: ProbeContext, classId: number, entries: SweepEntry[]) => {
    names ??= await o.classNames();
    const perModel: Map<number, Map<string, Tensor<'f32'>>> = cache.get(ctx.model) ?? new Map();
    cache.set(ctx.model, perModel);
    let v = perModel.get(classId);
    const missing = entries.some((e) => !v?.has(e.key));
    if (!v || missing) {
      v?.forEach((t) => t.dispose());
      v = await textVectors(ctx.model, template.replaceAll('{name}', names[classId]), entries);
      perModel.set(classId, v);
    }
    return v;
  };
  return {
    name: o.name,
    notes: [
      ...(o.notes ?? []),
      ...textNotes('class name', template, probe, true),
      'mIoU: per-class TP/P/T accumulated over the split, IoU_k = TP/(P+T−TP+1e-10), mean over all N+1 classes including background (official ImageNet-S; absent classes count 0); ' +
        'ignore-id pixels removed; mIoUPresent = mean over the classes present in the accumulated GT.',
    ],
    samples: o.samples,
    async evaluate(ctx: ProbeContext, sample: ProbeSample<SemanticSample>): Promise<SampleStats> {
      const s = await sample.sample.read();
      const stats: SampleStats = {};
      await withTextSweep(ctx, o.name, s.image, async (entries, sweep) => {
        const vecs = [];
        for (const c of s.candidates) vecs.push(await classVectors(ctx, c, entries));
        for (const e of entries) {
          const map = sweep.maps.get(e.key)!;
          let pred: Int32Array;
          if (!s.candidates.length) pred = new Int32Array(s.labels.width * s.labels.height);
          else {
            const st = new Stage(map.features.gpu, 'candidate text vectors');
            const parts = vecs.map((v) => v.get(e.key)!);
            const text = parts.length === 1 ? parts[0] : await concatRows(st, parts);
            await st.submit();
            const r = await textSegmentCells(map, text, probe);
            if (parts.length > 1) text.dispose();
            pred = paintCells(map, r.cells, s.candidates);
          }
          const acc = new SemanticIouAccumulator(o.numClasses);
          acc.add({ width: s.labels.width, height: s.labels.height, data: pred }, s.labels, `${o.name} ${s.id}`);
          stats[e.key] = semanticImageStats(acc);
          const gtShown = Array.from(s.labels.data, (v) => (v === IMAGENETS_IGNORE ? 255 : v));
          await emitMaskOverlay(ctx, [o.name, sample.id, e.key], s.image, pred, gtShown);
        }
      });
      return stats;
    },
    aggregate(summed: SampleStats): ResultRow[] {
      return semanticRows(o.name, summed, o.numClasses);
    },
  };
}

export type CandidateRule = 'image' | 'all';

export interface ImagenetSTaskOptions {
  classes: 50 | 300 | 919;
  categoriesFile?: string;
  namesFile?: string;
  /** Human-readable class names (ImageNet-S data.py order); without them the wnids are the prompts. */
  classNames?: readonly string[];
  /**
   * 'image' (default): the image's folder class plus any other class its mask holds (image-level labels, "the class
   * name" of the paper); 'all': every class of the split (argmax over N names, background below the threshold).
   */
  candidates?: CandidateRule;
  template?: string;
  probe?: TextProbeOptions;
}

/** ImageNet-S{50,300,919} validation on disk. */
export function imagenetSTask(root: string | FileSource, opts: ImagenetSTaskOptions): ProbeTask<SemanticSample> {
  const reader = new ImagenetSReader(denoFileTree(root), IMAGE_CODEC, opts);
  const rule = opts.candidates ?? 'image';
  const all = Array.from({ length: opts.classes }, (_, i) => i + 1);
  return semanticTextTask({
    name: `imagenet-s${opts.classes}`,
    numClasses: opts.classes,
    classNames: () => reader.classNames(),
    template: opts.template,
    probe: opts.probe,
    notes: [
      `Candidates: ${rule === 'image' ? 'the image\'s folder class and any other class in its mask (image-level labels)' : `all ${opts.classes} classes`}.` +
        (opts.classNames ? '' : ' No class names given: the wnids are the prompts.'),
    ],
    async samples() {
      return (await reader.ids()).map((id) => ({
        id,
        sample: {
          async read() {
            const s = await reader.read(id);
            const candidates = rule === 'all' ? all : [...new Set([s.classId, ...s.present.filter((c) => c > 0)])];
            return { id, image: s.image, labels: { width: s.image.width, height: s.image.height, data: s.labels }, candidates };
          },
        },
      }));
    },
  });
}

export interface SyntheticSemanticOptions {
  images?: number;
  size?: number | { width: number; height: number };
  classes?: number;
  seed?: number;
  candidates?: CandidateRule;
  template?: string;
  probe?: TextProbeOptions;
}

/** Synthetic objects whose class names ("red striped object", …) are the prompts. */
export function syntheticSemanticTask(opts: SyntheticSemanticOptions = {}): ProbeTask<SemanticSample> {
  const n = opts.images ?? 4, C = opts.classes ?? 3, seed = opts.seed ?? 0, rule = opts.candidates ?? 'image';
  let set: ReturnType<typeof syntheticSegmentationSet> | null = null;
  const data = () => set ??= syntheticSegmentationSet({ n, size: opts.size ?? 64, classes: C, seed });
  return semanticTextTask({
    name: 'synthetic-semantic',
    numClasses: C,
    classNames: async () => data().classNames,
    template: opts.template,
    probe: opts.probe,
    notes: [`Synthetic semantic segmentation: ${n} images, ${C} classes, seed ${seed}; candidates: ${rule === 'image' ? 'the classes in the image' : 'all classes'}.`],
    async samples() {
      return Array.from({ length: n }, (_, i) => ({
        id: `image-${i}`,
        sample: {
          async read() {
            const s = data();
            const present = [...new Set(s.masks[i].data)].filter((c) => c > 0 && c !== 255).sort((a, b) => a - b);
            return { id: `image-${i}`, image: s.images[i], labels: s.masks[i], candidates: rule === 'all' ? Array.from({ length: C }, (_, k) => k + 1) : present };
          },
        },
      }));
    },
  });
}
