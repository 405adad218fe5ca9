// Prints the matmul benchmark rows as a table: `deno run -A harness/bench/matmul.ts [--full] [--reps N]`.
// Default is the quick subset (1024³ and decode); --full adds SigLIP fc1 and the Qwen2-7B prefill shape.
import { acquireGpu } from '../../src/gpu/device.ts';
import { benchTable } from './kernels.ts';
import { benchMatmul } from './matmulBench.ts';

const args = Deno.args;
const repsAt = args.indexOf('--reps');
const reps = repsAt >= 0 ? parseInt(args[repsAt + 1], 10) : undefined;
const gpu = await acquireGpu();
console.log(`device: ${gpu.describe()}; timing: ${gpu.features.timestampQuery ? 'timestamp queries' : 'wall clock'}`);
const rows = await benchMatmul(gpu, { quick: !args.includes('--full'), reps, log: (s) => console.log(s) });
console.log(benchTable(rows));
const at = (impl: string, dtype: string) => rows.find((r) => r.impl === impl && r.dtype === dtype && r.shape.m === 1024 && r.shape.n === 1024);
const f32 = at('kvscope', 'f32'), bf16 = at('kvscope', 'bf16'), peer = at('tfjs-webgpu', 'f32');
if (f32 && peer) console.log(`1024³ f32: kvscope ${f32.gflops.toFixed(2)} GFLOP/s, tfjs-webgpu ${peer.gflops.toFixed(2)} GFLOP/s, ratio ${(f32.gflops / peer.gflops).toFixed(2)}×`);
if (f32 && bf16) console.log(`1024³ bf16/f32 time: ${(bf16.median_ms / f32.median_ms).toFixed(2)}×`);
