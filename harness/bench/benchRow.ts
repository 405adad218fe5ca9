// One benchmark result row, as printed by `kvscope bench kernels --json` (one object per line).
export type BenchImpl = 'kvscope' | 'tfjs-webgpu' | 'onnxruntime-web';

export interface BenchRow {
  kernel: string;
  /** which shape of which model */
  case: string;
  shape: Record<string, number>;
  dtype: string;
  impl: BenchImpl;
  /** kvscope's kernel variant (tuned choice), where it has several */
  variant?: string;
  median_ms: number;
  flops: number;
  bytes: number;
  gflops: number;
  gbps: number;
  /** compute-bound rows vs the FMA peak, memory-bound rows vs the read bandwidth (bench roofline) */
  bound?: 'compute' | 'memory';
  roofline_pct?: number;
  /** attention rows: GFLOP/s over the f32 1024³ kvscope matmul rate measured in the same run, just before the row */
  matmul_share?: number;
  device: string;
}

/** A row from a time and the work it did. */
export function benchRow(r: Omit<BenchRow, 'gflops' | 'gbps'>): BenchRow {
  return { ...r, gflops: r.flops / r.median_ms / 1e6, gbps: r.bytes / r.median_ms / 1e6 };
}
