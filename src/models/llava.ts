// LLaVA-OneVision (SigLIP + MLP projector + Qwen2) and Llama-3-LLaVA-NeXT (CLIP ViT-L/14-336 + MLP projector +
// Llama 3) on the GPU, as HF `LlavaOnevisionForConditionalGeneration` / `LlavaNextForConditionalGeneration`:
//   processor (anyres tiles) -> vision tower (selected hidden state, CLS dropped for "default")
//   -> projector linear_2(gelu(linear_1(x))) -> packing (base, unpadded crop grid, OneVision anyres_max downscale,
//   image_newline per row) -> scatter over the `<image>` ids of the prompt -> decoder with the static KV cache.
// The two differ only in data: tower kind, feature layer/strategy, anyres_max, prompt template, stop token;
// OneVision with several images in one prompt gives each image one tile (+ one newline), as HF's batch_num_images.
import type { Gpu } from '../gpu/device.ts';
import { Stage } from '../gpu/stage.ts';
import { Tensor } from '../gpu/tensor.ts';
import { buildPrompt } from '../io/chatTemplate.ts';
import { type LlavaNextConfig, type LlavaOnevisionConfig, readConfig } from '../io/config.ts';
import type { RgbImage } from '../io/rgbImage.ts';
import { type CheckpointLocation, checkpointLocation, Checkpoint, readText } from '../io/safetensors.ts';
import { Tokenizer } from '../io/tokenizer.ts';
import { scatterRows } from '../ops/rows.ts';
import { Decoder } from './lm/decoder.ts';
import { decodeBlock, greedyDecode } from './lm/greedy.ts';
import { imagePackings, type ImagePacking, packImageFeatures, type PackingSpec } from './llava/packing.ts';
import { Projector } from './llava/projector.ts';
import { type ForwardOptions, type ForwardResult, type ImageSpan, type ModelInputs, type MultimodalModel, type PreparedInputs, prefixSpan, type PrefillRequest, type SequenceSpans, type TapName } from './model.ts';
import { planTaps } from './tapPlan.ts';
import { concatPixelValues } from './processor/pixelValues.ts';
import { llavaPreprocess } from './processor/llavaImageProcessor.ts';
import { type LlavaImageProcessorConfig, parsePreprocessorConfig } from './processor/preprocessorConfig.ts';
import { llavaTokenPlaces } from './processor/tokenPixelMap.ts';
import { featureHiddenStates, tokensPerTile, VisionTower } from './vision/vit.ts';
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

/** Which canonical taps a forward was asked for. */

export class LlavaModel implements MultimodalModel {
  private tokenizer: Tokenizer | null = null;
  private processorConfig: LlavaImageProcessorConfig | null = null;

  private constructor(
    readonly gpu: Gpu,
    readonly config: LlavaConfig,
    readonly location: CheckpointLocation,
    readonly tower: VisionTower,
    readonly projector: Projector,
    /** image_newline as [1, H] f32. */
    private readonly newline: Tensor<'f32'>,
    readonly decoder: Decoder,
    /** hidden_states indices the features are taken from. */
    readonly featureLayers: readonly number[],
  ) {}

  /** Load a llava_onevision or llava_next checkpoint (directory, base URL or picked Files), legacy or new names. */
  static async load(gpu: Gpu, where: string | readonly File[], opts: { onProgress?: (p: LoadProgress) => void } = {}): Promise<LlavaModel> {
    const location = checkpointLocation(where);
    const config = await readConfig(location);
    if (config.model_type !== 'llava_onevision' && config.model_type !== 'llava_next') {
      throw new Error(`${location.origin}/config.json: model_type ${config.model_type} is not a LLaVA model (llava_onevision, llava_next)`);
    }
    const weights = new Weights(await Checkpoint.open(location, config.model_type), opts.onProgress);
    const vc = config.vision_config, H = config.text_config.hidden_size;
    const featureLayers = featureHiddenStates(config.vision_feature_layer, vc.num_hidden_layers);
    const tower = await VisionTower.load(gpu, weights, vc, { prefix: 'model.vision_tower.vision_model.', layerCount: Math.max(...featureLayers) });
    const projector = await Projector.load(gpu, weights, {
      prefix: 'model.multi_modal_projector.', inDim: vc.hidden_size * featureLayers.length, hidden: H,
      bias: config.multimodal_projector_bias, act: config.projector_hidden_act,
    });
    const nl = await weights.host('model.image_newline', [H]);
    const newline = Tensor.from(gpu, 'f32', [1, H], nl.data, 'image_newline');
    const decoder = await Decoder.load(gpu, weights, config.text_config, { prefix: 'model.language_model.', lmHead: 'lm_head.weight' });
    return new LlavaModel(gpu, config, location, tower, projector, newline, decoder, featureLayers);
  }

  /** The packing of each image of `inputs` and the sequence positions of the image tokens, checked against each other. */
  private plan(inputs: ModelInputs): { packings: ImagePacking[]; imagePositions: number[] } {
    const cfg = this.config;
    const sizes = inputs.imageSizes ?? [];
    const imagePositions = inputs.inputIds.flatMap((id, i) => (id === cfg.image_token_index ? [i] : []));
    if (inputs.pixelValues && !sizes.length) throw new Error('forward: pixel_values given without image_sizes (one (height, width) per image)');
    if (sizes.length && !inputs.pixelValues) throw new Error(`forward: image_sizes for ${sizes.length} image(s) but no pixel_values`);
    const packings = sizes.length ? imagePackings(sizes, llavaPackingSpec(cfg, sizes.length)) : [];
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
    return { packings, imagePositions };
  }

  /** Spans: each image's contiguous run of tokens with its token→pixel places; text between. */
  private spans(seq: number, packings: readonly ImagePacking[], imagePositions: readonly number[]): SequenceSpans {
    const spec = llavaPackingSpec(this.config, packings.length);
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
    const text: [number, number][] = [];
    let from = 0;
    for (const s of images) {
      if (s.start > from) text.push([from, s.start]);
      from = s.start + s.length;
    }
    if (from < seq) text.push([from, seq]);
    return { length: seq, images, text, prefix: null };
  }

  async forward(inputs: ModelInputs, opts: ForwardOptions = {}): Promise<ForwardResult> {
    const cfg = this.config, gpu = this.gpu;
    const ids = [...inputs.inputIds];
    if (!ids.length) throw new Error('forward: input_ids is empty');
    const taps = planTaps(opts.taps ?? [], this.tower.layerCount, cfg.text_config.num_hidden_layers, 'LLaVA');
    const { packings, imagePositions } = this.plan(inputs);
    const spans = this.spans(ids.length, packings, imagePositions);
    const out = new Map<TapName, Tensor<'f32'>>();
    // text embeddings; the image ids embed as id 0 and are overwritten (HF: llm_input_ids[special_image_mask] = 0)
    const h = await this.decoder.embed(ids.map((id) => (id === cfg.image_token_index ? 0 : id)));
    try {
      if (inputs.pixelValues && packings.length) {
        const vis = await this.tower.forward(inputs.pixelValues, { hiddenStates: this.featureLayers, dropCls: cfg.vision_feature_select_strategy === 'default' }, { layerOutputs: taps.visionLayers.size > 0 });
        vis.layerOutputs.forEach((t, i) => (taps.visionLayers.has(i) ? out.set(`vision.layers.${i}.out`, t) : t.dispose()));
        const stage = new Stage(gpu, 'llava projector + packing');
        // projector per tile token, then base ++ unpadded (downscaled) grid rows with newlines, image by image
        const projected = await this.projector.forward(stage, vis.features);
        const p = Math.floor(cfg.vision_config.image_size / cfg.vision_config.patch_size);
        if (projected.rows !== vis.tiles * p * p) throw new Error(`llava: ${projected.rows / vis.tiles} vision tokens per tile, packing expects ${p}×${p}`);
        const packed = await packImageFeatures(stage, projected, this.newline, packings, p);
        const posT = Tensor.from(gpu, 'u32', [imagePositions.length], imagePositions, 'image token positions');
        await scatterRows(stage, packed, posT, h);
        stage.onDone(() => { posT.dispose(); projected.dispose(); });
        await stage.submit();
        if (taps.vision) out.set('vision.out', vis.features);
        else vis.features.dispose();
        if (taps.projector) out.set('projector.out', packed);
        else packed.dispose();
      }
      const cache = this.decoder.newCache(opts.capacity ?? ids.length + 64);
      const lm = await this.decoder.forward(h, {
        cache, start: 0, positions: ids.map((_, i) => i), logits: opts.logits ?? 'last',
        taps: { preRopeKeys: taps.preRope.size > 0, hidden: taps.hidden.size > 0 }, block: opts.block,
      }).catch((e) => { cache.dispose(); throw e; });
      lm.preRopeKeys.forEach((t, i) => (taps.preRope.has(i) ? out.set(`lm.layers.${i}.attn.k_pre_rope`, t) : t.dispose()));
      lm.hidden.forEach((t, i) => (taps.hidden.has(i) ? out.set(`lm.layers.${i}.out`, t) : t.dispose()));
      // cache taps are views of the cache itself: [kv_heads, capacity, head_dim], positions 0..cache.length−1 valid
      for (const name of taps.cache) {
        const [, l, which] = /^lm\.layers\.(\d+)\.attn\.(k|v)$/.exec(name)!;
        const t = which === 'k' ? cache.keys[Number(l)] : cache.values[Number(l)];
        out.set(name, t.reshape(t.shape, name));
      }
      return { inputIds: ids, logits: lm.logits!, cache, spans, taps: out, ropeDelta: 0, block: opts.block ?? null };
    } catch (e) {
      for (const t of out.values()) t.dispose();
      throw e;
    } finally {
      h.dispose();
    }
  }

  private async processorFiles(): Promise<{ tokenizer: Tokenizer; processor: LlavaImageProcessorConfig }> {
    if (!this.tokenizer) this.tokenizer = await Tokenizer.load(this.location);
    if (!this.processorConfig) {
      const file = `${this.location.origin}/preprocessor_config.json`;
      const parsed = parsePreprocessorConfig(await readText(this.location, 'preprocessor_config.json'), { file });
      if (parsed.kind !== this.config.model_type) throw new Error(`${file}: ${parsed.processorType} does not belong to a ${this.config.model_type} model`);
      this.processorConfig = parsed;
    }
    return { tokenizer: this.tokenizer, processor: this.processorConfig };
  }

  /** HF processor: images tiled and normalised, the chat prompt tokenised with each `<image>` expanded. */
  async prepare(req: PrefillRequest): Promise<PreparedInputs> {
    const cfg = this.config;
    const { tokenizer, processor } = await this.processorFiles();
    const multiImage = cfg.model_type === 'llava_onevision' && req.images.length > 1;
    const processed = req.images.map((img: RgbImage) => llavaPreprocess(img, processor, { multiImage, visionPatchSize: cfg.vision_config.patch_size }));
    const promptOf = (prefix?: string) => buildPrompt(cfg.model_type, tokenizer.chatTemplate, {
      prompt: req.prompt, images: req.images.length, prefix, bosToken: tokenizer.bosToken, eosToken: tokenizer.eosToken,
    });
    const ids = tokenizer.encode(promptOf(req.prefix));
    const placeholders = ids.filter((id) => id === cfg.image_token_index).length;
    if (placeholders !== req.images.length) throw new Error(`prefill: the prompt holds ${placeholders} image placeholder(s) (id ${cfg.image_token_index}) for ${req.images.length} image(s)`);
    const sizes = processed.map((p) => p.imageSize);
    const packings = sizes.length ? imagePackings(sizes, llavaPackingSpec(cfg, sizes.length)) : [];
    // the processor expands each <image> into its token count
    let k = 0;
    const expanded = ids.flatMap((id) => (id === cfg.image_token_index ? Array<number>(packings[k++].tokens).fill(id) : [id]));
    const pixelValues = concatPixelValues(processed.map((p) => p.pixelValues));
    // the prefix lies before the first image, so its span in the unexpanded ids is its span in the expanded ones
    const prefix = req.prefix ? prefixSpan(ids, tokenizer.encode(promptOf())) : null;
    return { inputs: { inputIds: expanded, pixelValues, imageSizes: sizes }, originalSizes: sizes.map((s) => [...s] as [number, number]), prefix };
  }

  /** prepare + forward. */
  async prefill(req: PrefillRequest): Promise<ForwardResult> {
    const prepared = await this.prepare(req);
    const result = await this.forward(prepared.inputs, req);
    result.spans.prefix = prepared.prefix;
    return result;
  }

  async decode(ids: readonly number[]): Promise<string> {
    const { tokenizer } = await this.processorFiles();
    return tokenizer.decode([...ids], { skipSpecialTokens: true });
  }

  async generate(from: ForwardResult, maxNewTokens: number): Promise<number[]> {
    const eos = this.config.text_config.eos_token_id;
    const stop = eos === null ? [DEFAULT_STOP[this.config.model_type]] : [eos].flat();
    return await greedyDecode(this.decoder, from.cache, from.logits, { maxNewTokens, stop, block: decodeBlock(from), positionOf: (i) => i });
  }

  /** Tokens a vision tile yields before packing (for callers sizing buffers). */
  get tileTokens(): number {
    return tokensPerTile(this.config.vision_config) - (this.config.vision_feature_select_strategy === 'default' ? 1 : 0);
  }

  dispose(): void {
    this.tower.dispose();
    this.projector.dispose();
    this.newline.dispose();
    this.decoder.dispose();
  }
}
