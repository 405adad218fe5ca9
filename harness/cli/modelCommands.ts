// The model commands: make-tiny (random checkpoints in HF's exact layout), preprocess (HF processor outputs from an
// image + prompt) and forward (HF-named outputs from HF-named inputs, for checking kvscope against PyTorch).
import type { KvDType } from '../../src/capture/kvCache.ts';
import { checkActDType } from '../../src/models/lm/decoder.ts';
import { acquireGpu } from '../../src/gpu/device.ts';
import { readImage } from '../../src/io/image.ts';
import { modelInputsFile, readModelInputs, float32Tensor } from '../../src/models/modelTensors.ts';
import { readConfig } from '../../src/io/config.ts';
import { type TensorToWrite, writeSafetensors } from '../../src/io/safetensors.ts';
import { loadModel } from '../../src/models/registry.ts';
import { writeTinyLlavaNext, writeTinyLlavaOnevision } from '../../src/models/tiny/tinyLlava.ts';
import { writeTinyQwen2_5_vl } from '../../src/models/tiny/tinyQwen2_5_vl.ts';
import { writeTinySiglip } from '../../src/models/tiny/tinySiglip.ts';
import { reshardCheckpoint } from '../../src/models/tiny/writeCheckpoint.ts';
import { type HubShapedResult, writeHubShapedCheckpoint } from '../../src/models/tiny/hubShapedCheckpoint.ts';
import { type Progress, progressBar } from '../../src/tasks/progress.ts';
import type { Gpu } from '../../src/gpu/device.ts';
import type { MultimodalModel } from '../../src/models/model.ts';

export const TINY_ARCHS = ['llava_onevision', 'llava_next', 'qwen2_5_vl', 'siglip'] as const;
export type TinyArch = (typeof TINY_ARCHS)[number];

export interface MakeTinyOptions {
  seed?: number;
  dims?: 'tiny' | 'real-0.5b';
  dtype?: 'F32' | 'F16' | 'BF16';
  shards?: number;
}

/** Write a random checkpoint of `arch` to `dir` (and its sharded variant to `${dir}-sharded`). */
export async function makeTiny(arch: string, dir: string, o: MakeTinyOptions = {}): Promise<string[]> {
  const seed = o.seed ?? 0;
  if (o.dims === 'real-0.5b' && arch !== 'llava_onevision') throw new Error(`--dims real-0.5b exists for llava_onevision only (LLaVA-OneVision-0.5B's dimensions), not ${arch}`);
  switch (arch) {
    case 'llava_onevision':
      await writeTinyLlavaOnevision(dir, { seed, dims: o.dims ?? 'tiny', dtype: o.dtype ?? (o.dims === 'real-0.5b' ? 'F16' : 'F32') });
      break;
    case 'llava_next':
      await writeTinyLlavaNext(dir, { seed, dtype: o.dtype });
      break;
    case 'qwen2_5_vl':
      await writeTinyQwen2_5_vl(dir, { seed, dtype: o.dtype });
      break;
    case 'siglip':
      await writeTinySiglip(dir, { seed, withTextTower: true, dtype: o.dtype });
      break;
    default:
      throw new Error(`make-tiny: unknown architecture ${JSON.stringify(arch)} (known: ${TINY_ARCHS.join(', ')})`);
  }
  const written = [dir];
  // real-0.5b is written as shards already; tiny ones get a sharded copy beside them
  const single = await Deno.stat(`${dir}/model.safetensors`).then(() => true, () => false);
  if (single && (o.shards ?? 3) > 1) written.push(await reshardCheckpoint(dir, o.shards ?? 3));
  return written;
}

/** make-tiny --from: a random checkpoint shaped exactly like the hub folder `src` (depth cut by the flags). */
export async function makeTinyFrom(src: string, dir: string, o: { lmLayers?: number; visionLayers?: number; seed?: number; dtype?: 'F32' | 'F16' | 'BF16' } = {}): Promise<HubShapedResult> {
  return await writeHubShapedCheckpoint(src, dir, o);
}

/** HF processor outputs (and input_ids when the checkpoint has a tokenizer) for one image and prompt. */
export async function preprocessCommand(o: { model: string; image: string[]; prompt?: string; prefix?: string; out: string }): Promise<void> {
  const gpu = await acquireGpu();
  const model = await loadWithProgress(gpu, o.model);
  const images = await Promise.all(o.image.map((f) => readImage(f)));
  const prepared = await model.prepare({ images, prompt: o.prompt ?? 'What is shown in this image?', prefix: o.prefix });
  await Deno.writeFile(o.out, modelInputsFile(prepared.inputs, model.config.model_type));
  const pv = prepared.inputs.pixelValues;
  console.log(`wrote ${o.out}: input_ids [1, ${prepared.inputs.inputIds.length}]${pv ? `, pixel_values [${pv.shape.join(', ')}]` : ''}` +
    `${prepared.inputs.imageSizes ? `, image_sizes ${JSON.stringify(prepared.inputs.imageSizes)}` : ''}${prepared.inputs.imageGridThw ? `, image_grid_thw ${JSON.stringify(prepared.inputs.imageGridThw)}` : ''}`);
  model.dispose();
}

/** Run the model on HF-named inputs; write logits, the KV cache in HF's layout, image features and vision hidden states. */
export async function forwardCommand(o: { model: string; inputs: string; out: string; kvDtype?: KvDType; actDtype?: string }): Promise<void> {
  const gpu = await acquireGpu();
  const config = await readConfig(o.model);
  const inputs = await readModelInputs(o.inputs);
  const model = await loadWithProgress(gpu, o.model);
  if (o.actDtype) model.actDtype = checkActDType(o.actDtype, '--act-dtype');
  const hasImages = !!inputs.pixelValues;
  const r = await model.forward(inputs, { logits: 'all', taps: hasImages ? ['vision.out', 'projector.out'] : [], kvDtype: o.kvDtype });
  const s = inputs.inputIds.length;
  const out: TensorToWrite[] = [];
  const vocab = r.logits.rowLength;
  out.push(float32Tensor('logits', [1, s, vocab], (await r.logits.read()) as Float32Array));
  for (let l = 0; l < r.cache.layers; l++) {
    for (const which of ['key', 'value'] as const) {
      out.push(float32Tensor(`past_key_values.${l}.${which}`, [1, r.cache.kvHeads, s, r.cache.headDim], await r.cache.readLayer(l, which)));
    }
  }
  for (const [tap, name] of [['projector.out', 'image_features'], ['vision.out', 'vision_hidden']] as const) {
    const t = r.taps.get(tap);
    if (t) out.push(float32Tensor(name, t.shape, (await t.read()) as Float32Array));
  }
  await Deno.writeFile(o.out, writeSafetensors(out, { format: 'pt', producer: 'kvscope', model_type: config.model_type }));
  console.log(`wrote ${o.out}: logits [1, ${s}, ${vocab}], ${r.cache.layers} layers of past_key_values [1, ${r.cache.kvHeads}, ${s}, ${r.cache.headDim}]` +
    `${r.cache.dtype === 'f16' ? ' (an f16 cache, written widened to f32)' : ''}` +
    `${r.taps.has('projector.out') ? `, image_features [${r.taps.get('projector.out')!.shape.join(', ')}]` : ''}${r.taps.has('vision.out') ? `, vision_hidden [${r.taps.get('vision.out')!.shape.join(', ')}]` : ''}`);
  model.dispose();
}

/** loadModel with a bar over the checkpoint's bytes (MB, rate, ETA). */
export async function loadWithProgress(gpu: Gpu, dir: string): Promise<MultimodalModel> {
  let bar: Progress | null = null;
  let shown = 0;
  const model = await loadModel(gpu, dir, {
    onProgress: (p) => {
      bar ??= progressBar(`load ${dir}`, Math.max(1, Math.ceil(p.totalBytes / 2 ** 20)), 0, 'MiB');
      const mib = Math.floor(p.bytes / 2 ** 20);
      while (shown < mib) { bar.tick(p.name); shown++; }
    },
  });
  (bar as Progress | null)?.stop();
  return model;
}
