// A tiny random SigLIP checkpoint in the hub's own layout, the standalone-encoder baseline's test model:
//   SiglipModel (`model_type: 'siglip'`, vision_config + text_config, as google/siglip-so400m-patch14-384 saves it)
//   or SiglipVisionModel (`model_type: 'siglip_vision_model'`, the vision fields at top level); tensors
//   `vision_model.embeddings.*`, `vision_model.encoder.layers.N.*`, `vision_model.post_layernorm.*` and, as
//   vision_use_head defaults to true, the attention-pooling head `vision_model.head.*`; on request the text tower
//   `text_model.*` with `logit_scale` / `logit_bias` (which an image encoder must skip); preprocessor_config.json of
//   SiglipImageProcessor (squash resize to image_size, bicubic, rescale 1/255, mean/std 0.5).
import { parseSiglipEncoderConfig, type SiglipVisionConfig } from '../../io/config.ts';
import { linearWeights, normWeights, type TinyTensor, WeightRng } from './randomWeights.ts';
import { type TinyDType, vitTowerTensors } from './tinyLlava.ts';
import { writeTinyCheckpoint } from './writeCheckpoint.ts';

const TORCH_DTYPE: Record<TinyDType, string> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' };

export interface TinySiglipOptions {
  seed: number;
  /** Also write the text tower's tensors and logit_scale / logit_bias (SiglipModel layout only). Default false. */
  withTextTower?: boolean;
  /** 'siglip' (SiglipModel, default) or 'siglip_vision_model' (SiglipVisionModel). */
  modelType?: 'siglip' | 'siglip_vision_model';
  dtype?: TinyDType;
}

/** The tiny vision tower: 42 px / patch 14 (a 3×3 grid), hidden 32, 2 heads, 2 layers; head on (the default). */
function tinyVisionConfig(): Record<string, unknown> {
  return {
    model_type: 'siglip_vision_model',
    hidden_size: 32,
    intermediate_size: 52,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    num_channels: 3,
    image_size: 42,
    patch_size: 14,
    hidden_act: 'gelu_pytorch_tanh',
    layer_norm_eps: 1e-6,
  };
}

/** The tiny text tower (SiglipTextConfig fields). */
const TEXT_CONFIG = {
  model_type: 'siglip_text_model',
  vocab_size: 64,
  hidden_size: 24,
  intermediate_size: 40,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  max_position_embeddings: 16,
  hidden_act: 'gelu_pytorch_tanh',
  layer_norm_eps: 1e-6,
  projection_size: 24,
};

/** config.json of the tiny SigLIP as transformers saves SiglipModel or SiglipVisionModel. */
export function tinySiglipConfig(modelType: 'siglip' | 'siglip_vision_model', dtype: TinyDType): Record<string, unknown> {
  const torchDtype = TORCH_DTYPE[dtype];
  if (modelType === 'siglip_vision_model') {
    return { architectures: ['SiglipVisionModel'], ...tinyVisionConfig(), torch_dtype: torchDtype, transformers_version: '4.45.0' };
  }
  return {
    architectures: ['SiglipModel'],
    model_type: 'siglip',
    initializer_factor: 1.0,
    torch_dtype: torchDtype,
    transformers_version: '4.45.0',
    text_config: { ...TEXT_CONFIG, torch_dtype: torchDtype },
    vision_config: { ...tinyVisionConfig(), torch_dtype: torchDtype },
  };
}

/** SiglipMultiheadAttentionPoolingHead under `pre`: probe, nn.MultiheadAttention (packed in_proj), LayerNorm, MLP. */
function poolingHeadTensors(rng: WeightRng, v: SiglipVisionConfig, pre: string): TinyTensor[] {
  const h = v.hidden_size;
  return [
    { name: `${pre}probe`, shape: [1, 1, h], values: rng.normals(h, 1) },
    { name: `${pre}attention.in_proj_weight`, shape: [3 * h, h], values: rng.normals(3 * h * h, 1 / Math.sqrt(h)) },
    { name: `${pre}attention.in_proj_bias`, shape: [3 * h], values: rng.normals(3 * h, 0.1) },
    ...linearWeights(rng, `${pre}attention.out_proj`, h, h, { bias: true }),
    ...normWeights(rng, `${pre}layernorm`, h, { bias: true }),
    ...linearWeights(rng, `${pre}mlp.fc1`, v.intermediate_size, h, { bias: true }),
    ...linearWeights(rng, `${pre}mlp.fc2`, h, v.intermediate_size, { bias: true }),
  ];
}

/** SiglipTextTransformer under `text_model.` and SiglipModel's logit_scale / logit_bias. */
function textTowerTensors(rng: WeightRng): TinyTensor[] {
  const t = TEXT_CONFIG, h = t.hidden_size, inter = t.intermediate_size;
  const out: TinyTensor[] = [
    { name: 'text_model.embeddings.token_embedding.weight', shape: [t.vocab_size, h], values: rng.normals(t.vocab_size * h, 1) },
    { name: 'text_model.embeddings.position_embedding.weight', shape: [t.max_position_embeddings, h], values: rng.normals(t.max_position_embeddings * h, 0.5) },
  ];
  for (let i = 0; i < t.num_hidden_layers; i++) {
    const l = `text_model.encoder.layers.${i}.`;
    out.push(
      ...normWeights(rng, `${l}layer_norm1`, h, { bias: true }),
      ...['q_proj', 'k_proj', 'v_proj', 'out_proj'].flatMap((p) => linearWeights(rng, `${l}self_attn.${p}`, h, h, { bias: true })),
      ...normWeights(rng, `${l}layer_norm2`, h, { bias: true }),
      ...linearWeights(rng, `${l}mlp.fc1`, inter, h, { bias: true }),
      ...linearWeights(rng, `${l}mlp.fc2`, h, inter, { bias: true }),
    );
  }
  out.push(
    ...normWeights(rng, 'text_model.final_layer_norm', h, { bias: true }),
    ...linearWeights(rng, 'text_model.head', t.projection_size, h, { bias: true }),
    // SiglipModel initialises logit_scale = log(10), logit_bias = −10
    { name: 'logit_scale', shape: [1], values: Float32Array.of(Math.log(10)) },
    { name: 'logit_bias', shape: [1], values: Float32Array.of(-10) },
  );
  return out;
}

/** preprocessor_config.json of SiglipImageProcessor for an image_size-square input. */
function preprocessorConfig(v: SiglipVisionConfig): string {
  return JSON.stringify({
    image_processor_type: 'SiglipImageProcessor',
    processor_class: 'SiglipProcessor',
    do_normalize: true, do_rescale: true, do_resize: true,
    image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5],
    resample: 3, rescale_factor: 0.00392156862745098,
    size: { height: v.image_size, width: v.image_size },
  }, null, 2);
}

/**
 * Write the tiny SigLIP to `dir`; returns its parsed vision config. The vision tensors are drawn first, so the same
 * seed gives the same vision tower whatever else is written.
 */
export async function writeTinySiglip(dir: string, opts: TinySiglipOptions): Promise<SiglipVisionConfig> {
  const modelType = opts.modelType ?? 'siglip', dtype = opts.dtype ?? 'F32';
  if (opts.withTextTower && modelType !== 'siglip') throw new Error(`writeTinySiglip: a text tower needs model_type 'siglip' (SiglipModel), not ${modelType}`);
  const json = tinySiglipConfig(modelType, dtype);
  const cfg = parseSiglipEncoderConfig(json);
  const rng = new WeightRng(opts.seed);
  const tensors = [
    ...vitTowerTensors(rng, cfg, 'vision_model.'),
    ...(cfg.vision_use_head ? poolingHeadTensors(rng, cfg, 'vision_model.head.') : []),
    ...(opts.withTextTower ? textTowerTensors(rng) : []),
  ];
  await writeTinyCheckpoint(dir, { config: json, tensors, dtype, extraFiles: { 'preprocessor_config.json': preprocessorConfig(cfg) } });
  return cfg;
}
