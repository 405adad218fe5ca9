// matmul at the real models' shapes: SigLIP-so400m MLP, Qwen2-7B prefill and decode projections, square 1024³;
// kvscope in f32/bf16/f16 weights, tfjs-webgpu on the f32 cases.
import type { Gpu } from '../../src/gpu/device.ts';
import type { DType } from '../../src/gpu/dtype.ts';
import { bytesPerElement } from '../../src/gpu/dtype.ts';
import { Tensor } from '../../src/gpu/tensor.ts';
import { matmul } from '../../src/ops/matmul.ts';
import type { BenchRow } from './benchRow.ts';
import { tfjsMatmulMs, tfjsRow } from './tfjsPeer.ts';
import { timeStage } from './timing.ts';

interface Shape { name: string; m: number; n: number; k: number; quick: boolean }

const SHAPES: Shape[] = [
  { name: 'square', m: 1024, n: 1024, k: 1024, quick: true },
  { name: 'siglip-so400m mlp fc1', m: 729, n: 4304, k: 1152, quick: false },
  { name: 'qwen2-7b decode up/gate', m: 1, n: 18944, k: 3584, quick: true },
  { name: 'qwen2-7b prefill up/gate', m: 2048, n: 18944, k: 3584, quick: false },
];

export async function benchMatmul(gpu: Gpu, opts: { quick?: boolean; reps?: number; log?: (s: string) => void } = {}): Promise<BenchRow[]> {
  const reps = opts.reps ?? 5;
  const rows: BenchRow[] = [];
  const device = gpu.describe();
  for (const s of SHAPES) {
    if (opts.quick && !s.quick) continue;
    const { m, n, k } = s;
    const dtypes: DType[] = opts.quick ? ['f32', 'bf16'] : ['f32', 'bf16', 'f16'];
    const x = Tensor.from(gpu, 'f32', [m, k], new Float32Array(m * k).map((_, i) => ((i * 7919) % 13) / 13 - 0.5), 'bench x');
    const y = Tensor.empty(gpu, 'f32', [m, n], 'bench y');
    for (const dt of dtypes) {
      const w = Tensor.empty(gpu, dt, [n, k], `bench w ${dt}`); // contents do not change the timing
      const bigReps = m * n * k > 1e10 ? 1 : reps;
      const ms = await timeStage(gpu, bigReps, async (stage) => { await matmul(stage, x, w, { out: y }); });
      const bytes = 4 * m * k + bytesPerElement(dt) * n * k + 4 * m * n;
      rows.push({ kernel: 'matmul', shape: { m, n, k }, dtype: dt, impl: 'kvscope', median_ms: ms, gflops: (2 * m * n * k) / ms / 1e6, gbps: bytes / ms / 1e6, device });
      opts.log?.(`matmul ${s.name} ${dt}: ${ms.toFixed(1)} ms`);
      w.dispose();
    }
    x.dispose();
    y.dispose();
    // the peer, f32 only. A weight over one storage binding is not tried: tfjs-webgpu binds it whole and
    // returns zeros (checked in tfjsMatmulMs), and the failed probe alone would take minutes on a CPU adapter
    const limit = gpu.limits.maxStorageBufferBindingSize;
    if (4 * n * k > limit) {
      opts.log?.(`tfjs-webgpu peer not measured for m=${m} n=${n} k=${k}: its f32 weight (${4 * n * k} bytes) is over the ${limit}-byte binding limit`);
      continue;
    }
    const peer = await tfjsMatmulMs(m, n, k, m * n * k > 1e10 ? 1 : reps);
    if ('error' in peer) opts.log?.(`tfjs-webgpu peer not measured: ${peer.error}`);
    else rows.push(tfjsRow({ m, n, k }, peer.ms, device));
  }
  return rows;
}
