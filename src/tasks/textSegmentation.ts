// Text-driven segmentation by dot product (the paper's ImageNet-S and RefCOCO tasks; protocols.md §1.3, §1.4, §3.3):
// a class name or referring expression goes through the MLM alone (a text-only forward of `template` with the name
// filled in); the LAST token of that user text stands for it, read at the same layer and from the same place as the
// image's features for the tap — the cached value (lm.value), the cached key (lm.key, after RoPE at its own
// position), the key before RoPE (lm.key_pre_rope) or the residual stream (lm.hidden) — so text and image vectors
// live in one space. Taps without an LM layer (projector, vision, siglip) have no text counterpart: skipped.
// Per image cell: score_c = cos(v_cell, t_c) over the candidate classes; the cell takes the best candidate when that
// score exceeds a threshold chosen per image by Otsu's rule on the best-score map of the valid cells (else it is
// background); cells are painted onto the pixels of their rectangles (nearest) and scored at GT resolution with the
// ImageNet-S accumulator (per-class TP/P/T; mIoU over all N+1 classes) or the RefCOCO one (mIoU, oIoU).
import type { FileSource } from '../io/source.ts';
import type { FeatureMap } from '../capture/features.ts';
import { cellsToPixels } from '../capture/gridPixels.ts';
import { canonicalTap, isLayered, parseTap } from '../capture/taps.ts';
import { Stage } from '../gpu/stage.ts';
import { Tensor } from '../gpu/tensor.ts';
import { encodePng } from '../io/image.ts';
import type { RgbImage } from '../io/rgbImage.ts';
import { maskOverlay, sideBySide } from './overlay.ts';
import type { MultimodalModel } from '../models/model.ts';
import { featureGather } from '../ops/featureGather.ts';
import { concatRows } from '../ops/rows.ts';
import { disposeResult } from '../probe/agnosticKeys.ts';
import { IMAGENETS_IGNORE, type LabelMap, ReferringIouAccumulator, SemanticIouAccumulator } from '../probe/metrics/iou.ts';
import { scoreLabels, textDotProduct } from '../probe/textDotProduct.ts';
import { denoFileTree, IMAGE_CODEC } from './datasets/dataset.ts';
import { ImagenetSReader } from './datasets/imagenetS.ts';
import { RefcocoParquetReader, RefcocoReader } from './datasets/refcoco.ts';
import { type SweepEntry, sweepEntries, sweepImage } from './featureSweep.ts';
import { parseStatKey, type ResultRow, type SampleStats } from './resultsLog.ts';
import { syntheticSegmentationSet } from './synthetic.ts';
import type { ProbeContext, ProbeSample, ProbeTask } from './task.ts';

// ---------------------------------------------------------------------------------------------------------------
// Text vectors

/** Tokens the chat template appends after the user text (assistant header etc.), per model. */
const suffixTokens = new WeakMap<MultimodalModel, Promise<number>>();

/**
 * How many tokens follow the user text in a text-only prefill: the common suffix of the prompts "a" and "b", which
 * must differ in exactly one token (each a single token) for the rule to hold.
 */
export function promptSuffixLength(model: MultimodalModel): Promise<number> {
  let p = suffixTokens.get(model);
  if (!p) {
    p = (async () => {
      const ids = async (prompt: string) => {
        const r = await model.prefill({ images: [], prompt, logits: 'last' });
        disposeResult(r);
        return r.inputIds;
      };
      const a = await ids('a'), b = await ids('b');
      let pre = 0;
      while (pre < a.length && a[pre] === b[pre]) pre++;
      let suf = 0;
      while (suf < a.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
      if (a.length !== b.length || pre + suf + 1 !== a.length) {
        throw new Error(`text segmentation: cannot locate the user text in the chat template (prompts "a" and "b" gave ids [${a.join(', ')}] and [${b.join(', ')}])`);
      }
      return suf;
    })();
    suffixTokens.set(model, p);
  }
  return p;
}

/** The layered entries of a run: the taps text vectors exist for. */
export function textEntries(entries: readonly SweepEntry[]): SweepEntry[] {
  return entries.filter((e) => isLayered(e.tap) && e.tap !== 'siglip');
}

/**
 * The text representation of `prompt` for every (LM tap, layer): one text-only forward, then the last user-text
 * token's row gathered (all KV heads concatenated, as the image features) → [1, dim] per entry key, on the GPU.
 */
export async function textVectors(model: MultimodalModel, prompt: string, entries: readonly SweepEntry[]): Promise<Map<string, Tensor<'f32'>>> {
  const lm = textEntries(entries);
  const suffix = await promptSuffixLength(model);
  const taps = lm.map((e) => canonicalTap(e.tap, e.layer!)).filter((t) => parseTap(t).kind === 'lmRows');
  const r = await model.prefill({ images: [], prompt, taps, logits: 'last' });
  const out = new Map<string, Tensor<'f32'>>();
  try {
    const position = r.inputIds.length - 1 - suffix;
    if (position < 0) throw new Error(`text segmentation: prompt "${prompt}" left no text token`);
    const pos = Tensor.from(model.gpu, 'u32', [1], [position], 'text token position');
    const stage = new Stage(model.gpu, `text vector "${prompt.slice(0, 40)}"`);
    for (const e of lm) {
      const tap = parseTap(canonicalTap(e.tap, e.layer!));
      const src = tap.kind === 'cache' ? (tap.which === 'key' ? r.cache.keys[tap.layer] : r.cache.values[tap.layer]) : r.taps.get((tap as { name: string }).name);
      if (!src) throw new Error(`text segmentation: the text forward kept no ${canonicalTap(e.tap, e.layer!)}`);
      out.set(e.key, await featureGather(stage, src, pos));
    }
    await stage.submit();
    pos.dispose();
  } finally {
    disposeResult(r);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Region selection

/** Otsu's threshold of a set of scores: the cut maximising the between-group variance (fg = score > cut). */
export function otsuThreshold(values: ArrayLike<number>): number {
  const v = Float64Array.from(values).sort();
  const n = v.length;
  if (!n) return Infinity;
  let best = -1, cut = v[n - 1];
  let sumLow = 0;
  const total = v.reduce((a, b) => a + b, 0);
  for (let i = 0; i < n - 1; i++) {
    sumLow += v[i];
    if (v[i] === v[i + 1]) continue;
    const w0 = (i + 1) / n, w1 = 1 - w0;
    const m0 = sumLow / (i + 1), m1 = (total - sumLow) / (n - i - 1);
    const between = w0 * w1 * (m0 - m1) ** 2;
    if (between > best) { best = between; cut = (v[i] + v[i + 1]) / 2; }
  }
  return cut;
}

export type TextThreshold = 'otsu' | 'mean+std' | { fixed: number };

export interface TextProbeOptions {
  /** Cosine (both sides L2-normalised, as MaskCLIP) or the raw dot product. Default true. */
  cosine?: boolean;
  /** Per-image rule for the best-score threshold. Default 'otsu'. */
  threshold?: TextThreshold;
}

export interface TextCellResult {
  /** Per cell: index of the winning candidate, −1 for background. */
  cells: Int32Array;
  threshold: number;
}

/** Model-free core: score the cells of `map` against text vectors [C, d], pick the best candidate above the image's threshold. */
export async function textSegmentCells(map: FeatureMap, text: Tensor<'f32'>, opts: TextProbeOptions = {}): Promise<TextCellResult> {
  const gpu = map.features.gpu;
  const C = text.rank === 1 ? 1 : text.shape[0];
  const s1 = new Stage(gpu, 'text dot product');
  const scores = await textDotProduct(s1, map.features, text, { cosine: opts.cosine ?? true });
  await s1.submit();
  const host = (await scores.read()) as Float32Array;
  // the image's threshold on the best candidate score of its valid cells
  const best: number[] = [];
  for (let c = 0; c < map.valid.length; c++) {
    if (!map.valid[c]) continue;
    let m = -Infinity;
    for (let j = 0; j < C; j++) m = Math.max(m, host[c * C + j]);
    best.push(m);
  }
  const rule = opts.threshold ?? 'otsu';
  let threshold: number;
  if (rule === 'otsu') threshold = otsuThreshold(best);
  else if (rule === 'mean+std') {
    const mean = best.reduce((a, b) => a + b, 0) / Math.max(best.length, 1);
    threshold = mean + Math.sqrt(best.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(best.length, 1));
  } else threshold = rule.fixed;
  const s2 = new Stage(gpu, 'text score labels');
  const mask = Tensor.from(gpu, 'u32', [map.rows, map.cols], map.valid, 'valid cells');
  const labels = await scoreLabels(s2, scores.reshape([map.rows * map.cols, C]), { threshold: Number.isFinite(threshold) ? threshold : 3.4e38, mask: mask.reshape([map.rows * map.cols]) });
  await s2.submit();
  const l = (await labels.read()) as Uint32Array;
  [scores, mask, labels].forEach((t) => t.dispose());
  return { cells: Int32Array.from(l, (v) => v - 1), threshold };
}

/** Cell labels → a pixel label map at the image's size: candidate j → ids[j], background → 0. */
export function paintCells(map: FeatureMap, cells: Int32Array, ids: readonly number[]): Int32Array {
  const { width, height } = map.imageSize;
  return cellsToPixels(Int32Array.from(cells, (j) => (j < 0 ? 0 : ids[j])), map.rects, width, height, 0);
}

function overlayName(...parts: string[]): string {
  return parts.join('-').replace(/[^A-Za-z0-9._@-]+/g, '_');
}

async function writeOverlay(ctx: ProbeContext, name: string, image: RgbImage, pred: ArrayLike<number>, gt: ArrayLike<number>): Promise<void> {
  if (!ctx.overlayDir || ctx.overlaysLeft <= 0) return;
  ctx.overlaysLeft--;
  await Deno.writeFile(`${ctx.overlayDir}/${name}.png`, encodePng(sideBySide([maskOverlay(image, pred), maskOverlay(image, gt)])));
}

function textNotes(kind: string, template: string, opts: TextProbeOptions, skipped: boolean): string[] {
  const thr = opts.threshold ?? 'otsu';
  return [
    `Text representation: the last token of the user text "${template}" (${kind} filled in) in a text-only forward through the MLM, ` +
      'read at the same layer as the image features: cached value (lm.value), cached key after RoPE at its own position (lm.key), key before RoPE (lm.key_pre_rope), residual stream (lm.hidden); all KV heads concatenated. No prefix, no blocking in the text forward.',
    `Region: ${opts.cosine ?? true ? 'cosine' : 'dot product'} of every image cell with the candidates; a cell takes its best candidate when that score exceeds the image's ` +
      `${thr === 'otsu' ? 'Otsu threshold on the best-score map of its valid cells' : thr === 'mean+std' ? 'mean + std of the best-score map' : `fixed threshold ${thr.fixed}`}, else background; cells painted onto their pixel rectangles (nearest), scored at GT resolution.`,
    ...(skipped ? ['Taps without an LM layer (projector, vision, siglip) have no text representation in their space: not evaluated.'] : []),
  ];
}

function lmOnly(ctx: ProbeContext, task: string): ProbeContext {
  const taps = ctx.taps.filter((t) => isLayered(t));
  if (!taps.length) throw new Error(`${task}: text segmentation needs an LM tap (lm.value, lm.key, lm.key_pre_rope, lm.hidden); asked: ${ctx.taps.join(', ')}`);
  return { ...ctx, taps };
}

// ---------------------------------------------------------------------------------------------------------------
// Semantic segmentation (ImageNet-S)

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
      const lctx = lmOnly(ctx, o.name);
      const entries = textEntries(sweepEntries(lctx));
      const stats: SampleStats = {};
      const sweep = await sweepImage(lctx, s.image);
      try {
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
          await writeOverlay(ctx, overlayName(o.name, sample.id, e.key), s.image, pred, gtShown);
        }
      } finally {
        sweep.dispose();
      }
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

// ---------------------------------------------------------------------------------------------------------------
// Referring segmentation (RefCOCO)

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
      const lctx = lmOnly(ctx, o.name);
      const entries = textEntries(sweepEntries(lctx));
      const { width, height } = s.image;
      if (s.mask.length !== width * height) throw new Error(`${o.name} ${s.id}: mask has ${s.mask.length} pixels, the image is ${width}×${height}`);
      const stats: SampleStats = {};
      const sweep = await sweepImage(lctx, s.image);
      let vecs: Map<string, Tensor<'f32'>> | null = null;
      try {
        vecs = await textVectors(ctx.model, template.replaceAll('{name}', s.expression), entries);
        for (const e of entries) {
          const map = sweep.maps.get(e.key)!;
          const r = await textSegmentCells(map, vecs.get(e.key)!, probe);
          const pred = Uint8Array.from(paintCells(map, r.cells, [1]));
          stats[e.key] = referringSampleStats(pred, s.mask, width, height, `${o.name} ${s.id}`);
          await writeOverlay(ctx, overlayName(o.name, sample.id, e.key), s.image, pred, s.mask);
        }
      } finally {
        sweep.dispose();
        vecs?.forEach((t) => t.dispose());
      }
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
