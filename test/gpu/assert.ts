// Minimal assertions for Deno tests (no network: @std/assert is not reachable here).
export function assert(cond: unknown, msg = 'assertion failed'): asserts cond {
  if (!cond) throw new Error(msg);
}

export function assertEquals<T>(got: T, want: T, what = 'value'): void {
  const g = JSON.stringify(got), w = JSON.stringify(want);
  if (g !== w && !(Object.is(got, want))) throw new Error(`${what}: got ${g}, want ${w}`);
}

export async function assertRejects(fn: () => Promise<unknown>, pattern: RegExp, what = 'call'): Promise<Error> {
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
