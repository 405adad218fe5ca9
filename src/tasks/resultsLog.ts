// Results of a probe run, written as they are computed so an interrupted run resumes where it stopped:
//   samples.jsonl  one line per evaluated sample: its additive statistics per (tap, layer) key
//   results.jsonl  one row per (tap, layer) with the metric over all samples, written when the run ends
//                  (the same rows as results.csv and results.parquet beside it)
// A sample line counts once its newline is on disk: each line is one write followed by fdatasync, and on resume
// bytes after the last newline (a line torn by a kill) are cut off and that sample recomputed. results.jsonl and
// run.json are replaced atomically (tmp + rename). One process per directory (RunLock).
import { diskHint, writeFileAtomic } from '../io/atomicWrite.ts';
import { resultsCsv, resultsParquet } from './resultsExport.ts';
import { RunLock } from './runLock.ts';

/** The run directory cannot be used (not writable, full, corrupt): says which file and what is kept. */
export class RunDirError extends Error {
  constructor(readonly dir: string, detail: string) {
    super(`${dir}: ${detail}`);
    this.name = 'RunDirError';
  }
}

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
  private file: Deno.FsFile | null = null;
  private constructor(
    readonly dir: string,
    readonly done: Map<string, SampleStats>,
    readonly settings: Record<string, unknown>,
    private readonly lock: RunLock,
    /** Bytes of samples.jsonl that hold whole lines. */
    private bytes: number,
    /** Bytes cut off on open: a last line torn by a kill (its sample is recomputed). */
    readonly tornBytes: number,
  ) {}

  /**
   * Open (or resume) the run in `dir`. `settings` (task, model, taps, layers, prefix, ...) are stored in run.json;
   * resuming with different settings is refused rather than mixing incompatible numbers. Takes the directory's
   * lock (RunLockedError when another live process holds it); close() releases it.
   */
  static async open(dir: string, settings: Record<string, unknown>): Promise<ResultsLog> {
    try {
      await Deno.mkdir(dir, { recursive: true });
    } catch (e) {
      const exists = await Deno.stat(dir).then((s) => s.isDirectory, () => false);
      if (!exists) throw new RunDirError(dir, `cannot create the output directory: ${(e as Error).message}${diskHint(e)}`);
    }
    let lock: RunLock;
    try {
      lock = await RunLock.acquire(dir);
    } catch (e) {
      if ((e as Error).name === 'RunLockedError') throw e;
      throw new RunDirError(dir, `cannot write to the output directory (creating its .lock failed: ${(e as Error).message}${diskHint(e)}); what is there is left as it is`);
    }
    try {
      return await ResultsLog.resume(dir, settings, lock);
    } catch (e) {
      await lock.release();
      throw e;
    }
  }

  private static async resume(dir: string, settings: Record<string, unknown>, lock: RunLock): Promise<ResultsLog> {
    const runFile = `${dir}/run.json`;
    const samplesFile = `${dir}/samples.jsonl`;
    const done = new Map<string, SampleStats>();
    let previous: Record<string, unknown> | null = null;
    try {
      previous = JSON.parse(await Deno.readTextFile(runFile));
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw new RunDirError(dir, `run.json: ${(e as Error).message}`);
    }
    let bytes = 0, torn = 0;
    if (previous) {
      const a = JSON.stringify(previous), b = JSON.stringify(settings);
      if (a !== b) throw new Error(`${runFile}: this directory holds a run with other settings (${a}); use another --out or delete it to start over (asked: ${b})`);
      let raw = new Uint8Array(0);
      try {
        raw = await Deno.readFile(samplesFile);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw new RunDirError(dir, `samples.jsonl: cannot read: ${(e as Error).message}`);
      }
      bytes = raw.lastIndexOf(0x0a) + 1;
      torn = raw.length - bytes;
      const text = new TextDecoder('utf-8', { fatal: false }).decode(raw.subarray(0, bytes));
      text.split('\n').slice(0, -1).forEach((line, i) => {
        if (!line.trim()) return;
        let l: SampleLine;
        try {
          l = JSON.parse(line);
        } catch {
          throw new RunDirError(dir, `samples.jsonl line ${i + 1}: not JSON, yet a whole line (the file is corrupt; delete it to start over)`);
        }
        if (typeof l?.sample !== 'string' || typeof l.stats !== 'object' || l.stats === null || Array.isArray(l.stats)) {
          throw new RunDirError(dir, `samples.jsonl line ${i + 1}: expected {"sample": string, "stats": {...}}, found ${line.slice(0, 120)}`);
        }
        done.set(l.sample, l.stats);
      });
      if (torn) {
        // a line cut by a kill mid-write: drop it so the next append starts on a line of its own
        try {
          await Deno.truncate(samplesFile, bytes);
        } catch (e) {
          throw new RunDirError(dir, `samples.jsonl: cannot cut the torn last line (${torn} bytes): ${(e as Error).message}${diskHint(e)}`);
        }
      }
    } else {
      try {
        await writeFileAtomic(runFile, JSON.stringify(settings, null, 1) + '\n');
      } catch (e) {
        throw new RunDirError(dir, `${(e as Error).message}; nothing else was written`);
      }
    }
    return new ResultsLog(dir, done, settings, lock, bytes, torn);
  }

  has(sample: string): boolean {
    return this.done.has(sample);
  }

  /** Append one sample's line and flush it to disk; on failure the file is cut back to its whole lines. */
  async addSample(sample: string, stats: SampleStats): Promise<void> {
    const path = `${this.dir}/samples.jsonl`;
    const line = new TextEncoder().encode(JSON.stringify({ sample, stats }) + '\n');
    try {
      this.file ??= await Deno.open(path, { append: true, create: true });
      let at = 0;
      while (at < line.length) at += await this.file.write(line.subarray(at));
      await this.file.syncData();
    } catch (e) {
      this.file?.close();
      this.file = null;
      await Deno.truncate(path, this.bytes).catch(() => {});
      throw new RunDirError(this.dir, `samples.jsonl: cannot append sample ${sample}: ${(e as Error).message}${diskHint(e)}; the ${this.done.size} sample(s) written before are kept — fix the disk and run again with the same --out to resume`);
    }
    this.bytes += line.length;
    this.done.set(sample, stats);
  }

  /** All samples' statistics, in the order they were computed. */
  allStats(): SampleStats[] {
    return [...this.done.values()];
  }

  /** results.jsonl, with results.csv and results.parquet beside it for notebooks, each replaced atomically. */
  async writeResults(rows: readonly ResultRow[]): Promise<void> {
    try {
      await writeFileAtomic(`${this.dir}/results.jsonl`, resultsJsonl(rows));
      await writeFileAtomic(`${this.dir}/results.csv`, resultsCsv(rows));
      if (rows.length) await writeFileAtomic(`${this.dir}/results.parquet`, resultsParquet(rows));
    } catch (e) {
      throw new RunDirError(this.dir, `${(e as Error).message}; samples.jsonl is complete — run again with the same --out to write the results`);
    }
  }

  /** Close samples.jsonl and release the directory's lock. */
  async close(): Promise<void> {
    this.file?.close();
    this.file = null;
    await this.lock.release();
  }
}

/** results.jsonl's text: one row per line (the CLI file and the browser download are this string). */
export function resultsJsonl(rows: readonly ResultRow[]): string {
  return rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '');
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
