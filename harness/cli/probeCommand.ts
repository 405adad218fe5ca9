// `kvscope probe`: one task, one model, every (tap, layer) asked for, written incrementally (resumable) with a
// Markdown table, SVG plots and a few PNG overlays at the end. Also the default demo, which runs two tasks on
// synthetic data with a tiny random checkpoint.
import type { GridChoice } from '../../src/capture/spans.ts';
import type { KvDType } from '../../src/capture/kvCache.ts';
import { parseShortTaps, type ShortTap } from '../../src/capture/taps.ts';
import { acquireGpu, type Gpu } from '../../src/gpu/device.ts';
import { readImage } from '../../src/io/image.ts';
import type { RgbImage } from '../../src/io/rgbImage.ts';
import type { MultimodalModel } from '../../src/models/model.ts';
import { SiglipEncoder } from '../../src/models/siglipEncoder.ts';
import { type ProbeSpec, probeRun, runStudy } from '../../src/analysis/probeStudy.ts';
import type { TaskOptions } from '../../src/tasks/registry.ts';
import type { ProbeRunResult } from '../../src/analysis/runProbe.ts';
import { parseShard, shardName } from '../../src/analysis/shard.ts';
import { syntheticSegmentationSet } from '../../src/tasks/synthetic/segmentationSet.ts';
import { loadWithProgress, makeTiny } from './modelCommands.ts';

export interface ProbeOptions extends Omit<TaskOptions, 'subtasks'> {
  task: string;
  model?: string;
  layers?: string;
  taps?: string;
  prefix?: string;
  blockAgnosticKeys?: boolean;
  agnosticImages?: string;
  agnosticThreshold?: number;
  siglip?: string;
  grid?: GridChoice;
  overlays?: number;
  subtasks?: string;
  /** i/N: evaluate only this shard's samples (merge the shards with `kvscope merge`). */
  shard?: string;
  /** KV cache dtype of every forward: f32 (default) or f16 (needs shader-f16). */
  kvDtype?: KvDType;
  out: string;
}

/** "all", "3", "0,4,8", "2-5", "0-27:4" (every 4th) → layer indices below `count`. */
export function parseLayers(spec: string, count: number): number[] {
  if (spec === 'all') return Array.from({ length: count }, (_, i) => i);
  const out = new Set<number>();
  for (const part of spec.split(',')) {
    const m = /^(\d+)(?:-(\d+)(?::(\d+))?)?$/.exec(part.trim());
    if (!m) throw new Error(`--layers: cannot read ${JSON.stringify(part)} (use all, 3, 0,4,8, 2-5 or 0-27:4)`);
    const a = Number(m[1]), b = m[2] !== undefined ? Number(m[2]) : a, step = m[3] !== undefined ? Number(m[3]) : 1;
    if (b < a || step < 1) throw new Error(`--layers: bad range ${part}`);
    for (let l = a; l <= b; l += step) {
      if (l >= count) throw new Error(`--layers: layer ${l} does not exist (the LM has ${count} layers, 0..${count - 1})`);
      out.add(l);
    }
  }
  return [...out].sort((x, y) => x - y);
}

export function parseTaps(spec: string): ShortTap[] {
  return parseShortTaps(spec);
}

/** A tiny OneVision checkpoint under out/, made once. */
export async function defaultTinyModel(dir = 'out/tiny-llava-onevision'): Promise<string> {
  const exists = await Deno.stat(`${dir}/config.json`).then(() => true, () => false);
  if (!exists) {
    console.log(`no --model given: writing a tiny random LLaVA-OneVision checkpoint to ${dir}`);
    await makeTiny('llava_onevision', dir, { seed: 0, shards: 1 });
  }
  return dir;
}

/** Images for input-agnostic key detection: every PNG/JPEG in a folder, or synthetic images of one size. */
async function agnosticImages(dir: string | undefined, size: number): Promise<RgbImage[]> {
  if (!dir) return syntheticSegmentationSet({ n: 8, size, classes: 4, seed: 99 }).images;
  const files: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.isFile && /\.(png|jpe?g)$/i.test(e.name)) files.push(`${dir}/${e.name}`);
  if (files.length < 2) throw new Error(`--agnostic-images ${dir}: needs at least 2 PNG/JPEG images, found ${files.length}`);
  return await Promise.all(files.sort().slice(0, 32).map((f) => readImage(f)));
}

function layerCount(model: MultimodalModel): number {
  return model.config.text_config.num_hidden_layers;
}

/** The probe spec the options describe (the agnostic-key images are read here, the rest is parsing). */
async function probeSpec(o: ProbeOptions, model: MultimodalModel, modelDir: string): Promise<ProbeSpec> {
  const taps = parseTaps(o.taps ?? 'lm.value,lm.key,projector');
  const layers = parseLayers(o.layers ?? 'all', layerCount(model));
  const settings = {
    model: modelDir, model_type: model.config.model_type, data: o.data, taps, layers, prefix: o.prefix ?? null,
    blockAgnosticKeys: !!o.blockAgnosticKeys, grid: o.grid ?? 'main', limit: o.limit ?? null, split: o.split ?? null, fold: o.fold ?? null,
    seed: o.seed ?? 0, siglip: o.siglip ?? null, ...(model.kvDtype !== 'f32' ? { kvDtype: model.kvDtype } : {}), ...(o.shard ? { shard: shardName(parseShard(o.shard)) } : {}),
  };
  return {
    task: o.task, taskOptions: { ...o, subtasks: o.subtasks?.split(',').map((s) => s.trim()) }, taps, layers, prefix: o.prefix,
    blockAgnostic: o.blockAgnosticKeys ? { images: await agnosticImages(o.agnosticImages, o.size ?? 64), threshold: o.agnosticThreshold } : null,
    grid: o.grid ?? 'main', overlays: o.overlays ?? 4, settings, log: (l) => console.log(l),
    shard: o.shard ? parseShard(o.shard) : undefined,
  };
}

export async function probeCommand(o: ProbeOptions, given?: { gpu: Gpu; model: MultimodalModel }): Promise<ProbeRunResult> {
  const gpu = given?.gpu ?? await acquireGpu();
  const modelDir = o.model ?? await defaultTinyModel();
  const model = given?.model ?? await loadWithProgress(gpu, modelDir);
  if (o.kvDtype) model.kvDtype = o.kvDtype;
  const siglip = o.siglip ? await SiglipEncoder.load(gpu, o.siglip) : null;
  try {
    const spec = await probeSpec(o, model, modelDir);
    await Deno.mkdir(o.out, { recursive: true });
    return await probeRun(model, siglip, spec, o.out);
  } finally {
    if (!given) model.dispose();
    siglip?.dispose();
  }
}

/** The default demo: tiny random checkpoint, two tasks on synthetic data, tables and plots. */
export async function demoProbes(gpu: Gpu, modelDir?: string, outDir = 'out/demo'): Promise<void> {
  const dir = modelDir ?? await defaultTinyModel();
  const model = await loadWithProgress(gpu, dir);
  for (const task of ['spair', 'davis'] as const) {
    const out = `${outDir}/${task}-synthetic`;
    console.log(`\n== probe: ${task} on synthetic data, ${dir} → ${out} ==`);
    const r = await probeCommand({ task, data: 'synthetic', model: dir, out, taps: 'lm.value,lm.key,projector', layers: 'all', limit: task === 'spair' ? 4 : 2, size: 64 }, { gpu, model });
    console.log(r.markdown);
    console.log(`written: ${r.files.join(', ')}`);
  }
  model.dispose();
  if (!modelDir) {
    console.log(`
These numbers come from a RANDOMLY INITIALISED tiny checkpoint: they are chance-level and say nothing about any
real model. They show the pipeline end to end: processor → vision tower → projector → LM prefill → KV cache →
image value/key tokens on the patch grid → GPU probe → metric → table and plot.
For the study's numbers, point kvscope at a real checkpoint and a real dataset, e.g.
  npx kvscope probe --task spair --model /path/to/llava-onevision-qwen2-0.5b-ov-hf --data /path/to/SPair-71k --out out/spair
  npx kvscope probe --task davis --model /path/to/Qwen2.5-VL-3B-Instruct --data /path/to/DAVIS --split val --out out/davis
(HF checkpoint folders as downloaded from the hub: config.json, *.safetensors, tokenizer.json, preprocessor_config.json.)`);
  }
}

/** `kvscope study prefix|blocking`: the same task without and with the intervention, compared (src/analysis/probeStudy.ts). */
export async function studyCommand(kind: 'prefix' | 'blocking', o: ProbeOptions): Promise<{ markdown: string; files: string[] }> {
  if (kind === 'prefix' && !o.prefix) throw new Error('study prefix: give the prefix text with --prefix');
  const gpu = await acquireGpu();
  const modelDir = o.model ?? await defaultTinyModel();
  const model = await loadWithProgress(gpu, modelDir);
  if (o.kvDtype) model.kvDtype = o.kvDtype;
  const siglip = o.siglip ? await SiglipEncoder.load(gpu, o.siglip) : null;
  try {
    const spec = await probeSpec({ ...o, blockAgnosticKeys: kind === 'blocking' ? true : o.blockAgnosticKeys }, model, modelDir);
    await Deno.mkdir(o.out, { recursive: true });
    const r = await runStudy(kind, model, siglip, spec, o.out, (f, text) => Deno.writeTextFile(f, text));
    return { markdown: r.markdown, files: r.files };
  } finally {
    model.dispose();
    siglip?.dispose();
  }
}
