// The prefill matmul variants side by side against this adapter's f32 vec4 FMA peak, measured in the same run and
// interleaved (peak, each variant, peak, each variant, …) so that a machine shared with other work moves them
// together: per shape and weight dtype, each variant's median GFLOP/s and median % of the peak timed just before
// it. `deno run -A --no-check harness/bench/matmulVariants.ts [--rounds N] [--full]`
// (default 3 rounds; --square only 1024³; --full adds the 7B prefill q/o shape, --huge also up/gate and down). Ratios, not
// assertions: tests never time anything.
import { acquireGpu, type Gpu } from '../../src/gpu/device.ts';
import type { DType } from '../../src/gpu/dtype.ts';
import { Tensor } from '../../src/gpu/tensor.ts';
import { MATMUL_TILE_VARIANTS } from '../../src/gpu/tuning.ts';
import { matmul } from '../../src/ops/matmul.ts';
import { median, timeStage } from './timing.ts';

const VARIANTS = MATMUL_TILE_VARIANTS;

/** f32 vec4 FMA GFLOP/s as `bench roofline` measures it (shaders/roofline.wgsl fma_vec4), one dispatch ≥ targetMs. */
export async function fmaVec4Peak(gpu: Gpu, targetMs = 150, reps = 3): Promise<number> {
  const WG = 64, groups = 256, invocations = groups * WG;
  const sink = Tensor.empty(gpu, 'f32', [invocations, 4], 'peak sink');
  const kernel = gpu.kernels.get('roofline', 'fma_vec4', { WG });
  const run = (iters: number) => timeStage(gpu, reps, (stage) => {
    stage.dispatch(kernel, { label: `peak fma_vec4 ×${iters}`, bindings: { sink: sink.buffer() }, uniforms: { iters, n4: 0, b: 0.999, c: 0.001 }, workgroups: [groups] });
  });
  let iters = 64, ms = await run(iters);
  while (ms < targetMs && iters < 1 << 24) {
    iters = Math.min(1 << 24, 4 * Math.ceil((iters * Math.min(16, Math.max(2, (1.3 * targetMs) / Math.max(ms, 1)))) / 4));
    ms = await run(iters);
  }
  sink.dispose();
  return (invocations * iters * 64) / ms / 1e6;
}

interface Shape { name: string; m: number; n: number; k: number }
const SHAPES: (Shape & { tier: 0 | 1 | 2 })[] = [
  { name: 'square 1024³', m: 1024, n: 1024, k: 1024, tier: 0 },
  { name: 'siglip-so400m mlp fc1', m: 729, n: 4304, k: 1152, tier: 0 },
  { name: 'siglip-so400m mlp fc2', m: 729, n: 1152, k: 4304, tier: 0 },
  { name: 'qwen2-7b prefill k/v', m: 512, n: 512, k: 3584, tier: 0 },
  { name: 'qwen2-7b prefill q/o', m: 512, n: 3584, k: 3584, tier: 1 },
  { name: 'qwen2-7b prefill up/gate', m: 512, n: 18944, k: 3584, tier: 2 },
  { name: 'qwen2-7b prefill down', m: 512, n: 3584, k: 18944, tier: 2 },
];

if (import.meta.main) {
  const args = Deno.args;
  const at = args.indexOf('--rounds');
  const rounds = at >= 0 ? Number(args[at + 1]) : 3;
  const only = args.includes('--square') ? 'square 1024³' : null;
  const tier = args.includes('--huge') ? 2 : args.includes('--full') ? 1 : 0;
  const gpu = await acquireGpu();
  console.log(`matmul prefill variants on ${gpu.describe()}; ${rounds} interleaved rounds; % of the f32 vec4 FMA peak timed just before each run`);
  console.log(`${'shape'.padEnd(26)} ${'m×n×k'.padEnd(16)} ${'w'.padEnd(5)} ${VARIANTS.map((v) => `${v} GFLOP/s  %peak`.padStart(20)).join(' ')}   peak GFLOP/s`);
  for (const s of SHAPES) {
    if (s.tier > tier || (only && s.name !== only)) continue;
    const { m, n, k } = s;
    const flops = 2 * m * n * k;
    const x = Tensor.from(gpu, 'f32', [m, k], new Float32Array(m * k).map((_, i) => ((i * 7919) % 13) / 13 - 0.5), 'bench x');
    const y = Tensor.empty(gpu, 'f32', [m, n], 'bench y');
    for (const dt of ['f32', 'bf16'] as DType[]) {
      const w = Tensor.empty(gpu, dt, [n, k], `bench w ${dt}`); // contents do not change the timing
      const rate: Record<string, number[]> = {}, share: Record<string, number[]> = {};
      const peaks: number[] = [];
      // first call of each variant compiles it (llvmpipe compiles at first dispatch): one untimed run
      // reg32 has no f32-weight kernel (it runs reg16's): measured for 16-bit weights only
      const variants = VARIANTS.filter((v) => !v.startsWith('reg32') || dt !== 'f32');
      for (const v of variants) await timeStage(gpu, 0, (stage) => { matmul(stage, x, w, { out: y, variant: v }); }, 1);
      for (let r = 0; r < rounds; r++) {
        for (const v of variants) {
          const peak = await fmaVec4Peak(gpu);
          peaks.push(peak);
          const ms = await timeStage(gpu, 1, (stage) => { matmul(stage, x, w, { out: y, variant: v }); }, 0);
          const g = flops / ms / 1e6;
          (rate[v] ??= []).push(g);
          (share[v] ??= []).push(g / peak);
        }
      }
      w.dispose();
      console.log(`${s.name.padEnd(26)} ${`${m}×${n}×${k}`.padEnd(16)} ${dt.padEnd(5)} ${VARIANTS.map((v) => (rate[v] ? `${median(rate[v]).toFixed(1).padStart(8)}  ${(100 * median(share[v])).toFixed(0).padStart(4)}%` : `(as reg16${v.slice(5)})`).padStart(20)).join(' ')}   ${median(peaks).toFixed(1)}`);
    }
    x.dispose();
    y.dispose();
  }
}
