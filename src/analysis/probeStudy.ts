// A probe run as the study specifies it — one task over (tap, layer), optionally with the input-agnostic keys found
// first and blocked — and the two studies built from pairs of runs: the prefix study (no prefix vs a text prefix
// before the image) and the blocking study (plain vs agnostic keys blocked). No CLI here: the command line and the
// browser app both call these.
import type { ShortTap } from '../capture/taps.ts';
import type { GridChoice } from '../capture/spans.ts';
import type { AgnosticKeys } from '../capture/interventions.ts';
import type { RgbImage } from '../io/rgbImage.ts';
import type { MultimodalModel } from '../models/model.ts';
import { buildTask, type TaskOptions } from '../tasks/registry.ts';
import type { VisionBaseline } from '../tasks/task.ts';
import { findAgnosticKeys } from './agnosticKeys.ts';
import { directoryOverlays } from './runSink.ts';
import { compareRows, comparisonPlotSvg, comparisonTable, deltaPlotSvg } from './comparison.ts';
import { runProbe, type ProbeRunResult, type RunProbeOptions } from './runProbe.ts';
import type { Shard } from './shard.ts';

export interface ProbeSpec {
  task: string;
  taskOptions: TaskOptions;
  taps: readonly ShortTap[];
  layers: readonly number[];
  prefix?: string;
  /** Find input-agnostic keys over these images first and block them in every forward. */
  blockAgnostic?: { images: readonly RgbImage[]; threshold?: number } | null;
  grid?: GridChoice;
  /** PNG overlays to write (0: none). */
  overlays?: number;
  /** Recorded in the run's header (resume checks them). */
  settings: Record<string, unknown>;
  /** Messages for a person (the CLI prints them). */
  log?: (line: string) => void;
  /** --shard i/N: evaluate only this shard's samples (src/analysis/shard.ts). */
  shard?: Shard;
}

/** Input-agnostic keys over `images` on the grid the model's keys lie on (LLaVA: base tile; Qwen: merged grid). */
export async function agnosticKeysFor(model: MultimodalModel, images: readonly RgbImage[], layers: readonly number[], threshold?: number, log?: (l: string) => void): Promise<AgnosticKeys> {
  const grid: GridChoice = model.config.model_type === 'qwen2_5_vl' ? 'main' : 'base';
  log?.(`finding input-agnostic image keys over ${images.length} images (threshold ${threshold ?? 0.9})`);
  const agnostic = await findAgnosticKeys(model, images, { layers, threshold, grid });
  const flagged = [...agnostic.cells].filter(([, c]) => c.length).map(([l, c]) => `layer ${l}: ${c.length}`);
  log?.(`input-agnostic keys: ${flagged.length ? flagged.join(', ') : 'none above the threshold'} (of ${agnostic.grid.rows * agnostic.grid.cols} cells on the ${grid} grid)`);
  return agnostic;
}

/** One probe task over every (tap, layer), resumable in `outDir`. */
export async function probeRun(model: MultimodalModel, siglip: VisionBaseline | null, spec: ProbeSpec, outDir: string, run: Pick<RunProbeOptions, 'sink' | 'onSample'> = {}): Promise<ProbeRunResult> {
  if (spec.taps.includes('siglip') && !siglip) throw new Error('tap siglip needs a SigLIP checkpoint (--siglip DIR): the baseline without MLM fine-tuning');
  const task = buildTask(spec.task, spec.taskOptions);
  const agnostic = spec.blockAgnostic ? await agnosticKeysFor(model, spec.blockAgnostic.images, spec.layers, spec.blockAgnostic.threshold, spec.log) : null;
  const overlays = spec.overlays ?? 4;
  return await runProbe(task, {
    model, siglip, taps: spec.taps, layers: spec.layers, prefix: spec.prefix, agnostic, grid: spec.grid ?? 'main',
    // overlays are PNG files beside the results: in the run directory, or in the sink (the browser's memory)
    overlays: overlays > 0 ? (run.sink ? (f, png) => run.sink!.writeFile(f, png) : directoryOverlays(outDir)) : null, overlaysLeft: overlays,
  }, outDir, spec.settings, { shard: spec.shard, ...run });
}

export type StudyKind = 'prefix' | 'blocking';

export interface StudyResult {
  base: ProbeRunResult;
  treated: ProbeRunResult;
  labels: [string, string];
  markdown: string;
  /** comparison.md and one SVG per metric, as written. */
  files: string[];
}

/**
 * The same task run twice — without and with the prefix (`spec.prefix` must be set), or without and with the
 * agnostic keys blocked (`spec.blockAgnostic` must be set) — each resumable in its own folder under `outDir`, then
 * the comparison: both values and Δ per tap and layer, best layers, one plot per metric with both curves.
 */
export async function runStudy(kind: StudyKind, model: MultimodalModel, siglip: VisionBaseline | null, spec: ProbeSpec, outDir: string, write: (path: string, text: string) => Promise<void>): Promise<StudyResult> {
  if (kind === 'prefix' && !spec.prefix) throw new Error('study prefix: give the prefix text (--prefix)');
  if (kind === 'blocking' && !spec.blockAgnostic) throw new Error('study blocking: give the images the input-agnostic keys are found on');
  const labels: [string, string] = kind === 'prefix' ? ['no prefix', 'prefix'] : ['plain', 'agnostic keys blocked'];
  const [baseDir, treatedDir] = kind === 'prefix' ? ['no-prefix', 'prefix'] : ['plain', 'blocked'];
  const baseSpec: ProbeSpec = kind === 'prefix'
    ? { ...spec, prefix: undefined, settings: { ...spec.settings, prefix: null } }
    : { ...spec, blockAgnostic: null, settings: { ...spec.settings, blockAgnosticKeys: false } };
  const base = await probeRun(model, siglip, baseSpec, `${outDir}/${baseDir}`);
  const treated = await probeRun(model, siglip, spec, `${outDir}/${treatedDir}`);
  const rows = compareRows(base.rows, treated.rows);
  const task = base.rows[0]?.task ?? spec.task;
  const what = kind === 'prefix' ? `Prefix: ${JSON.stringify(spec.prefix)}` : `Input-agnostic keys blocked (threshold ${spec.blockAgnostic?.threshold ?? 0.9}).`;
  const markdown = [`# ${task}: ${labels[0]} vs ${labels[1]}`, '', what, '', comparisonTable(rows, labels)].join('\n');
  const files: string[] = [];
  for (const metric of [...new Set(rows.map((r) => r.metric))]) {
    const f = `${outDir}/comparison_${metric.replace(/[^A-Za-z0-9]+/g, '_')}.svg`;
    await write(f, await comparisonPlotSvg(base.rows, treated.rows, labels, metric, `${task}: ${metric}, ${labels[0]} vs ${labels[1]}`));
    files.push(f);
    const d = `${outDir}/delta_${metric.replace(/[^A-Za-z0-9]+/g, '_')}.svg`;
    await write(d, await deltaPlotSvg(rows, labels, metric, `${task}: Δ ${metric} (${labels[1]} − ${labels[0]})`));
    files.push(d);
  }
  await write(`${outDir}/comparison.md`, markdown);
  return { base, treated, labels, markdown, files: [`${outDir}/comparison.md`, ...files] };
}
