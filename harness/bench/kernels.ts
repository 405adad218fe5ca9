// `kvscope bench kernels`: GFLOP/s and GB/s per kernel at the real models' shapes, tfjs-webgpu and onnxruntime-web
// as peers on the same adapter in the same run, one timing method for all, every row as a share of this adapter's
// measured roofline (compute-bound rows vs the vec4 FMA peak, memory-bound rows vs the read bandwidth).
// Table code only: no Deno APIs (the browser bench runs it in a tab).
import type { Gpu } from '../../src/gpu/device.ts';
import { writeAdapterCache } from '../../src/gpu/adapterCache.ts';
import { benchAttention } from './attentionBench.ts';
import { benchRuntime, type BenchRow } from './benchRow.ts';
import { cpuMatmulCeiling } from './cpuCeiling.ts';
import { benchMatmul } from './matmulBench.ts';
import { cachedRoofline, measureRoofline, type Roofline, ROOFLINE_CACHE, rooflineTable } from './roofline.ts';
import { BATCHED_TIMING, TIMING_METHOD } from './timing.ts';
import { tuneKernels, tuningText } from './tune.ts';
import { kernelChoice } from '../../src/gpu/tuning.ts';

export interface KernelBenchOptions {
  quick?: boolean; json?: boolean; reps?: number; only?: 'matmul' | 'attention';
  /** measure the roofline again even when this adapter has a cached one */
  freshRoofline?: boolean;
  peers?: boolean;
  print?: (s: string) => void;
}

function shapeText(s: Record<string, number>): string {
  return Object.entries(s).map(([k, v]) => `${k}=${v}`).join(' ');
}

/**
 * Which roof a row sits under: its arithmetic intensity against the ridge point (peak flops / peak bytes). The row's
 * % of that roof comes from its batched time where it has one (kvscope rows: the submit floor shared as in a forward
 * and as in the roofline's own read kernels), else from its single-submit time; both are kept.
 */
export function withRoofline(rows: BenchRow[], roof: Roofline): BenchRow[] {
  const ridge = roof.fma_f32_vec4 / roof.read_peak; // flops per byte
  return rows.map((r) => {
    const bound = r.flops / r.bytes >= ridge ? 'compute' : 'memory';
    const pct = (ms: number) => bound === 'compute' ? (100 * r.flops / ms / 1e6) / roof.fma_f32_vec4 : (100 * r.bytes / ms / 1e6) / roof.read_peak;
    const roofline_pct_submit = pct(r.median_ms);
    return r.batched_ms !== undefined
      ? { ...r, bound, roofline_pct: pct(r.batched_ms), roofline_from: 'batch' as const, roofline_pct_submit }
      : { ...r, bound, roofline_pct: roofline_pct_submit, roofline_from: 'submit' as const, roofline_pct_submit };
  });
}

/**
 * Rows as a fixed-width table; kvscope rows carry their speed ratio to each peer on the same case (single-submit
 * times, the one method all share). `% roof` is from the batched time (`batched ms`, ×N in one submit) on kvscope
 * rows, from the single-submit time on peer rows (`from` says which); `1-submit %` is every row's single-submit share.
 */
export function benchTable(rows: BenchRow[]): string {
  const head = ['kernel', 'case', 'shape', 'dtype', 'impl', 'runtime', 'variant', 'median ms', 'batched ms', 'GFLOP/s', 'GB/s', 'bound', '% roof', 'from', '1-submit %', 'vs tfjs', 'vs ort', 'vs matmul'];
  const same = (a: BenchRow, b: BenchRow) => a.kernel === b.kernel && a.dtype === b.dtype && shapeText(a.shape) === shapeText(b.shape);
  const ratio = (r: BenchRow, impl: string) => {
    const p = r.impl === 'kvscope' && rows.find((q) => q.impl === impl && same(q, r));
    return p ? `${(p.median_ms / r.median_ms).toFixed(2)}×` : '';
  };
  const pct = (v: number | undefined) => v !== undefined ? `${v.toFixed(0)}%` : '';
  const body = rows.map((r) => [r.kernel, r.case, shapeText(r.shape), r.dtype, r.impl, r.runtime ?? '', r.variant ?? '', r.median_ms.toFixed(2),
    r.batched_ms !== undefined ? `${r.batched_ms.toFixed(2)} ×${r.batch_n}` : '', r.gflops.toFixed(2), r.gbps.toFixed(2),
    r.bound ?? '', pct(r.roofline_pct), r.roofline_from ?? '', pct(r.roofline_pct_submit), ratio(r, 'tfjs-webgpu'), ratio(r, 'onnxruntime-web'),
    r.matmul_share !== undefined ? `${(100 * r.matmul_share).toFixed(0)}%` : '']);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const left = new Set([0, 1, 2, 3, 4, 5, 6, 11, 13]);
  const line = (cells: string[]) => cells.map((c, i) => (left.has(i) ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...body.map(line)].join('\n');
}

export async function benchKernels(gpu: Gpu, opts: KernelBenchOptions = {}): Promise<BenchRow[]> {
  const print = opts.print ?? ((s: string) => console.log(s));
  const log = (s: string) => { if (!opts.json) print(s); };
  log(`device: ${gpu.describe()}; runtime: ${benchRuntime()}${opts.quick ? '; quick subset' : ''}`);
  log(`timing: ${TIMING_METHOD}; ${BATCHED_TIMING}`);
  let roof = opts.freshRoofline ? null : cachedRoofline(gpu);
  if (!roof) {
    roof = await measureRoofline(gpu, { reps: opts.reps });
    writeAdapterCache(gpu, ROOFLINE_CACHE, roof);
    log(`${rooflineTable(roof)}\n(measured in this run)`);
  } else log(`${rooflineTable(roof)}\n(cached, measured ${roof.measured_at})`);
  let choice = kernelChoice(gpu);
  if (choice.source === 'default') choice = await tuneKernels(gpu, { persist: true });
  log(tuningText(choice));
  const rows: BenchRow[] = [];
  const notes: string[] = [];
  const note = (s: string) => notes.push(s);
  const emit = (rs: BenchRow[]) => {
    const withRoof = withRoofline(rs, roof!).map((r) => ({ ...r, runtime: benchRuntime() }));
    rows.push(...withRoof);
    if (opts.json) for (const r of withRoof) print(JSON.stringify(r));
  };
  if (opts.only !== 'attention') emit(await benchMatmul(gpu, { quick: opts.quick, reps: opts.reps, peers: opts.peers, log: note, submitFloorMs: roof.submit_ms }));
  if (opts.only !== 'matmul') emit(await benchAttention(gpu, { quick: opts.quick, reps: opts.reps, peers: opts.peers, log: note }));
  if (!opts.json) {
    print(benchTable(rows));
    for (const n of notes) if (/not measured|wrong/.test(n)) print(`note: ${n}`);
    const kv = (kernel: string, c: string, dt = 'f32') => rows.find((r) => r.kernel === kernel && r.impl === 'kvscope' && r.dtype === dt && r.case === c);
    const f32 = kv('matmul', 'square 1024³'), bf16 = kv('matmul', 'square 1024³', 'bf16');
    if (f32 && bf16) print(`bf16/f32 time at 1024³: ${(bf16.median_ms / f32.median_ms).toFixed(2)}×`);
    for (const a of rows.filter((r) => r.kernel === 'attention' && r.matmul_share !== undefined && r.shape.tokens > 1)) {
      print(`attention ${a.case} ${a.impl} ${a.variant}: ${a.gflops.toFixed(1)} GFLOP/s = ${(100 * a.matmul_share!).toFixed(0)}% of the f32 1024³ matmul rate timed interleaved with it`);
    }
    const cpu = await cpuMatmulCeiling();
    print(cpu.gflops !== null ? `CPU ceiling: ${cpu.gflops.toFixed(1)} GFLOP/s (${cpu.how})` : `CPU ceiling: ${cpu.how}`);
  }
  return rows;
}
