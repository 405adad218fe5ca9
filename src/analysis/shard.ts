// Sweeps over many processes: `--shard i/N` keeps the samples whose id hashes to i (FNV-1a of the id, mod N), so
// every process of an array job picks its part of the same sample list without talking to the others, any shard
// can be restarted (it resumes like any run), and `merge` puts the shards' per-sample statistics back in the task's
// sample order and aggregates them exactly as one uninterrupted run does (same summation order, same rows).
import { writeReport } from './report.ts';
import type { ProbeRunResult } from './runProbe.ts';
import { ResultsLog, type ResultRow, type SampleStats, sumStats } from '../tasks/resultsLog.ts';
import type { ProbeTask } from '../tasks/task.ts';

export interface Shard {
  /** 0 ≤ index < count (Slurm SLURM_ARRAY_TASK_ID with --array=0-(N-1); Kubernetes JOB_COMPLETION_INDEX). */
  index: number;
  count: number;
}

/** "i/N" → {index: i, count: N}, 0 ≤ i < N. */
export function parseShard(spec: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(spec);
  if (!m) throw new Error(`--shard: expected i/N (e.g. 0/8), got ${JSON.stringify(spec)}`);
  const index = Number(m[1]), count = Number(m[2]);
  if (count < 1 || index >= count) throw new Error(`--shard ${spec}: need 0 ≤ i < N (shards are numbered from 0, as array-job indices are)`);
  return { index, count };
}

export function shardName(s: Shard): string {
  return `${s.index}/${s.count}`;
}

/** The shard a sample id belongs to: FNV-1a (32 bit) of its UTF-8 bytes, mod N. Stable across runs and machines. */
export function shardOf(sampleId: string, count: number): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(sampleId)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h % count;
}

/** The samples of `shard`, in their order. */
export function samplesOfShard<T extends { id: string }>(samples: readonly T[], shard: Shard): T[] {
  return samples.filter((s) => shardOf(s.id, shard.count) === shard.index);
}

/** A run directory's settings (run.json) and per-sample statistics, read through the run's own log (lock included). */
async function readRun(dir: string): Promise<{ settings: Record<string, unknown>; stats: Map<string, SampleStats> }> {
  let settings: Record<string, unknown>;
  try {
    settings = JSON.parse(await Deno.readTextFile(`${dir}/run.json`));
  } catch (e) {
    throw new Error(`merge: ${dir}/run.json: ${(e as Error).message} (is ${dir} a probe run's --out?)`);
  }
  const log = await ResultsLog.open(dir, settings);
  try {
    return { settings, stats: new Map(log.done) };
  } finally {
    await log.close();
  }
}

/**
 * Merge shard runs of one sweep into `outDir`: every shard 0..N−1 present once, the same settings apart from the
 * shard, each sample in exactly one shard; rows aggregated over the task's samples in the task's order.
 */
export async function mergeShardRuns<S>(task: ProbeTask<S>, dirs: readonly string[], outDir: string): Promise<ProbeRunResult & { shards: number }> {
  if (!dirs.length) throw new Error('merge: no shard directories given');
  const runs = await Promise.all(dirs.map(async (d) => ({ dir: d, ...(await readRun(d)) })));
  const strip = (s: Record<string, unknown>) => JSON.stringify({ ...s, shard: undefined });
  const first = runs[0];
  for (const r of runs.slice(1)) {
    if (strip(r.settings) !== strip(first.settings)) throw new Error(`merge: ${r.dir}/run.json ${strip(r.settings)} differs from ${first.dir}/run.json ${strip(first.settings)} (beyond the shard)`);
  }
  if (first.settings.task !== task.name) throw new Error(`merge: the runs are of task ${JSON.stringify(first.settings.task)}, the options given build ${JSON.stringify(task.name)}`);
  const shards = runs.map((r) => (typeof r.settings.shard === 'string' ? parseShard(r.settings.shard) : { index: 0, count: 1 }));
  const count = shards[0].count;
  const seen = new Map<number, string>();
  shards.forEach((s, i) => {
    if (s.count !== count) throw new Error(`merge: ${runs[i].dir} is shard ${shardName(s)}, ${runs[0].dir} is one of ${count}`);
    if (seen.has(s.index)) throw new Error(`merge: shard ${shardName(s)} given twice (${seen.get(s.index)} and ${runs[i].dir})`);
    seen.set(s.index, runs[i].dir);
  });
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !seen.has(i));
  if (missing.length) throw new Error(`merge: shard(s) ${missing.map((i) => `${i}/${count}`).join(', ')} missing`);

  const samples = await task.samples();
  const ordered: SampleStats[] = [];
  const incomplete: string[] = [];
  for (const s of samples) {
    const k = shardOf(s.id, count);
    const run = runs[shards.findIndex((x) => x.index === k)];
    const stats = run.stats.get(s.id);
    if (stats === undefined) incomplete.push(`${s.id} (shard ${k}/${count}, ${run.dir})`);
    else ordered.push(stats);
  }
  if (incomplete.length) throw new Error(`merge: ${incomplete.length} sample(s) not computed yet, e.g. ${incomplete.slice(0, 3).join(', ')}; finish (resume) those shards first`);
  for (const [i, r] of runs.entries()) {
    for (const id of r.stats.keys()) {
      if (shardOf(id, count) !== shards[i].index) throw new Error(`merge: ${r.dir} holds sample ${id}, which belongs to shard ${shardOf(id, count)}/${count}`);
    }
  }
  const rows: ResultRow[] = task.aggregate(sumStats(ordered), ordered.length).map((r) => ({ ...r, task: task.name }));
  await Deno.mkdir(outDir, { recursive: true });
  await Deno.writeTextFile(`${outDir}/results.jsonl`, rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : ''));
  await Deno.writeTextFile(`${outDir}/merge.json`, JSON.stringify({ settings: { ...first.settings, shard: undefined }, shards: runs.map((r, i) => ({ dir: r.dir, shard: shardName(shards[i]), samples: r.stats.size })) }, null, 1) + '\n');
  const report = await writeReport(outDir, task.name, rows, task.notes);
  return { rows, markdown: report.markdown, files: [`${outDir}/results.jsonl`, ...report.files], computed: 0, resumed: ordered.length, shards: count };
}
