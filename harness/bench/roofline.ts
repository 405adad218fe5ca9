// `kvscope bench roofline`: what this adapter can do at most, measured with shaders/roofline.wgsl — peak FMA
// throughput from registers (f32 vec4 and scalar, f16 vec4 where shader-f16 passed its self-test), peak storage
// read bandwidth (streaming sums, strided and contiguous per invocation), and empty dispatches per second.
// Cached per adapter identity so the kernel tables can print `% of roofline` without measuring again.
import { readAdapterCache } from '../../src/gpu/adapterCache.ts';
import type { Gpu } from '../../src/gpu/device.ts';
import { Tensor } from '../../src/gpu/tensor.ts';
import { TIMING_METHOD, timeStage } from './timing.ts';

export interface Roofline {
  device: string;
  timing: string;
  measured_at: string;
  /** GFLOP/s (an FMA counts 2 flops) */
  fma_f32_vec4: number;
  fma_f32_scalar: number;
  fma_f16_vec4: number | null;
  fma_f16_why?: string;
  /** GB/s of storage reads */
  read_strided: number;
  read_chunked: number;
  /** 4 rows side by side per invocation (the decode gemv's pattern); absent in caches written before it was measured */
  read_rows?: number;
  /** max of the above: the bandwidth roofline */
  read_peak: number;
  /** empty dispatches per second, all in one compute pass; and one submit of one empty dispatch, ms */
  dispatches_per_s: number;
  submit_ms: number;
}

export const ROOFLINE_CACHE = 'roofline';

/** The cached roofline of this adapter, or null. */
export function cachedRoofline(gpu: Gpu): Roofline | null {
  return readAdapterCache<Roofline>(gpu, ROOFLINE_CACHE);
}

const WG = 64; // invocations per workgroup (8 and 256 measured alike on llvmpipe)

/** `targetMs`: the FMA runs grow until one dispatch takes this long (default 150; tests use less). */
export async function measureRoofline(gpu: Gpu, opts: { reps?: number; targetMs?: number; sourceBytes?: number; log?: (s: string) => void } = {}): Promise<Roofline> {
  const targetMs = opts.targetMs ?? 150;
  const reps = opts.reps ?? 7;
  const log = opts.log ?? (() => {});
  const groups = 256; // 16384 invocations: enough to fill any adapter's lanes
  const invocations = groups * WG;
  const sink = Tensor.empty(gpu, 'f32', [invocations, 4], 'roofline sink');
  const fmaRate = async (shader: string, entry: string, flopsPerStep: number): Promise<number> => {
    const kernel = gpu.kernels.get(shader, entry, { WG });
    const run = (iters: number) => timeStage(gpu, reps, (stage) => {
      stage.dispatch(kernel, { label: `roofline ${entry} ×${iters}`, bindings: { sink: sink.buffer() }, uniforms: { iters, n4: 0, b: 0.999, c: 0.001 }, workgroups: [groups] });
    });
    // grow the step count until one dispatch takes ≥ targetMs, so the dispatch's own cost is negligible
    let iters = 64, ms = await run(iters);
    while (ms < targetMs && iters < 1 << 24) {
      iters = Math.min(1 << 24, 4 * Math.ceil((iters * Math.min(16, Math.max(2, (1.3 * targetMs) / Math.max(ms, 1)))) / 4));
      ms = await run(iters);
    }
    const g = (invocations * iters * flopsPerStep) / ms / 1e6;
    log(`${entry}: ${iters} steps × ${invocations} invocations in ${ms.toFixed(1)} ms = ${g.toFixed(1)} GFLOP/s`);
    return g;
  };
  const fma_f32_vec4 = await fmaRate('roofline', 'fma_vec4', 64);
  const fma_f32_scalar = await fmaRate('roofline', 'fma_scalar', 32);
  let fma_f16_vec4: number | null = null, fma_f16_why: string | undefined;
  if (!gpu.features.shaderF16) fma_f16_why = 'shader-f16 not offered or its self-test failed';
  else if (!gpu.kernels.has('roofline_f16')) fma_f16_why = 'roofline_f16 not compiled';
  else fma_f16_vec4 = await fmaRate('roofline_f16', 'fma_vec4h', 64);

  // bandwidth: a source well beyond any CPU cache, ≤ one storage binding
  const bytes = Math.min(opts.sourceBytes ?? 64 << 20, Math.floor(gpu.maxBindingBytes / 16) * 16);
  const n4 = bytes / 16;
  const src = Tensor.empty(gpu, 'f32', [n4, 4], 'roofline source');
  gpu.device.queue.writeBuffer(src.buffer(), 0, new Float32Array(n4 * 4).fill(1));
  const readRate = async (entry: string, iters: number, groupsOf = groups, readN4 = n4): Promise<number> => {
    const kernel = gpu.kernels.get('roofline', entry, { WG });
    // `passes` reads of the whole source in one submit, grown until the submit takes ≥ targetMs: one pass alone is
    // a few ms, where the submit's own fixed cost would pass for slow memory
    const run = (passes: number) => timeStage(gpu, reps, (stage) => {
      for (let p = 0; p < passes; p++) {
        stage.dispatch(kernel, { label: `roofline ${entry}`, bindings: { src: src.buffer(), sink: sink.buffer() }, uniforms: { iters, n4: readN4, b: 0, c: 0 }, workgroups: [groupsOf] });
      }
    });
    gpu.device.queue.writeBuffer(sink.buffer(), 0, new Float32Array(invocations * 4)); // entries a kernel leaves unwritten sum to 0
    let passes = 1, ms = await run(passes);
    while (ms < targetMs && passes < 256) {
      passes = Math.min(256, Math.ceil(passes * Math.min(16, Math.max(2, (1.3 * targetMs) / Math.max(ms, 1)))));
      ms = await run(passes);
    }
    // checksum: src is all ones, so the sink's values sum to 4·n4 — a kernel that skipped reads is caught
    const sum = Array.from(await sink.read() as Float32Array).reduce((a, v) => a + v, 0);
    if (sum !== 4 * readN4) throw new Error(`roofline ${entry}: the sink sums to ${sum}, expected ${4 * readN4} (reads skipped or repeated)`);
    const g = (passes * 16 * readN4) / ms / 1e6;
    log(`${entry}: ${passes} × ${(16 * readN4 / 2 ** 20).toFixed(0)} MiB in ${ms.toFixed(2)} ms = ${g.toFixed(1)} GB/s`);
    return g;
  };
  const read_strided = await readRate('read_strided', 0);
  const read_chunked = await readRate('read_chunked', Math.ceil(n4 / invocations));
  // the decode gemv's pattern: 4 rows of K = 3584 (896 vec4s) side by side per invocation
  const rowN4 = 896, rowCount = Math.floor(n4 / rowN4);
  const read_rows = await readRate('read_rows', rowN4, Math.ceil(rowCount / 4 / WG), rowCount * rowN4);
  src.dispose();

  // dispatch overhead: N empty dispatches in one pass, and one submit of one (the entry uses no resource, so the
  // registry binds the file's whole group 0)
  const empty = gpu.kernels.get('roofline', 'empty');
  const small = Tensor.empty(gpu, 'f32', [4], 'roofline small');
  const d = { label: 'empty', bindings: { src: small.buffer(), sink: sink.buffer() }, uniforms: { iters: 0, n4: 0, b: 0, c: 0 }, workgroups: [1] as [number] };
  const n = 2000;
  const many = await timeStage(gpu, reps, (stage) => {
    for (let i = 0; i < n; i++) stage.dispatch(empty, d);
  });
  const one = await timeStage(gpu, reps * 4, (stage) => stage.dispatch(empty, d));
  small.dispose();
  sink.dispose();
  log(`empty: ${n} dispatches in ${many.toFixed(1)} ms; one submit ${one.toFixed(3)} ms`);
  return {
    device: gpu.describe(), timing: TIMING_METHOD, measured_at: new Date().toISOString(),
    fma_f32_vec4, fma_f32_scalar, fma_f16_vec4, ...(fma_f16_why ? { fma_f16_why } : {}),
    read_strided, read_chunked, read_rows, read_peak: Math.max(read_strided, read_chunked, read_rows),
    dispatches_per_s: n / (many / 1000), submit_ms: one,
  };
}

/** The roofline as a small table. */
export function rooflineTable(r: Roofline): string {
  const rows: [string, string][] = [
    ['f32 FMA, vec4 (register only)', `${r.fma_f32_vec4.toFixed(1)} GFLOP/s`],
    ['f32 FMA, scalar (register only)', `${r.fma_f32_scalar.toFixed(1)} GFLOP/s`],
    ['f16 FMA, vec4 (register only)', r.fma_f16_vec4 !== null ? `${r.fma_f16_vec4.toFixed(1)} GFLOP/s` : `not measured: ${r.fma_f16_why}`],
    ['storage read, strided across invocations', `${r.read_strided.toFixed(1)} GB/s`],
    ['storage read, contiguous per invocation', `${r.read_chunked.toFixed(1)} GB/s`],
    ...(r.read_rows !== undefined ? [['storage read, 4 rows per invocation (gemv)', `${r.read_rows.toFixed(1)} GB/s`] as [string, string]] : []),
    ['empty dispatches (one pass)', `${Math.round(r.dispatches_per_s)} /s (${(1e6 / r.dispatches_per_s).toFixed(1)} µs each)`],
    ['one submit of one empty dispatch', `${r.submit_ms.toFixed(3)} ms`],
  ];
  const w = Math.max(...rows.map((x) => x[0].length));
  return [`roofline of ${r.device}`, `timing: ${r.timing}`, ...rows.map(([a, b]) => `${a.padEnd(w)}  ${b}`)].join('\n');
}
