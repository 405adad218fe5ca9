// kvscope command line (run through `npx kvscope`, which starts Deno with WebGPU enabled).
import { Command } from 'commander';
import { acquireGpu } from '../../src/gpu/device.ts';
import { benchKernels } from '../bench/kernels.ts';
import { tuneKernels, tuningText } from '../bench/tune.ts';
import { measureRoofline, ROOFLINE_CACHE, rooflineTable } from '../bench/roofline.ts';
import { writeAdapterCache } from '../../src/gpu/adapterCache.ts';
import { benchProbes, PROBE_BENCH_TASKS, type ProbeBenchTask } from '../bench/probes.ts';
import { benchFuzz, FUZZ_READERS } from '../bench/fuzz.ts';
import { BENCH_ARCHS, type BenchArch, type BenchDims, type BenchDType, benchCheckpoints, benchModels } from '../bench/models.ts';
import { browserChoice, servedPath, servedPaths } from './browserBench.ts';
import type { KvDType } from '../../src/capture/kvCache.ts';
import type { ActDType } from '../../src/models/runState.ts';
import { doctorReport } from './doctor.ts';
import { kernelSelfTest } from './kernelSelfTest.ts';
import { profileCommand, type ProfileCommandOptions } from './profileCommand.ts';
import { forwardCommand, makeTiny, makeTinyFrom, preprocessCommand, TINY_ARCHS } from './modelCommands.ts';
import { demoProbes, probeCommand, studyCommand } from './probeCommand.ts';
import { planCommand, type PlanOptions } from './planCommand.ts';
import { paperStudyCommand, type PaperStudyCommandOptions } from './paperStudyCommand.ts';
import { mergeCommand, type MergeOptions } from './mergeCommand.ts';
import { TASK_NAMES } from '../../src/tasks/registry.ts';
import { SHORT_TAPS } from '../../src/capture/taps.ts';

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
  .description(`write a random checkpoint in HF's exact layout (and a sharded copy in <dir>-sharded); arch: ${TINY_ARCHS.join(', ')}; or --from a hub folder's small files: make-tiny --from SRC OUT`)
  .argument('<arch>', `${TINY_ARCHS.join(' | ')} (with --from: the output directory)`)
  .argument('[dir]', 'output directory')
  .option('--seed <n>', 'random seed', (v) => parseInt(v, 10), 0)
  .option('--dims <dims>', "'tiny' (tests) or 'real-0.5b' (LLaVA-OneVision-0.5B's real dimensions, for benchmarks)", 'tiny')
  .option('--dtype <dtype>', 'F32, F16 or BF16 (default F32; real-0.5b F16; --from: the config\'s torch_dtype)')
  .option('--shards <n>', 'shards of the sharded copy (1: none)', (v) => parseInt(v, 10), 3)
  .option('--from <src>', "a hub folder's small files (config.json, model.safetensors.index.json, preprocessor / tokenizer / chat template files): real widths and names, random weights")
  .option('--lm-layers <n>', '--from: LM layers to keep', (v) => parseInt(v, 10))
  .option('--vision-layers <n>', '--from: vision tower layers to keep', (v) => parseInt(v, 10))
  .action(async (arch: string, dir: string | undefined, o: { seed: number; dims: 'tiny' | 'real-0.5b'; dtype?: 'F32' | 'F16' | 'BF16'; shards: number; from?: string; lmLayers?: number; visionLayers?: number }) => {
    if (o.dtype && !['F32', 'F16', 'BF16'].includes(o.dtype)) throw new Error(`--dtype must be F32, F16 or BF16, got ${o.dtype}`);
    if (o.from) {
      if (dir !== undefined) throw new Error(`make-tiny --from ${o.from}: give only the output directory (got ${arch} and ${dir})`);
      const t0 = performance.now();
      const r = await makeTinyFrom(o.from, arch, o);
      console.log(`wrote ${r.dir}: ${r.config.model_type}, ${r.tensors} tensors, ${r.bytes} bytes ${r.dtype} in ${r.files.join(', ')} (${((performance.now() - t0) / 1000).toFixed(1)} s); copied ${r.copied.join(', ') || 'nothing'}; added ${r.added.join(', ') || 'nothing'}`);
      return;
    }
    if (dir === undefined) throw new Error('make-tiny: give <arch> and <dir> (or --from SRC OUT)');
    if (!['tiny', 'real-0.5b'].includes(o.dims)) throw new Error(`--dims must be tiny or real-0.5b, got ${o.dims}`);
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
  .option('--kv-dtype <d>', 'KV cache dtype: f32, or f16 (half the cache; needs shader-f16)', 'f32')
  .option('--act-dtype <d>', 'decoder activations stored as f32, or f16 (x̂ and the MLP product; f32 accumulation)', 'f32')
  .action(async (o: { model: string; inputs: string; out: string; kvDtype: KvDType; actDtype: string }) => {
    await forwardCommand(o);
  });

const int = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new Error(`expected an integer, got ${v}`);
  return n;
};

/** The options the probe and study commands share. */
function probeOptions(c: Command, taskRequired = true): Command {
  return (taskRequired ? c.requiredOption('--task <task>', TASK_NAMES.join(' | ')) : c.option('--task <task>', TASK_NAMES.join(' | ')))
  .option('--model <dir>', 'HF checkpoint directory (default: a tiny random LLaVA-OneVision under out/)')
  .option('--data <dir>', "dataset root in the official layout, or 'synthetic'", 'synthetic')
  .option('--layers <spec>', 'LM layers: all, 3, 0,4,8, 2-5, 0-27:4', 'all')
  .option('--taps <list>', `comma-separated: ${SHORT_TAPS.join(', ')}`, 'lm.value,lm.key,projector')
  .option('--prefix <text>', 'text placed before the image (the prefix study)')
  .option('--block-agnostic-keys', 'find input-agnostic image keys first, then block attention to them in every forward')
  .option('--agnostic-images <dir>', 'images for finding the input-agnostic keys (default: 8 synthetic images)')
  .option('--agnostic-threshold <x>', 'mean cross-image cosine above which a key position is input-agnostic', parseFloat, 0.9)
  .option('--siglip <dir>', 'a SigLIP checkpoint for the siglip baseline tap')
  .option('--grid <grid>', "LLaVA: 'main' (anyres crop grid) or 'base' (base tile)", 'main')
  .option('--limit <n>', 'samples at most', int)
  .option('--split <name>', 'dataset split (SPair: test; DAVIS: val; RefCOCO: val)')
  .option('--fold <n>', 'Pascal-5i fold', int)
  .option('--davis-format <f>', "DAVIS '2017' (palette ids) or '2016' (binary masks)")
  .option('--max-frames <n>', 'DAVIS: frames per sequence at most', int)
  .option('--subtasks <list>', 'BLINK subtasks (comma-separated)')
  .option('--points-file <file>', 'BLINK: JSON with the marked points of the correspondence questions')
  .option('--classes <n>', 'ImageNet-S classes: 50, 300, 919', int)
  .option('--seed <n>', 'seed (episodes, synthetic data)', int)
  .option('--size <px>', 'side of synthetic images', int)
  .option('--overlays <n>', 'PNG overlays to write', int, 4)
  .option('--shard <i/N>', 'evaluate only shard i of N (samples partitioned by id; merge the N outputs with `kvscope merge`)')
  .option('--kv-dtype <d>', 'KV cache dtype: f32, or f16 (half the cache; needs shader-f16)', 'f32')
  .requiredOption('--out <dir>', 'output directory (results.jsonl, results.md, plots); an existing run there resumes');
}

probeOptions(program.command('probe')
  .description('probe the image keys/values of the KV cache (and baselines) on one task, layer by layer; resumable'))
  .action(async (o: Parameters<typeof probeCommand>[0]) => {
    const r = await probeCommand(o);
    console.log(r.markdown);
    console.log(`\n${r.computed} sample(s) computed, ${r.resumed} resumed; written: ${r.files.join(', ')}`);
  });

probeOptions(program.command('study')
  .description('run one task twice and compare: "prefix" (without / with --prefix before the image) or "blocking" (without / with the input-agnostic keys blocked); "paper": the six tasks, baselines, both studies and BLINK over --data-root, one report')
  .argument('<kind>', 'prefix | blocking | paper')
  .option('--data-root <dir>', 'paper: the folder holding the datasets (SPair-71k/, DAVIS/, VOCdevkit/VOC2012/, MSRC-coseg/, ImageNet-S/, refcoco/, BLINK/); missing ones are skipped')
  .option('--synthetic', 'paper: run the six tasks on synthetic data')
  .option('--layer-stride <k>', 'paper: every k-th LM layer (when --layers is not given)', int)
  .option('--tasks <list>', 'paper: a subset of pascal5i, msrc, imagenet-s, refcoco, spair, davis')
  .option('--no-studies', 'paper: main runs only (no prefix / blocking studies)'), false)
  .action(async (kind: string, o: Parameters<typeof probeCommand>[0] & PaperStudyCommandOptions) => {
    if (kind === 'paper') {
      const r = await paperStudyCommand({ ...o, layers: o.layers === 'all' ? undefined : o.layers });
      console.log(r.markdown);
      console.log(`written: ${r.files.join(', ')}`);
      return;
    }
    if (kind !== 'prefix' && kind !== 'blocking') throw new Error(`study: kind must be prefix, blocking or paper, got ${kind}`);
    if (!o.task) throw new Error(`study ${kind}: --task is required`);
    const r = await studyCommand(kind, o);
    console.log(r.markdown);
    console.log(`written: ${r.files.join(', ')}`);
  });

program.command('profile')
  .description('one prefill (+ N decode steps) with GPU timestamps on every dispatch: time per op family, layer and kernel, GFLOP/s, GB/s, % of roofline; trace.json (Perfetto) + profile.svg')
  .requiredOption('--model <dir>', 'HF checkpoint directory')
  .option('--image <file>', 'PNG or JPEG (default: a 96×128 test picture)')
  .option('--prompt <text>', 'the user text', 'What is shown in this image?')
  .option('--decode <n>', 'greedy decode steps after the prefill', (v) => parseInt(v, 10), 0)
  .option('--warmup <n>', 'unprofiled prefills first (first-use compilation and allocation out of the profile; 0 for big models)', (v) => parseInt(v, 10), 1)
  .option('--roofline <file>', 'the adapter\'s measured peaks: the JSON of `kvscope bench roofline --json` (default: what `bench roofline` cached for this adapter)')
  .option('--top <n>', 'kernels listed', (v) => parseInt(v, 10), 15)
  .option('--kv-dtype <d>', 'KV cache dtype: f32, or f16 (half the cache; needs shader-f16)', 'f32')
  .option('--out <dir>', 'write profile.txt, profile.json, trace.json, profile.svg there')
  .action(async (o: ProfileCommandOptions) => {
    const r = await profileCommand(o);
    console.log(r.text);
    if (r.files.length) console.log(`\nwritten: ${r.files.join(', ')}`);
  });

program.command('plan')
  .description('GPU memory plan of a probe run in bytes: weights (checkpoint dtype), KV cache, activations, the feature maps a sweep keeps; --gpu-memory refuses (exit 1) when it does not fit')
  .requiredOption('--model <dir>', 'checkpoint directory, or a hub folder with config.json (+ model.safetensors.index.json) alone')
  .option('--taps <list>', `kept taps: ${SHORT_TAPS.join(', ')}`, 'lm.value,lm.key,projector')
  .option('--layers <spec>', 'LM layers whose maps are kept: all, 0-27:4, ...')
  .option('--kv-dtype <d>', 'f32, or f16 (half the cache; needs shader-f16)')
  .option('--lm-layers <n>', 'plan for n LM layers (extrapolate a cut checkpoint per layer)', (v) => parseInt(v, 10))
  .option('--vision-layers <n>', 'plan for n vision layers', (v) => parseInt(v, 10))
  .option('--image <HxW>', 'image size (default: the largest the processor makes)', (v) => v.split('x').map(Number) as [number, number])
  .option('--image-tokens <n>', 'override the image token count (vision work scaled with it)', (v) => parseInt(v, 10))
  .option('--text-tokens <n>', 'text tokens around the image (default 32)', (v) => parseInt(v, 10))
  .option('--gpu-memory <bytes>', 'budget: 24GB, 16GiB, ...; the command fails when the plan exceeds it')
  .option('--binding-limit <bytes>', "the adapter's maxStorageBufferBindingSize (doctor prints it): fail when the largest activation tensor exceeds it")
  .option('--measure <HxW>', 'also load the checkpoint, run one sweep forward on a test picture of that size and print the measured peak', (v) => v.split('x').map(Number) as [number, number])
  .option('--calibrate <sizes>', 'measure this (cut, real-width) checkpoint at image sizes HxW,HxW,... and fit activations = fixed + per-patch bytes', (v) => v.split(',').map((s) => s.split('x').map(Number) as [number, number]))
  .option('--calibration-out <file>', 'write the --calibrate fit there (JSON)')
  .option('--calibration <file>', 'use a --calibrate fit for the activations (plan a full model from its 2-layer twin)')
  .option('--json', 'the plan as JSON')
  .action(async (o: PlanOptions) => {
    if (!(await planCommand(o))) Deno.exit(1);
  });

program.command('merge')
  .description('combine the outputs of `probe --shard i/N` runs (all N) into the rows one uninterrupted run gives')
  .argument('<dirs...>', 'the shards\' --out directories')
  .requiredOption('--task <task>', TASK_NAMES.join(' | '))
  .option('--data <dir>', "dataset root (default: the shards' run.json)")
  .option('--split <name>', 'dataset split (default: run.json)')
  .option('--fold <n>', 'Pascal-5i fold (default: run.json)', int)
  .option('--limit <n>', 'samples at most (default: run.json)', int)
  .option('--seed <n>', 'seed (default: run.json)', int)
  .option('--size <px>', 'side of synthetic images', int)
  .option('--classes <n>', 'ImageNet-S classes', int)
  .option('--subtasks <list>', 'BLINK subtasks')
  .option('--davis-format <f>', "DAVIS '2017' or '2016'")
  .option('--max-frames <n>', 'DAVIS frames per sequence', int)
  .option('--points-file <file>', 'BLINK points file')
  .requiredOption('--out <dir>', 'where the merged results.jsonl, results.md and plots go')
  .action(async (dirs: string[], o: MergeOptions) => {
    const r = await mergeCommand(dirs, o);
    console.log(r.markdown);
    console.log(`merged ${r.shards} shard(s); written: ${r.files.join(', ')}`);
  });

const bench = program.command('bench').description('benchmarks');
bench.command('roofline')
  .description("this adapter's measured peaks: f32/f16 FMA GFLOP/s, storage read GB/s, empty dispatches/s (cached per adapter)")
  .option('--json', 'the result as one JSON object')
  .option('--reps <n>', 'timed repetitions per measurement (median reported)', (v) => parseInt(v, 10))
  .action(async (o: { json?: boolean; reps?: number }) => {
    const gpu = await acquireGpu();
    const r = await measureRoofline(gpu, { reps: o.reps, log: o.json ? undefined : (s) => console.log(s) });
    const where = writeAdapterCache(gpu, ROOFLINE_CACHE, r);
    console.log(o.json ? JSON.stringify(r) : `${rooflineTable(r)}
cached in ${where}`);
  });
bench.command('kernels')
  .description('GFLOP/s, GB/s and % of roofline per kernel at the real models\' shapes, tfjs-webgpu and onnxruntime-web as peers')
  .option('--quick', 'a subset that finishes in about a minute on a software adapter')
  .option('--json', 'one JSON object per line instead of the table')
  .option('--reps <n>', 'timed repetitions per case (median reported)', (v) => parseInt(v, 10))
  .option('--only <family>', 'matmul or attention')
  .option('--fresh-roofline', 'measure the roofline again instead of using the cached one')
  .option('--no-peers', 'kvscope only (no tfjs-webgpu, no onnxruntime-web)')
  .option('--browser [runtime]', 'run the table in headless Chromium (Playwright, /usr/bin/chromium) on its WebGPU adapter; both: Deno then Chromium, side by side with the ratio')
  .action(async ({ browser, ...o }: { quick?: boolean; json?: boolean; reps?: number; only?: 'matmul' | 'attention'; freshRoofline?: boolean; peers: boolean; browser?: string | boolean }) => {
    const where = browserChoice(browser);
    const deno = async () => {
      const gpu = await acquireGpu();
      return { rows: await benchKernels(gpu, o), adapter: gpu.describe() };
    };
    if (!where) await deno();
    else await (await import('./browserBench.ts')).browserBench('kernels', where, o, deno);
  });

program.command('tune')
  .description('time every kernel variant on this adapter, keep the fastest (cached per adapter identity)')
  .action(async () => {
    const gpu = await acquireGpu();
    const c = await tuneKernels(gpu, { persist: true });
    console.log(`${tuningText(c)}
cached in ${c.cachedIn}`);
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
  .option('--warmup <n>', 'untimed forward pairs first (default 1)', (v) => parseInt(v, 10))
  .option('--layers <n>', 'real-0.5b: run only the first n LM and n vision layers (same shards, cut config)', (v) => parseInt(v, 10))
  .option('--kv-dtype <d>', 'KV cache dtype: f32, or f16 (half the cache; needs shader-f16)', 'f32')
  .option('--act-dtype <d>', 'decoder activations stored as f32, or f16 (x̂ and the MLP product; f32 accumulation)', 'f32')
  .option('--model <dir>', 'a checkpoint of yours instead of the bench-written ones (e.g. make-tiny --from a hub folder: 7B/8B widths); its architecture from config.json, real-size defaults')
  .option('--browser [runtime]', 'run the table in headless Chromium (Playwright, /usr/bin/chromium) on its WebGPU adapter; both: Deno then Chromium, side by side with the ratio')
  .action(async ({ browser, ...o }: { model?: string; dims: BenchDims; arch?: BenchArch[]; dtype: BenchDType; json?: boolean; reps?: number; decode?: number; image?: [number, number]; textTokens?: number; warmup?: number; layers?: number; kvDtype: KvDType; actDtype: ActDType; browser?: string | boolean }) => {
    const where = browserChoice(browser);
    const deno = async () => {
      const gpu = await acquireGpu();
      return { rows: await benchModels(gpu, o), adapter: gpu.describe() };
    };
    // the tab reads the checkpoints over HTTP: written here first (paths under the repository root Vite serves)
    if (!where) await deno();
    else await (await import('./browserBench.ts')).browserBench('models', where, { ...o, checkpoints: servedPaths(await benchCheckpoints(o)) }, deno);
  });

bench.command('probes')
  .description('probe throughput (images/s) per task on synthetic data, forward vs gather vs probe time, peak GPU bytes')
  .option('--dims <dims>', 'tiny or real-0.5b (LLaVA-OneVision-0.5B dims, ~1.8 GB F16, written once under out/)', 'tiny')
  .option('--tasks <list>', `comma-separated (${PROBE_BENCH_TASKS.join(', ')}; default all)`, (v) => v.split(',').map((s) => s.trim()) as ProbeBenchTask[])
  .option('--json', 'one JSON object per line instead of the table')
  .option('--reps <n>', 'timed runs of each task (median; default 3 tiny, 1 real-0.5b)', (v) => parseInt(v, 10))
  .option('--warmup <n>', 'untimed runs of each task first (default 1 tiny, 0 real-0.5b)', (v) => parseInt(v, 10))
  .option('--limit <n>', 'samples per task (default 2 tiny, 1 real-0.5b)', (v) => parseInt(v, 10))
  .option('--size <px>', 'side of the synthetic images (default 64)', (v) => parseInt(v, 10))
  .option('--frames <n>', 'DAVIS: frames per synthetic video (≥ 3; default 3)', (v) => parseInt(v, 10))
  .option('--taps <list>', 'probe taps (default lm.value,lm.key,projector)')
  .option('--probe-layers <spec>', 'LM layers probed: all, 3, 0,4,8, 2-5 (default all)')
  .option('--layers <n>', 'real-0.5b: run only the first n LM and n vision layers (same shards, cut config)', (v) => parseInt(v, 10))
  .option('--no-sweep', 'skip the forward+gather replay pass (no gather/probe split)')
  .option('--browser [runtime]', 'run the table in headless Chromium (Playwright, /usr/bin/chromium) on its WebGPU adapter; both: Deno then Chromium, side by side with the ratio')
  .action(async ({ browser, ...o }: { dims: BenchDims; tasks?: ProbeBenchTask[]; json?: boolean; reps?: number; warmup?: number; limit?: number; size?: number; frames?: number; taps?: string; probeLayers?: string; layers?: number; sweep: boolean; browser?: string | boolean }) => {
    const where = browserChoice(browser);
    const deno = async () => {
      const gpu = await acquireGpu();
      return { rows: await benchProbes(gpu, o), adapter: gpu.describe() };
    };
    if (!where) await deno();
    else {
      const cp = await benchCheckpoints({ arch: ['llava_onevision'], dims: o.dims, layers: o.layers });
      await (await import('./browserBench.ts')).browserBench('probes', where, { ...o, checkpoint: servedPath(cp.llava_onevision!) }, deno);
    }
  });

bench.command('fuzz')
  .description('property-based fuzzing of every reader (safetensors, configs, tokenizer, PNG/JPEG, dataset annotations, URL source): outcome counts per reader')
  .option('--runs <n>', 'inputs per reader (URL source: a tenth)', (v) => parseInt(v, 10), 20000)
  .option('--seed <n>', 'fast-check seed (default: from the clock, printed)', (v) => parseInt(v, 10))
  .option('--only <list>', `comma-separated readers (${FUZZ_READERS.join(', ')})`, (v) => v.split(',').map((s) => s.trim()))
  .option('--json', 'one JSON object per reader')
  .action(async (o: { runs: number; seed?: number; only?: string[]; json?: boolean }) => {
    const outcomes = await benchFuzz(o);
    if (outcomes.some((x) => x.findings.length)) Deno.exit(1);
  });

program.command('demo', { isDefault: true })
  .description('the built-in default: adapter report, kernel self-test, then two probe tasks on synthetic data with a tiny random checkpoint')
  .option('--model <dir>', 'an HF checkpoint to use instead of the tiny random one')
  .action(async (o: { model?: string }) => {
    const gpu = await acquireGpu();
    console.log('== adapter ==');
    console.log(doctorReport(gpu));
    console.log('\n== kernel self-test (every kernel vs its float64 reference) ==');
    const r = await kernelSelfTest(gpu);
    console.log(`kernel self-test: ${r.passed} passed, ${r.failed} failed`);
    if (r.failed) Deno.exit(1);
    await demoProbes(gpu, o.model);
    console.log('\nkernel benchmarks: npx kvscope bench kernels --quick; model benchmarks: npx kvscope bench models');
  });

await program.parseAsync(['node', 'kvscope', ...Deno.args]);
