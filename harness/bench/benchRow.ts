// One benchmark result row, as printed by `kvscope bench kernels --json` (one object per line).
export type BenchImpl = 'kvscope' | 'tfjs-webgpu' | 'onnxruntime-web';
/** Where the table ran: the Deno CLI or a (headless) browser tab; `bench … --browser` runs it in Chromium. */
export type BenchRuntime = 'deno' | 'chromium' | 'browser';

/** This process's runtime: Deno, Chromium (its user agent), or another browser. */
export function benchRuntime(): BenchRuntime {
  if (typeof (globalThis as { Deno?: unknown }).Deno !== 'undefined') return 'deno';
  return /Chrom(e|ium)\//.test(globalThis.navigator?.userAgent ?? '') ? 'chromium' : 'browser';
}

export interface BenchRow {
  kernel: string;
  /** which shape of which model */
  case: string;
  shape: Record<string, number>;
  dtype: string;
  impl: BenchImpl;
  /** kvscope's kernel variant (tuned choice), where it has several */
  variant?: string;
  /** one op per submit, the same for every implementation */
  median_ms: number;
  /** kvscope rows: ms per op with `batch_n` copies in one submit, as a forward records them (timing.ts) */
  batched_ms?: number;
  batch_n?: number;
  flops: number;
  bytes: number;
  gflops: number;
  gbps: number;
  /** compute-bound rows vs the FMA peak, memory-bound rows vs the read bandwidth (bench roofline) */
  bound?: 'compute' | 'memory';
  /** % of the roof from the batched time where the row has one (like the roofline's own kernels), else single-submit */
  roofline_pct?: number;
  roofline_from?: 'batch' | 'submit';
  /** % of the roof from the single-submit time (the submit floor included) */
  roofline_pct_submit?: number;
  /** attention rows: GFLOP/s over the f32 1024³ kvscope matmul rate timed in the same run, interleaved with the row's runs */
  matmul_share?: number;
  device: string;
  runtime?: BenchRuntime;
}

/** A row from a time and the work it did. */
export function benchRow(r: Omit<BenchRow, 'gflops' | 'gbps'>): BenchRow {
  return { ...r, gflops: r.flops / r.median_ms / 1e6, gbps: r.bytes / r.median_ms / 1e6 };
}
