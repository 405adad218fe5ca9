// `kvscope bench kernels`: GFLOP/s and GB/s per kernel at the real models' shapes, the tfjs-webgpu peer on the
// same adapter in the same run, ratios, and the CPU's native matmul rate as the ceiling.
import type { Gpu } from '../../src/gpu/device.ts';
import { benchAttention } from './attentionBench.ts';
import type { BenchRow } from './benchRow.ts';
import { cpuMatmulCeiling } from './cpuCeiling.ts';
import { benchMatmul } from './matmulBench.ts';

export interface KernelBenchOptions { quick?: boolean; json?: boolean; reps?: number; only?: 'matmul' | 'attention' }

function shapeText(s: Record<string, number>): string {
  return Object.entries(s).map(([k, v]) => `${k}=${v}`).join(' ');
}

/** Rows as a fixed-width table, with kvscope/tfjs ratios for the cases that have a peer. */
export function benchTable(rows: BenchRow[]): string {
  const head = ['kernel', 'shape', 'dtype', 'impl', 'median ms', 'GFLOP/s', 'GB/s', 'vs tfjs'];
  const body = rows.map((r) => {
    const peer = r.impl === 'kvscope' && rows.find((p) => p.impl === 'tfjs-webgpu' && p.kernel === r.kernel && p.dtype === r.dtype && shapeText(p.shape) === shapeText(r.shape));
    return [r.kernel, shapeText(r.shape), r.dtype, r.impl, r.median_ms.toFixed(2), r.gflops.toFixed(2), r.gbps.toFixed(2), peer ? `${(peer.median_ms / r.median_ms).toFixed(2)}×` : ''];
  });
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= 4 ? c.padStart(w[i]) : c.padEnd(w[i]))).join('  ');
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...body.map(line)].join('\n');
}

export async function benchKernels(gpu: Gpu, opts: KernelBenchOptions = {}): Promise<BenchRow[]> {
  const log = (s: string) => { if (!opts.json) console.log(s); };
  log(`device: ${gpu.describe()}; timing: ${gpu.features.timestampQuery ? 'timestamp queries (GPU time)' : 'wall clock (no timestamp-query)'}${opts.quick ? '; quick subset' : ''}`);
  const rows: BenchRow[] = [];
  const emit = (rs: BenchRow[]) => {
    rows.push(...rs);
    if (opts.json) for (const r of rs) console.log(JSON.stringify(r));
  };
  const notes: string[] = [];
  const note = (s: string) => notes.push(s);
  if (opts.only !== 'attention') emit(await benchMatmul(gpu, { quick: opts.quick, reps: opts.reps, log: note }));
  if (opts.only !== 'matmul') emit(await benchAttention(gpu, { quick: opts.quick, reps: opts.reps }));
  if (!opts.json) {
    console.log(benchTable(rows));
    for (const n of notes) if (/not measured|wrong/.test(n)) console.log(`note: ${n}`);
    const f32 = rows.find((r) => r.kernel === 'matmul' && r.impl === 'kvscope' && r.dtype === 'f32' && r.shape.m === 1024);
    const bf16 = rows.find((r) => r.kernel === 'matmul' && r.impl === 'kvscope' && r.dtype === 'bf16' && r.shape.m === 1024);
    const attn = rows.find((r) => r.kernel === 'attention' && r.shape.tokens === 1024);
    if (f32 && bf16) console.log(`bf16/f32 time at 1024³: ${(bf16.median_ms / f32.median_ms).toFixed(2)}×`);
    if (f32 && attn) console.log(`attention (1024 tokens) at ${(100 * attn.gflops / f32.gflops).toFixed(0)}% of the f32 matmul GFLOP/s`);
    const cpu = await cpuMatmulCeiling();
    console.log(cpu.gflops !== null ? `CPU ceiling: ${cpu.gflops.toFixed(1)} GFLOP/s (${cpu.how})` : `CPU ceiling: ${cpu.how}`);
  }
  return rows;
}
