// LLaVA-OneVision (SigLIP + MLP projector + Qwen2) and Llama-3-LLaVA-NeXT (CLIP ViT-L/14-336 + MLP projector +
// Llama 3) as HF `LlavaOnevisionForConditionalGeneration` / `LlavaNextForConditionalGeneration`:
//   processor (anyres tiles) -> vision tower (selected hidden state, CLS dropped for "default")
//   -> projector linear_2(gelu(linear_1(x))) -> packing (base, unpadded crop grid, OneVision anyres_max downscale,
//   image_newline per row) -> over the `<image>` ids of the prompt -> decoder with the static KV cache.
// The two differ only in data: tower kind, feature layer/strategy, anyres_max, prompt template, stop token;
// OneVision with several images in one prompt gives each image one tile (+ one newline), as HF's batch_num_images.
import type { ImageSpan } from '../capture/spans.ts';
import { sequenceSpans } from '../capture/spans.ts';
import type { TapName, TapPlan } from '../capture/taps.ts';
import type { Gpu } from '../gpu/device.ts';
import { Stage } from '../gpu/stage.ts';
import { Tensor } from '../gpu/tensor.ts';
import { type LlavaNextConfig, type LlavaOnevisionConfig, readConfig } from '../io/config.ts';
import type { RgbImage } from '../io/rgbImage.ts';
import { Checkpoint, checkpointLocation } from '../io/safetensors.ts';
import { MultimodalAssembly, type ModelParts, type ProcessedImages, type SequencePlan } from './assembly.ts';
import { Decoder } from './lm/decoder.ts';
import { imagePackings, type ImagePacking, packImageFeatures, type PackingSpec } from './llava/packing.ts';
import { Projector } from './llava/projector.ts';
import type { ModelInputs } from './model.ts';
import { llavaPreprocess } from './processor/llavaImageProcessor.ts';
import { type LlavaImageProcessorConfig, parsePreprocessorConfig } from './processor/preprocessorConfig.ts';
import { llavaTokenPlaces } from './processor/tokenPixelMap.ts';
import { featureHiddenStates, VisionTower } from './vision/vit.ts';
import { type LoadProgress, Weights } from './weights.ts';

export type LlavaConfig = LlavaOnevisionConfig | LlavaNextConfig;

/** Stop tokens when the config names none: OneVision `<|im_end|>`, NeXt `<|eot_id|>`. */
const DEFAULT_STOP: Record<LlavaConfig['model_type'], number> = { llava_onevision: 151645, llava_next: 128009 };

/** The packing geometry the model's config implies (tile = vision image_size, as HF's model uses it). */
export function llavaPackingSpec(cfg: LlavaConfig, images: number): PackingSpec {
  const vc = cfg.vision_config;
  const max = cfg.model_type === 'llava_onevision' ? /^anyres_max_(\d+)$/.exec(cfg.vision_aspect_ratio) : null;
  return {
    tile: vc.image_size,
    patchesPerSide: Math.floor(vc.image_size / vc.patch_size),
    pinpoints: cfg.image_grid_pinpoints,
    ...(max ? { maxTiles: Number(max[1]) } : {}),
    singleTile: cfg.model_type === 'llava_onevision' && images > 1,
  };
}

interface LlavaPlan extends SequencePlan {
  packings: ImagePacking[];
}

/** The LLaVA parts: SigLIP/CLIP tower, MLP projector, anyres packing with image_newline; 1D RoPE. */
class LlavaParts implements ModelParts<LlavaPlan> {
  readonly name = 'LLaVA';
  readonly template: LlavaConfig['model_type'];
  readonly imageTokenId: number;
  readonly defaultStop: number;

  constructor(
    readonly gpu: Gpu,
    readonly config: LlavaConfig,
    readonly tower: VisionTower,
    readonly projector: Projector,
    /** image_newline as [1, H] f32. */
    private readonly newline: Tensor<'f32'>,
    /** hidden_states indices the features are taken from. */
    readonly featureLayers: readonly number[],
  ) {
    this.template = config.model_type;
    this.imageTokenId = config.image_token_index;
    this.defaultStop = DEFAULT_STOP[config.model_type];
  }

  get visionLayers(): number {
    return this.tower.layerCount;
  }

  /** The packing of each image and the positions of its tokens, checked against each other; spans; positions 0..S−1. */
  plan(inputs: ModelInputs): LlavaPlan {
    const cfg = this.config;
    const sizes = inputs.imageSizes ?? [];
    const seq = inputs.inputIds.length;
    const imagePositions = inputs.inputIds.flatMap((id, i) => (id === cfg.image_token_index ? [i] : []));
    if (inputs.pixelValues && !sizes.length) throw new Error('forward: pixel_values given without image_sizes (one (height, width) per image)');
    if (sizes.length && !inputs.pixelValues) throw new Error(`forward: image_sizes for ${sizes.length} image(s) but no pixel_values`);
    const spec = llavaPackingSpec(cfg, sizes.length);
    const packings = sizes.length ? imagePackings(sizes, spec) : [];
    if (inputs.pixelValues) {
      const tiles = packings.reduce((a, p) => a + p.tiles, 0);
      if (inputs.pixelValues.shape[0] !== tiles) {
        throw new Error(`forward: pixel_values holds ${inputs.pixelValues.shape[0]} tiles, image_sizes ${JSON.stringify(sizes)} need ${tiles} ` +
          `(${packings.map((p) => p.tiles).join(' + ')}; tiles of all images concatenated, base tile first)`);
      }
    }
    const features = packings.reduce((a, p) => a + p.tokens, 0);
    // HF: "Image features and image tokens do not match"
    if (features !== imagePositions.length) {
      throw new Error(`Image features and image tokens do not match: tokens: ${imagePositions.length} (id ${cfg.image_token_index} in input_ids), features ${features}`);
    }
    // each image: one contiguous run of tokens with its token→pixel places
    const p = spec.patchesPerSide;
    const images: ImageSpan[] = [];
    let at = 0;
    packings.forEach((pk, image) => {
      const start = imagePositions[at];
      if (imagePositions[at + pk.tokens - 1] !== start + pk.tokens - 1) {
        throw new Error(`forward: the ${pk.tokens} image tokens of image ${image} are not one contiguous run starting at position ${start}`);
      }
      const tokens = llavaTokenPlaces(pk.imageSize, pk.layout, spec);
      if (tokens.length !== pk.tokens) throw new Error(`llava: the token→pixel map has ${tokens.length} tokens for image ${image}, the packing ${pk.tokens}`);
      const grid = pk.layout ? { rows: pk.layout.final.height, cols: pk.layout.final.width } : { rows: p, cols: p };
      images.push({ image, start, length: pk.tokens, tokens, baseGrid: { rows: p, cols: p }, grid, imageSize: pk.imageSize });
      at += pk.tokens;
    });
    return { imagePositions, positions: Array.from({ length: seq }, (_, i) => i), ropeDelta: 0, spans: sequenceSpans(seq, images), packings };
  }

  /** HF: llm_input_ids[special_image_mask] = 0 (the rows are overwritten by image features). */
  textIds(ids: readonly number[]): number[] {
    return ids.map((id) => (id === this.config.image_token_index ? 0 : id));
  }

  async encode(inputs: ModelInputs, plan: LlavaPlan, taps: TapPlan, keep: Map<TapName, Tensor<'f32'>>): Promise<Tensor<'f32'>> {
    const cfg = this.config;
    const vis = await this.tower.forward(inputs.pixelValues!, { hiddenStates: this.featureLayers, dropCls: cfg.vision_feature_select_strategy === 'default' }, { layerOutputs: taps.visionLayers.size > 0 });
    vis.layerOutputs.forEach((t, i) => (taps.visionLayers.has(i) ? keep.set(`vision.layers.${i}.out`, t) : t.dispose()));
    if (taps.vision) keep.set('vision.out', vis.features);
    try {
      // projector per tile token, then base ++ unpadded (downscaled) grid rows with newlines, image by image
      return await Stage.run(this.gpu, 'llava projector + packing', (stage) => {
        const projected = this.projector.forward(stage, vis.features);
        const p = Math.floor(cfg.vision_config.image_size / cfg.vision_config.patch_size);
        if (projected.rows !== vis.tiles * p * p) throw new Error(`llava: ${projected.rows / vis.tiles} vision tokens per tile, packing expects ${p}×${p}`);
        stage.onDone(() => projected.dispose());
        return packImageFeatures(stage, projected, this.newline, plan.packings, p);
      });
    } finally {
      if (!taps.vision) vis.features.dispose();
    }
  }

  readProcessor(text: string, file: string): LlavaImageProcessorConfig {
    const parsed = parsePreprocessorConfig(text, { file });
    if (parsed.kind !== this.config.model_type) throw new Error(`${file}: ${parsed.processorType} does not belong to a ${this.config.model_type} model`);
    return parsed;
  }

  /** HF processor: each image tiled and normalised; its placeholder expands to its packed token count. */
  preprocess(images: readonly RgbImage[], processor: unknown): ProcessedImages {
    const cfg = this.config;
    const multiImage = cfg.model_type === 'llava_onevision' && images.length > 1;
    const processed = images.map((img) => llavaPreprocess(img, processor as LlavaImageProcessorConfig, { multiImage, visionPatchSize: cfg.vision_config.patch_size }));
    const sizes = processed.map((p) => [...p.imageSize] as [number, number]);
    const packings = sizes.length ? imagePackings(sizes, llavaPackingSpec(cfg, sizes.length)) : [];
    return { pixelValues: processed.map((p) => p.pixelValues), tokens: packings.map((p) => p.tokens), sizes, inputs: { imageSizes: sizes } };
  }

  decodePosition(c: number): number {
    return c;
  }

  dispose(): void {
    this.tower.dispose();
    this.projector.dispose();
    this.newline.dispose();
  }
}

/** Load a llava_onevision or llava_next checkpoint (directory, base URL or picked Files), legacy or new names. */
export async function loadLlava(gpu: Gpu, where: string | readonly File[], opts: { onProgress?: (p: LoadProgress) => void } = {}): Promise<MultimodalAssembly<LlavaPlan> & { parts: LlavaParts }> {
  const location = checkpointLocation(where);
  const config = await readConfig(location);
  if (config.model_type !== 'llava_onevision' && config.model_type !== 'llava_next') {
    throw new Error(`${location.origin}/config.json: model_type ${config.model_type} is not a LLaVA model (llava_onevision, llava_next)`);
  }
  const weights = new Weights(await Checkpoint.open(location, config.model_type), opts.onProgress);
  const vc = config.vision_config, H = config.text_config.hidden_size;
  const featureLayers = featureHiddenStates(config.vision_feature_layer, vc.num_hidden_layers);
  const held: { dispose(): void }[] = [];
  try {
    const tower = await VisionTower.load(gpu, weights, vc, { prefix: 'model.vision_tower.vision_model.', layerCount: Math.max(...featureLayers) });
    held.push(tower);
    const projector = await Projector.load(gpu, weights, {
      prefix: 'model.multi_modal_projector.', inDim: vc.hidden_size * featureLayers.length, hidden: H,
      bias: config.multimodal_projector_bias, act: config.projector_hidden_act,
    });
    held.push(projector);
    const nl = await weights.host('model.image_newline', [H]);
    const newline = Tensor.from(gpu, 'f32', [1, H], nl.data, 'image_newline');
    held.push(newline);
    const decoder = await Decoder.load(gpu, weights, config.text_config, { prefix: 'model.language_model.', lmHead: 'lm_head.weight' });
    const parts = new LlavaParts(gpu, config, tower, projector, newline, featureLayers);
    return new MultimodalAssembly(gpu, config, location, parts, decoder) as MultimodalAssembly<LlavaPlan> & { parts: LlavaParts };
  } catch (e) {
    held.forEach((t) => t.dispose());
    throw e;
  }
}
