// The fuzzing contract, checked per input: a reader either returns a value that passes the target's own invariant
// check, or throws one of the target's typed errors whose message names the file; it does so within a time bound
// and without growing the process's memory past a bound. Anything else (a TypeError/RangeError from inside, an
// untyped Error, an error not naming the file, a silently wrong value, a slow or memory-hungry input) is a finding.
import fc from 'fast-check';

export interface FuzzTarget<T> {
  /** The reader under test, e.g. "safetensors header+body". */
  readonly name: string;
  /** The file name the reader is given; every error must name it. */
  readonly file: string;
  /** Error class names (Error.name) that count as typed errors for this reader. */
  readonly typed: readonly string[];
  readonly inputs: fc.Arbitrary<T>;
  /** Run the reader on one input; the returned value goes to `check`. */
  run(input: T): unknown | Promise<unknown>;
  /** null when a successful result is right for this input, else what is wrong with it. */
  check?(result: unknown, input: T): string | null;
  /** A short description of the input for reports. */
  describe?(input: T): string;
}

export interface FuzzOutcome {
  target: string;
  inputs: number;
  accepted: number;
  /** Typed errors by class name. */
  rejected: Record<string, number>;
  findings: string[];
  slowestMs: number;
  ms: number;
}

export interface FuzzBounds {
  /** Per input. */
  timeMs: number;
  /** Growth of the process's resident set during one input. */
  rssBytes: number;
}

export const DEFAULT_BOUNDS: FuzzBounds = { timeMs: 5000, rssBytes: 1 << 30 };

/** What happened on one input: null when it honours the contract, else the finding. */
async function classify<T>(target: FuzzTarget<T>, input: T, out: FuzzOutcome, bounds: FuzzBounds): Promise<string | null> {
  const t0 = performance.now();
  let finding: string | null = null;
  try {
    const result = await target.run(input);
    const wrong = target.check?.(result, input) ?? null;
    if (wrong) finding = `accepted with a wrong value: ${wrong}`;
    else out.accepted++;
  } catch (e) {
    const err = e as Error;
    const name = err?.name ?? typeof e;
    if (!target.typed.includes(name)) finding = `untyped ${name}: ${String(err?.message ?? e).slice(0, 300)}`;
    else if (!String(err.message).includes(target.file)) finding = `${name} does not name ${target.file}: ${err.message.slice(0, 300)}`;
    else out.rejected[name] = (out.rejected[name] ?? 0) + 1;
  }
  const ms = performance.now() - t0;
  out.slowestMs = Math.max(out.slowestMs, ms);
  if (!finding && ms > bounds.timeMs) finding = `took ${ms.toFixed(0)} ms (bound ${bounds.timeMs} ms)`;
  return finding;
}

/**
 * Run `numRuns` fast-check inputs through the target and count outcomes. Every finding is kept (the run does not
 * stop at the first one), with the input described; `seed` makes a run repeatable.
 */
export async function runFuzz<T>(target: FuzzTarget<T>, numRuns: number, opts: { seed?: number; bounds?: FuzzBounds } = {}): Promise<FuzzOutcome> {
  const bounds = opts.bounds ?? DEFAULT_BOUNDS;
  const out: FuzzOutcome = { target: target.name, inputs: 0, accepted: 0, rejected: {}, findings: [], slowestMs: 0, ms: 0 };
  const t0 = performance.now();
  await fc.check(
    fc.asyncProperty(target.inputs, async (input) => {
      out.inputs++;
      const rss0 = Deno.memoryUsage().rss;
      const finding = await classify(target, input, out, bounds);
      if (finding) out.findings.push(`${finding}  [input: ${(target.describe?.(input) ?? fc.stringify(input)).slice(0, 400)}]`);
      // growth during this input (the resident set rarely shrinks, so later inputs are not blamed for it)
      const grown = Deno.memoryUsage().rss - rss0;
      if (grown > bounds.rssBytes) out.findings.push(`resident memory grew by ${(grown / 2 ** 20).toFixed(0)} MiB (bound ${(bounds.rssBytes / 2 ** 20).toFixed(0)} MiB)  [input: ${(target.describe?.(input) ?? '').slice(0, 200)}]`);
      return true;
    }),
    { numRuns, seed: opts.seed, endOnFailure: true },
  );
  out.ms = performance.now() - t0;
  return out;
}

/** One line per target: inputs, accepted, rejected by type, findings. */
export function formatOutcome(o: FuzzOutcome): string {
  const rej = Object.entries(o.rejected).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
  return `${o.target}: ${o.inputs} inputs, ${o.accepted} accepted (checked), rejected: ${rej}; findings ${o.findings.length}; slowest ${o.slowestMs.toFixed(0)} ms, total ${(o.ms / 1000).toFixed(1)} s`;
}
