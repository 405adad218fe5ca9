// Run a probe task over its samples with resume (samples already in the run's samples.jsonl are skipped), a
// progress bar, and at the end results.jsonl, results.md and the SVG plots.
import { writeReport } from './report.ts';
import { progressBar } from '../tasks/progress.ts';
import { ResultsLog, type ResultRow, sumStats } from '../tasks/resultsLog.ts';
import type { ProbeContext, ProbeTask } from '../tasks/task.ts';
import { type Shard, samplesOfShard, shardName } from './shard.ts';

export interface ProbeRunResult {
  rows: ResultRow[];
  markdown: string;
  files: string[];
  computed: number;
  resumed: number;
}

export async function runProbe<S>(task: ProbeTask<S>, ctx: ProbeContext, outDir: string, settings: Record<string, unknown>, opts: { limit?: number; shard?: Shard } = {}): Promise<ProbeRunResult> {
  const log = await ResultsLog.open(outDir, { task: task.name, ...settings });
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
    if (resumed) console.log(`${task.name}: resuming, ${resumed} of ${samples.length} samples already in ${outDir}/samples.jsonl`);
    const bar = progressBar(task.name, samples.length, resumed);
    let computed = 0;
    try {
      for (const s of samples) {
        if (log.has(s.id)) continue;
        const stats = await task.evaluate(ctx, s);
        await log.addSample(s.id, stats);
        computed++;
        bar.tick(s.id);
      }
    } finally {
      bar.stop();
    }
    const ids = new Set(samples.map((s) => s.id));
    const mine = [...log.done].filter(([id]) => ids.has(id)).map(([, st]) => st);
    const rows = mine.length ? task.aggregate(sumStats(mine), mine.length).map((r) => ({ ...r, task: task.name })) : [];
    await log.writeResults(rows);
    const report = await writeReport(outDir, task.name, rows, task.notes);
    return { rows, markdown: report.markdown, files: [`${outDir}/results.jsonl`, ...report.files], computed, resumed };
  } finally {
    await log.close();
  }
}
