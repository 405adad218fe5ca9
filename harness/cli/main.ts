// kvscope command line (run through `npx kvscope`, which starts Deno with WebGPU enabled).
import { Command } from 'commander';
import { acquireGpu } from '../../src/gpu/device.ts';
import { benchKernels } from '../bench/kernels.ts';
import { doctorReport } from './doctor.ts';
import { kernelSelfTest } from './kernelSelfTest.ts';

const program = new Command('kvscope')
  .description('WebGPU engine for multimodal LMs: KV-cache capture and on-GPU probes')
  .showHelpAfterError();

program.command('doctor')
  .description('print the WebGPU adapter, its limits and features, and each feature self-test')
  .action(async () => {
    const gpu = await acquireGpu();
    console.log(doctorReport(gpu));
  });

program.command('selftest')
  .description('run every kernel against its float64 reference on this adapter')
  .action(async () => {
    const gpu = await acquireGpu();
    console.log(`device: ${gpu.describe()}`);
    const r = await kernelSelfTest(gpu);
    console.log(`kernel self-test: ${r.passed} passed, ${r.failed} failed`);
    if (r.failed) Deno.exit(1);
  });

const bench = program.command('bench').description('benchmarks');
bench.command('kernels')
  .description('GFLOP/s and GB/s per kernel at the real models\' shapes, with tfjs-webgpu as the peer')
  .option('--quick', 'a subset that finishes in about a minute on a software adapter')
  .option('--json', 'one JSON object per line instead of the table')
  .option('--reps <n>', 'timed repetitions per case (median reported)', (v) => parseInt(v, 10))
  .option('--only <family>', 'matmul or attention')
  .action(async (o: { quick?: boolean; json?: boolean; reps?: number; only?: 'matmul' | 'attention' }) => {
    const gpu = await acquireGpu();
    await benchKernels(gpu, o);
  });

program.command('demo', { isDefault: true })
  .description('the built-in default: adapter report, kernel self-test and a short benchmark table')
  .action(async () => {
    const gpu = await acquireGpu();
    console.log('== adapter ==');
    console.log(doctorReport(gpu));
    console.log('\n== kernel self-test (every kernel vs its float64 reference) ==');
    const r = await kernelSelfTest(gpu);
    console.log(`kernel self-test: ${r.passed} passed, ${r.failed} failed`);
    console.log('\n== kernel benchmark (quick subset; `npx kvscope bench kernels` for all shapes) ==');
    await benchKernels(gpu, { quick: true, reps: 3 });
    if (r.failed) Deno.exit(1);
  });

await program.parseAsync(['node', 'kvscope', ...Deno.args]);
