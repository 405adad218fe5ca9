// matmul at the real models' shapes — SigLIP-so400m MLP (729 patches), Qwen2-7B projections at prefill (512 tokens)
// and decode (1 token), square 1024³ — kvscope in f32/bf16/f16 weights, tfjs-webgpu and onnxruntime-web (f32)
// as peers, all timed by the one method of ./timing.ts.
import type { Gpu } from '../../src/gpu/device.ts';
import type { DType } from '../../src/gpu/dtype.ts';
import { bytesPerElement } from '../../src/gpu/dtype.ts';
import { Tensor } from '../../src/gpu/tensor.ts';
import { matmul, matmulVariant } from '../../src/ops/matmul.ts';
import { benchRow, type BenchRow } from './benchRow.ts';
import { ortMatmulMs } from './ortPeer.ts';
import { tfjsMatmulMs } from './tfjsPeer.ts';
import { timeStage, timeStageBatched } from './timing.ts';

export interface MatmulShape { name: string; m: number; n: number; k: number; quick: boolean }

export const MATMUL_SHAPES: MatmulShape[] = [
  { name: 'square 1024³', m: 1024, n: 1024, k: 1024, quick: true },
  { name: 'siglip-so400m mlp fc1', m: 729, n: 4304, k: 1152, quick: false },
  { name: 'siglip-so400m mlp fc2', m: 729, n: 1152, k: 4304, quick: false },
  { name: 'qwen2-7b prefill q/o', m: 512, n: 3584, k: 3584, quick: false },
  { name: 'qwen2-7b prefill k/v', m: 512, n: 512, k: 3584, quick: true },
  { name: 'qwen2-7b prefill up/gate', m: 512, n: 18944, k: 3584, quick: false },
  { name: 'qwen2-7b prefill down', m: 512, n: 3584, k: 18944, quick: false },
  { name: 'qwen2-7b decode q/o', m: 1, n: 3584, k: 3584, quick: true },
  { name: 'qwen2-7b decode k/v', m: 1, n: 512, k: 3584, quick: false },
  { name: 'qwen2-7b decode up/gate', m: 1, n: 18944, k: 3584, quick: true },
  { name: 'qwen2-7b decode down', m: 1, n: 3584, k: 18944, quick: false },
];

/** Distinct weights a batch cycles through: together ≥ 64 MiB (the roofline's read source), so copy i + 1 does not find copy i's weight in a CPU cache, as in a forward where each layer reads its own. */
const BATCH_WEIGHT_BYTES = 64 << 20;

/**
 * `submitFloorMs` (the roofline's one submit of one empty dispatch): kvscope rows are also timed in a batch of N
 * back-to-back matmuls in one submit, N such that the batch takes ≥ 10× the floor (timing.ts timeStageBatched).
 */
export async function benchMatmul(gpu: Gpu, opts: { quick?: boolean; reps?: number; peers?: boolean; log?: (s: string) => void; budgetMs?: number; submitFloorMs?: number } = {}): Promise<BenchRow[]> {
  const reps = opts.reps ?? 5;
  const budget = opts.budgetMs ?? (opts.quick ? 10_000 : 30_000);
  // tfjs's rate at an earlier shape: a later shape it would spend far over the row budget on is not run
  let tfjsGflops: number | null = null;
  const rows: BenchRow[] = [];
  const device = gpu.describe();
  for (const s of MATMUL_SHAPES) {
    if (opts.quick && !s.quick) continue;
    const { m, n, k } = s;
    const flops = 2 * m * n * k;
    const r = flops > 2e10 ? Math.min(reps, 2) : reps;
    const dtypes: DType[] = opts.quick ? ['f32', 'bf16'] : ['f32', 'bf16', 'f16'];
    const x = Tensor.from(gpu, 'f32', [m, k], new Float32Array(m * k).map((_, i) => ((i * 7919) % 13) / 13 - 0.5), 'bench x');
    const y = Tensor.empty(gpu, 'f32', [m, n], 'bench y');
    for (const dt of dtypes) {
      const w = Tensor.empty(gpu, dt, [n, k], `bench w ${dt}`); // contents do not change the timing
      const ms = await timeStage(gpu, r, (stage) => { matmul(stage, x, w, { out: y }); }, 1, budget);
      // weight at its dtype + x + y, each once (x is re-read per output row from cache, not from memory)
      const wBytes = bytesPerElement(dt) * n * k;
      const bytes = 4 * m * k + wBytes + 4 * m * n;
      let batched: { ms: number; n: number } | undefined;
      const ws = [w];
      if (opts.submitFloorMs !== undefined) {
        const floor = opts.submitFloorMs;
        // single runs far over 10 floors already share the floor: N = 1 is their batch (no second measurement)
        if (ms >= 10 * floor) batched = { ms, n: 1 };
        else {
          const copies = Math.min(Math.ceil((10 * floor) / Math.max(ms - floor, ms / 10)) + 1, Math.ceil(BATCH_WEIGHT_BYTES / wBytes));
          for (let c = 1; c < copies; c++) ws.push(Tensor.empty(gpu, dt, [n, k], `bench w ${dt} copy ${c}`));
          batched = await timeStageBatched(gpu, r, (stage, i) => { matmul(stage, x, ws[i % ws.length], { out: y }); }, floor, ms, 256, budget);
        }
      }
      rows.push(benchRow({ kernel: 'matmul', case: s.name, shape: { m, n, k }, dtype: dt, impl: 'kvscope', variant: matmulVariant(gpu, m, n, k, dt), median_ms: ms,
        ...(batched ? { batched_ms: batched.ms, batch_n: batched.n } : {}), flops, bytes, device }));
      opts.log?.(`matmul ${s.name} ${dt}: ${ms.toFixed(1)} ms${batched ? `; batched ${batched.ms.toFixed(1)} ms ×${batched.n} (${ws.length} weights)` : ''}`);
      ws.forEach((t) => t.dispose());
    }
    x.dispose();
    y.dispose();
    if (opts.peers === false) continue;
    const bytes = 4 * (m * k + n * k + m * n);
    // tfjs: a weight over one storage binding is not tried — tfjs-webgpu binds it whole and returns zeros (checked
    // in tfjsMatmulMs), and the failed probe alone takes minutes on a CPU adapter
    const limit = gpu.limits.maxStorageBufferBindingSize;
    if (4 * n * k > limit) opts.log?.(`tfjs-webgpu not measured for ${s.name}: its f32 weight (${4 * n * k} bytes) is over the ${limit}-byte binding limit`);
    else if (tfjsGflops !== null && m > 1 && flops / tfjsGflops / 1e6 > 3 * budget) {
      // one checked run, a warmup and a timed run: three runs of this length
      opts.log?.(`tfjs-webgpu not measured for ${s.name}: at the ${tfjsGflops.toFixed(2)} GFLOP/s it ran an earlier shape, one run would take about ${(flops / tfjsGflops / 1e9).toFixed(0)} s (over 3× the ${(budget / 1000).toFixed(0)} s row budget)`);
    } else {
      const peer = await tfjsMatmulMs(m, n, k, r, budget);
      if ('error' in peer) opts.log?.(`tfjs-webgpu not measured for ${s.name}: ${peer.error}`);
      else {
        const row = benchRow({ kernel: 'matmul', case: s.name, shape: { m, n, k }, dtype: 'f32', impl: 'tfjs-webgpu', median_ms: peer.ms, flops, bytes, device });
        rows.push(row);
        if (m > 1) tfjsGflops = row.gflops;
      }
    }
    const ort = await ortMatmulMs(m, n, k, r, budget);
    if ('error' in ort) opts.log?.(`onnxruntime-web not measured for ${s.name}: ${ort.error}`);
    else rows.push(benchRow({ kernel: 'matmul', case: s.name, shape: { m, n, k }, dtype: 'f32', impl: 'onnxruntime-web', median_ms: ort.ms, flops, bytes, device }));
  }
  return rows;
}
