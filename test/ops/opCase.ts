// One table of (op, shapes, dtypes, tolerance) cases, run against the float64 references in Deno
// (test/ops/kernels.test.ts) and in Chromium (test/browser/). A case returns the GPU result and the
// reference result; `compare` decides. Outputs are allocated poisoned (NaN bits), so a kernel that
// leaves any output unwritten fails.
import type { Gpu } from '../../src/gpu/device.ts';

export interface Tolerance {
  /** Elementwise: |got − want| ≤ atol + rtol·|want|. */
  atol: number;
  rtol: number;
}

export interface OpCase {
  op: string;
  name: string;
  tol: Tolerance;
  run(gpu: Gpu, rng: Rng): Promise<{ got: ArrayLike<number>; want: ArrayLike<number> }>;
}

export interface Comparison {
  ok: boolean;
  maxAbsErr: number;
  maxRefAbs: number;
  bad: number;
  nonFinite: number;
  firstBad: string;
}

export function compare(got: ArrayLike<number>, want: ArrayLike<number>, tol: Tolerance): Comparison {
  let maxAbsErr = 0, maxRefAbs = 0, bad = 0, nonFinite = 0;
  let firstBad = '';
  if (got.length !== want.length) {
    return { ok: false, maxAbsErr: Infinity, maxRefAbs: 0, bad: Math.max(got.length, want.length), nonFinite: 0, firstBad: `length ${got.length} vs ${want.length}` };
  }
  for (let i = 0; i < want.length; i++) {
    const g = got[i], w = want[i];
    maxRefAbs = Math.max(maxRefAbs, Math.abs(w));
    if (!Number.isFinite(g) && Number.isFinite(w)) {
      nonFinite++;
      bad++;
      if (!firstBad) firstBad = `[${i}] got ${g}, want ${w}`;
      continue;
    }
    if (!Number.isFinite(w)) {
      if (g !== w && !(Number.isNaN(g) && Number.isNaN(w))) { bad++; if (!firstBad) firstBad = `[${i}] got ${g}, want ${w}`; }
      continue;
    }
    const e = Math.abs(g - w);
    maxAbsErr = Math.max(maxAbsErr, e);
    if (e > tol.atol + tol.rtol * Math.abs(w)) {
      bad++;
      if (!firstBad) firstBad = `[${i}] got ${g}, want ${w} (err ${e.toExponential(2)})`;
    }
  }
  return { ok: bad === 0, maxAbsErr, maxRefAbs, bad, nonFinite, firstBad };
}

/** Deterministic random numbers (mulberry32) so every failure reproduces. */
export class Rng {
  private s: number;
  constructor(seed: number) { this.s = seed >>> 0; }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  uniform(lo: number, hi: number): number { return lo + (hi - lo) * this.next(); }
  int(lo: number, hiExclusive: number): number { return lo + Math.floor(this.next() * (hiExclusive - lo)); }
  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = Math.max(this.next(), 1e-12), v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  normals(n: number, std = 1): number[] { return Array.from({ length: n }, () => this.normal() * std); }
}

/** Run `fn` with tensors chunked at `bytes` per storage binding (exercises the row-chunked path). */
export async function withBindingLimit<T>(gpu: Gpu, bytes: number, fn: () => Promise<T>): Promise<T> {
  const saved = gpu.maxBindingBytes;
  gpu.maxBindingBytes = bytes;
  try {
    return await fn();
  } finally {
    gpu.maxBindingBytes = saved;
  }
}
