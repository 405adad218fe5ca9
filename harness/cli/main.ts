// kvscope command line (run through `npx kvscope`, which starts Deno with WebGPU enabled).
import { Command } from 'commander';
import { acquireGpu } from '../../src/gpu/device.ts';
import { benchKernels } from '../bench/kernels.ts';
import { BENCH_ARCHS, type BenchArch, type BenchDims, type BenchDType, benchModels } from '../bench/models.ts';
import { doctorReport } from './doctor.ts';
import { kernelSelfTest } from './kernelSelfTest.ts';
import { forwardCommand, makeTiny, preprocessCommand, TINY_ARCHS } from './modelCommands.ts';

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

program.command('make-tiny')
  .description(`write a random checkpoint in HF's exact layout (and a sharded copy in <dir>-sharded); arch: ${TINY_ARCHS.join(', ')}`)
  .argument('<arch>', TINY_ARCHS.join(' | '))
  .argument('<dir>', 'output directory')
  .option('--seed <n>', 'random seed', (v) => parseInt(v, 10), 0)
  .option('--dims <dims>', "'tiny' (tests) or 'real-0.5b' (LLaVA-OneVision-0.5B's real dimensions, for benchmarks)", 'tiny')
  .option('--dtype <dtype>', 'F32, F16 or BF16 (default F32; real-0.5b F16)')
  .option('--shards <n>', 'shards of the sharded copy (1: none)', (v) => parseInt(v, 10), 3)
  .action(async (arch: string, dir: string, o: { seed: number; dims: 'tiny' | 'real-0.5b'; dtype?: 'F32' | 'F16' | 'BF16'; shards: number }) => {
    if (!['tiny', 'real-0.5b'].includes(o.dims)) throw new Error(`--dims must be tiny or real-0.5b, got ${o.dims}`);
    if (o.dtype && !['F32', 'F16', 'BF16'].includes(o.dtype)) throw new Error(`--dtype must be F32, F16 or BF16, got ${o.dtype}`);
    const written = await makeTiny(arch, dir, o);
    console.log(`wrote ${written.join(' and ')}`);
  });

program.command('preprocess')
  .description("HF processor outputs for an image and prompt: pixel_values, image_sizes / image_grid_thw, input_ids")
  .requiredOption('--model <dir>', 'checkpoint directory')
  .requiredOption('--image <file...>', 'PNG or JPEG image(s)')
  .option('--prompt <text>', 'the user text', 'What is shown in this image?')
  .option('--prefix <text>', 'text placed before the image')
  .requiredOption('--out <file>', 'output .safetensors')
  .action(async (o: { model: string; image: string[]; prompt: string; prefix?: string; out: string }) => {
    await preprocessCommand(o);
  });

program.command('forward')
  .description("run the model on HF-named input tensors; write logits, past_key_values.{i}.key|value, image_features, vision_hidden")
  .requiredOption('--model <dir>', 'checkpoint directory')
  .requiredOption('--inputs <file>', 'safetensors with input_ids (+ pixel_values, image_sizes | image_grid_thw)')
  .requiredOption('--out <file>', 'output .safetensors')
  .action(async (o: { model: string; inputs: string; out: string }) => {
    await forwardCommand(o);
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

bench.command('models')
  .description('load MB/s, vision / prefill / decode tokens/s and peak GPU bytes per architecture, on random checkpoints')
  .option('--dims <dims>', 'tiny (all three architectures) or real-0.5b (LLaVA-OneVision-0.5B dims, ~1.8 GB F16, written once under out/)', 'tiny')
  .option('--arch <arch...>', `architectures (${BENCH_ARCHS.join(', ')})`)
  .option('--dtype <dtype>', 'checkpoint dtype: F32, F16 or BF16', 'F16')
  .option('--json', 'one JSON object per line instead of the table')
  .option('--reps <n>', 'timed repetitions (median; default 5 tiny, 1 real-0.5b)', (v) => parseInt(v, 10))
  .option('--decode <n>', 'new tokens to generate (default 16 tiny, 4 real-0.5b)', (v) => parseInt(v, 10))
  .option('--image <HxW>', 'test picture size (default 84x112 tiny, 384x384 real-0.5b)', (v) => v.split('x').map(Number) as [number, number])
  .option('--text-tokens <n>', 'text tokens around the image (default 16 tiny, 8 real-0.5b)', (v) => parseInt(v, 10))
  .action(async (o: { dims: BenchDims; arch?: BenchArch[]; dtype: BenchDType; json?: boolean; reps?: number; decode?: number; image?: [number, number]; textTokens?: number }) => {
    const gpu = await acquireGpu();
    await benchModels(gpu, o);
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
