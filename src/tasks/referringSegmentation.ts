// Referring segmentation by text (the paper's RefCOCO task): the referring expression's text vector against the image
// cells (one candidate), scored at GT resolution with the RefCOCO accumulator (mIoU, oIoU).
import type { FileSource } from '../io/source.ts';
import { Tensor } from '../gpu/tensor.ts';
import type { RgbImage } from '../io/rgbImage.ts';
import { ReferringIouAccumulator } from '../probe/metrics/iou.ts';
import { denoFileTree, IMAGE_CODEC } from './datasets/dataset.ts';
import { RefcocoParquetReader, RefcocoReader } from './datasets/refcoco.ts';
import { parseStatKey, type ResultRow, type SampleStats } from './resultsLog.ts';
import { syntheticSegmentationSet } from './synthetic/segmentationSet.ts';
import { emitMaskOverlay, type ProbeContext, type ProbeSample, type ProbeTask } from './task.ts';
import { textNotes, withTextSweep } from './textTask.ts';
import { paintCells, type TextProbeOptions, textSegmentCells } from './textRegions.ts';
import { textVectors } from './textVectors.ts';

export interface ReferringImage {
  readonly id: string;
  readonly image: RgbImage;
  /** 1 where the referred object is, row-major at the image size. */
  readonly mask: Uint8Array;
  readonly expression: string;
}

export interface ReferringSample {
  read(): Promise<ReferringImage>;
}

export interface ReferringTaskOptions {
  name: string;
  samples(): Promise<ProbeSample<ReferringSample>[]>;
  /** Prompt with `{name}` (the expression). Default '{name}'. */
  template?: string;
  probe?: TextProbeOptions;
  notes?: readonly string[];
}

/** Additive statistics of one sentence: I, U, IoU and the Prec@X hits. */
export function referringSampleStats(pred: Uint8Array, gt: Uint8Array, width: number, height: number, where: string): Record<string, number> {
  const acc = new ReferringIouAccumulator();
  const iou = acc.add({ width, height, data: pred }, { width, height, data: gt }, where);
  let inter = 0, union = 0;
  for (let i = 0; i < gt.length; i++) {
    if (pred[i] && gt[i]) inter++;
    if (pred[i] || gt[i]) union++;
  }
  const out: Record<string, number> = { samples: 1, iouSum: iou, I: inter, U: union };
  for (const [t, hit] of acc.result().precAt) out[`prec@${t}`] = hit;
  return out;
}

/** "mIoU" (mean of per-sentence IoU) and "oIoU" (ΣI/ΣU) rows, Prec@X as extra fields. */
export function referringRows(task: string, summed: SampleStats): ResultRow[] {
  const rows: ResultRow[] = [];
  for (const [key, s] of Object.entries(summed)) {
    const { tap, layer } = parseStatKey(key);
    const v = (f: string) => (s[f] as number | undefined) ?? 0;
    const n = v('samples');
    if (!n) continue;
    const prec = Object.fromEntries(Object.keys(s).filter((f) => f.startsWith('prec@')).map((f) => [f, 100 * v(f) / n]));
    rows.push({ task, tap, layer, metric: 'mIoU', value: 100 * v('iouSum') / n, n, ...prec });
    rows.push({ task, tap, layer, metric: 'oIoU', value: v('U') ? 100 * v('I') / v('U') : 0, n });
  }
  return rows;
}

export function referringTextTask(o: ReferringTaskOptions): ProbeTask<ReferringSample> {
  const template = o.template ?? '{name}';
  if (!template.includes('{name}')) throw new Error(`${o.name}: template "${template}" has no {name}`);
  const probe = o.probe ?? {};
  return {
    name: o.name,
    notes: [
      ...(o.notes ?? []),
      ...textNotes('expression', template, probe, true),
      'mIoU: mean over sentences of I/U (U = 0 → 0, LAVT); oIoU: ΣI/ΣU over all sentences; at the original image resolution; Prec@X as extra fields.',
    ],
    samples: o.samples,
    async evaluate(ctx: ProbeContext, sample: ProbeSample<ReferringSample>): Promise<SampleStats> {
      const s = await sample.sample.read();
      const { width, height } = s.image;
      if (s.mask.length !== width * height) throw new Error(`${o.name} ${s.id}: mask has ${s.mask.length} pixels, the image is ${width}×${height}`);
      const stats: SampleStats = {};
      await withTextSweep(ctx, o.name, s.image, async (entries, sweep) => {
        let vecs: Map<string, Tensor<'f32'>> | null = null;
        try {
          vecs = await textVectors(ctx.model, template.replaceAll('{name}', s.expression), entries);
          for (const e of entries) {
            const map = sweep.maps.get(e.key)!;
            const r = await textSegmentCells(map, vecs.get(e.key)!, probe);
            const pred = Uint8Array.from(paintCells(map, r.cells, [1]));
            stats[e.key] = referringSampleStats(pred, s.mask, width, height, `${o.name} ${s.id}`);
            await emitMaskOverlay(ctx, [o.name, sample.id, e.key], s.image, pred, s.mask);
          }
        } finally {
          vecs?.forEach((t) => t.dispose());
        }
      });
      return stats;
    },
    aggregate(summed: SampleStats): ResultRow[] {
      return referringRows(o.name, summed);
    },
  };
}

export interface RefcocoTaskOptions {
  split: string;
  /** 'refer' (default): refs(<splitBy>).p + instances.json; 'parquet': the jxu124/refcoco copy. */
  format?: 'refer' | 'parquet';
  dataset?: string;
  splitBy?: string;
  imageDir?: string;
  dataDir?: string;
  /** Which text of a sentence: 'raw' (default, as LAVT) or 'sent' (cleaned lower case). */
  text?: 'raw' | 'sent';
  template?: string;
  probe?: TextProbeOptions;
}

/** RefCOCO (UNC) referring segmentation on disk, one sample per sentence. */
export function refcocoTask(root: string | FileSource, opts: RefcocoTaskOptions): ProbeTask<ReferringSample> {
  const files = denoFileTree(root);
  const reader = opts.format === 'parquet'
    ? new RefcocoParquetReader(files, IMAGE_CODEC, { split: opts.split, dataDir: opts.dataDir, imageDir: opts.imageDir })
    : new RefcocoReader(files, IMAGE_CODEC, { split: opts.split, dataset: opts.dataset, splitBy: opts.splitBy, imageDir: opts.imageDir });
  const which = opts.text ?? 'raw';
  return referringTextTask({
    name: `refcoco-${opts.split}`,
    template: opts.template,
    probe: opts.probe,
    notes: [`RefCOCO ${reader.name}: one sample per sentence (its ${which} text); mask = the referred annotation's parts rasterised as pycocotools, fg where any part covers the pixel.`],
    async samples() {
      return (await reader.ids()).map((id) => ({
        id,
        sample: {
          async read() {
            const s = await reader.read(id);
            return { id, image: s.image, mask: s.mask, expression: which === 'raw' ? s.sentence.raw : s.sentence.sent };
          },
        },
      }));
    },
  });
}

export interface SyntheticReferringOptions {
  images?: number;
  size?: number | { width: number; height: number };
  classes?: number;
  seed?: number;
  template?: string;
  probe?: TextProbeOptions;
}

/** Synthetic referring segmentation: the expression is the class name of the image's first object, its mask that object's class. */
export function syntheticReferringTask(opts: SyntheticReferringOptions = {}): ProbeTask<ReferringSample> {
  const n = opts.images ?? 4, C = opts.classes ?? 3, seed = opts.seed ?? 0;
  let set: ReturnType<typeof syntheticSegmentationSet> | null = null;
  const data = () => set ??= syntheticSegmentationSet({ n, size: opts.size ?? 64, classes: C, seed });
  return referringTextTask({
    name: 'synthetic-referring',
    template: opts.template,
    probe: opts.probe,
    notes: [`Synthetic referring segmentation: ${n} images, ${C} classes, seed ${seed}; expression = the name of the image's first object's class.`],
    async samples() {
      return Array.from({ length: n }, (_, i) => ({
        id: `image-${i}`,
        sample: {
          async read() {
            const s = data();
            const c = s.objects[i][0].classId;
            return { id: `image-${i}`, image: s.images[i], mask: Uint8Array.from(s.masks[i].data, (v) => (v === c ? 1 : 0)), expression: s.classNames[c] };
          },
        },
      }));
    },
  });
}
