// What every multimodal model in kvscope offers, whichever architecture: HF-style tensor forward (input_ids +
// pixel_values + image_sizes / image_grid_thw) and the prompt-level prefill, both returning the KV cache, the
// sequence spans (which positions hold which image token) and the requested taps; greedy generation from the cache.
import type { Gpu } from '../gpu/device.ts';
import type { Tensor } from '../gpu/tensor.ts';
import type { ModelConfig } from '../io/config.ts';
import type { RgbImage } from '../io/rgbImage.ts';
import type { BlockRule } from '../ops/attention.ts';
import type { KvCache } from './lm/kvCache.ts';

/**
 * Canonical tap names (TransformerLens-style): `vision.out` (vision tower output as the projector takes it),
 * `projector.out` (image features in sequence order), `lm.layers.{i}.attn.k` (keys after RoPE, as cached),
 * `lm.layers.{i}.attn.k_pre_rope`, `lm.layers.{i}.attn.v`, `lm.layers.{i}.out` (residual stream after layer i).
 */
export type TapName = string;

/** Where one image token came from and which pixels of the original image it covers. */
export interface ImageTokenPlace {
  /** 'base': the base tile (LLaVA); 'grid': anyres crop grid (LLaVA) or the merged-patch grid (Qwen); 'newline'. */
  kind: 'base' | 'grid' | 'newline';
  /** Row and column on its grid: base tile patch grid, or the (unpadded, possibly downscaled) crop-grid map. */
  row: number;
  col: number;
  /** Crop index: 0 = base tile, 1.. = anyres crops in raster order; Qwen: 0. −1 for newline tokens. */
  crop: number;
  /** Pixel rectangle [x0, y0, x1, y1) in the original image (may be fractional; empty for newlines). */
  rect: readonly [number, number, number, number];
}

/**
 * Features of one image on a patch grid: [rows, cols, dim] f32 on the GPU, a validity mask and each cell's pixel
 * rectangle in the original image. Capture (`features()`) produces it from the KV cache and taps; the standalone
 * SigLIP encoder produces it directly; the probes consume it.
 */
export interface FeatureMap {
  tap: TapName;
  image: number;
  /** 'main' (anyres crop grid / Qwen merged grid / an encoder's own grid) or 'base' (LLaVA's base tile). */
  grid: 'main' | 'base';
  rows: number;
  cols: number;
  dim: number;
  /** [rows, cols, dim] f32 on the GPU; zeros where `valid` is 0. */
  features: Tensor<'f32'>;
  /** 1 where the cell holds a token (host copy; small). */
  valid: Uint8Array;
  /** Per cell [x0, y0, x1, y1) in original-image pixels (NaN for cells without a token). */
  rects: Float32Array;
  imageSize: { height: number; width: number };
  /** Free the GPU storage of `features`. */
  dispose(): void;
}

/** One image's run of tokens in the sequence. */
export interface ImageSpan {
  image: number;
  /** First sequence position and number of tokens (including newline tokens). */
  start: number;
  length: number;
  /** One entry per token of the run, in sequence order. */
  tokens: ImageTokenPlace[];
  /** The grids the tokens lie on: base tile (LLaVA) and main grid (rows × cols, after unpadding / downscale). */
  baseGrid: { rows: number; cols: number } | null;
  grid: { rows: number; cols: number };
  /** Original image size (HF image_sizes order: height, width). */
  imageSize: { height: number; width: number };
}

export interface SequenceSpans {
  length: number;
  images: ImageSpan[];
  /** Text ranges [start, end) before the first image, between images and after the last. */
  text: [number, number][];
  /** The text prefix placed before the image, when one was asked for. */
  prefix: [number, number] | null;
}

/** Attention blocking applied inside the forward: in these layers, these query positions may not see those keys. */
export interface AttentionBlockSpec {
  layers: readonly number[] | 'all';
  rules: readonly BlockRule[];
}

/** HF forward inputs, with HF's names and layouts (batch 1). */
export interface ModelInputs {
  inputIds: readonly number[];
  /** LLaVA: [tiles, 3, S, S] (batch axis dropped); Qwen2.5-VL: [rows, 1176]. */
  pixelValues?: { shape: readonly number[]; data: Float32Array };
  /** LLaVA: (height, width) of each original image. */
  imageSizes?: readonly (readonly [number, number])[];
  /** Qwen2.5-VL: (t, h, w) patch grid per image. */
  imageGridThw?: readonly (readonly [number, number, number])[];
}

export interface ForwardOptions {
  taps?: readonly TapName[];
  block?: AttentionBlockSpec;
  /** KV cache capacity (default: sequence length + 64 for decoding). */
  capacity?: number;
  /** 'all' rows of logits (parity, forward command) or only the 'last' (generation). Default 'last'. */
  logits?: 'all' | 'last';
}

export interface ForwardResult {
  inputIds: number[];
  /** [S, vocab] or [1, vocab]. */
  logits: Tensor<'f32'>;
  cache: KvCache;
  spans: SequenceSpans;
  taps: Map<TapName, Tensor<'f32'>>;
  /** Qwen2.5-VL M-RoPE delta for decode steps (0 for 1D RoPE). */
  ropeDelta: number;
  /** The blocking applied in this forward; generation keeps applying the rules that reach its last query. */
  block: AttentionBlockSpec | null;
}

export interface PrefillRequest extends ForwardOptions {
  images: readonly RgbImage[];
  /** The user's text; the model's chat template places the images before it. */
  prompt: string;
  /** Text placed before the image in the user turn (the study's prefix intervention). */
  prefix?: string;
}

/** What the HF processor + tokenizer produce for a request: the forward's inputs, and where the prefix went. */
export interface PreparedInputs {
  inputs: ModelInputs;
  /** (height, width) of each original image (Qwen's image_grid_thw alone does not give it). */
  originalSizes: [number, number][];
  /** Positions [start, end) of the text prefix in input_ids, or null. */
  prefix: [number, number] | null;
}

/** The ids a prefix added: the span where the prompt with the prefix differs from the prompt without it. */
export function prefixSpan(withPrefix: readonly number[], without: readonly number[]): [number, number] {
  let a = 0;
  while (a < without.length && a < withPrefix.length && without[a] === withPrefix[a]) a++;
  let b = 0;
  while (b < without.length - a && b < withPrefix.length - a && without[without.length - 1 - b] === withPrefix[withPrefix.length - 1 - b]) b++;
  return [a, withPrefix.length - b];
}

export interface MultimodalModel {
  readonly gpu: Gpu;
  readonly config: ModelConfig;
  /** Tensor-level forward, as HF's `model(**inputs)`. */
  forward(inputs: ModelInputs, opts?: ForwardOptions): Promise<ForwardResult>;
  /** Chat template + tokenizer + processor: the HF inputs for a request (what `preprocess` writes). */
  prepare(req: PrefillRequest): Promise<PreparedInputs>;
  /** Prompt-level: prepare, then forward. Needs the checkpoint's tokenizer. */
  prefill(req: PrefillRequest): Promise<ForwardResult>;
  /** Greedy decoding from a prefill's cache; returns the new token ids (stops at EOS or maxNewTokens). */
  generate(from: ForwardResult, maxNewTokens: number): Promise<number[]>;
  /** Token ids to text with the checkpoint's tokenizer (special tokens skipped). */
  decode(ids: readonly number[]): Promise<string>;
  dispose(): void;
}
