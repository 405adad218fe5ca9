// Minimal assertions for Deno tests (no network: @std/assert is not reachable here).
export function assert(cond: unknown, msg = 'assertion failed'): asserts cond {
  if (!cond) throw new Error(msg);
}

/** JSON-like text that keeps NaN, ±Infinity, −0, undefined and null apart (JSON.stringify writes all as null). */
export function show(v: unknown): string {
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  if (v === undefined) return 'undefined';
  if (typeof v === 'bigint') return `${v}n`;
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}[${Array.from(v as unknown as ArrayLike<number>, show).join(',')}]`;
  if (Array.isArray(v)) return `[${v.map(show).join(',')}]`;
  if (v instanceof Map) return `Map{${[...v].map(([k, x]) => `${show(k)}:${show(x)}`).join(',')}}`;
  if (v instanceof Set) return `Set{${[...v].map(show).join(',')}}`;
  return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}:${show(x)}`).join(',')}}`;
}

export function assertEquals<T>(got: T, want: T, what = 'value'): void {
  const g = show(got), w = show(want);
  if (g !== w) throw new Error(`${what}: got ${g}, want ${w}`);
}

/** fn throws or its promise rejects, with a message matching `pattern`. */
export async function assertRejects(fn: () => unknown, pattern: RegExp, what = 'call'): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    const err = e as Error;
    if (!pattern.test(err.message)) throw new Error(`${what} threw '${err.message}', which does not match ${pattern}`);
    return err;
  }
  throw new Error(`${what} did not throw (expected ${pattern})`);
}

export function assertThrows(fn: () => unknown, pattern: RegExp, what = 'call'): Error {
  try {
    fn();
  } catch (e) {
    const err = e as Error;
    if (!pattern.test(err.message)) throw new Error(`${what} threw '${err.message}', which does not match ${pattern}`);
    return err;
  }
  throw new Error(`${what} did not throw (expected ${pattern})`);
}

/**
 * Normwise error of a GPU result against a reference, as ggml's test-backend-ops: max |got − want| / max |want|.
 * Non-finite values in `got`, a length mismatch or an all-zero reference fail outright.
 */
export function normwiseError(got: ArrayLike<number>, want: ArrayLike<number>, what: string): number {
  assertEquals(got.length, want.length, `${what}: length`);
  let err = 0, scale = 0;
  for (let i = 0; i < want.length; i++) {
    if (!Number.isFinite(got[i])) throw new Error(`${what}: element ${i} is ${got[i]} (want ${want[i]})`);
    err = Math.max(err, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  assert(scale > 0, `${what}: the reference is all zeros`);
  return err / scale;
}

/** normwiseError ≤ rel, else an error naming `what` and both numbers; returns the measured error. */
export function assertNormwise(got: ArrayLike<number>, want: ArrayLike<number>, rel: number, what: string): number {
  const e = normwiseError(got, want, what);
  if (!(e <= rel)) throw new Error(`${what}: normwise error ${e.toExponential(3)} over ${rel}`);
  return e;
}
