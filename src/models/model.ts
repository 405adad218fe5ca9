// What every multimodal model in kvscope offers, whichever architecture: HF-style tensor forward (input_ids +
// pixel_values + image_sizes / image_grid_thw) and the prompt-level prefill, both returning the KV cache, the
// sequence spans (which positions hold which image token) and the requested taps; greedy generation from the cache.
import type { Gpu } from '../gpu/device.ts';
import type { HostTensor } from '../gpu/hostTensor.ts';
import type { Tensor } from '../gpu/tensor.ts';
import type { ModelConfig } from '../io/config.ts';
import type { RgbImage } from '../io/rgbImage.ts';
import type { Capture } from '../capture/capture.ts';
import type { AttentionBlockSpec } from '../capture/interventions.ts';
import type { KvCache, KvDType } from '../capture/kvCache.ts';
import type { ActDType } from './runState.ts';
import type { SequenceSpans } from '../capture/spans.ts';
import type { TapName } from '../capture/taps.ts';

/** HF forward inputs, with HF's names and layouts (batch 1). */
export interface ModelInputs {
  inputIds: readonly number[];
  /** LLaVA: [tiles, 3, S, S] (batch axis dropped); Qwen2.5-VL: [rows, 1176]. */
  pixelValues?: HostTensor<Float32Array>;
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
  /** KV cache element type (default 'f32'); 'f16' halves the cache and needs shader-f16 (generation keeps it). */
  kvDtype?: KvDType;
}

export interface ForwardResult extends Capture {
  inputIds: number[];
  /** [S, vocab] or [1, vocab]. */
  logits: Tensor<'f32'>;
  cache: KvCache;
  spans: SequenceSpans;
  taps: Map<TapName, Tensor<'f32' | 'f16'>>;
  /** Qwen2.5-VL M-RoPE delta for decode steps (0 for 1D RoPE). */
  ropeDelta: number;
  /** The blocking applied in this forward; generation keeps applying the rules that reach its last query. */
  block: AttentionBlockSpec | null;
  /** Free everything the forward holds on the GPU (cache, logits, taps); idempotent. */
  dispose(): void;
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

export interface MultimodalModel {
  readonly gpu: Gpu;
  readonly config: ModelConfig;
  /** KV cache dtype of forwards that do not set `kvDtype` (default 'f32'); setting 'f16' checks the device first. */
  kvDtype: KvDType;
  /**
   * Decoder activation dtype (default 'f32'): 'f16' stores the matmul inputs (x̂ after each RMSNorm, the gated MLP
   * product) as f16, widened to f32 at the load; the residual stream, attention and every accumulation stay f32.
   */
  actDtype: ActDType;
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
