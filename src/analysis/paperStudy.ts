// The paper's whole table in one run (paper.md): the six perception tasks over the image values and keys of every
// requested layer, with the post-projection and (given a SigLIP checkpoint) SigLIP baselines; the prefix study
// and the input-agnostic-key blocking study on the same tasks; BLINK's surfacing gap. Each run is an ordinary
// resumable probe run in its own folder under the output, so the study resumes where it stopped; the report
// (paper.md in the output, with the plots each run writes) puts the paper's published figures beside the measured
// ones. Datasets not found under the data root are listed and skipped.
import type { ShortTap } from '../capture/taps.ts';
import type { RgbImage } from '../io/rgbImage.ts';
import type { MultimodalModel } from '../models/model.ts';
import type { ResultRow } from '../tasks/resultsLog.ts';
import type { VisionBaseline } from '../tasks/task.ts';
import { compareRows, comparisonPlotSvg } from './comparison.ts';
import { type ProbeSpec, probeRun } from './probeStudy.ts';

/** One of the paper's tasks: where its dataset lives under the root, its headline metric, the paper's figures. */
export interface PaperTask {
  task: 'pascal5i' | 'msrc' | 'imagenet-s' | 'refcoco' | 'spair' | 'davis';
  title: string;
  /** Candidate folders under the data root, first existing wins. */
  dirs: string[];
  metric: string;
  /** Published LLaVA-OneVision-7B figures (paper.md): best-layer LM value score, Δ(values − post-projection). */
  paper: { values?: number; deltaProjection?: number; siglipAbove?: boolean };
}

export const PAPER_TASKS: readonly PaperTask[] = [
  { task: 'pascal5i', title: 'few-shot segmentation (Pascal-5i)', dirs: ['VOCdevkit/VOC2012', 'VOC2012', 'Pascal-5i'], metric: 'mIoU', paper: { deltaProjection: 2.0, siglipAbove: true } },
  { task: 'msrc', title: 'co-segmentation (MSRC)', dirs: ['MSRC-coseg', 'MSRC', 'msrc'], metric: 'Jaccard', paper: { siglipAbove: true } },
  { task: 'imagenet-s', title: 'semantic segmentation (ImageNet-S)', dirs: ['ImageNet-S', 'imagenet-s', 'ImageNetS'], metric: 'mIoU', paper: { siglipAbove: true } },
  { task: 'refcoco', title: 'referring segmentation (RefCOCO)', dirs: ['refcoco', 'RefCOCO'], metric: 'mIoU', paper: { deltaProjection: 5.2 } },
  { task: 'spair', title: 'semantic correspondence (SPair-71k)', dirs: ['SPair-71k', 'spair', 'SPair'], metric: 'PCK@0.1', paper: { values: 46.1 } },
  { task: 'davis', title: 'temporal correspondence (DAVIS 2017 val)', dirs: ['DAVIS', 'davis', 'DAVIS2017'], metric: 'J&F', paper: { values: 65.8 } },
];
const BLINK_DIRS = ['BLINK', 'blink'];
/** paper.md: e.g. 33.3% of Art Style questions are answered right by the probe and wrong by the model. */
const PAPER_BLINK_GAP: Record<string, number> = { Art_Style: 33.3 };

export interface PaperStudyOptions {
  /** Dataset root holding the official folders (SPair-71k/, DAVIS/, VOCdevkit/VOC2012/, ...), or 'synthetic'. */
  dataRoot: string;
  layers: readonly number[];
  /** The text placed before the image in the prefix study. */
  prefix: string;
  /** Images the input-agnostic keys are found on. */
  agnosticImages: readonly RgbImage[];
  agnosticThreshold?: number;
  /** Samples per task at most. */
  limit?: number;
  /** Synthetic image side. */
  size?: number;
  /** Which of the six tasks (default all). */
  tasks?: readonly PaperTask['task'][];
  /** Skip the prefix / blocking studies (main runs only). */
  studies?: boolean;
  blinkSubtasks?: string[];
  log?: (line: string) => void;
}

export interface PaperTaskResult {
  task: PaperTask;
  data: string;
  main: ResultRow[];
  prefix: ResultRow[] | null;
  blocked: ResultRow[] | null;
}

export interface PaperStudyResult {
  tasks: PaperTaskResult[];
  skipped: { task: string; looked: string[] }[];
  blink: ResultRow[] | null;
  markdown: string;
  files: string[];
}

async function isDir(path: string): Promise<boolean> {
  return await Deno.stat(path).then((s) => s.isDirectory, () => false);
}

/** The dataset folder of `t` under `root`, or null with the folders looked at. */
async function findData(root: string, dirs: readonly string[]): Promise<string | null> {
  for (const d of dirs) if (await isDir(`${root}/${d}`)) return `${root}/${d}`;
  return null;
}

/** Best row of `tap` for `metric` (layered taps: over layers). */
function best(rows: readonly ResultRow[], tap: string, metric: string): ResultRow | null {
  const mine = rows.filter((r) => r.tap === tap && r.metric === metric);
  return mine.length ? mine.reduce((a, b) => (b.value > a.value ? b : a)) : null;
}

const fmt = (x: number | undefined | null, sign = false) => (x === undefined || x === null || !Number.isFinite(x) ? '—' : `${sign && x >= 0 ? '+' : ''}${x.toFixed(1)}`);

/** Run (or resume) the whole study in `outDir` and write `outDir/paper.md`. */
export async function runPaperStudy(model: MultimodalModel, siglip: VisionBaseline | null, o: PaperStudyOptions, outDir: string): Promise<PaperStudyResult> {
  const log = o.log ?? (() => {});
  const synthetic = o.dataRoot === 'synthetic';
  const taps: ShortTap[] = ['lm.value', 'lm.key', 'projector', ...(siglip ? ['siglip' as const] : [])];
  const chosen = PAPER_TASKS.filter((t) => !o.tasks || o.tasks.includes(t.task));
  const results: PaperTaskResult[] = [];
  const skipped: PaperStudyResult['skipped'] = [];
  const files: string[] = [];
  await Deno.mkdir(outDir, { recursive: true });
  for (const t of chosen) {
    const data = synthetic ? 'synthetic' : await findData(o.dataRoot, t.dirs);
    if (!data) {
      skipped.push({ task: t.task, looked: t.dirs.map((d) => `${o.dataRoot}/${d}`) });
      log(`${t.task}: no dataset under ${o.dataRoot} (looked for ${t.dirs.join(', ')}); skipped`);
      continue;
    }
    const settings = {
      model_type: model.config.model_type, data, taps, layers: o.layers, prefix: null as string | null, blockAgnosticKeys: false,
      grid: 'main', limit: o.limit ?? null, size: o.size ?? null, siglip: siglip ? 'given' : null, study: 'paper', ...(model.kvDtype !== 'f32' ? { kvDtype: model.kvDtype } : {}),
    };
    const spec: ProbeSpec = { task: t.task, taskOptions: { data, limit: o.limit, size: o.size }, taps, layers: o.layers, overlays: 2, settings, log };
    log(`== ${t.title}: ${data}`);
    const main = (await probeRun(model, siglip, spec, `${outDir}/${t.task}/main`)).rows;
    let prefix: ResultRow[] | null = null, blocked: ResultRow[] | null = null;
    if (o.studies !== false) {
      // the studies probe the LM taps only (the baselines do not see the prefix or the blocking)
      const lmTaps: ShortTap[] = ['lm.value', 'lm.key'];
      const lmSettings = { ...settings, taps: lmTaps };
      prefix = (await probeRun(model, null, { ...spec, taps: lmTaps, prefix: o.prefix, settings: { ...lmSettings, prefix: o.prefix } }, `${outDir}/${t.task}/prefix`)).rows;
      blocked = (await probeRun(model, null, {
        ...spec, taps: lmTaps, blockAgnostic: { images: o.agnosticImages, threshold: o.agnosticThreshold },
        settings: { ...lmSettings, blockAgnosticKeys: true, agnosticThreshold: o.agnosticThreshold ?? 0.9 },
      }, `${outDir}/${t.task}/blocked`)).rows;
      for (const [label, rows] of [['prefix', prefix], ['agnostic keys blocked', blocked]] as const) {
        const f = `${outDir}/${t.task}/${label === 'prefix' ? 'prefix' : 'blocked'}_vs_main.svg`;
        await Deno.writeTextFile(f, await comparisonPlotSvg(main.filter((r) => r.tap.startsWith('lm.')), rows, ['plain', label], t.metric, `${t.task}: ${t.metric}, plain vs ${label}`));
        files.push(f);
      }
    }
    results.push({ task: t, data, main, prefix, blocked });
  }

  let blink: ResultRow[] | null = null;
  const blinkData = synthetic ? null : await findData(o.dataRoot, BLINK_DIRS);
  if (blinkData) {
    const settings = { model_type: model.config.model_type, data: blinkData, taps: ['lm.value'], layers: o.layers, limit: o.limit ?? null, study: 'paper' };
    blink = (await probeRun(model, null, {
      task: 'blink', taskOptions: { data: blinkData, limit: o.limit, subtasks: o.blinkSubtasks }, taps: ['lm.value'], layers: o.layers, overlays: 0, settings, log,
    }, `${outDir}/blink`)).rows;
  } else {
    skipped.push({ task: 'blink', looked: synthetic ? ['(no synthetic BLINK)'] : BLINK_DIRS.map((d) => `${o.dataRoot}/${d}`) });
  }

  const markdown = paperReport(model.config.model_type, results, skipped, blink, !!siglip, o);
  await Deno.writeTextFile(`${outDir}/paper.md`, markdown);
  return { tasks: results, skipped, blink, markdown, files: [`${outDir}/paper.md`, ...files] };
}

/** The report: the paper's table with measured and published figures, the studies' deltas, BLINK, what was skipped. */
export function paperReport(modelType: string, results: readonly PaperTaskResult[], skipped: PaperStudyResult['skipped'], blink: ResultRow[] | null, hasSiglip: boolean, o: Pick<PaperStudyOptions, 'dataRoot' | 'layers' | 'prefix'>): string {
  const out = [
    `# Visual representations inside the language model — ${modelType}`,
    '',
    `Data root: \`${o.dataRoot}\`; LM layers probed: ${o.layers.join(', ')}; prefix study text: ${JSON.stringify(o.prefix)}.`,
    'Values in percent; "best" is the best probed layer (the paper\'s "max"). Published figures are LLaVA-OneVision-7B\'s (paper.md); ' +
    'they apply to the measured numbers only for that checkpoint on the real datasets.',
  ];
  if (o.dataRoot === 'synthetic') out.push('', '**Synthetic data**: these numbers test the pipeline, not the paper; with random weights they are chance-level.');
  out.push(
    '',
    '## The six tasks',
    '',
    '| task | metric | LM values best (layer) | LM keys best (layer) | post-projection | SigLIP | Δ values − projection | Δ values − SigLIP | paper: values | paper: Δ values − projection | paper: SigLIP above values |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  );
  for (const r of results) {
    const m = r.task.metric;
    const v = best(r.main, 'lm.value', m), k = best(r.main, 'lm.key', m), p = best(r.main, 'projector', m), s = hasSiglip ? best(r.main, 'siglip', m) : null;
    const at = (x: ResultRow | null) => (x ? `${x.value.toFixed(1)} (${x.layer ?? '—'})` : '—');
    out.push(`| ${r.task.title} | ${m} | ${at(v)} | ${at(k)} | ${fmt(p?.value)} | ${fmt(s?.value)} | ${fmt(v && p ? v.value - p.value : null, true)} | ${fmt(v && s ? v.value - s.value : null, true)} | ` +
      `${fmt(r.task.paper.values)} | ${fmt(r.task.paper.deltaProjection, true)} | ${r.task.paper.siglipAbove === undefined ? '—' : r.task.paper.siglipAbove ? 'yes' : 'no'} |`);
  }
  if (results.some((r) => r.task.task === 'imagenet-s' || r.task.task === 'refcoco')) {
    out.push('', 'ImageNet-S and RefCOCO score image features against a text representation taken at the same LM layer; kvscope runs them on the LM taps only, so their post-projection column (and the paper\'s RefCOCO Δ) has no measured counterpart yet.');
  }
  if (results.some((r) => r.prefix || r.blocked)) {
    out.push('', '## Prefix and blocking studies (LM image values, best layer)', '',
      '| task | metric | plain | with prefix | Δ prefix | keys blocked | Δ blocking |', '|---|---|---:|---:|---:|---:|---:|');
    for (const r of results) {
      const m = r.task.metric, plain = best(r.main, 'lm.value', m);
      const pre = r.prefix ? best(r.prefix, 'lm.value', m) : null, blk = r.blocked ? best(r.blocked, 'lm.value', m) : null;
      out.push(`| ${r.task.task} | ${m} | ${fmt(plain?.value)} | ${fmt(pre?.value)} | ${fmt(plain && pre ? pre.value - plain.value : null, true)} | ${fmt(blk?.value)} | ${fmt(plain && blk ? blk.value - plain.value : null, true)} |`);
    }
    out.push('', 'Paper: a text prefix before the image improves the image values; blocking text from the input-agnostic keys improves perception (no single figure published; signs compared).');
    const perLayer = results.flatMap((r) => (r.prefix ? compareRows(r.main, r.prefix).filter((c) => c.metric === r.task.metric && c.tap === 'lm.value') : []));
    if (perLayer.length) out.push('', `Prefix Δ per layer (lm.value): ${perLayer.map((c) => `L${c.layer} ${c.delta >= 0 ? '+' : ''}${c.delta.toFixed(1)}`).join(', ')}.`);
  }
  if (blink) {
    out.push('', '## BLINK surfacing gap', '', '| subtask | model accuracy | probe accuracy (best layer) | probe right, model wrong (best layer) | paper |', '|---|---:|---:|---:|---:|');
    const subtasks = [...new Set(blink.map((r) => r.subtask as string | undefined).filter((s): s is string => !!s))];
    for (const s of subtasks) {
      const mine = blink.filter((r) => r.subtask === s);
      const pick = (measure: string) => mine.filter((r) => (r.measure as string | undefined) === measure).reduce<ResultRow | null>((a, b) => (!a || b.value > a.value ? b : a), null);
      out.push(`| ${s} | ${fmt(pick('accuracy (model)')?.value)} | ${fmt(pick('accuracy (probe)')?.value)} | ${fmt(pick('surfacing gap')?.value)} | ${fmt(PAPER_BLINK_GAP[s])} |`);
    }
  }
  out.push('', '## Runs', '');
  for (const r of results) out.push(`- ${r.task.task}: \`${r.task.task}/main/results.md\`${r.prefix ? `, \`${r.task.task}/prefix\`, \`${r.task.task}/blocked\` (plots \`${r.task.task}/prefix_vs_main.svg\`, \`${r.task.task}/blocked_vs_main.svg\`)` : ''}`);
  if (skipped.length) {
    out.push('', '## Skipped (dataset not found)', '');
    for (const s of skipped) out.push(`- ${s.task}: looked for ${s.looked.map((l) => `\`${l}\``).join(', ')}`);
  }
  return out.join('\n') + '\n';
}
