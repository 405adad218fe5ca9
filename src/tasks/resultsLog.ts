// Results of a probe run, written as they are computed so an interrupted run resumes where it stopped:
//   samples.jsonl  one line per evaluated sample: its additive statistics per (tap, layer) key
//   results.jsonl  one row per (tap, layer) with the metric over all samples, written when the run ends
// Every line is flushed at once (append + close), so a kill loses at most the sample being computed.

export interface ResultRow {
  task: string;
  tap: string;
  /** LM layer, or null for taps without layers (projector, vision, siglip). */
  layer: number | null;
  /** e.g. "PCK@0.1", "J&F", "mIoU". */
  metric: string;
  /** Percent. */
  value: number;
  /** Samples the value is over. */
  n: number;
  [extra: string]: unknown;
}

/** Per-sample statistics: key "tap@layer" (or "tap") → additive numbers the task's aggregate understands. */
export type SampleStats = Record<string, Record<string, number | number[]>>;

export interface SampleLine {
  sample: string;
  stats: SampleStats;
}

export function statKey(tap: string, layer: number | null): string {
  return layer === null ? tap : `${tap}@${layer}`;
}

export function parseStatKey(key: string): { tap: string; layer: number | null } {
  const at = key.lastIndexOf('@');
  return at < 0 ? { tap: key, layer: null } : { tap: key.slice(0, at), layer: Number(key.slice(at + 1)) };
}

/** Line-delimited JSON files of one run directory (Deno). */
export class ResultsLog {
  private constructor(readonly dir: string, readonly done: Map<string, SampleStats>, readonly settings: Record<string, unknown>) {}

  /**
   * Open (or resume) the run in `dir`. `settings` (task, model, taps, layers, prefix, ...) are stored in run.json;
   * resuming with different settings is refused rather than mixing incompatible numbers.
   */
  static async open(dir: string, settings: Record<string, unknown>): Promise<ResultsLog> {
    await Deno.mkdir(dir, { recursive: true });
    const runFile = `${dir}/run.json`;
    const done = new Map<string, SampleStats>();
    let previous: Record<string, unknown> | null = null;
    try {
      previous = JSON.parse(await Deno.readTextFile(runFile));
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw new Error(`${runFile}: ${(e as Error).message}`);
    }
    if (previous) {
      const a = JSON.stringify(previous), b = JSON.stringify(settings);
      if (a !== b) throw new Error(`${runFile}: this directory holds a run with other settings (${a}); use another --out or delete it to start over (asked: ${b})`);
      let text = '';
      try {
        text = await Deno.readTextFile(`${dir}/samples.jsonl`);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
      text.split('\n').forEach((line, i) => {
        if (!line.trim()) return;
        try {
          const l = JSON.parse(line) as SampleLine;
          done.set(l.sample, l.stats);
        } catch {
          // a line cut by a kill mid-write: that sample is recomputed
          if (i !== text.split('\n').length - 1 && text.split('\n').slice(i + 1).some((x) => x.trim())) {
            throw new Error(`${dir}/samples.jsonl line ${i + 1}: not JSON (the file is corrupt; delete it to start over)`);
          }
        }
      });
    } else {
      await Deno.writeTextFile(runFile, JSON.stringify(settings, null, 1) + '\n');
    }
    return new ResultsLog(dir, done, settings);
  }

  has(sample: string): boolean {
    return this.done.has(sample);
  }

  async addSample(sample: string, stats: SampleStats): Promise<void> {
    this.done.set(sample, stats);
    await Deno.writeTextFile(`${this.dir}/samples.jsonl`, JSON.stringify({ sample, stats }) + '\n', { append: true });
  }

  /** All samples' statistics, in the order they were computed. */
  allStats(): SampleStats[] {
    return [...this.done.values()];
  }

  async writeResults(rows: readonly ResultRow[]): Promise<void> {
    await Deno.writeTextFile(`${this.dir}/results.jsonl`, rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : ''));
  }
}

/** Sum additive statistics over samples, per key (numbers add; arrays add elementwise). */
export function sumStats(all: readonly SampleStats[]): SampleStats {
  const out: SampleStats = {};
  for (const s of all) {
    for (const [key, fields] of Object.entries(s)) {
      const acc = (out[key] ??= {});
      for (const [f, v] of Object.entries(fields)) {
        if (Array.isArray(v)) {
          const a = (acc[f] as number[] | undefined) ?? new Array(v.length).fill(0);
          v.forEach((x, i) => (a[i] = (a[i] ?? 0) + x));
          acc[f] = a;
        } else acc[f] = ((acc[f] as number | undefined) ?? 0) + v;
      }
    }
  }
  return out;
}
