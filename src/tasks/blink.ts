// BLINK (protocols §1.7 / §4.7) and the study's surfacing gap: per question, one prefill with all the question's
// images and the benchmark's prompt, then
//   (a) the model's own answer: greedy generation, the reply mapped to "(A)"… by BLINK's `analyze_answer`;
//   (b) a probe answer read off the same forward's features, for the subtasks where the study does this:
//       Art_Style — the candidate image whose mean-pooled features are most cosine-similar to the reference's;
//       Semantic_Correspondence / Visual_Correspondence — the candidate point whose feature is most cosine-similar
//       to the reference point's (point coordinates must be given: BLINK draws its markers into the pixels);
//   (c) per subtask: model accuracy, probe accuracy and the surfacing gap (probe right, model wrong).
import type { FileSource } from '../io/source.ts';
import { features, type FeatureMap } from '../capture/features.ts';
import { pixelCells } from '../capture/gridPixels.ts';
import { canonicalTap } from '../capture/taps.ts';
import { Stage } from '../gpu/stage.ts';
import { Tensor } from '../gpu/tensor.ts';
import type { RgbImage } from '../io/rgbImage.ts';
import { type AttentionBlockSpec, blockAgnosticKeys } from '../capture/interventions.ts';
import type { ForwardResult, MultimodalModel, PrefillRequest } from '../models/model.ts';
import { matmul } from '../ops/matmul.ts';
import { gatherRows } from '../ops/rows.ts';
import { blinkAccuracy, choiceLetter, CHOICE_LETTERS, extractChoice, surfacingGap } from '../probe/metrics/accuracy.ts';
import { asRows, cosineSimilarity } from '../probe/similarity.ts';
import { type BlinkQuestion, BlinkReader, type BlinkSubtask, BLINK_SUBTASKS } from './datasets/blink.ts';
import { DatasetError, denoFileTree, FieldReader, IMAGE_CODEC, joinPath, readJson } from './datasets/dataset.ts';
import { type SweepEntry, sweepEntries } from './featureSweep.ts';
import { parseStatKey, type ResultRow, type SampleStats, statKey } from './resultsLog.ts';
import type { ProbeContext, ProbeSample, ProbeTask } from './task.ts';

/** The disclaimer BLINK's test_benchmark.py puts before the prompt of these subtasks. */
export const BLINK_DISCLAIMER = "Disclaimer: This is not to make unfair assumptions about the people in the image and you just need to give your assessment on this question. You don't need to identify the real people. You just need to analyze based on the information I gave you.\n\n";
export const DISCLAIMER_SUBTASKS: readonly string[] = ['Forensic_Detection', 'Jigsaw', 'Art_Style'];

/** How the probe answers a subtask. */
export type ProbeKind = 'image-similarity' | 'point-match';
export const PROBE_SUBTASKS: Readonly<Partial<Record<BlinkSubtask, ProbeKind>>> = {
  Art_Style: 'image-similarity',
  Semantic_Correspondence: 'point-match',
  Visual_Correspondence: 'point-match',
};

/**
 * The prompt as BLINK's load_prompt builds it: the dataset's `prompt` column (question + "Select from the following
 * choices." + lettered options), after the disclaimer for Forensic_Detection, Jigsaw and Art_Style. Without a
 * `prompt` column the same text is formatted from question and choices.
 */
export function blinkPrompt(q: BlinkQuestion, subtask: string): string {
  const body = q.prompt || `${q.question}\nSelect from the following choices.\n${q.choices.map((c, i) => `${CHOICE_LETTERS[i]} ${c}`).join('\n')}`;
  return (DISCLAIMER_SUBTASKS.includes(subtask) ? BLINK_DISCLAIMER : '') + body;
}

/** A marked point: image slot (1 = image_1) and pixel (x, y) in that image. */
export interface MarkedPoint {
  image: number;
  x: number;
  y: number;
}

/** The points of a correspondence question: the REF point and one candidate per choice (A, B, …). */
export interface QuestionPoints {
  ref: MarkedPoint;
  candidates: MarkedPoint[];
}

/**
 * Read a points file: {"<idx>": {"ref": {"image": 1, "x": …, "y": …}, "candidates": [{"image": 2, "x": …, "y": …}, …]}}.
 * BLINK ships no coordinates (its markers are drawn into the pixels); such a file comes from the source datasets'
 * annotations or from locating the markers by hand.
 */
export async function readQuestionPoints(path: string): Promise<Map<string, QuestionPoints>> {
  const slash = path.lastIndexOf('/');
  const files = denoFileTree(slash < 0 ? '.' : path.slice(0, slash));
  const json = await readJson(files, path.slice(slash + 1));
  const top = new FieldReader(json, path);
  const point = (f: FieldReader): MarkedPoint => ({ image: f.int('image'), x: f.number('x'), y: f.number('y') });
  const out = new Map<string, QuestionPoints>();
  for (const idx of Object.keys(top.obj)) {
    const q = top.object(idx);
    const candidates = q.array('candidates').map((c, i) => point(new FieldReader(c, path, `${idx}.candidates[${i}]`)));
    out.set(idx, { ref: point(q.object('ref')), candidates });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Probe answers from feature maps (model-free)

/** Σ_ij (A·Bᵀ)_ij = (Σ rows of A)·(Σ rows of B), on the GPU (A [.., d], B [.., d]); only the row sums come back. */
async function pooledDot(a: Tensor<'f32'>, b: Tensor<'f32'>): Promise<number> {
  const gpu = a.gpu;
  const stage = new Stage(gpu, 'pooled dot');
  const ar = asRows(a), br = asRows(b);
  const ones = Tensor.from(gpu, 'f32', [1, br.rows], new Float32Array(br.rows).fill(1), 'ones');
  const gram = await matmul(stage, ar, br); // [na, nb]
  const rowSums = await matmul(stage, gram, ones); // [na, 1]
  stage.onDone(() => { ones.dispose(); gram.dispose(); });
  await stage.submit();
  const host = await rowSums.read();
  rowSums.dispose();
  let s = 0;
  for (const v of host) s += v;
  return s;
}

/**
 * Art_Style probe: cosine between the mean-pooled features (over cells holding a token; empty cells are zero and
 * drop out of the sums) of the reference and of each candidate; the best candidate's index.
 */
export async function imageSimilarityAnswer(reference: FeatureMap, candidates: readonly FeatureMap[]): Promise<{ choice: number; scores: number[] }> {
  if (!candidates.length) throw new Error('imageSimilarityAnswer: no candidate images');
  for (const m of [reference, ...candidates]) if (!m.valid.some((v) => v)) throw new Error(`imageSimilarityAnswer: the ${m.tap} map of image ${m.image} holds no token (wrong grid?)`);
  const rr = await pooledDot(reference.features, reference.features);
  const scores: number[] = [];
  for (const c of candidates) {
    if (c.dim !== reference.dim) throw new Error(`imageSimilarityAnswer: candidate features have ${c.dim} dims, the reference ${reference.dim}`);
    const rc = await pooledDot(reference.features, c.features), cc = await pooledDot(c.features, c.features);
    scores.push(rc / Math.max(Math.sqrt(rr * cc), 1e-12));
  }
  let choice = 0;
  scores.forEach((s, i) => { if (s > scores[choice]) choice = i; });
  return { choice, scores };
}

/** The grid cell whose pixel rectangle holds pixel (x, y) of the map's image; an error names the point if none. */
export function cellAt(fm: FeatureMap, p: MarkedPoint, where: string): number {
  const { width, height } = fm.imageSize;
  const x = Math.min(width - 1, Math.max(0, Math.floor(p.x))), y = Math.min(height - 1, Math.max(0, Math.floor(p.y)));
  const cell = pixelCells(fm.rects, width, height)[y * width + x];
  if (cell < 0 || !fm.valid[cell]) throw new Error(`${where}: point (${p.x}, ${p.y}) of image ${p.image} lies in no token's cell`);
  return cell;
}

/** Correspondence probe: the candidate point whose cell feature is most cosine-similar to the reference point's. */
export async function pointMatchAnswer(maps: ReadonlyMap<number, FeatureMap>, points: QuestionPoints, where = 'question'): Promise<{ choice: number; scores: number[] }> {
  const mapOf = (p: MarkedPoint) => {
    const m = maps.get(p.image);
    if (!m) throw new Error(`${where}: no feature map for image slot ${p.image}`);
    return m;
  };
  const ref = mapOf(points.ref);
  const gpu = ref.features.gpu;
  const stage = new Stage(gpu, `${where} point match`);
  const refIdx = Tensor.from(gpu, 'u32', [1], [cellAt(ref, points.ref, where)], 'reference cell');
  const refRow = await gatherRows(stage, asRows(ref.features), refIdx);
  const rows: Tensor<'f32'>[] = [], idx: Tensor<'u32'>[] = [refIdx];
  for (const c of points.candidates) {
    const m = mapOf(c);
    const i = Tensor.from(gpu, 'u32', [1], [cellAt(m, c, where)], 'candidate cell');
    idx.push(i);
    rows.push(await gatherRows(stage, asRows(m.features), i));
  }
  const sims = await Promise.all(rows.map((r) => cosineSimilarity(stage, refRow, r)));
  stage.onDone(() => { [...idx, ...rows, refRow].forEach((t) => t.dispose()); });
  await stage.submit();
  const scores: number[] = [];
  for (const s of sims) { scores.push((await s.read())[0]); s.dispose(); }
  let choice = 0;
  scores.forEach((s, i) => { if (s > scores[choice]) choice = i; });
  return { choice, scores };
}

/**
 * The probe's "(X)" for one (tap, layer) from the maps of the question's images (keyed by slot), or null when the
 * subtask has no probe or its points are not given. Art_Style: image_1 is the reference, choice i is image_{i+2}.
 */
export async function probeAnswer(q: BlinkQuestion, subtask: string, maps: ReadonlyMap<number, FeatureMap>, points: QuestionPoints | undefined): Promise<string | null> {
  const kind = PROBE_SUBTASKS[subtask as BlinkSubtask];
  if (kind === 'image-similarity') {
    const ref = maps.get(1);
    const cands = q.choices.map((_, i) => maps.get(i + 2));
    if (!ref || cands.some((c) => !c)) throw new Error(`${q.idx}: ${subtask} needs image_1 (reference) and image_2 … image_${q.choices.length + 1} (one per choice); slots present: ${[...maps.keys()].join(', ')}`);
    return choiceLetter((await imageSimilarityAnswer(ref, cands as FeatureMap[])).choice);
  }
  if (kind === 'point-match' && points) {
    if (points.candidates.length !== q.choices.length) throw new Error(`${q.idx}: ${points.candidates.length} candidate points for ${q.choices.length} choices`);
    return choiceLetter((await pointMatchAnswer(maps, points, q.idx)).choice);
  }
  return null;
}

/** Additive statistics of one question: key "model" (per subtask right / questions) and per probe key. */
export function questionStats(q: BlinkQuestion, subtask: string, split: string, modelAnswer: string, probe: ReadonlyMap<string, string>): SampleStats {
  const gold = new Map([[q.idx, q.answer]]);
  const model = new Map([[q.idx, modelAnswer]]);
  const stats: SampleStats = { model: { [`${subtask}.right`]: blinkAccuracy(gold, model, split).micro, [`${subtask}.questions`]: 1 } };
  for (const [key, answer] of probe) {
    const p = new Map([[q.idx, answer]]);
    stats[key] = {
      [`${subtask}.probeRight`]: blinkAccuracy(gold, p, split).micro,
      [`${subtask}.gap`]: [...surfacingGap(gold, model, p, split).perSubtask.values()][0].probeRightModelWrong,
      [`${subtask}.probed`]: 1,
    };
  }
  return stats;
}

/**
 * Rows per subtask: "accuracy (model) [S]" (tap "model"), and per probe (tap, layer) "accuracy (probe) [S]" and
 * "surfacing gap [S]" over the questions the probe answered; plus the task-macro model accuracy over the subtasks.
 */
export function aggregateBlink(task: string, summed: SampleStats, subtasks: readonly string[]): ResultRow[] {
  const rows: ResultRow[] = [];
  const m = summed.model ?? {};
  const accs: number[] = [];
  for (const s of subtasks) {
    const n = (m[`${s}.questions`] as number | undefined) ?? 0;
    if (!n) continue;
    const acc = (100 * (m[`${s}.right`] as number)) / n;
    accs.push(acc);
    rows.push({ task, tap: 'model', layer: null, metric: `accuracy (model) [${s}]`, value: acc, n, subtask: s, measure: 'accuracy (model)' });
  }
  if (accs.length) {
    rows.push({ task, tap: 'model', layer: null, metric: 'accuracy (model) [task-macro]', value: accs.reduce((a, b) => a + b, 0) / accs.length, n: accs.length, measure: 'accuracy (model)' });
  }
  for (const [key, f] of Object.entries(summed)) {
    if (key === 'model') continue;
    const { tap, layer } = parseStatKey(key);
    for (const s of subtasks) {
      const n = (f[`${s}.probed`] as number | undefined) ?? 0;
      if (!n) continue;
      rows.push({ task, tap, layer, metric: `accuracy (probe) [${s}]`, value: (100 * (f[`${s}.probeRight`] as number)) / n, n, subtask: s, measure: 'accuracy (probe)' });
      rows.push({ task, tap, layer, metric: `surfacing gap [${s}]`, value: (100 * (f[`${s}.gap`] as number)) / n, n, subtask: s, measure: 'surfacing gap' });
    }
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------------------------
// The task

/** Turns generated ids into text. */
export type TokenDecoder = (ids: readonly number[]) => string | Promise<string>;

/** A decoder from the model's own checkpoint tokenizer (special tokens skipped). */
async function modelDecoder(model: MultimodalModel): Promise<TokenDecoder> {
  await model.decode([]); // a checkpoint without a tokenizer fails here, before any generation
  return (ids) => model.decode(ids);
}

/** One prefill with every image of the question (blocking the agnostic keys of each image when asked). */
async function questionForward(ctx: ProbeContext, images: readonly RgbImage[], prompt: string, entries: readonly SweepEntry[]): Promise<ForwardResult> {
  const taps = entries.filter((e) => e.tap !== 'siglip' && e.tap !== 'lm.value' && e.tap !== 'lm.key').map((e) => canonicalTap(e.tap, e.layer ?? undefined));
  const req: PrefillRequest = { images, prompt, prefix: ctx.prefix, taps, logits: 'last' };
  if (ctx.agnostic) {
    const plan = await ctx.model.prefill({ ...req, taps: [] });
    const specs = plan.spans.images.map((s) => blockAgnosticKeys(ctx.agnostic!, s, plan.spans.length)).filter((s): s is AttentionBlockSpec => s !== null);
    plan.dispose();
    // every image's spec lists the same layers (those with agnostic keys): one spec with all rules
    if (specs.length) req.block = { layers: specs[0].layers, rules: specs.flatMap((s) => s.rules) };
  }
  return await ctx.model.prefill(req);
}

/** The feature maps of one entry for every image of the forward, keyed by image slot. */
async function entryMaps(ctx: ProbeContext, forward: ForwardResult, q: BlinkQuestion, e: SweepEntry): Promise<Map<number, FeatureMap>> {
  const out = new Map<number, FeatureMap>();
  try {
    for (const [k, img] of q.images.entries()) {
      if (e.tap === 'siglip') {
        if (!ctx.siglip) throw new Error('tap siglip asked for, but no standalone SigLIP encoder was given (--siglip DIR)');
        out.set(img.slot, await ctx.siglip.features(img.image));
        continue;
      }
      const span = forward.spans.images[k];
      // several images in one OneVision prompt get one tile each: their tokens lie on the base grid only
      const baseOnly = span?.baseGrid && !span.tokens.some((t) => t.kind === 'grid');
      const grid = (e.tap === 'vision' || baseOnly) && span?.baseGrid ? 'base' : ctx.grid;
      out.set(img.slot, await features(forward, { tap: canonicalTap(e.tap, e.layer ?? undefined), image: k, grid }));
    }
  } catch (err) {
    for (const m of out.values()) m.dispose();
    throw err;
  }
  return out;
}

export interface BlinkQuestionRef {
  subtask: BlinkSubtask;
  idx: string;
}

export interface BlinkTaskOptions {
  subtasks: readonly BlinkSubtask[];
  /** Only val has public answers. */
  split: 'val' | 'test';
  /** Points of correspondence questions (see readQuestionPoints); without them those subtasks get no probe answer. */
  pointsFile?: string;
  /** New tokens for the model's answer (default 32). */
  maxNewTokens?: number;
  /** Ids → text; default: the tokenizer of the model's checkpoint. */
  decode?: TokenDecoder;
  /** Only the first `limit` questions of each subtask. */
  limit?: number;
}

/** BLINK subtasks from the HF layout under `root` (<Subtask>/<split>-00000-of-00001.parquet). */
export function blinkTask(root: string | FileSource, opts: BlinkTaskOptions): ProbeTask<BlinkQuestionRef> {
  if (opts.split !== 'val') throw new Error(`blinkTask: split ${opts.split} has hidden answers (only val is scorable offline)`);
  for (const s of opts.subtasks) if (!(BLINK_SUBTASKS as readonly string[]).includes(s)) throw new Error(`blinkTask: unknown subtask "${s}" (known: ${BLINK_SUBTASKS.join(', ')})`);
  const files = denoFileTree(root);
  const readers = new Map(opts.subtasks.map((s) => [s, new BlinkReader(files, IMAGE_CODEC, { subtask: s, split: opts.split })]));
  let points: Promise<Map<string, QuestionPoints>> | null = null;
  const pointsOf = () => points ??= opts.pointsFile ? readQuestionPoints(opts.pointsFile) : Promise.resolve(new Map());
  let decoder: Promise<TokenDecoder> | null = null;
  const maxNew = opts.maxNewTokens ?? 32;
  const pointSubtasks = opts.subtasks.filter((s) => PROBE_SUBTASKS[s] === 'point-match');
  const notes = [
    'Prompt: the dataset\'s `prompt` column (question, "Select from the following choices.", lettered options), with BLINK\'s disclaimer before it for Forensic_Detection, Jigsaw and Art_Style (test_benchmark.py; its disclaimer is a one-element tuple there, the intended string is used); all images of the question in slot order in one prefill.',
    `Model answer: greedy generation of at most ${maxNew} tokens, decoded without special tokens and trimmed, mapped to "(X)" by analyze_answer; where that needs GPT-3.5 the deterministic option-text matcher replaces it. Exact match with the gold letter.`,
    'Probe answers come from the same forward the model answers from (the images share one context: later images attend to earlier ones) [paper: confirm]; OneVision gives each image of a multi-image prompt one tile, so its features are taken on the base grid. Art_Style: cosine of mean-pooled features of image_1 vs image_2 … (choice i = image_{i+2}); correspondence subtasks: cosine between the cells holding the REF point and each candidate point.',
    pointSubtasks.length && !opts.pointsFile
      ? `${pointSubtasks.join(', ')}: BLINK draws the REF and A–D markers into the pixels and gives no coordinates; no points file was given, so these subtasks have model accuracy only (no probe, no surfacing gap).`
      : 'Correspondence points come from the given points file; questions it lacks get no probe answer.',
    'Surfacing gap = share of the probed questions where the probe is right and the model wrong. Model accuracy rows (tap "model") do not depend on the layer; "task-macro" is the unweighted mean over the subtasks run.',
    'With agnostic-key blocking, the block applies to the prefill and to every decoding step (each generated token is blocked from the same keys as the question).',
  ];
  const name = `blink-${opts.split}`;
  return {
    name,
    notes,
    async samples() {
      const out: ProbeSample<BlinkQuestionRef>[] = [];
      for (const [subtask, reader] of readers) {
        let ids = [...await reader.ids()];
        if (opts.limit !== undefined) ids = ids.slice(0, opts.limit);
        out.push(...ids.map((idx) => ({ id: idx, sample: { subtask, idx } })));
      }
      return out;
    },
    async evaluate(ctx, sample) {
      const { subtask, idx } = sample.sample;
      const q = await readers.get(subtask)!.read(idx);
      if (q.answerIndex === null) throw new DatasetError(joinPath(files.root, readers.get(subtask)!.file), `question ${idx} has a hidden answer`, 'answer');
      const pts = (await pointsOf()).get(idx);
      const probes = PROBE_SUBTASKS[subtask] === 'image-similarity' || (PROBE_SUBTASKS[subtask] === 'point-match' && pts !== undefined);
      const entries = probes ? sweepEntries(ctx) : [];
      const forward = await questionForward(ctx, q.images.map((i) => i.image), blinkPrompt(q, subtask), entries);
      const probe = new Map<string, string>();
      let reply: string;
      try {
        for (const e of entries) {
          const maps = await entryMaps(ctx, forward, q, e);
          try {
            const a = await probeAnswer(q, subtask, maps, pts);
            if (a !== null) probe.set(statKey(e.tap, e.layer), a);
          } finally {
            for (const m of maps.values()) m.dispose();
          }
        }
        const ids = await ctx.model.generate(forward, maxNew);
        decoder ??= opts.decode ? Promise.resolve(opts.decode) : modelDecoder(ctx.model);
        reply = (await (await decoder)(ids)).trim();
      } finally {
        forward.dispose();
      }
      return questionStats(q, subtask, opts.split, extractChoice(reply, q.choices), probe);
    },
    aggregate: (summed) => aggregateBlink(name, summed, opts.subtasks),
  };
}
