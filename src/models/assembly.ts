// One assembly for every multimodal model, as the paper's figure reads:
//   processor -> vision tower -> projector -> sequence (text embeddings + image features, spans) -> decoder
// What differs between LLaVA-OneVision, LLaVA-NeXT and Qwen2.5-VL is a `ModelParts` object: how its processor
// turns images into pixel values and token counts, how a sequence is planned (image token positions, RoPE
// positions, spans) and how pixel values become image features. The assembly does the rest once: tokenizer and
// chat template, placeholder expansion, the prefix span, taps, the KV cache, generation.
import type { AttentionBlockSpec } from '../capture/interventions.ts';
import { decodeBlock, prefixSpan } from '../capture/interventions.ts';
import { assertKvDType, type KvDType } from '../capture/kvCache.ts';
import type { ActDType } from './runState.ts';
import type { SequenceSpans } from '../capture/spans.ts';
import { planTaps, type TapName, type TapPlan } from '../capture/taps.ts';
import type { Gpu } from '../gpu/device.ts';
import type { HostTensor } from '../gpu/hostTensor.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { buildPrompt, type PromptModelType } from '../io/chatTemplate.ts';
import type { ModelConfig } from '../io/config.ts';
import type { RgbImage } from '../io/rgbImage.ts';
import { type CheckpointLocation, readText } from '../io/safetensors.ts';
import { Tokenizer } from '../io/tokenizer.ts';
import type { Decoder } from './lm/decoder.ts';
import { greedyDecode } from './lm/greedy.ts';
import type { ForwardOptions, ForwardResult, ModelInputs, MultimodalModel, PreparedInputs, PrefillRequest } from './model.ts';
import { concatPixelValues } from './processor/pixelValues.ts';

/** A sequence planned on the host from the forward's inputs, before any GPU work. */
export interface SequencePlan {
  /** Sequence positions of the image tokens, in order (the rows image features overwrite). */
  imagePositions: number[];
  /** RoPE positions: [S] (1D) or [3][S] (M-RoPE). */
  positions: number[] | number[][];
  /** M-RoPE position offset of decode steps (0 for 1D RoPE). */
  ropeDelta: number;
  spans: SequenceSpans;
}

/** What the processor made of the request's images. */
export interface ProcessedImages {
  pixelValues: HostTensor<Float32Array>[];
  /** LM tokens each image's placeholder expands to. */
  tokens: number[];
  /** (height, width) of each original image. */
  sizes: [number, number][];
  /** The model-specific processor outputs (image_sizes / image_grid_thw). */
  inputs: Pick<ModelInputs, 'imageSizes' | 'imageGridThw'>;
}

/** The model-specific parts of a multimodal model. */
export interface ModelParts<P extends SequencePlan = SequencePlan> {
  /** For messages: 'LLaVA', 'Qwen2.5-VL'. */
  readonly name: string;
  readonly template: PromptModelType;
  readonly imageTokenId: number;
  /** Stop tokens when config.json names no eos_token_id. */
  readonly defaultStop: number;
  /** Vision layers that run (bounds `vision.layers.{i}.out`). */
  readonly visionLayers: number;
  /** Check inputs and plan the sequence (host only); `sizes` are the original images' when known. */
  plan(inputs: ModelInputs, sizes?: readonly (readonly [number, number])[]): P;
  /** The token ids embedded as text (LLaVA embeds image placeholders as id 0, HF's llm_input_ids). */
  textIds(ids: readonly number[]): number[];
  /** pixel values -> image features [image tokens, H] in sequence order; vision taps go into `keep`. */
  encode(inputs: ModelInputs, plan: P, taps: TapPlan, keep: Map<TapName, Tensor<'f32'>>): Promise<Tensor<'f32'>>;
  /** Read preprocessor_config.json (text of `file`) and check it against config.json. */
  readProcessor(text: string, file: string): unknown;
  /** The HF image processor over the request's images. */
  preprocess(images: readonly RgbImage[], processor: unknown): ProcessedImages;
  /** RoPE position of the token at cache index c during decoding. */
  decodePosition(c: number, ropeDelta: number): number;
  dispose(): void;
}

export class MultimodalAssembly<P extends SequencePlan = SequencePlan> implements MultimodalModel {
  private files: Promise<{ tokenizer: Tokenizer; processor: unknown }> | null = null;

  constructor(
    readonly gpu: Gpu,
    readonly config: ModelConfig,
    readonly location: CheckpointLocation,
    readonly parts: ModelParts<P>,
    readonly decoder: Decoder,
  ) {}

  private kvDefault: KvDType = 'f32';

  get kvDtype(): KvDType {
    return this.kvDefault;
  }

  set kvDtype(dtype: KvDType) {
    assertKvDType(this.gpu, dtype);
    this.kvDefault = dtype;
  }

  get actDtype(): ActDType {
    return this.decoder.actDtype;
  }

  set actDtype(dtype: ActDType) {
    this.decoder.actDtype = dtype;
  }

  forward(inputs: ModelInputs, opts: ForwardOptions = {}): Promise<ForwardResult> {
    return this.run(inputs, opts);
  }

  private async run(inputs: ModelInputs, opts: ForwardOptions, sizes?: readonly (readonly [number, number])[]): Promise<ForwardResult> {
    const ids = [...inputs.inputIds];
    if (!ids.length) throw new Error('forward: input_ids is empty');
    const text = this.decoder.config;
    const taps = planTaps(opts.taps ?? [], this.parts.visionLayers, text.num_hidden_layers, this.parts.name);
    const plan = this.parts.plan(inputs, sizes);
    const kept = new Map<TapName, Tensor<'f32'>>();
    let features: Tensor<'f32'> | null = null;
    const cache = this.decoder.newCache(opts.capacity ?? ids.length + 64, opts.kvDtype ?? this.kvDefault);
    try {
      // vision tower -> projector: image features in sequence order
      if (inputs.pixelValues && plan.imagePositions.length) features = await this.parts.encode(inputs, plan, taps, kept);
      // sequence -> decoder: embeddings with image features over their positions, the layers, the head
      const lmTaps = (opts.taps ?? []).filter((t) => t.startsWith('lm.'));
      const lm = await this.decoder.run(
        { ids: this.parts.textIds(ids), image: features ? { features, positions: plan.imagePositions } : undefined },
        { cache, start: 0, positions: plan.positions, logits: opts.logits ?? 'last', taps: lmTaps, block: opts.block },
      );
      const all: Map<TapName, Tensor<'f32' | 'f16'>> = kept; // LM cache taps are views of the cache, in its dtype
      for (const [name, t] of lm.taps) all.set(name, t);
      if (features && taps.projector) kept.set('projector.out', features);
      else features?.dispose();
      features = null;
      return forwardResult(ids, lm.logits!, cache, plan, all, opts.block ?? null);
    } catch (e) {
      features?.dispose();
      for (const t of new Set(kept.values())) t.dispose();
      cache.dispose();
      throw e;
    }
  }

  private processorFiles(): Promise<{ tokenizer: Tokenizer; processor: unknown }> {
    this.files ??= (async () => {
      const tokenizer = await Tokenizer.load(this.location);
      const file = `${this.location.origin}/preprocessor_config.json`;
      const processor = this.parts.readProcessor(await readText(this.location, 'preprocessor_config.json'), file);
      return { tokenizer, processor };
    })();
    this.files.catch(() => (this.files = null));
    return this.files;
  }

  /** HF processor + chat template + tokenizer: each image placeholder expanded to its token count. */
  async prepare(req: PrefillRequest): Promise<PreparedInputs> {
    const { tokenizer, processor } = await this.processorFiles();
    const processed = this.parts.preprocess(req.images, processor);
    const promptOf = (prefix?: string) => buildPrompt(this.parts.template, tokenizer.chatTemplate, {
      prompt: req.prompt, images: req.images.length, prefix, bosToken: tokenizer.bosToken, eosToken: tokenizer.eosToken,
    });
    const ids = tokenizer.encode(promptOf(req.prefix));
    const image = this.parts.imageTokenId;
    const placeholders = ids.filter((id) => id === image).length;
    if (placeholders !== req.images.length) throw new Error(`prefill: the prompt holds ${placeholders} image placeholder(s) (id ${image}) for ${req.images.length} image(s)`);
    let k = 0;
    const expanded = ids.flatMap((id) => (id === image ? Array<number>(processed.tokens[k++]).fill(id) : [id]));
    // the prefix lies before the first image, so its span in the unexpanded ids is its span in the expanded ones
    const prefix = req.prefix ? prefixSpan(ids, tokenizer.encode(promptOf())) : null;
    return {
      inputs: { inputIds: expanded, pixelValues: concatPixelValues(processed.pixelValues), ...processed.inputs },
      originalSizes: processed.sizes,
      prefix,
    };
  }

  async prefill(req: PrefillRequest): Promise<ForwardResult> {
    const prepared = await this.prepare(req);
    const result = await this.run(prepared.inputs, req, prepared.originalSizes);
    result.spans.prefix = prepared.prefix;
    return result;
  }

  async decode(ids: readonly number[]): Promise<string> {
    const { tokenizer } = await this.processorFiles();
    return tokenizer.decode([...ids], { skipSpecialTokens: true });
  }

  /** Greedy decoding; every new token keeps the blocking rules that reached the prefill's last query. */
  async generate(from: ForwardResult, maxNewTokens: number): Promise<number[]> {
    const eos = this.decoder.config.eos_token_id;
    const stop = eos === null ? [this.parts.defaultStop] : [eos].flat();
    return await greedyDecode(this.decoder, from.cache, from.logits, {
      maxNewTokens, stop, block: decodeBlock(from.block, from.inputIds.length), positionOf: (c) => this.parts.decodePosition(c, from.ropeDelta),
    });
  }

  dispose(): void {
    this.parts.dispose();
    this.decoder.dispose();
  }
}

function forwardResult(ids: number[], logits: Tensor<'f32'>, cache: ForwardResult['cache'], plan: SequencePlan, taps: Map<TapName, Tensor<'f32' | 'f16'>>, block: AttentionBlockSpec | null): ForwardResult {
  let disposed = false;
  return {
    inputIds: ids, logits, cache, spans: plan.spans, taps, ropeDelta: plan.ropeDelta, block,
    dispose() {
      if (disposed) return;
      disposed = true;
      cache.dispose();
      logits.dispose();
      for (const t of new Set(taps.values())) t.dispose();
    },
  };
}
