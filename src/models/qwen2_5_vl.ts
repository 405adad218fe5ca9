// Qwen2.5-VL on the GPU, as HF `Qwen2_5_VLForConditionalGeneration`:
//   processor (smart_resize, 2 identical frames, merge-block patch rows) -> windowed ViT with full-attention blocks
//   -> PatchMerger (2×2 patches → one LM token) -> features scattered over the `<|image_pad|>` ids (image_token_id)
//   -> Qwen2.5 decoder with multimodal RoPE positions from get_rope_index; decode steps at cache index + rope_delta.
import type { Gpu } from '../gpu/device.ts';
import { Stage } from '../gpu/stage.ts';
import { Tensor } from '../gpu/tensor.ts';
import { buildPrompt } from '../io/chatTemplate.ts';
import { type Qwen2_5VLConfig, readConfig } from '../io/config.ts';
import { Checkpoint, type CheckpointLocation, checkpointLocation, readText } from '../io/safetensors.ts';
import { Tokenizer } from '../io/tokenizer.ts';
import { scatterRows } from '../ops/rows.ts';
import { Decoder } from './lm/decoder.ts';
import { decodeBlock, greedyDecode } from './lm/greedy.ts';
import { type ForwardOptions, type ForwardResult, type ImageSpan, type ModelInputs, type MultimodalModel, type PreparedInputs, prefixSpan, type PrefillRequest, type SequenceSpans, type TapName } from './model.ts';
import { planTaps } from './tapPlan.ts';
import { concatPixelValues } from './processor/pixelValues.ts';
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

export class Qwen2_5VLModel implements MultimodalModel {
  private tokenizer: Tokenizer | null = null;
  private processorConfig: QwenImageProcessorConfig | null = null;

  private constructor(
    readonly gpu: Gpu,
    readonly config: Qwen2_5VLConfig,
    readonly location: CheckpointLocation,
    readonly tower: QwenVisionTower,
    readonly decoder: Decoder,
  ) {}

  /** Load a qwen2_5_vl checkpoint (directory, base URL or picked Files); legacy `visual.*` / `model.*` or new names. */
  static async load(gpu: Gpu, where: string | readonly File[], opts: { onProgress?: (p: LoadProgress) => void } = {}): Promise<Qwen2_5VLModel> {
    const location = checkpointLocation(where);
    const config = await readConfig(location);
    if (config.model_type !== 'qwen2_5_vl') throw new Error(`${location.origin}/config.json: model_type ${config.model_type} is not qwen2_5_vl`);
    const weights = new Weights(await Checkpoint.open(location, 'qwen2_5_vl'), opts.onProgress);
    const tower = await QwenVisionTower.load(gpu, weights, config.vision_config, { prefix: 'model.visual.' });
    try {
      // lm_head when the file has one, else the tied embed_tokens (Qwen2.5-VL-3B)
      const decoder = await Decoder.load(gpu, weights, config.text_config, { prefix: 'model.language_model.', lmHead: 'lm_head.weight' });
      return new Qwen2_5VLModel(gpu, config, location, tower, decoder);
    } catch (e) {
      tower.dispose();
      throw e;
    }
  }

  /** Spans from the rope index's image runs; `sizes` are the original (height, width) when the caller knows them. */
  private spans(seq: number, plan: Qwen2_5VLPlan, sizes?: readonly (readonly [number, number])[]): SequenceSpans {
    const vc = this.config.vision_config, m = vc.spatial_merge_size;
    const images: ImageSpan[] = plan.rope.images.map((run, k) => {
      const [t, gh, gw] = plan.grids[k];
      const resized = { height: gh * vc.patch_size, width: gw * vc.patch_size };
      // tensor-level forward knows only the resized image: its pixels stand in for the original's
      const [height, width] = sizes?.[k] ?? [resized.height, resized.width];
      const tokens = t === 1 ? qwenTokenPlaces({ height, width }, resized, [t, gh, gw], m) : [];
      return { image: k, start: run.start, length: run.length, tokens, baseGrid: null, grid: { rows: gh / m, cols: gw / m }, imageSize: { height, width } };
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

  forward(inputs: ModelInputs, opts: ForwardOptions = {}): Promise<ForwardResult> {
    return this.run(inputs, opts);
  }

  private async run(inputs: ModelInputs, opts: ForwardOptions, sizes?: readonly (readonly [number, number])[]): Promise<ForwardResult> {
    const cfg = this.config, gpu = this.gpu;
    const ids = [...inputs.inputIds];
    if (!ids.length) throw new Error('forward: input_ids is empty');
    const taps = planTaps(opts.taps ?? [], cfg.vision_config.depth, cfg.text_config.num_hidden_layers, 'Qwen2.5-VL');
    const plan = qwen2_5VLPlan(cfg, inputs);
    const spans = this.spans(ids.length, plan, sizes);
    const out = new Map<TapName, Tensor<'f32'>>();
    // inputs_embeds = embed_tokens(input_ids); image features overwrite the <|image_pad|> rows, in order
    const h = await this.decoder.embed(ids);
    try {
      if (inputs.pixelValues && plan.grids.length) {
        const want = taps.vision || taps.visionLayers.size > 0;
        const vis = await this.tower.forward(inputs.pixelValues, plan.grids, { blockOutputs: want });
        const last = cfg.vision_config.depth - 1;
        vis.blockOutputs.forEach((t, i) => {
          if (taps.visionLayers.has(i)) out.set(`vision.layers.${i}.out`, t);
          if (taps.vision && i === last) out.set('vision.out', taps.visionLayers.has(i) ? t.reshape(t.shape, 'vision.out') : t);
          if (!taps.visionLayers.has(i) && !(taps.vision && i === last)) t.dispose();
        });
        const stage = new Stage(gpu, 'qwen2.5-vl image features scatter');
        const posT = Tensor.from(gpu, 'u32', [plan.imagePositions.length], plan.imagePositions, 'image token positions');
        await scatterRows(stage, vis.features, posT, h);
        stage.onDone(() => posT.dispose());
        await stage.submit();
        if (taps.projector) out.set('projector.out', vis.features);
        else vis.features.dispose();
      }
      const cache = this.decoder.newCache(opts.capacity ?? ids.length + 64);
      const lm = await this.decoder.forward(h, {
        cache, start: 0, positions: plan.rope.positions, logits: opts.logits ?? 'last',
        taps: { preRopeKeys: taps.preRope.size > 0, hidden: taps.hidden.size > 0 }, block: opts.block,
      }).catch((e) => { cache.dispose(); throw e; });
      lm.preRopeKeys.forEach((t, i) => (taps.preRope.has(i) ? out.set(`lm.layers.${i}.attn.k_pre_rope`, t) : t.dispose()));
      lm.hidden.forEach((t, i) => (taps.hidden.has(i) ? out.set(`lm.layers.${i}.out`, t) : t.dispose()));
      // cache taps are views of the cache: [kv_heads, capacity, head_dim], positions 0..cache.length−1 valid
      for (const name of taps.cache) {
        const [, l, which] = /^lm\.layers\.(\d+)\.attn\.(k|v)$/.exec(name)!;
        const t = which === 'k' ? cache.keys[Number(l)] : cache.values[Number(l)];
        out.set(name, t.reshape(t.shape, name));
      }
      return { inputIds: ids, logits: lm.logits!, cache, spans, taps: out, ropeDelta: plan.rope.ropeDelta, block: opts.block ?? null };
    } catch (e) {
      for (const t of new Set(out.values())) t.dispose();
      throw e;
    } finally {
      h.dispose();
    }
  }

  private async processorFiles(): Promise<{ tokenizer: Tokenizer; processor: QwenImageProcessorConfig }> {
    if (!this.tokenizer) this.tokenizer = await Tokenizer.load(this.location);
    if (!this.processorConfig) {
      const file = `${this.location.origin}/preprocessor_config.json`;
      const parsed = parsePreprocessorConfig(await readText(this.location, 'preprocessor_config.json'), { file, assume: 'Qwen2VLImageProcessor' });
      if (parsed.kind !== 'qwen2_vl') throw new Error(`${file}: ${parsed.processorType} is not a Qwen2-VL image processor`);
      const vc = this.config.vision_config;
      if (parsed.patchSize !== vc.patch_size || parsed.mergeSize !== vc.spatial_merge_size || parsed.temporalPatchSize !== vc.temporal_patch_size) {
        throw new Error(`${file}: patch_size ${parsed.patchSize} / merge_size ${parsed.mergeSize} / temporal_patch_size ${parsed.temporalPatchSize} ` +
          `differ from config.json vision_config (${vc.patch_size} / ${vc.spatial_merge_size} / ${vc.temporal_patch_size})`);
      }
      this.processorConfig = parsed;
    }
    return { tokenizer: this.tokenizer, processor: this.processorConfig };
  }

  /** HF processor: chat prompt, each `<|image_pad|>` expanded to the image's merged-token count. */
  async prepare(req: PrefillRequest): Promise<PreparedInputs> {
    const cfg = this.config, m = cfg.vision_config.spatial_merge_size;
    const { tokenizer, processor } = await this.processorFiles();
    const processed = req.images.map((img) => qwenPreprocess(img, processor));
    const promptOf = (prefix?: string) => buildPrompt('qwen2_5_vl', tokenizer.chatTemplate, {
      prompt: req.prompt, images: req.images.length, prefix, bosToken: tokenizer.bosToken, eosToken: tokenizer.eosToken,
    });
    const ids = tokenizer.encode(promptOf(req.prefix));
    const pads = ids.filter((id) => id === cfg.image_token_id).length;
    if (pads !== req.images.length) throw new Error(`prefill: the prompt holds ${pads} <|image_pad|> placeholder(s) (id ${cfg.image_token_id}) for ${req.images.length} image(s)`);
    let k = 0;
    const expanded = ids.flatMap((id) => {
      if (id !== cfg.image_token_id) return [id];
      const [t, gh, gw] = processed[k++].gridThw;
      return Array<number>((t * gh * gw) / (m * m)).fill(id);
    });
    const pixelValues = concatPixelValues(processed.map((p) => p.pixelValues));
    // the prefix lies before the first image, so its span in the unexpanded ids is its span in the expanded ones
    const prefix = req.prefix ? prefixSpan(ids, tokenizer.encode(promptOf())) : null;
    return {
      inputs: { inputIds: expanded, pixelValues, imageGridThw: processed.map((p) => p.gridThw) },
      originalSizes: processed.map((p) => [...p.imageSize] as [number, number]),
      prefix,
    };
  }

  /** prepare + forward. */
  async prefill(req: PrefillRequest): Promise<ForwardResult> {
    const prepared = await this.prepare(req);
    const result = await this.run(prepared.inputs, req, prepared.originalSizes);
    result.spans.prefix = prepared.prefix;
    return result;
  }

  /** Greedy decoding; the token at cache index c gets M-RoPE position c + rope_delta on all three axes. */
  async decode(ids: readonly number[]): Promise<string> {
    const { tokenizer } = await this.processorFiles();
    return tokenizer.decode([...ids], { skipSpecialTokens: true });
  }

  async generate(from: ForwardResult, maxNewTokens: number): Promise<number[]> {
    const eos = this.config.text_config.eos_token_id;
    const stop = eos === null ? [DEFAULT_STOP] : [eos].flat();
    return await greedyDecode(this.decoder, from.cache, from.logits, { maxNewTokens, stop, block: decodeBlock(from), positionOf: (c) => c + from.ropeDelta });
  }

  dispose(): void {
    this.tower.dispose();
    this.decoder.dispose();
  }
}
