// One benchmark result row, as printed by `kvscope bench kernels --json` (one object per line).
export interface BenchRow {
  kernel: string;
  shape: Record<string, number>;
  dtype: string;
  impl: 'kvscope' | 'tfjs-webgpu';
  median_ms: number;
  gflops: number;
  gbps: number;
  device: string;
}
