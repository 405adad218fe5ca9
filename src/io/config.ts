// config.json of the three supported checkpoints, typed, with transformers' defaults filled in and validated.
// transformers saves configs as a diff against the config class defaults (`to_diff_dict`), so every field a
// checkpoint omits takes the default of its own class: a sub-config dict takes its class's defaults
// (SiglipVisionConfig, Qwen2Config, ...); a missing sub-config takes the composite class's default sub-config.
// Field names are HF's (snake_case) so a config reads the same here as in config.json; fields marked
// "derived" are resolved from others. Errors name the file and the field path: `config.json: text_config.head_dim: ...`.
import { checkpointLocation, type CheckpointLocation, readText } from './safetensors.ts';

export const SUPPORTED_MODEL_TYPES = ['llava_onevision', 'llava_next', 'qwen2_5_vl'] as const;
export type ModelType = (typeof SUPPORTED_MODEL_TYPES)[number];

export type Activation = 'silu' | 'gelu' | 'gelu_pytorch_tanh' | 'quick_gelu';
const ACTIVATIONS: readonly Activation[] = ['silu', 'gelu', 'gelu_pytorch_tanh', 'quick_gelu'];

/** Decoder LM: Qwen2 (OneVision), Llama (LLaVA-NeXT), or the Qwen2.5-VL text model. */
export interface TextConfig {
  model_type: 'qwen2' | 'llama' | 'qwen2_5_vl_text';
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  /** derived when absent: hidden_size / num_attention_heads */
  head_dim: number;
  hidden_act: Activation;
  max_position_embeddings: number;
  rms_norm_eps: number;
  /** from `rope_theta`, or `rope_parameters.rope_theta` (transformers v5) */
  rope_theta: number;
  /** M-RoPE (t, h, w) split of the head_dim/2 frequencies; qwen2_5_vl only, else null */
  mrope_section: [number, number, number] | null;
  /** derived: q/k/v projections have a bias (Qwen2: always; Llama: attention_bias) */
  qkv_bias: boolean;
  /** derived: o_proj has a bias (Qwen2: never; Llama: attention_bias) */
  o_bias: boolean;
  mlp_bias: boolean;
  tie_word_embeddings: boolean;
  use_sliding_window: boolean;
  bos_token_id: number | null;
  eos_token_id: number | number[] | null;
  pad_token_id: number | null;
}

/** What SigLIP and CLIP vision configs share (pre-LN ViTs with a patch conv). */
interface VitVisionConfig {
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  /** derived: hidden_size / num_attention_heads */
  head_dim: number;
  num_channels: number;
  image_size: number;
  patch_size: number;
  hidden_act: Activation;
  layer_norm_eps: number;
}

export interface SiglipVisionConfig extends VitVisionConfig {
  model_type: 'siglip_vision_model';
  vision_use_head: boolean;
}

export interface ClipVisionConfig extends VitVisionConfig {
  model_type: 'clip_vision_model';
  projection_dim: number;
}

export type LlavaVisionConfig = SiglipVisionConfig | ClipVisionConfig;

/** Qwen2.5-VL ViT (`Qwen2_5_VLVisionConfig`). */
export interface Qwen2_5VisionConfig {
  depth: number;
  hidden_size: number;
  intermediate_size: number;
  num_heads: number;
  /** derived: hidden_size / num_heads */
  head_dim: number;
  hidden_act: Activation;
  in_channels: number;
  patch_size: number;
  spatial_merge_size: number;
  temporal_patch_size: number;
  tokens_per_second: number;
  window_size: number;
  out_hidden_size: number;
  fullatt_block_indexes: number[];
}

interface LlavaCommon {
  image_token_index: number;
  projector_hidden_act: Activation;
  vision_feature_select_strategy: 'default' | 'full';
  vision_feature_layer: number | number[];
  /** (height, width) pairs */
  image_grid_pinpoints: [number, number][];
  /** top-level flag; the LM's own text_config.tie_word_embeddings (and the files) decide for OneVision-0.5b */
  tie_word_embeddings: boolean;
  multimodal_projector_bias: boolean;
  /** torch_dtype / dtype as saved, informational (weights carry their own dtype) */
  dtype: string | null;
  text_config: TextConfig;
  vision_config: LlavaVisionConfig;
}

export interface LlavaOnevisionConfig extends LlavaCommon {
  model_type: 'llava_onevision';
  video_token_index: number;
  /** "anyres_max_N" or "anyres" */
  vision_aspect_ratio: string;
}

export interface LlavaNextConfig extends LlavaCommon {
  model_type: 'llava_next';
  image_seq_length: number;
}

export interface Qwen2_5VLConfig {
  model_type: 'qwen2_5_vl';
  image_token_id: number;
  video_token_id: number;
  vision_start_token_id: number;
  vision_end_token_id: number;
  dtype: string | null;
  text_config: TextConfig;
  vision_config: Qwen2_5VisionConfig;
}

export type ModelConfig = LlavaOnevisionConfig | LlavaNextConfig | Qwen2_5VLConfig;

export class ConfigError extends Error {
  constructor(file: string, path: string, detail: string) {
    super(path ? `${file}: ${path}: ${detail}` : `${file}: ${detail}`);
    this.name = 'ConfigError';
  }
}

type Json = Record<string, unknown>;

/** Typed reads of one JSON object, each naming its field path in errors. */
class Fields {
  constructor(readonly file: string, readonly prefix: string, readonly obj: Json) {}

  path(key: string): string {
    return this.prefix ? `${this.prefix}.${key}` : key;
  }

  fail(key: string, detail: string): never {
    throw new ConfigError(this.file, this.path(key), detail);
  }

  has(key: string): boolean {
    return this.obj[key] !== undefined && this.obj[key] !== null;
  }

  private value(key: string, fallback: unknown, what: string): unknown {
    const v = this.obj[key];
    if (v === undefined) {
      if (fallback === undefined) this.fail(key, `required field is missing (expected ${what})`);
      return fallback;
    }
    return v;
  }

  /** Integer ≥ min. */
  int(key: string, fallback?: number, min = 1): number {
    const what = min === -Infinity ? 'an integer' : `an integer ≥ ${min}`;
    const v = this.value(key, fallback, what);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) this.fail(key, `expected ${what}, found ${JSON.stringify(v)}`);
    return v;
  }

  /** Integer ≥ 0, or null. */
  tokenId(key: string, fallback: number | null): number | null {
    const v = this.value(key, fallback, 'a token id');
    if (v === null) return null;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) this.fail(key, `expected a token id (integer ≥ 0) or null, found ${JSON.stringify(v)}`);
    return v;
  }

  /** Positive finite number. */
  positive(key: string, fallback?: number): number {
    const v = this.value(key, fallback, 'a positive number');
    if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) this.fail(key, `expected a positive number, found ${JSON.stringify(v)}`);
    return v;
  }

  bool(key: string, fallback?: boolean): boolean {
    const v = this.value(key, fallback, 'true or false');
    if (typeof v !== 'boolean') this.fail(key, `expected true or false, found ${JSON.stringify(v)}`);
    return v;
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], fallback?: T): T {
    const v = this.value(key, fallback, `one of ${allowed.join(', ')}`);
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) this.fail(key, `expected one of ${allowed.join(', ')}, found ${JSON.stringify(v)}`);
    return v as T;
  }

  intList(key: string, fallback?: number[], min = 0): number[] {
    const v = this.value(key, fallback, 'a list of integers');
    if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x) && x >= min)) this.fail(key, `expected a list of integers ≥ ${min}, found ${JSON.stringify(v)}`);
    return [...v];
  }

  /** A nested object as Fields, or null when absent. */
  object(key: string): Fields | null {
    const v = this.obj[key];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'object' || Array.isArray(v)) this.fail(key, `expected an object, found ${JSON.stringify(v)}`);
    return new Fields(this.file, this.path(key), v as Json);
  }
}

/** head_dim as given, else hidden_size / heads (which must then divide). */
function headDim(f: Fields, hidden: number, heads: number, hiddenKey: string, headsKey: string): number {
  if (f.has('head_dim')) return f.int('head_dim');
  if (hidden % heads !== 0) f.fail(hiddenKey, `${hidden} is not divisible by ${f.path(headsKey)} (${heads})`);
  return hidden / heads;
}

/** Rope theta and M-RoPE section from `rope_theta` + `rope_scaling` (≤ v4) or `rope_parameters` (v5). */
function rope(f: Fields, defaultTheta: number, allowMrope: boolean): { theta: number; mrope: number[] | null } {
  const params = f.object('rope_scaling') ?? f.object('rope_parameters');
  const theta = f.has('rope_theta') ? f.positive('rope_theta') : params?.has('rope_theta') ? params.positive('rope_theta') : defaultTheta;
  if (params === null) return { theta, mrope: null };
  // HF: legacy "type" is read as "rope_type"; Qwen2.5-VL's "mrope" is rewritten to "default" + mrope_section
  const typeKey = params.has('rope_type') ? 'rope_type' : 'type';
  const type = params.has(typeKey) ? params.oneOf(typeKey, ['default', 'mrope', 'linear', 'dynamic', 'yarn', 'longrope', 'llama3']) : 'default';
  if (type !== 'default' && type !== 'mrope') params.fail(typeKey, `rope type ${JSON.stringify(type)} is not supported (kvscope implements default RoPE and M-RoPE)`);
  if (!allowMrope) return { theta, mrope: null };
  return { theta, mrope: params.has('mrope_section') ? params.intList('mrope_section', undefined, 1) : null };
}

/** Text config of `kind`, omitted fields taking that class's defaults. */
function textConfig(f: Fields, kind: TextConfig['model_type']): TextConfig {
  // Defaults per class: Qwen2Config | LlamaConfig | Qwen2_5_VLTextConfig
  const d = {
    qwen2: { vocab: 151936, hidden: 4096, inter: 22016, layers: 32, heads: 32, maxPos: 32768, eps: 1e-6, theta: 10000, bos: null, eos: null },
    llama: { vocab: 32000, hidden: 4096, inter: 11008, layers: 32, heads: 32, maxPos: 2048, eps: 1e-6, theta: 10000, bos: 1, eos: 2 },
    qwen2_5_vl_text: { vocab: 152064, hidden: 8192, inter: 29568, layers: 80, heads: 64, maxPos: 32768, eps: 1e-5, theta: 1000000, bos: null, eos: null },
  }[kind];
  const hidden = f.int('hidden_size', d.hidden);
  const heads = f.int('num_attention_heads', d.heads);
  // num_key_value_heads: None means MHA (Qwen2, Llama); Qwen2_5_VLTextConfig's default is 8
  const kvHeads = f.has('num_key_value_heads') ? f.int('num_key_value_heads') : kind === 'qwen2_5_vl_text' ? 8 : heads;
  if (heads % kvHeads !== 0) f.fail('num_key_value_heads', `${kvHeads} does not divide ${f.path('num_attention_heads')} (${heads}) into equal query groups`);
  let dim: number;
  if (kind === 'qwen2_5_vl_text') {
    // Qwen2.5-VL attention always uses hidden_size / num_heads
    if (hidden % heads !== 0) f.fail('hidden_size', `${hidden} is not divisible by ${f.path('num_attention_heads')} (${heads})`);
    dim = hidden / heads;
    if (f.has('head_dim') && f.int('head_dim') !== dim) f.fail('head_dim', `${f.int('head_dim')} contradicts hidden_size / num_attention_heads = ${dim} (Qwen2.5-VL derives head_dim)`);
  } else {
    dim = headDim(f, hidden, heads, 'hidden_size', 'num_attention_heads');
  }
  if (dim % 2 !== 0) f.fail('head_dim', `RoPE needs an even head_dim, found ${dim}`);
  const r = rope(f, d.theta, kind === 'qwen2_5_vl_text');
  let mrope: [number, number, number] | null = null;
  if (kind === 'qwen2_5_vl_text') {
    // Qwen2.5-VL's rotary embedding reads rope_scaling.mrope_section unconditionally
    const where = f.has('rope_scaling') ? 'rope_scaling.mrope_section' : 'rope_parameters.mrope_section';
    if (r.mrope === null) throw new ConfigError(f.file, f.path(where), 'required for qwen2_5_vl (M-RoPE), found none');
    if (r.mrope.length !== 3) throw new ConfigError(f.file, f.path(where), `expected 3 sections (t, h, w), found ${JSON.stringify(r.mrope)}`);
    const sum = r.mrope.reduce((a, b) => a + b, 0);
    if (sum !== dim / 2) throw new ConfigError(f.file, f.path(where), `sections ${JSON.stringify(r.mrope)} sum to ${sum}, head_dim/2 is ${dim / 2}`);
    mrope = r.mrope as [number, number, number];
  }
  const attentionBias = kind === 'llama' ? f.bool('attention_bias', false) : false;
  const eos = f.obj.eos_token_id;
  return {
    model_type: kind,
    vocab_size: f.int('vocab_size', d.vocab),
    hidden_size: hidden,
    intermediate_size: f.int('intermediate_size', d.inter),
    num_hidden_layers: f.int('num_hidden_layers', d.layers),
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    head_dim: dim,
    hidden_act: f.oneOf('hidden_act', ACTIVATIONS, 'silu'), // all three classes: "silu"
    max_position_embeddings: f.int('max_position_embeddings', d.maxPos),
    rms_norm_eps: f.positive('rms_norm_eps', d.eps),
    rope_theta: r.theta,
    mrope_section: mrope,
    qkv_bias: kind === 'llama' ? attentionBias : true, // Qwen2 / Qwen2.5-VL: q,k,v Linear(bias=True)
    o_bias: attentionBias, // Qwen2 / Qwen2.5-VL: o_proj Linear(bias=False)
    mlp_bias: kind === 'llama' ? f.bool('mlp_bias', false) : false, // LlamaConfig default False; Qwen MLPs have none
    tie_word_embeddings: f.bool('tie_word_embeddings', false), // PretrainedConfig default False
    use_sliding_window: notSliding(f),
    bos_token_id: f.tokenId('bos_token_id', d.bos),
    eos_token_id: Array.isArray(eos) ? f.intList('eos_token_id') : f.tokenId('eos_token_id', d.eos),
    pad_token_id: f.tokenId('pad_token_id', null), // PretrainedConfig default None
  };
}

/** use_sliding_window (default False in Qwen2 classes; Llama has none); kvscope runs full attention only. */
function notSliding(f: Fields): boolean {
  const on = f.bool('use_sliding_window', false);
  if (on) f.fail('use_sliding_window', 'sliding-window attention is not supported (kvscope runs full attention)');
  return on;
}

/** SigLIP or CLIP vision config; defaults of SiglipVisionConfig / CLIPVisionConfig. */
function llavaVisionConfig(f: Fields, kind: LlavaVisionConfig['model_type']): LlavaVisionConfig {
  const siglip = kind === 'siglip_vision_model';
  const hidden = f.int('hidden_size', 768); // both classes: 768
  const heads = f.int('num_attention_heads', 12); // both: 12
  if (hidden % heads !== 0) f.fail('hidden_size', `${hidden} is not divisible by ${f.path('num_attention_heads')} (${heads})`);
  const common = {
    hidden_size: hidden,
    intermediate_size: f.int('intermediate_size', 3072), // both: 3072
    num_hidden_layers: f.int('num_hidden_layers', 12), // both: 12
    num_attention_heads: heads,
    head_dim: hidden / heads,
    num_channels: f.int('num_channels', 3), // both: 3
    image_size: f.int('image_size', 224), // both: 224
    patch_size: f.int('patch_size', siglip ? 16 : 32), // SigLIP 16, CLIP 32
    hidden_act: f.oneOf('hidden_act', ACTIVATIONS, siglip ? 'gelu_pytorch_tanh' : 'quick_gelu'),
    layer_norm_eps: f.positive('layer_norm_eps', siglip ? 1e-6 : 1e-5),
  };
  if (common.patch_size > common.image_size) f.fail('patch_size', `${common.patch_size} is larger than ${f.path('image_size')} (${common.image_size})`);
  if (siglip) return { model_type: kind, ...common, vision_use_head: f.bool('vision_use_head', true) }; // SiglipVisionTransformer: head unless vision_use_head is false
  return { model_type: kind, ...common, projection_dim: f.int('projection_dim', 512) }; // CLIPVisionConfig default 512
}

/** A sub-config dict, or the composite class's default sub-config when absent (as HF builds it). */
function subConfig(top: Fields, key: string, fallback: Json): Fields {
  return top.object(key) ?? new Fields(top.file, key, fallback);
}

function llavaCommon(top: Fields, defaults: { text: string; vision: Json; visionType: string; pinpoints: number[][]; strategy: 'default' | 'full'; layer: number; imageToken: number }) {
  const textFields = subConfig(top, 'text_config', {});
  const textType = textFields.oneOf('model_type', ['qwen2', 'llama'], defaults.text as 'qwen2' | 'llama');
  const text = textConfig(textFields, textType);
  const visionFields = subConfig(top, 'vision_config', defaults.vision);
  const visionType = visionFields.oneOf('model_type', ['siglip_vision_model', 'clip_vision_model'], defaults.visionType as LlavaVisionConfig['model_type']);
  const vision = llavaVisionConfig(visionFields, visionType);

  // vision_feature_layer indexes hidden_states, which has num_hidden_layers + 1 entries
  const layerRaw = top.obj.vision_feature_layer;
  const layers = Array.isArray(layerRaw) ? top.intList('vision_feature_layer', undefined, -Infinity) : [top.int('vision_feature_layer', defaults.layer, -Infinity)];
  const n = vision.num_hidden_layers;
  for (const l of layers) {
    if (l < -(n + 1) || l > n) top.fail('vision_feature_layer', `${l} is outside the ${n + 1} hidden states of a ${n}-layer vision tower`);
  }
  const pinRaw = top.obj.image_grid_pinpoints ?? defaults.pinpoints;
  if (!Array.isArray(pinRaw) || pinRaw.length === 0 || !pinRaw.every((p) => Array.isArray(p) && p.length === 2 && p.every((x) => Number.isInteger(x) && x > 0))) {
    top.fail('image_grid_pinpoints', `expected a non-empty list of [height, width] pairs, found ${JSON.stringify(pinRaw)}`);
  }
  // newer saves name it image_token_id (attribute_map of image_token_index)
  const tokenKey = top.has('image_token_index') || !top.has('image_token_id') ? 'image_token_index' : 'image_token_id';
  // may lie outside the vocabulary (LlavaNextConfig's own defaults do): LLaVA never embeds the placeholder id
  const imageToken = top.int(tokenKey, defaults.imageToken, 0);
  return {
    image_token_index: imageToken,
    projector_hidden_act: top.oneOf('projector_hidden_act', ACTIVATIONS, 'gelu'), // both classes: "gelu"
    vision_feature_select_strategy: top.oneOf('vision_feature_select_strategy', ['default', 'full'] as const, defaults.strategy),
    vision_feature_layer: Array.isArray(layerRaw) ? layers : layers[0],
    image_grid_pinpoints: (pinRaw as number[][]).map(([h, w]) => [h, w] as [number, number]),
    tie_word_embeddings: top.bool('tie_word_embeddings', false), // both classes: False
    multimodal_projector_bias: top.bool('multimodal_projector_bias', true), // both classes: True
    dtype: savedDType(top),
    text_config: text,
    vision_config: vision,
  };
}

function savedDType(top: Fields): string | null {
  const v = top.obj.torch_dtype ?? top.obj.dtype ?? null;
  return typeof v === 'string' ? v : null;
}

// LlavaOnevisionConfig's default image_grid_pinpoints: every (h, w) with h, w ∈ {384, 768, ..., 2304}, h-major
const ONEVISION_PINPOINTS = [384, 768, 1152, 1536, 1920, 2304].flatMap((h) => [384, 768, 1152, 1536, 1920, 2304].map((w) => [h, w]));

function llavaOnevision(top: Fields): LlavaOnevisionConfig {
  const common = llavaCommon(top, {
    text: 'qwen2',
    // LlavaOnevisionConfig's default SigLIP; HF writes num_attention_heads=14, which SiglipAttention rejects
    // (1152 % 14 ≠ 0), so 16 as in every OneVision checkpoint
    vision: { model_type: 'siglip_vision_model', hidden_size: 1152, intermediate_size: 4304, patch_size: 14, image_size: 384, num_hidden_layers: 26, num_attention_heads: 16, vision_use_head: false },
    visionType: 'siglip_vision_model',
    pinpoints: ONEVISION_PINPOINTS,
    strategy: 'full',
    layer: -1,
    imageToken: 151646,
  });
  const aspect = typeof top.obj.vision_aspect_ratio === 'string' ? top.obj.vision_aspect_ratio : top.has('vision_aspect_ratio') ? null : 'anyres_max_9';
  if (aspect === null || !/^anyres(_max_\d+)?$/.test(aspect)) top.fail('vision_aspect_ratio', `expected "anyres" or "anyres_max_N", found ${JSON.stringify(top.obj.vision_aspect_ratio)}`);
  const videoKey = top.has('video_token_index') || !top.has('video_token_id') ? 'video_token_index' : 'video_token_id';
  return {
    model_type: 'llava_onevision',
    ...common,
    video_token_index: top.int(videoKey, 151647, 0),
    vision_aspect_ratio: aspect,
  };
}

function llavaNext(top: Fields): LlavaNextConfig {
  const common = llavaCommon(top, {
    text: 'llama',
    // LlavaNextConfig's default vision tower: CLIP ViT-L/14-336
    vision: { model_type: 'clip_vision_model', intermediate_size: 4096, hidden_size: 1024, patch_size: 14, image_size: 336, num_hidden_layers: 24, num_attention_heads: 16, projection_dim: 768 },
    visionType: 'clip_vision_model',
    pinpoints: [[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]],
    strategy: 'default',
    layer: -2,
    imageToken: 32000,
  });
  return { model_type: 'llava_next', ...common, image_seq_length: top.int('image_seq_length', 576) };
}

function qwen2_5VisionConfig(f: Fields): Qwen2_5VisionConfig {
  // defaults of Qwen2_5_VLVisionConfig
  const depth = f.int('depth', 32);
  const hidden = f.int('hidden_size', 3584);
  const heads = f.int('num_heads', 16);
  if (hidden % heads !== 0) f.fail('hidden_size', `${hidden} is not divisible by ${f.path('num_heads')} (${heads})`);
  const dim = hidden / heads;
  if (dim % 4 !== 0) f.fail('num_heads', `vision head_dim ${dim} must be a multiple of 4 (2D rotary over rows and columns)`);
  const patch = f.int('patch_size', 14);
  const merge = f.int('spatial_merge_size', 2);
  const window = f.int('window_size', 112);
  if (window % (patch * merge) !== 0) f.fail('window_size', `${window} px is not a whole number of merged patches (${patch}×${merge} = ${patch * merge} px)`);
  const full = f.intList('fullatt_block_indexes', [7, 15, 23, 31]);
  for (const i of full) if (i >= depth) f.fail('fullatt_block_indexes', `block ${i} does not exist in a depth-${depth} tower`);
  return {
    depth,
    hidden_size: hidden,
    intermediate_size: f.int('intermediate_size', 3420),
    num_heads: heads,
    head_dim: dim,
    hidden_act: f.oneOf('hidden_act', ACTIVATIONS, 'silu'),
    // official files say in_chans; the class reads in_channels
    in_channels: f.has('in_channels') ? f.int('in_channels') : f.int('in_chans', 3),
    patch_size: patch,
    spatial_merge_size: merge,
    temporal_patch_size: f.int('temporal_patch_size', 2),
    tokens_per_second: f.positive('tokens_per_second', 4),
    window_size: window,
    out_hidden_size: f.int('out_hidden_size', 3584),
    fullatt_block_indexes: full,
  };
}

function qwen2_5VL(top: Fields): Qwen2_5VLConfig {
  // HF: text_config if present, else the flat top-level fields (configs saved before transformers 4.5x)
  const textFields = top.object('text_config') ?? top;
  const text = textConfig(textFields, 'qwen2_5_vl_text');
  const vision = qwen2_5VisionConfig(subConfig(top, 'vision_config', {}));
  if (vision.out_hidden_size !== text.hidden_size) {
    throw new ConfigError(top.file, 'vision_config.out_hidden_size', `${vision.out_hidden_size} must equal the LM width ${textFields.path('hidden_size')} (${text.hidden_size})`);
  }
  const ids = {
    image_token_id: top.int('image_token_id', 151655, 0),
    video_token_id: top.int('video_token_id', 151656, 0),
    vision_start_token_id: top.int('vision_start_token_id', 151652, 0),
    vision_end_token_id: top.int('vision_end_token_id', 151653, 0),
  };
  // Qwen2.5-VL embeds every id before scattering image features over the placeholders, so they must be in the vocabulary
  for (const [k, v] of Object.entries(ids)) if (v >= text.vocab_size) top.fail(k, `${v} is outside ${textFields.path('vocab_size')} (${text.vocab_size})`);
  // top-level tie_word_embeddings is what HF ties by for this class
  if (textFields !== top && top.has('tie_word_embeddings')) text.tie_word_embeddings = top.bool('tie_word_embeddings');
  return { model_type: 'qwen2_5_vl', ...ids, dtype: savedDType(top), text_config: text, vision_config: vision };
}

/** Validate a parsed config.json and fill in transformers' defaults. */
export function parseConfig(json: unknown, file = 'config.json'): ModelConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ConfigError(file, '', 'expected a JSON object');
  const top = new Fields(file, '', json as Json);
  const type = top.obj.model_type;
  if (type === undefined) top.fail('model_type', `required field is missing (supported: ${SUPPORTED_MODEL_TYPES.join(', ')})`);
  if (typeof type !== 'string' || !(SUPPORTED_MODEL_TYPES as readonly string[]).includes(type)) {
    top.fail('model_type', `unsupported model type ${JSON.stringify(type)} (supported: ${SUPPORTED_MODEL_TYPES.join(', ')})`);
  }
  switch (type as ModelType) {
    case 'llava_onevision':
      return llavaOnevision(top);
    case 'llava_next':
      return llavaNext(top);
    case 'qwen2_5_vl':
      return qwen2_5VL(top);
  }
}

/** Read and validate `config.json` from a checkpoint directory, base URL, picked Files, or a location. */
export async function readConfig(where: string | readonly File[] | CheckpointLocation): Promise<ModelConfig> {
  const location = typeof where === 'string' || Array.isArray(where) ? checkpointLocation(where as string | readonly File[]) : where as CheckpointLocation;
  const file = `${location.origin}/config.json`;
  let text: string;
  try {
    text = await readText(location, 'config.json');
  } catch (e) {
    throw new ConfigError(file, '', `cannot read: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(file, '', `not valid JSON: ${(e as Error).message}`);
  }
  return parseConfig(json, file);
}

/**
 * The standalone SigLIP encoder (the study's "without MLM fine-tuning" baseline): a `siglip` checkpoint (vision and
 * text towers; the vision sub-config is used) or a `siglip_vision_model` one. Weights live under `vision_model.*`.
 */
export function parseSiglipEncoderConfig(json: unknown, file = 'config.json'): SiglipVisionConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ConfigError(file, '', 'expected a JSON object');
  const top = new Fields(file, '', json as Json);
  const type = top.obj.model_type;
  if (type === 'siglip_vision_model') return llavaVisionConfig(top, 'siglip_vision_model') as SiglipVisionConfig;
  if (type === 'siglip') {
    // SiglipConfig: a missing vision_config is SiglipVisionConfig's defaults; a present one must be SigLIP's
    const vision = subConfig(top, 'vision_config', {});
    vision.oneOf('model_type', ['siglip_vision_model'], 'siglip_vision_model');
    return llavaVisionConfig(vision, 'siglip_vision_model') as SiglipVisionConfig;
  }
  return top.fail('model_type', `expected a SigLIP encoder (siglip or siglip_vision_model), found ${JSON.stringify(type)}`);
}
