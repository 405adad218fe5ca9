// Qwen2.5-VL as HF `Qwen2_5_VLForConditionalGeneration`:
//   processor (smart_resize, 2 identical frames, merge-block patch rows) -> windowed ViT with full-attention blocks
//   -> PatchMerger (2×2 patches → one LM token) -> features over the `<|image_pad|>` ids (image_token_id)
//   -> Qwen2.5 decoder with multimodal RoPE positions from get_rope_index; decode steps at cache index + rope_delta.
import type { ImageSpan } from '../capture/spans.ts';
import { sequenceSpans } from '../capture/spans.ts';
import type { TapName, TapPlan } from '../capture/taps.ts';
import type { Gpu } from '../gpu/device.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { type Qwen2_5VLConfig, readConfig } from '../io/config.ts';
import type { RgbImage } from '../io/rgbImage.ts';
import { Checkpoint, checkpointLocation } from '../io/safetensors.ts';
import { MultimodalAssembly, type ModelParts, type ProcessedImages, type SequencePlan } from './assembly.ts';
import { Decoder } from './lm/decoder.ts';
import type { ModelInputs } from './model.ts';
import { parsePreprocessorConfig, type QwenImageProcessorConfig } from './processor/preprocessorConfig.ts';
import { qwenPreprocess } from './processor/qwenImageProcessor.ts';
import { qwenTokenPlaces } from './processor/tokenPixelMap.ts';
import { type RopeIndex, ropeIndex } from './qwen2_5_vl/ropeIndex.ts';
import { checkQwenPixels, QwenVisionTower } from './vision/qwenVit.ts';
import { type LoadProgress, Weights } from './weights.ts';

/** `<|im_end|>`: the stop token when the config names none. */
const DEFAULT_STOP = 151645;

// Taps: `vision.out` = the last vision block's output before the merger, [N patches, hidden] in raster order of
// each image's patch grid (not HF's window order nor the processor's merge-block order), images concatenated;
// `vision.layers.{i}.out` the same for block i; `projector.out` = merger output in sequence order [tokens, H];
// `lm.layers.{i}.attn.k|v` views of the cache; `lm.layers.{i}.attn.k_pre_rope` and `lm.layers.{i}.out` [S, ·].

/** What forward checks and derives from the inputs before any GPU work. */
export interface Qwen2_5VLPlan {
  rope: RopeIndex;
  /** Sequence positions of the `<|image_pad|>` ids, in order. */
  imagePositions: number[];
  grids: [number, number, number][];
}

/** get_rope_index + the HF count check (image pad ids vs merged features), on host data only. */
export function qwen2_5VLPlan(cfg: Qwen2_5VLConfig, inputs: ModelInputs): Qwen2_5VLPlan {
  const grids = (inputs.imageGridThw ?? []).map((g) => [...g] as [number, number, number]);
  if (inputs.pixelValues && !grids.length) throw new Error('forward: pixel_values given without image_grid_thw (one (t, h, w) per image)');
  if (grids.length && !inputs.pixelValues) throw new Error(`forward: image_grid_thw for ${grids.length} image(s) but no pixel_values`);
  if (inputs.pixelValues) checkQwenPixels(inputs.pixelValues, grids, cfg.vision_config);
  const m = cfg.vision_config.spatial_merge_size;
  const imagePositions = inputs.inputIds.flatMap((id, i) => (id === cfg.image_token_id ? [i] : []));
  const features = grids.reduce((a, [t, h, w]) => a + (t * h * w) / (m * m), 0);
  // HF: "Image features and image tokens do not match"
  if (features !== imagePositions.length) {
    throw new Error(`Image features and image tokens do not match: tokens: ${imagePositions.length} (<|image_pad|> id ${cfg.image_token_id} in input_ids), ` +
      `features ${features} (image_grid_thw ${JSON.stringify(grids)} / ${m}²)`);
  }
  const rope = ropeIndex(inputs.inputIds, grids, { imageTokenId: cfg.image_token_id, visionStartTokenId: cfg.vision_start_token_id, spatialMergeSize: m });
  return { rope, imagePositions, grids };
}


interface QwenPlan extends SequencePlan {
  grids: [number, number, number][];
}

/** The Qwen2.5-VL parts: windowed ViT + PatchMerger as one tower, M-RoPE positions from get_rope_index. */
class Qwen2_5VLParts implements ModelParts<QwenPlan> {
  readonly name = 'Qwen2.5-VL';
  readonly template = 'qwen2_5_vl' as const;
  readonly imageTokenId: number;
  readonly defaultStop = DEFAULT_STOP;
  readonly visionLayers: number;

  constructor(readonly gpu: Gpu, readonly config: Qwen2_5VLConfig, readonly tower: QwenVisionTower) {
    this.imageTokenId = config.image_token_id;
    this.visionLayers = config.vision_config.depth;
  }

  /** get_rope_index and the count check; spans from the rope index's image runs (`sizes`: original images). */
  plan(inputs: ModelInputs, sizes?: readonly (readonly [number, number])[]): QwenPlan {
    const cfg = this.config, vc = cfg.vision_config, m = vc.spatial_merge_size;
    const p = qwen2_5VLPlan(cfg, inputs);
    const images: ImageSpan[] = p.rope.images.map((run, k) => {
      const [t, gh, gw] = p.grids[k];
      const resized = { height: gh * vc.patch_size, width: gw * vc.patch_size };
      // tensor-level forward knows only the resized image: its pixels stand in for the original's
      const [height, width] = sizes?.[k] ?? [resized.height, resized.width];
      const tokens = t === 1 ? qwenTokenPlaces({ height, width }, resized, [t, gh, gw], m) : [];
      return { image: k, start: run.start, length: run.length, tokens, baseGrid: null, grid: { rows: gh / m, cols: gw / m }, imageSize: { height, width } };
    });
    return {
      imagePositions: p.imagePositions, positions: p.rope.positions.map((row) => [...row]), ropeDelta: p.rope.ropeDelta,
      spans: sequenceSpans(inputs.inputIds.length, images), grids: p.grids,
    };
  }

  textIds(ids: readonly number[]): number[] {
    return [...ids];
  }

  async encode(inputs: ModelInputs, plan: QwenPlan, taps: TapPlan, keep: Map<TapName, Tensor<'f32'>>): Promise<Tensor<'f32'>> {
    const vis = await this.tower.forward(inputs.pixelValues!, plan.grids, { blockOutputs: taps.vision || taps.visionLayers.size > 0 });
    const last = this.visionLayers - 1;
    vis.blockOutputs.forEach((t, i) => {
      if (taps.visionLayers.has(i)) keep.set(`vision.layers.${i}.out`, t);
      if (taps.vision && i === last) keep.set('vision.out', taps.visionLayers.has(i) ? t.reshape(t.shape, 'vision.out') : t);
      if (!taps.visionLayers.has(i) && !(taps.vision && i === last)) t.dispose();
    });
    return vis.features;
  }

  readProcessor(text: string, file: string): QwenImageProcessorConfig {
    const parsed = parsePreprocessorConfig(text, { file, assume: 'Qwen2VLImageProcessor' });
    if (parsed.kind !== 'qwen2_vl') throw new Error(`${file}: ${parsed.processorType} is not a Qwen2-VL image processor`);
    const vc = this.config.vision_config;
    if (parsed.patchSize !== vc.patch_size || parsed.mergeSize !== vc.spatial_merge_size || parsed.temporalPatchSize !== vc.temporal_patch_size) {
      throw new Error(`${file}: patch_size ${parsed.patchSize} / merge_size ${parsed.mergeSize} / temporal_patch_size ${parsed.temporalPatchSize} ` +
        `differ from config.json vision_config (${vc.patch_size} / ${vc.spatial_merge_size} / ${vc.temporal_patch_size})`);
    }
    return parsed;
  }

  /** HF processor: each `<|image_pad|>` expands to the image's merged-token count t·h·w / m². */
  preprocess(images: readonly RgbImage[], processor: unknown): ProcessedImages {
    const m = this.config.vision_config.spatial_merge_size;
    const processed = images.map((img) => qwenPreprocess(img, processor as QwenImageProcessorConfig));
    return {
      pixelValues: processed.map((p) => p.pixelValues),
      tokens: processed.map((p) => (p.gridThw[0] * p.gridThw[1] * p.gridThw[2]) / (m * m)),
      sizes: processed.map((p) => [...p.imageSize] as [number, number]),
      inputs: { imageGridThw: processed.map((p) => p.gridThw) },
    };
  }

  /** The token at cache index c gets M-RoPE position c + rope_delta on all three axes. */
  decodePosition(c: number, ropeDelta: number): number {
    return c + ropeDelta;
  }

  dispose(): void {
    this.tower.dispose();
  }
}

/** Load a qwen2_5_vl checkpoint (directory, base URL or picked Files); legacy `visual.*` / `model.*` or new names. */
export async function loadQwen2_5VL(gpu: Gpu, where: string | readonly File[], opts: { onProgress?: (p: LoadProgress) => void } = {}): Promise<MultimodalAssembly<QwenPlan> & { parts: Qwen2_5VLParts }> {
  const location = checkpointLocation(where);
  const config = await readConfig(location);
  if (config.model_type !== 'qwen2_5_vl') throw new Error(`${location.origin}/config.json: model_type ${config.model_type} is not qwen2_5_vl`);
  const weights = new Weights(await Checkpoint.open(location, 'qwen2_5_vl'), opts.onProgress);
  const tower = await QwenVisionTower.load(gpu, weights, config.vision_config, { prefix: 'model.visual.' });
  try {
    // lm_head when the file has one, else the tied embed_tokens (Qwen2.5-VL-3B)
    const decoder = await Decoder.load(gpu, weights, config.text_config, { prefix: 'model.language_model.', lmHead: 'lm_head.weight' });
    return new MultimodalAssembly(gpu, config, location, new Qwen2_5VLParts(gpu, config, tower), decoder) as MultimodalAssembly<QwenPlan> & { parts: Qwen2_5VLParts };
  } catch (e) {
    tower.dispose();
    throw e;
  }
}
