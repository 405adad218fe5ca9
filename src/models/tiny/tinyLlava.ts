// Tiny random LLaVA checkpoints in the hub's own layout (spec §7 "structurally faithful" dims), and one with
// LLaVA-OneVision-0.5B's real dims (spec §1.1) for benchmarks:
//   config.json as transformers saves it (model_type, architectures, text_config, vision_config, pinpoints, …),
//   legacy tensor names (`language_model.model.*`, `vision_tower.vision_model.*`, `multi_modal_projector.*`,
//   `image_newline`), preprocessor_config.json, processor_config.json, generation_config.json and the real tokenizer
//   files. OneVision: Qwen2 LM with qkv bias, tied head (no lm_head), GQA; SigLIP tower without head. NeXt: Llama LM
//   without biases, untied `language_model.lm_head.weight`; CLIP tower with class embedding and pre_layrnorm.
import { encode } from '../../gpu/dtype.ts';
import { type LlavaNextConfig, type LlavaOnevisionConfig, type LlavaVisionConfig, parseConfig } from '../../io/config.ts';
import { type TensorToWrite, writeSafetensors } from '../../io/safetensors.ts';
import { decoderTensors, linearWeights, normWeights, type TinyTensor, WeightRng } from './randomWeights.ts';
import { tinyTokenizerFiles, tinyVocabSize } from './tinyTokenizer.ts';
import { writeTinyCheckpoint } from './writeCheckpoint.ts';

export type TinyDType = 'F32' | 'F16' | 'BF16';

const TORCH_DTYPE: Record<TinyDType, string> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' };

/** Pinpoints (h, w) for every pair of sides, h-major, as LlavaOnevisionConfig lists them. */
function allPairs(sides: readonly number[]): [number, number][] {
  return sides.flatMap((h) => sides.map((w) => [h, w] as [number, number]));
}

/** config.json of a tiny (or real-0.5B-sized) LLaVA-OneVision. */
export function tinyLlavaOnevisionConfig(dims: 'tiny' | 'real-0.5b', dtype: TinyDType): Record<string, unknown> {
  const real = dims === 'real-0.5b';
  const torchDtype = TORCH_DTYPE[dtype];
  return {
    architectures: ['LlavaOnevisionForConditionalGeneration'],
    model_type: 'llava_onevision',
    image_token_index: 151646,
    video_token_index: 151647,
    vision_feature_layer: -1,
    vision_feature_select_strategy: 'full',
    vision_aspect_ratio: 'anyres_max_9',
    image_grid_pinpoints: allPairs(real ? [384, 768, 1152, 1536, 1920, 2304] : [28, 56, 84, 112]),
    projector_hidden_act: 'gelu',
    multimodal_projector_bias: true,
    tie_word_embeddings: false,
    use_image_newline_parameter: true,
    torch_dtype: torchDtype,
    transformers_version: '4.45.0.dev0',
    text_config: {
      _name_or_path: real ? 'Qwen/Qwen2-0.5B-Instruct' : 'kvscope/tiny-qwen2',
      architectures: ['Qwen2ForCausalLM'],
      model_type: 'qwen2',
      vocab_size: tinyVocabSize('llava_onevision'),
      hidden_size: real ? 896 : 64,
      intermediate_size: real ? 4864 : 112,
      num_hidden_layers: real ? 24 : 2,
      num_attention_heads: real ? 14 : 4,
      num_key_value_heads: 2,
      hidden_act: 'silu',
      max_position_embeddings: 32768,
      rms_norm_eps: 1e-6,
      rope_theta: 1000000.0,
      tie_word_embeddings: true,
      use_sliding_window: false,
      sliding_window: 32768,
      max_window_layers: real ? 24 : 2,
      bos_token_id: 151643,
      eos_token_id: 151645,
      torch_dtype: torchDtype,
    },
    vision_config: {
      model_type: 'siglip_vision_model',
      hidden_size: real ? 1152 : 40,
      intermediate_size: real ? 4304 : 76,
      num_hidden_layers: real ? 26 : 2,
      num_attention_heads: real ? 16 : 2,
      image_size: real ? 384 : 28,
      patch_size: 14,
      num_channels: 3,
      hidden_act: 'gelu_pytorch_tanh',
      layer_norm_eps: 1e-6,
      vision_use_head: false,
    },
  };
}

/** config.json of a tiny Llama-3-LLaVA-NeXT. */
export function tinyLlavaNextConfig(dtype: TinyDType): Record<string, unknown> {
  const torchDtype = TORCH_DTYPE[dtype];
  return {
    architectures: ['LlavaNextForConditionalGeneration'],
    model_type: 'llava_next',
    image_token_index: 128256,
    image_grid_pinpoints: [[28, 56], [56, 28], [56, 56]],
    vision_feature_layer: -2,
    vision_feature_select_strategy: 'default',
    projector_hidden_act: 'gelu',
    multimodal_projector_bias: true,
    image_seq_length: 4,
    tie_word_embeddings: false,
    use_image_newline_parameter: true,
    pad_token_id: 128257,
    torch_dtype: torchDtype,
    transformers_version: '4.45.0.dev0',
    text_config: {
      _name_or_path: 'kvscope/tiny-llama3',
      architectures: ['LlamaForCausalLM'],
      model_type: 'llama',
      vocab_size: tinyVocabSize('llava_next'),
      hidden_size: 64,
      intermediate_size: 112,
      num_hidden_layers: 3,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      hidden_act: 'silu',
      max_position_embeddings: 8192,
      rms_norm_eps: 1e-5,
      rope_theta: 500000.0,
      attention_bias: false,
      mlp_bias: false,
      tie_word_embeddings: false,
      bos_token_id: 128000,
      eos_token_id: 128009,
      torch_dtype: torchDtype,
    },
    vision_config: {
      model_type: 'clip_vision_model',
      hidden_size: 48,
      intermediate_size: 84,
      num_hidden_layers: 3,
      num_attention_heads: 3,
      image_size: 28,
      patch_size: 14,
      num_channels: 3,
      hidden_act: 'quick_gelu',
      layer_norm_eps: 1e-5,
      projection_dim: 32,
      vocab_size: 32000,
    },
  };
}

/** The vision tower's tensors under `vision_tower.vision_model.` (SigLIP: conv bias; CLIP: class token, pre_layrnorm). */
function visionTensors(rng: WeightRng, cfg: LlavaOnevisionConfig | LlavaNextConfig): TinyTensor[] {
  return vitTowerTensors(rng, cfg.vision_config, 'vision_tower.vision_model.');
}

/** A SigLIP / CLIP vision transformer's tensors under `pre` (embeddings, encoder layers, post_layernorm; no head). */
export function vitTowerTensors(rng: WeightRng, v: LlavaVisionConfig, pre: string): TinyTensor[] {
  const hv = v.hidden_size, p = v.patch_size, c = v.num_channels;
  const clip = v.model_type === 'clip_vision_model';
  const g = Math.floor(v.image_size / p);
  const fanIn = c * p * p;
  const out: TinyTensor[] = [];
  if (clip) out.push({ name: `${pre}embeddings.class_embedding`, shape: [hv], values: rng.normals(hv, 1) });
  out.push({ name: `${pre}embeddings.patch_embedding.weight`, shape: [hv, c, p, p], values: rng.normals(hv * fanIn, 1 / Math.sqrt(fanIn)) });
  if (!clip) out.push({ name: `${pre}embeddings.patch_embedding.bias`, shape: [hv], values: rng.normals(hv, 0.1) });
  const positions = g * g + (clip ? 1 : 0);
  out.push({ name: `${pre}embeddings.position_embedding.weight`, shape: [positions, hv], values: rng.normals(positions * hv, 0.5) });
  if (clip) out.push(...normWeights(rng, `${pre}pre_layrnorm`, hv, { bias: true }));
  for (let i = 0; i < v.num_hidden_layers; i++) {
    const l = `${pre}encoder.layers.${i}.`;
    out.push(
      ...normWeights(rng, `${l}layer_norm1`, hv, { bias: true }),
      ...linearWeights(rng, `${l}self_attn.q_proj`, hv, hv, { bias: true }),
      ...linearWeights(rng, `${l}self_attn.k_proj`, hv, hv, { bias: true }),
      ...linearWeights(rng, `${l}self_attn.v_proj`, hv, hv, { bias: true }),
      ...linearWeights(rng, `${l}self_attn.out_proj`, hv, hv, { bias: true }),
      ...normWeights(rng, `${l}layer_norm2`, hv, { bias: true }),
      ...linearWeights(rng, `${l}mlp.fc1`, v.intermediate_size, hv, { bias: true }),
      ...linearWeights(rng, `${l}mlp.fc2`, hv, v.intermediate_size, { bias: true }),
    );
  }
  out.push(...normWeights(rng, `${pre}post_layernorm`, hv, { bias: true }));
  return out;
}

/** Every tensor of a LLaVA checkpoint in the hub's legacy names, vision tower first as the llava-hf files hold them. */
export function llavaTensors(rng: WeightRng, cfg: LlavaOnevisionConfig | LlavaNextConfig): TinyTensor[] {
  const h = cfg.text_config.hidden_size;
  const vin = cfg.vision_config.hidden_size * (typeof cfg.vision_feature_layer === 'number' ? 1 : cfg.vision_feature_layer.length);
  return [
    ...visionTensors(rng, cfg),
    ...linearWeights(rng, 'multi_modal_projector.linear_1', h, vin, { bias: cfg.multimodal_projector_bias }),
    ...linearWeights(rng, 'multi_modal_projector.linear_2', h, h, { bias: cfg.multimodal_projector_bias }),
    // HF initialises image_newline as randn(H) / sqrt(H)
    { name: 'image_newline', shape: [h], values: rng.normals(h, 1 / Math.sqrt(h)) },
    ...decoderTensors(rng, cfg.text_config, 'language_model.model.', {
      lmHead: cfg.text_config.tie_word_embeddings ? null : 'language_model.lm_head.weight',
    }),
  ];
}

function onevisionExtraFiles(cfg: LlavaOnevisionConfig): Record<string, string> {
  const v = cfg.vision_config;
  const p = Math.floor(v.image_size / v.patch_size);
  const preprocessor = {
    image_processor_type: 'LlavaOnevisionImageProcessor',
    processor_class: 'LlavaOnevisionProcessor',
    do_convert_rgb: true, do_normalize: true, do_pad: true, do_rescale: true, do_resize: true,
    image_grid_pinpoints: cfg.image_grid_pinpoints,
    image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5],
    resample: 3, rescale_factor: 0.00392156862745098,
    size: { height: v.image_size, width: v.image_size },
  };
  const processor = { image_token: '<image>', video_token: '<video>', num_image_tokens: p * p, vision_feature_select_strategy: 'full', processor_class: 'LlavaOnevisionProcessor' };
  const generation = { bos_token_id: 151643, eos_token_id: 151645, pad_token_id: 151643, transformers_version: '4.45.0.dev0' };
  return {
    ...tinyTokenizerFiles('llava_onevision'),
    'preprocessor_config.json': JSON.stringify(preprocessor, null, 2),
    'processor_config.json': JSON.stringify(processor, null, 2),
    'generation_config.json': JSON.stringify(generation, null, 2),
  };
}

function nextExtraFiles(cfg: LlavaNextConfig): Record<string, string> {
  const s = cfg.vision_config.image_size;
  const preprocessor = {
    image_processor_type: 'LlavaNextImageProcessor',
    processor_class: 'LlavaNextProcessor',
    crop_size: { height: s, width: s },
    do_center_crop: true, do_convert_rgb: true, do_normalize: true, do_pad: true, do_rescale: true, do_resize: true,
    image_grid_pinpoints: cfg.image_grid_pinpoints,
    image_mean: [0.48145466, 0.4578275, 0.40821073], image_std: [0.26862954, 0.26130258, 0.27577711],
    resample: 3, rescale_factor: 0.00392156862745098,
    size: { shortest_edge: s },
  };
  const processor = { image_token: '<image>', patch_size: cfg.vision_config.patch_size, vision_feature_select_strategy: 'default', num_additional_image_tokens: 1, processor_class: 'LlavaNextProcessor' };
  const generation = { bos_token_id: 128000, eos_token_id: 128009, transformers_version: '4.45.0.dev0' };
  return {
    ...tinyTokenizerFiles('llava_next'),
    'preprocessor_config.json': JSON.stringify(preprocessor, null, 2),
    'processor_config.json': JSON.stringify(processor, null, 2),
    'generation_config.json': JSON.stringify(generation, null, 2),
  };
}

/**
 * A LLaVA-OneVision checkpoint with random weights. `dims: 'tiny'` is the test model (SigLIP 28 px / patch 14,
 * 2×2 tokens per tile, pinpoints {28..112}², Qwen2 hidden 64, 4 heads / 2 kv heads); 'real-0.5b' has
 * llava-onevision-qwen2-0.5b-ov's dims (~0.89 B parameters; ~1.8 GB in F16), written as shards so it is generated
 * a piece at a time.
 */
export async function writeTinyLlavaOnevision(dir: string, opts: { seed: number; dims?: 'tiny' | 'real-0.5b'; dtype?: TinyDType }): Promise<LlavaOnevisionConfig> {
  const dims = opts.dims ?? 'tiny', dtype = opts.dtype ?? 'F32';
  const json = tinyLlavaOnevisionConfig(dims, dtype);
  const cfg = parseConfig(json) as LlavaOnevisionConfig;
  const extra = onevisionExtraFiles(cfg);
  const rng = new WeightRng(opts.seed);
  if (dims === 'real-0.5b') await writeShardedLazily(dir, json, extra, dtype, shardPlan(rng, cfg));
  else await writeTinyCheckpoint(dir, { config: json, tensors: llavaTensors(rng, cfg), dtype, extraFiles: extra });
  return cfg;
}

/**
 * A tiny Llama-3-LLaVA-NeXT with random weights (CLIP 28 px tile / patch 14, 3 layers, feature layer −2;
 * `visionFeatureLayer` overrides it, e.g. a list whose hidden states the projector takes concatenated).
 */
export async function writeTinyLlavaNext(dir: string, opts: { seed: number; dtype?: TinyDType; visionFeatureLayer?: number | number[] }): Promise<LlavaNextConfig> {
  const dtype = opts.dtype ?? 'F32';
  const json = tinyLlavaNextConfig(dtype);
  if (opts.visionFeatureLayer !== undefined) json.vision_feature_layer = opts.visionFeatureLayer;
  const cfg = parseConfig(json) as LlavaNextConfig;
  await writeTinyCheckpoint(dir, { config: json, tensors: llavaTensors(new WeightRng(opts.seed), cfg), dtype, extraFiles: nextExtraFiles(cfg) });
  return cfg;
}

/** The big model's tensors in groups (vision + projector, then the LM a few layers at a time), drawn when written. */
function shardPlan(rng: WeightRng, cfg: LlavaOnevisionConfig): (() => TinyTensor[])[] {
  const h = cfg.text_config.hidden_size;
  const text = cfg.text_config;
  const perShard = 6;
  const groups: (() => TinyTensor[])[] = [() => [
    ...visionTensors(rng, cfg),
    ...linearWeights(rng, 'multi_modal_projector.linear_1', h, cfg.vision_config.hidden_size, { bias: true }),
    ...linearWeights(rng, 'multi_modal_projector.linear_2', h, h, { bias: true }),
    { name: 'image_newline', shape: [h], values: rng.normals(h, 1 / Math.sqrt(h)) },
  ]];
  // decoderTensors draws the whole LM at once; split it by layer ranges through a one-layer config view
  groups.push(() => decoderTensors(rng, { ...text, num_hidden_layers: 0 }, 'language_model.model.', { lmHead: null }));
  for (let l0 = 0; l0 < text.num_hidden_layers; l0 += perShard) {
    groups.push(() => {
      const n = Math.min(perShard, text.num_hidden_layers - l0);
      const part = decoderTensors(rng, { ...text, num_hidden_layers: n, vocab_size: 1 }, 'language_model.model.', { lmHead: null });
      // keep only the layer tensors, renumbered to l0..l0+n−1
      return part.filter((t) => /\.layers\.\d+\./.test(t.name)).map((t) => ({ ...t, name: t.name.replace(/\.layers\.(\d+)\./, (_, i) => `.layers.${l0 + Number(i)}.`) }));
    });
  }
  return groups;
}

/** Shards `model-0000k-of-0000N.safetensors` + index, each group drawn, encoded and written before the next. */
async function writeShardedLazily(dir: string, config: object, extra: Record<string, string>, dtype: TinyDType, groups: (() => TinyTensor[])[]): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(config, null, 2));
  for (const [name, text] of Object.entries(extra)) await Deno.writeTextFile(`${dir}/${name}`, text);
  const gpuDtype = ({ F32: 'f32', F16: 'f16', BF16: 'bf16' } as const)[dtype];
  const pad = (k: number) => String(k).padStart(5, '0');
  const weightMap: Record<string, string> = {};
  let total = 0;
  for (let g = 0; g < groups.length; g++) {
    const file = `model-${pad(g + 1)}-of-${pad(groups.length)}.safetensors`;
    const tensors: TensorToWrite[] = groups[g]().map((t) => {
      const n = t.shape.reduce((a, b) => a * b, 1);
      return { name: t.name, dtype, shape: t.shape, data: encode(gpuDtype, t.values).subarray(0, n * (dtype === 'F32' ? 4 : 2)) };
    });
    await Deno.writeFile(`${dir}/${file}`, writeSafetensors(tensors, { format: 'pt' }));
    for (const t of tensors) {
      weightMap[t.name] = file;
      total += t.data.byteLength;
    }
  }
  await Deno.writeTextFile(`${dir}/model.safetensors.index.json`, JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2));
}
