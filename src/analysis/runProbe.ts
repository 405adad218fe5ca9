// Run a probe task over its samples with resume (samples already in the run's samples.jsonl are skipped), a
// progress bar, and at the end results.jsonl, results.md and the SVG plots.
import { reportFiles } from './report.ts';
import { directorySink, type RunSink } from './runSink.ts';
import { progressBar } from '../tasks/progress.ts';
import { type ResultRow, sumStats } from '../tasks/resultsLog.ts';
import type { ProbeContext, ProbeTask } from '../tasks/task.ts';
import { type Shard, samplesOfShard, shardName } from './shard.ts';

export interface ProbeRunResult {
  rows: ResultRow[];
  markdown: string;
  files: string[];
  computed: number;
  resumed: number;
}

/** After each computed sample: progress, and the rows aggregated over the samples done so far. */
export interface ProbeProgress {
  done: number;
  total: number;
  sample: string;
  rows: ResultRow[];
}

export interface RunProbeOptions {
  limit?: number;
  shard?: Shard;
  /** Where the run is kept (default: the directory `outDir`, resumable); the browser passes a MemorySink. */
  sink?: RunSink;
  onSample?: (p: ProbeProgress) => void;
}

export async function runProbe<S>(task: ProbeTask<S>, ctx: ProbeContext, outDir: string, settings: Record<string, unknown>, opts: RunProbeOptions = {}): Promise<ProbeRunResult> {
  const log = opts.sink ?? await directorySink(outDir, { task: task.name, ...settings });
  const rowsOf = (stats: ReturnType<typeof sumStats>[]) => stats.length ? task.aggregate(sumStats(stats), stats.length).map((r) => ({ ...r, task: task.name })) : [];
  // the lock is released however the run ends; a kill leaves a stale lock the next run takes over
  try {
    let samples = await task.samples();
    if (opts.limit !== undefined) samples = samples.slice(0, opts.limit);
    if (!samples.length) throw new Error(`${task.name}: no samples to evaluate`);
    // --shard i/N: this process's part of the same list (merge puts the parts back together)
    if (opts.shard) {
      samples = samplesOfShard(samples, opts.shard);
      console.log(`${task.name}: shard ${shardName(opts.shard)}, ${samples.length} sample(s)`);
    }
    const resumed = samples.filter((s) => log.has(s.id)).length;
    if (resumed) console.log(`${task.name}: resuming, ${resumed} of ${samples.length} samples already in ${log.where}/samples.jsonl`);
    const bar = progressBar(task.name, samples.length, resumed);
    let computed = 0;
    try {
      for (const s of samples) {
        if (log.has(s.id)) continue;
        const stats = await task.evaluate(ctx, s);
        await log.addSample(s.id, stats);
        computed++;
        bar.tick(s.id);
        if (opts.onSample) {
          const ids = new Set(samples.map((x) => x.id));
          opts.onSample({ done: resumed + computed, total: samples.length, sample: s.id, rows: rowsOf([...log.done].filter(([id]) => ids.has(id)).map(([, st]) => st)) });
        }
      }
    } finally {
      bar.stop();
    }
    const ids = new Set(samples.map((s) => s.id));
    const mine = [...log.done].filter(([id]) => ids.has(id)).map(([, st]) => st);
    const rows = rowsOf(mine);
    await log.writeResults(rows);
    // a run setting that changes the numbers is stated beside them
    const notes = settings.kvDtype === 'f16' ? [...task.notes, 'KV cache f16 (`--kv-dtype f16`): keys and values stored rounded to f16, read widened to f32'] : task.notes;
    const report = await reportFiles(task.name, rows, notes);
    for (const f of report.files) await log.writeFile(f.name, f.text);
    return { rows, markdown: report.markdown, files: [`${log.where}/results.jsonl`, ...report.files.map((f) => `${log.where}/${f.name}`)], computed, resumed };
  } finally {
    await log.close();
  }
}
