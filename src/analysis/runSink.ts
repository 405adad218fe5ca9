// Where a probe run keeps what it computes: one line per sample (resume), results.jsonl and the report files. On
// disk (Deno) that is the crash-safe ResultsLog in the --out directory; in a browser tab, memory, offered as
// downloads. The runner (runProbe.ts) writes only through this interface.
import { writeFileAtomic } from '../io/atomicWrite.ts';
import type { OverlayWriter } from '../tasks/task.ts';
import { type ResultRow, ResultsLog, resultsJsonl, type SampleStats } from '../tasks/resultsLog.ts';

export interface RunSink {
  /** Where the files go (a directory, or "memory"), for messages. */
  readonly where: string;
  /** Samples already done (a resumed run). */
  readonly done: ReadonlyMap<string, SampleStats>;
  has(sample: string): boolean;
  addSample(sample: string, stats: SampleStats): Promise<void>;
  writeResults(rows: readonly ResultRow[]): Promise<void>;
  /** One report file by name: results.md, a plot, an overlay. */
  writeFile(name: string, body: string | Uint8Array): Promise<void>;
  close(): Promise<void>;
}

/** The run directory on disk (resumable, locked, crash-safe: src/tasks/resultsLog.ts). */
export async function directorySink(dir: string, settings: Record<string, unknown>): Promise<RunSink> {
  const log = await ResultsLog.open(dir, settings);
  return {
    where: dir,
    done: log.done,
    has: (s) => log.has(s),
    addSample: (s, st) => log.addSample(s, st),
    writeResults: (rows) => log.writeResults(rows),
    writeFile: (name, body) => writeFileAtomic(`${dir}/${name}`, body),
    close: () => log.close(),
  };
}

/** Overlays as PNG files in `dir` (created when the first one comes). */
export function directoryOverlays(dir: string): OverlayWriter {
  return async (file, png) => {
    await Deno.mkdir(dir, { recursive: true });
    await writeFileAtomic(`${dir}/${file}`, png);
  };
}

/** Everything in memory (the browser app): the same file texts the directory sink writes. */
export class MemorySink implements RunSink {
  readonly where = 'memory';
  readonly done = new Map<string, SampleStats>();
  readonly files = new Map<string, string | Uint8Array>();
  /** samples.jsonl as the directory sink would hold it. */
  samplesJsonl = '';

  has(sample: string): boolean {
    return this.done.has(sample);
  }
  addSample(sample: string, stats: SampleStats): Promise<void> {
    this.samplesJsonl += JSON.stringify({ sample, stats }) + '\n';
    this.done.set(sample, stats);
    return Promise.resolve();
  }
  writeResults(rows: readonly ResultRow[]): Promise<void> {
    this.files.set('results.jsonl', resultsJsonl(rows));
    return Promise.resolve();
  }
  writeFile(name: string, body: string | Uint8Array): Promise<void> {
    this.files.set(name, body);
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}
