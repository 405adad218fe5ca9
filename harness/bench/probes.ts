// `kvscope bench probes`: probe throughput per task on synthetic data — images/s through the whole task (model
// forwards + feature gathers + GPU probes + metrics), the split of that time between the model forward, the feature
// gathers and the probes, and the GPU bytes the task holds at its peak against the weights — on the tiny OneVision or
// on LLaVA-OneVision-0.5B's real dims (random weights; checkpoints shared with `bench models` under out/bench-models).
//
// The CLI entry is `npx kvscope bench probes` (harness/cli/main.ts).
//
// How one task is measured (wall clock, each piece bracketed by queue.onSubmittedWorkDone; medians over --reps):
//   evaluate  = Σ over samples of task.evaluate inside runProbe (sample synthesis, forwards, gathers, probes,
//               metric readbacks); runProbe's own log/report writing is timed apart as `runner`.
//   forward   = Σ model.prefill in that same run (image forwards and text-only forwards the task asks for).
//   sweep     = a replay pass right after: each recorded image request through sweepImage alone (forward + every
//               (tap, layer) feature gather, no probe), text-only requests through prefill; gather = sweep − its
//               own forward time. probe = evaluate − forward − gather (the probe kernels, metrics and host work).
//   images/s  = images forwarded / evaluate seconds.
//   memory    = BufferPool live bytes (tensors; per-dispatch uniform and readback staging buffers are outside it):
//               resident after load (weights), peak during the task (resetPeak at its start), KV cache of the
//               largest forward, and bytes still live after the task (tensors the task kept: a leak, or a cache).
//   GFLOP     = estimates of each forward from its prepared inputs (models.ts: vision tower + projector + LM
//               prefill with last-row logits; 2 per multiply-add), so a rate on a software adapter means something.
import { SHORT_TAPS, isLayered, type ShortTap } from '../../src/capture/taps.ts';
import type { Gpu } from '../../src/gpu/device.ts';
import type { ForwardResult, MultimodalModel, PrefillRequest } from '../../src/models/model.ts';
import { loadModel } from '../../src/models/registry.ts';
import { sweepImage } from '../../src/tasks/featureSweep.ts';
import { buildTask } from '../../src/tasks/registry.ts';
import { runProbe } from '../../src/analysis/runProbe.ts';
import type { ProbeContext, ProbeTask } from '../../src/tasks/task.ts';
import { parseLayers, parseTaps } from '../cli/probeCommand.ts';
import { benchCheckpoint, type BenchDims, type BenchDType, layerCutCheckpoint, llavaVisionFlops, lmPrefillFlops, qwenVisionFlops } from './models.ts';
import { MemorySink } from '../../src/analysis/runSink.ts';
import { benchRuntime, type BenchRuntime } from './benchRow.ts';
import { median } from './timing.ts';

/** The tasks with a synthetic generator (BLINK needs its real parquet files). */
export const PROBE_BENCH_TASKS = ['spair', 'davis', 'pascal5i', 'msrc', 'imagenet-s', 'refcoco'] as const;
export type ProbeBenchTask = (typeof PROBE_BENCH_TASKS)[number];

/** Tasks whose image sweep keeps only the LM taps (textTask.ts `lmOnly`): the replay must gather the same. */
const LM_ONLY_TASKS: readonly ProbeBenchTask[] = ['imagenet-s', 'refcoco'];

export interface ProbeBenchOptions {
  dims?: BenchDims;
  tasks?: readonly ProbeBenchTask[];
  json?: boolean;
  /** Timed runs of each task (median); default 3 tiny, 1 real-0.5b. */
  reps?: number;
  /** Untimed runs of each task first (pipeline compilation, first allocations); default 1 tiny, 0 real-0.5b. */
  warmup?: number;
  /** Samples per task (pairs, videos, episodes, sets, images); default 2 tiny, 1 real-0.5b. */
  limit?: number;
  /** Side of the synthetic images in pixels (default 64). */
  size?: number;
  /** DAVIS: frames per synthetic video (DAVIS scores frames 1 … T−2, so ≥ 3; default 3). */
  frames?: number;
  /** Probe taps, as the probe command's --taps (default lm.value,lm.key,projector). */
  taps?: string;
  /** LM layers probed, as the probe command's --layers (default all). */
  probeLayers?: string;
  /** real-0.5b only: run the first n LM and n vision layers (models.ts layerCutCheckpoint); 0: all. */
  layers?: number;
  /** Run the forward+gather replay pass (default true). */
  sweep?: boolean;
  dtype?: BenchDType;
  /** Where checkpoints are written and reused (default out/bench-models, shared with `bench models`). */
  cacheDir?: string;
  seed?: number;
  /** The checkpoint, already written (a directory or URL): `bench probes --browser` writes it in Deno, the tab reads it over HTTP. */
  checkpoint?: string;
}

export interface ProbeBenchRow {
  task: ProbeBenchTask;
  model_type: string;
  dims: BenchDims;
  dtype: BenchDType;
  layers: { lm: number; vision: number; cut: boolean };
  device: string;
  runtime: BenchRuntime;
  reps: number;
  warmup: number;
  data: { limit: number; size: number; frames: number | null; seed: number };
  probe: { taps: ShortTap[]; layers: number[] };
  samples: number;
  images: number;
  text_forwards: number;
  /** Sequence lengths of the image forwards. */
  image_sequence: { min: number; max: number };
  /** Estimated GFLOP of all forwards of one run, and per image forward (mean). */
  forward_gflop: number;
  gflop_per_image: number;
  evaluate_s: number;
  runner_s: number;
  images_per_s: number;
  forward_s: number;
  forward_gflops: number;
  /** From the replay pass; null without it. */
  sweep_s: number | null;
  sweep_forward_s: number | null;
  gather_s: number | null;
  probe_s: number | null;
  share: { forward: number; gather: number | null; probe: number | null };
  memory: { weight_file_bytes: number; resident_bytes: number; peak_live_bytes: number; peak_over_resident_bytes: number; kv_cache_bytes: number; left_live_bytes: number };
}

// ---- instrumented model ----

/** One prefill a task made: what it asked for and how long it took to the queue going idle. */
interface PrefillRecord {
  req: PrefillRequest;
  ms: number;
  sequence: number;
  kvBytes: number;
}

async function settle(gpu: Gpu): Promise<void> {
  await gpu.device.queue.onSubmittedWorkDone();
}

/**
 * The model as the task sees it, with `prefill` timed (queue idle before and after) and recorded; every other member
 * is the model's own, bound to it. A fresh one per run, so per-model caches in tasks (text vectors, the chat
 * template's suffix length) start empty as in a fresh probe command.
 */
function timedModel(model: MultimodalModel, records: PrefillRecord[]): MultimodalModel {
  const prefill = async (req: PrefillRequest): Promise<ForwardResult> => {
    await settle(model.gpu);
    const t0 = performance.now();
    const r = await model.prefill(req);
    await settle(model.gpu);
    records.push({ req, ms: performance.now() - t0, sequence: r.spans.length, kvBytes: r.cache.byteLength });
    return r;
  };
  return new Proxy(model, {
    get(target, p) {
      if (p === 'prefill') return prefill;
      const v = Reflect.get(target, p, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

/** The task with each evaluate timed (queue idle before and after); the times land in `ms`. */
function timedTask<S>(task: ProbeTask<S>, ms: number[]): ProbeTask<S> {
  const t = Object.create(task) as ProbeTask<S>;
  t.evaluate = async (ctx, sample) => {
    await settle(ctx.model.gpu);
    const t0 = performance.now();
    const r = await task.evaluate(ctx, sample);
    await settle(ctx.model.gpu);
    ms.push(performance.now() - t0);
    return r;
  };
  return t;
}

// ---- FLOP estimate of one recorded forward ----

/** Vision + LM prefill FLOPs of a request, from the model's own prepared inputs (tiles / patches, input_ids). */
async function requestFlops(model: MultimodalModel, req: PrefillRequest): Promise<number> {
  const { inputs } = await model.prepare(req);
  const cfg = model.config;
  let vision = 0;
  if (req.images.length && inputs.pixelValues) {
    if (cfg.model_type === 'qwen2_5_vl') {
      for (const [t, h, w] of inputs.imageGridThw ?? []) vision += qwenVisionFlops(cfg.vision_config, t * h * w);
    } else {
      vision = llavaVisionFlops(cfg, inputs.pixelValues.shape[0]);
    }
  }
  return vision + lmPrefillFlops(cfg.text_config, inputs.inputIds.length);
}

function requestKey(req: PrefillRequest): string {
  return JSON.stringify([req.images.map((i) => [i.height, i.width]), req.prompt, req.prefix ?? null]);
}

// ---- one task ----

interface RunMeasure {
  evaluateMs: number;
  runnerMs: number;
  records: PrefillRecord[];
  samples: number;
  peak: number;
  left: number;
}

interface SweepMeasure {
  ms: number;
  forwardMs: number;
}

interface TaskSetup {
  name: ProbeBenchTask;
  opts: Required<Pick<ProbeBenchOptions, 'limit' | 'size' | 'frames' | 'seed'>>;
  taps: ShortTap[];
  layers: number[];
}

function buildBenchTask(s: TaskSetup): ProbeTask<unknown> {
  return buildTask(s.name, { data: 'synthetic', limit: s.opts.limit, size: s.opts.size, seed: s.opts.seed, maxFrames: s.opts.frames });
}

function context(model: MultimodalModel, taps: readonly ShortTap[], layers: readonly number[]): ProbeContext {
  return { model, siglip: null, taps, layers, agnostic: null, grid: 'main', overlays: null, overlaysLeft: 0 };
}

/** runProbe over a fresh task in a fresh directory; progress lines go to stderr when stdout carries JSON. */
async function runOnce(gpu: Gpu, model: MultimodalModel, s: TaskSetup, json: boolean): Promise<RunMeasure> {
  const records: PrefillRecord[] = [];
  const evalMs: number[] = [];
  const task = timedTask(buildBenchTask(s), evalMs);
  // the run's files: a fresh directory in Deno (as `kvscope probe` writes them), memory in a tab
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  const dir = deno ? await deno.makeTempDir({ prefix: `kvscope-bench-probes-${s.name}-` }) : 'memory';
  const log = console.log;
  if (json) console.log = console.error;
  try {
    await settle(gpu);
    const live0 = gpu.pool.liveBytes;
    gpu.pool.resetPeak();
    const t0 = performance.now();
    const r = await runProbe(task, context(timedModel(model, records), s.taps, s.layers), dir, { bench: 'probes', task: s.name, ...s.opts, taps: s.taps, layers: s.layers }, deno ? {} : { sink: new MemorySink() });
    await settle(gpu);
    const wall = performance.now() - t0;
    const evaluateMs = evalMs.reduce((a, b) => a + b, 0);
    if (r.computed !== evalMs.length) throw new Error(`bench probes: ${s.name}: runProbe computed ${r.computed} samples, ${evalMs.length} evaluations were timed`);
    return { evaluateMs, runnerMs: wall - evaluateMs, records, samples: r.computed, peak: gpu.pool.peakBytes, left: gpu.pool.liveBytes - live0 };
  } finally {
    console.log = log;
    if (deno) await deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** The recorded requests again, with no probe: image requests through sweepImage (forward + gathers), text through prefill. */
async function sweepOnce(gpu: Gpu, model: MultimodalModel, s: TaskSetup, requests: readonly PrefillRequest[]): Promise<SweepMeasure> {
  const records: PrefillRecord[] = [];
  const taps = LM_ONLY_TASKS.includes(s.name) ? s.taps.filter((t) => isLayered(t)) : s.taps;
  const ctx = context(timedModel(model, records), taps, s.layers);
  await settle(gpu);
  const t0 = performance.now();
  for (const req of requests) {
    if (req.images.length === 1) {
      const sweep = await sweepImage(ctx, req.images[0], { prompt: req.prompt });
      await settle(gpu);
      sweep.dispose();
    } else {
      const r = await ctx.model.prefill(req);
      r.dispose();
    }
  }
  await settle(gpu);
  return { ms: performance.now() - t0, forwardMs: records.reduce((a, r) => a + r.ms, 0) };
}

async function benchTask(gpu: Gpu, model: MultimodalModel, s: TaskSetup, o: { reps: number; warmup: number; sweep: boolean; json: boolean }, log: (s: string) => void): Promise<{ runs: RunMeasure[]; sweeps: SweepMeasure[] }> {
  for (let w = 0; w < o.warmup; w++) await runOnce(gpu, model, s, o.json);
  const runs: RunMeasure[] = [], sweeps: SweepMeasure[] = [];
  for (let r = 0; r < o.reps; r++) {
    const run = await runOnce(gpu, model, s, o.json);
    runs.push(run);
    log(`${s.name} rep ${r + 1}/${o.reps}: evaluate ${(run.evaluateMs / 1000).toFixed(2)} s over ${run.records.length} forwards (forward ${(run.records.reduce((a, x) => a + x.ms, 0) / 1000).toFixed(2)} s)`);
    if (o.sweep) {
      const sw = await sweepOnce(gpu, model, s, run.records.map((x) => x.req));
      sweeps.push(sw);
      log(`${s.name} rep ${r + 1}/${o.reps}: replay (forward + gather) ${(sw.ms / 1000).toFixed(2)} s (forward ${(sw.forwardMs / 1000).toFixed(2)} s)`);
    }
  }
  return { runs, sweeps };
}

// ---- report ----

function mib(b: number): string {
  return (b / 2 ** 20).toFixed(Math.abs(b) < 2 ** 24 ? 2 : 1);
}

function num(x: number | null, digits = 2): string {
  if (x === null || !Number.isFinite(x)) return '—';
  return x.toFixed(digits);
}

function pct(x: number | null): string {
  return x === null ? '—' : `${(100 * x).toFixed(0)}%`;
}

function table(head: string[], body: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= 2 ? c.padStart(w[i]) : c.padEnd(w[i]))).join('  ');
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...body.map(line)].join('\n');
}

/** Rows as two fixed-width tables: throughput with the time split, and GPU memory. */
export function probeBenchTable(rows: readonly ProbeBenchRow[]): string {
  const rates = table(
    ['task', 'runtime', 'samples', 'images', 'text fwd', 'seq', 'GFLOP/img', 'evaluate s', 'images/s', 'forward s', 'fwd GFLOP', 'fwd GFLOP/s', 'gather s', 'probe s', 'forward', 'gather', 'probe', 'runner s'],
    rows.map((r) => [
      r.task, r.runtime, String(r.samples), String(r.images), String(r.text_forwards),
      r.image_sequence.min === r.image_sequence.max ? String(r.image_sequence.min) : `${r.image_sequence.min}–${r.image_sequence.max}`,
      num(r.gflop_per_image, r.gflop_per_image < 10 ? 3 : 0), num(r.evaluate_s), num(r.images_per_s, 3), num(r.forward_s),
      num(r.forward_gflop, r.forward_gflop < 10 ? 3 : 0), num(r.forward_gflops), num(r.gather_s), num(r.probe_s),
      pct(r.share.forward), pct(r.share.gather), pct(r.share.probe), num(r.runner_s),
    ]),
  );
  const memory = table(
    ['task', 'runtime', 'weights MiB', 'resident MiB', 'peak live MiB', 'peak − resident MiB', 'KV cache MiB', 'left live MiB'],
    rows.map((r) => [
      r.task, r.runtime, mib(r.memory.weight_file_bytes), mib(r.memory.resident_bytes), mib(r.memory.peak_live_bytes), mib(r.memory.peak_over_resident_bytes),
      mib(r.memory.kv_cache_bytes), mib(r.memory.left_live_bytes),
    ]),
  );
  return `${rates}\n\n${memory}`;
}

/** Run the probe benchmark and print the tables (or one JSON object per line). */
export async function benchProbes(gpu: Gpu, opts: ProbeBenchOptions = {}): Promise<ProbeBenchRow[]> {
  const dims = opts.dims ?? 'tiny', real = dims === 'real-0.5b';
  if (dims !== 'tiny' && !real) throw new Error(`bench probes: --dims ${dims} is not one of tiny, real-0.5b`);
  const tasks = opts.tasks?.length ? [...opts.tasks] : [...PROBE_BENCH_TASKS];
  for (const t of tasks as readonly string[]) {
    if (!(PROBE_BENCH_TASKS as readonly string[]).includes(t)) {
      throw new Error(`bench probes: --tasks ${t} is not one of ${PROBE_BENCH_TASKS.join(', ')}${t === 'blink' ? ' (BLINK has no synthetic data)' : ''}`);
    }
  }
  const int = (name: string, v: number, min: number) => {
    if (!(Number.isInteger(v) && v >= min)) throw new Error(`bench probes: --${name} must be an integer ≥ ${min}, got ${v}`);
    return v;
  };
  const reps = int('reps', opts.reps ?? (real ? 1 : 3), 1);
  const warmup = int('warmup', opts.warmup ?? (real ? 0 : 1), 0);
  const data = {
    limit: int('limit', opts.limit ?? (real ? 1 : 2), 1), size: int('size', opts.size ?? 64, 8),
    frames: int('frames', opts.frames ?? 3, 3), seed: int('seed', opts.seed ?? 0, 0),
  };
  const cutLayers = int('layers', opts.layers ?? 0, 0);
  if (cutLayers && !real) throw new Error('bench probes: --layers is for --dims real-0.5b (the tiny model has 2–4 layers)');
  const dtype = opts.dtype ?? 'F16';
  if (!['F32', 'F16', 'BF16'].includes(dtype)) throw new Error(`bench probes: --dtype ${dtype} is not one of F32, F16, BF16`);
  const sweep = opts.sweep ?? true, json = !!opts.json;
  const log = (s: string) => console.error(`bench probes: ${s}`);
  const say = (s: string) => { if (!json) console.log(s); };

  let dir = opts.checkpoint;
  if (!dir) {
    const full = await benchCheckpoint('llava_onevision', dims, dtype, opts.cacheDir ?? 'out/bench-models', log);
    dir = cutLayers ? await layerCutCheckpoint(full, cutLayers) : full;
  }
  const live0 = gpu.pool.liveBytes;
  let weightBytes = 0;
  const t0 = performance.now();
  const model = await loadModel(gpu, dir, { onProgress: (p) => (weightBytes = p.bytes) });
  await settle(gpu);
  const resident = gpu.pool.liveBytes - live0;
  log(`loaded ${dir}: ${(weightBytes / 1e6).toFixed(1)} MB of tensors in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const rows: ProbeBenchRow[] = [];
  try {
    const text = model.config.text_config, vcfg = model.config.vision_config;
    const layers = { lm: text.num_hidden_layers, vision: 'depth' in vcfg ? vcfg.depth : vcfg.num_hidden_layers, cut: cutLayers > 0 };
    const taps = parseTaps(opts.taps ?? 'lm.value,lm.key,projector');
    if (taps.includes('siglip')) throw new Error(`bench probes: --taps siglip needs a standalone SigLIP checkpoint, which this benchmark does not load (use ${SHORT_TAPS.filter((t) => t !== 'siglip').join(', ')})`);
    const probeLayers = parseLayers(opts.probeLayers ?? 'all', text.num_hidden_layers);
    say(`device: ${gpu.describe()}; runtime: ${benchRuntime()}; model: ${dir} (llava_onevision ${dims}${layers.cut ? `, first ${layers.lm} LM + ${layers.vision} vision layers` : ''}, ${dtype}, random weights)`);
    say(`data: synthetic, limit ${data.limit} sample(s) per task, ${data.size}×${data.size} px images, DAVIS ${data.frames} frames, seed ${data.seed}; ` +
      `taps ${taps.join(',')} at LM layers ${probeLayers.join(',')}; ${warmup} untimed + ${reps} timed run(s) per task (medians)${sweep ? ', each followed by a forward+gather replay' : ''}`);
    const flopCache = new Map<string, number>();
    for (const name of tasks) {
      const setup: TaskSetup = { name, opts: data, taps, layers: probeLayers };
      if (real) log(`${name}: starting (each image forward at these dims is tens of seconds or more on a software adapter)`);
      const { runs, sweeps } = await benchTask(gpu, model, setup, { reps, warmup, sweep, json }, log);
      const first = runs[0];
      // FLOPs of the recorded forwards (outside every timed region; memoised by image sizes + prompt)
      let flops = 0, imageFlops = 0;
      for (const r of first.records) {
        const key = requestKey(r.req);
        if (!flopCache.has(key)) flopCache.set(key, await requestFlops(model, r.req));
        flops += flopCache.get(key)!;
        if (r.req.images.length) imageFlops += flopCache.get(key)!;
      }
      const imageRecords = first.records.filter((r) => r.req.images.length > 0);
      const images = imageRecords.reduce((a, r) => a + r.req.images.length, 0);
      const evaluateS = median(runs.map((r) => r.evaluateMs)) / 1000;
      const forwardS = median(runs.map((r) => r.records.reduce((a, x) => a + x.ms, 0))) / 1000;
      const gatherS = sweeps.length ? Math.max(median(sweeps.map((w) => w.ms - w.forwardMs)) / 1000, 0) : null;
      const probeS = gatherS === null ? null : Math.max(evaluateS - forwardS - gatherS, 0);
      const peak = Math.max(...runs.map((r) => r.peak));
      const row: ProbeBenchRow = {
        task: name, model_type: model.config.model_type, dims, dtype, layers, device: gpu.describe(), runtime: benchRuntime(), reps, warmup,
        data: { ...data, frames: name === 'davis' ? data.frames : null }, probe: { taps, layers: probeLayers },
        samples: first.samples, images, text_forwards: first.records.length - imageRecords.length,
        image_sequence: { min: Math.min(...imageRecords.map((r) => r.sequence)), max: Math.max(...imageRecords.map((r) => r.sequence)) },
        forward_gflop: flops / 1e9, gflop_per_image: images ? imageFlops / images / 1e9 : 0,
        evaluate_s: evaluateS, runner_s: median(runs.map((r) => r.runnerMs)) / 1000, images_per_s: images / evaluateS,
        forward_s: forwardS, forward_gflops: flops / 1e9 / forwardS,
        sweep_s: sweeps.length ? median(sweeps.map((w) => w.ms)) / 1000 : null,
        sweep_forward_s: sweeps.length ? median(sweeps.map((w) => w.forwardMs)) / 1000 : null,
        gather_s: gatherS, probe_s: probeS,
        share: { forward: forwardS / evaluateS, gather: gatherS === null ? null : gatherS / evaluateS, probe: probeS === null ? null : probeS / evaluateS },
        memory: {
          weight_file_bytes: weightBytes, resident_bytes: resident, peak_live_bytes: peak, peak_over_resident_bytes: peak - live0 - resident,
          kv_cache_bytes: Math.max(...first.records.map((r) => r.kvBytes)), left_live_bytes: Math.max(...runs.map((r) => r.left)),
        },
      };
      rows.push(row);
      if (json) console.log(JSON.stringify(row));
    }
  } finally {
    model.dispose();
    gpu.pool.trim();
  }
  if (!json) {
    console.log(probeBenchTable(rows));
    console.log('evaluate = Σ task.evaluate (sample synthesis + forwards + gathers + probes + metrics); images/s = image forwards / evaluate s; ' +
      'forward = Σ model.prefill in the run (text-only forwards included); gather = replay of the same requests through sweepImage − its forwards; ' +
      'probe = evaluate − forward − gather; runner = runProbe log + report writing; GFLOP are estimates (2 per multiply-add; norms/activations/softmax left out); ' +
      'memory = BufferPool live bytes (peak over the task; left live = still held after it)');
  }
  return rows;
}
