// A tiny random Qwen2.5-VL checkpoint in the official release's own layout (spec §7 "structurally faithful"):
// config.json with the flat text fields at top level (as Qwen/Qwen2.5-VL-*-Instruct ship it), vision_config,
// rope_scaling {type: mrope}; legacy tensor names (`visual.*`, `model.*`, `lm_head.weight` unless tied);
// preprocessor_config.json (Qwen2VLImageProcessor, small min/max_pixels), generation_config.json, the real
// Qwen2.5 tokenizer files. Dims: ViT hidden 64, 4 heads (head_dim 16), depth 4 with full attention in blocks 1 and
// 3, merge 2, patch 14, window 112 px (4×4 merged tokens), MLP 96; LM hidden 64, 4 heads / 2 kv heads
// (head_dim 16, mrope_section [2, 3, 3]), 3 layers, the real 151936-row vocabulary.
import { parseConfig, type Qwen2_5VLConfig } from '../../io/config.ts';
import { OPENAI_CLIP_MEAN, OPENAI_CLIP_STD } from '../processor/preprocessorConfig.ts';
import { decoderTensors, linearWeights, normWeights, type TinyTensor, WeightRng } from './randomWeights.ts';
import { tinyTokenizerFiles, tinyVocabSize } from './tinyTokenizer.ts';
import { writeTinyCheckpoint } from './writeCheckpoint.ts';

export type TinyDType = 'F32' | 'F16' | 'BF16';
const TORCH_DTYPE: Record<TinyDType, string> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' };

/** config.json of the tiny model; `tied`: no lm_head (as the 3B), else an lm_head tensor (as the 7B). */
export function tinyQwen2_5_vlConfig(opts: { dtype: TinyDType; tied: boolean }): Record<string, unknown> {
  return {
    architectures: ['Qwen2_5_VLForConditionalGeneration'],
    attention_dropout: 0.0,
    bos_token_id: 151643,
    eos_token_id: 151645,
    vision_start_token_id: 151652,
    vision_end_token_id: 151653,
    vision_token_id: 151654,
    image_token_id: 151655,
    video_token_id: 151656,
    hidden_act: 'silu',
    hidden_size: 64,
    initializer_range: 0.02,
    intermediate_size: 96,
    max_position_embeddings: 128000,
    max_window_layers: 3,
    model_type: 'qwen2_5_vl',
    num_attention_heads: 4,
    num_hidden_layers: 3,
    num_key_value_heads: 2,
    rms_norm_eps: 1e-6,
    rope_theta: 1000000.0,
    sliding_window: 32768,
    tie_word_embeddings: opts.tied,
    torch_dtype: TORCH_DTYPE[opts.dtype],
    transformers_version: '4.49.0.dev0',
    use_cache: true,
    use_sliding_window: false,
    vision_config: {
      depth: 4,
      hidden_act: 'silu',
      hidden_size: 64,
      intermediate_size: 96,
      num_heads: 4,
      in_chans: 3,
      out_hidden_size: 64,
      patch_size: 14,
      spatial_merge_size: 2,
      spatial_patch_size: 14,
      window_size: 112,
      fullatt_block_indexes: [1, 3],
      tokens_per_second: 2,
      temporal_patch_size: 2,
    },
    rope_scaling: { type: 'mrope', mrope_section: [2, 3, 3] },
    vocab_size: tinyVocabSize('qwen2_5_vl'),
  };
}

/** The ViT + merger tensors under `visual.` (Conv3d without bias; every Linear of the blocks and merger with bias). */
export function visualTensors(rng: WeightRng, cfg: Qwen2_5VLConfig): TinyTensor[] {
  const v = cfg.vision_config, hv = v.hidden_size, inter = v.intermediate_size;
  const fanIn = v.in_channels * v.temporal_patch_size * v.patch_size * v.patch_size;
  const out: TinyTensor[] = [{
    name: 'visual.patch_embed.proj.weight',
    shape: [hv, v.in_channels, v.temporal_patch_size, v.patch_size, v.patch_size],
    values: rng.normals(hv * fanIn, 1 / Math.sqrt(fanIn)),
  }];
  for (let i = 0; i < v.depth; i++) {
    const b = `visual.blocks.${i}.`;
    out.push(
      ...normWeights(rng, `${b}norm1`, hv),
      ...normWeights(rng, `${b}norm2`, hv),
      ...linearWeights(rng, `${b}attn.qkv`, 3 * hv, hv, { bias: true }),
      ...linearWeights(rng, `${b}attn.proj`, hv, hv, { bias: true }),
      ...linearWeights(rng, `${b}mlp.gate_proj`, inter, hv, { bias: true }),
      ...linearWeights(rng, `${b}mlp.up_proj`, inter, hv, { bias: true }),
      ...linearWeights(rng, `${b}mlp.down_proj`, hv, inter, { bias: true }),
    );
  }
  const mh = hv * v.spatial_merge_size ** 2;
  out.push(
    ...normWeights(rng, 'visual.merger.ln_q', hv),
    ...linearWeights(rng, 'visual.merger.mlp.0', mh, mh, { bias: true }),
    ...linearWeights(rng, 'visual.merger.mlp.2', v.out_hidden_size, mh, { bias: true }),
  );
  return out;
}

function extraFiles(cfg: Qwen2_5VLConfig): Record<string, string> {
  const v = cfg.vision_config;
  const preprocessor = {
    image_processor_type: 'Qwen2VLImageProcessor',
    processor_class: 'Qwen2_5_VLProcessor',
    do_convert_rgb: true, do_normalize: true, do_rescale: true, do_resize: true,
    image_mean: [...OPENAI_CLIP_MEAN], image_std: [...OPENAI_CLIP_STD],
    resample: 3, rescale_factor: 0.00392156862745098,
    // small so a 28×28 image is one token and tests stay tiny: at most 16×16 merged tokens
    min_pixels: 28 * 28, max_pixels: 28 * 28 * 256,
    patch_size: v.patch_size, temporal_patch_size: v.temporal_patch_size, merge_size: v.spatial_merge_size,
  };
  const generation = { bos_token_id: 151643, eos_token_id: [151645, 151643], pad_token_id: 151643, do_sample: false, transformers_version: '4.49.0.dev0' };
  return {
    ...tinyTokenizerFiles('qwen2_5_vl'),
    'preprocessor_config.json': JSON.stringify(preprocessor, null, 2),
    'generation_config.json': JSON.stringify(generation, null, 2),
  };
}

/** Write the tiny checkpoint to `dir`; returns its parsed config. Default: F32, untied head. */
export async function writeTinyQwen2_5_vl(dir: string, opts: { seed: number; dtype?: TinyDType; tied?: boolean }): Promise<Qwen2_5VLConfig> {
  const dtype = opts.dtype ?? 'F32', tied = opts.tied ?? false;
  const json = tinyQwen2_5_vlConfig({ dtype, tied });
  const cfg = parseConfig(json) as Qwen2_5VLConfig;
  const rng = new WeightRng(opts.seed);
  const tensors = [...visualTensors(rng, cfg), ...decoderTensors(rng, cfg.text_config, 'model.', { lmHead: tied ? null : 'lm_head.weight' })];
  await writeTinyCheckpoint(dir, { config: json, tensors, dtype, extraFiles: extraFiles(cfg) });
  return cfg;
}
