// config.json parsing: the three checkpoints' configs as saved (fields equal to the class defaults omitted),
// transformers' defaults filled in, the flat and nested Qwen2.5-VL layouts, and every validation error.
import { type ModelConfig, parseConfig, readConfig } from '../../src/io/config.ts';
import { assert, assertEquals, assertRejects, assertThrows } from '../gpu/assert.ts';

const ONEVISION_PINPOINTS = [384, 768, 1152, 1536, 1920, 2304].flatMap((h) => [384, 768, 1152, 1536, 1920, 2304].map((w) => [h, w]));

/** llava-onevision-qwen2-0.5b-ov-hf as saved: hidden_act, rms_norm_eps, layer_norm_eps, ... omitted. */
function oneVision05b(): Record<string, unknown> {
  return {
    architectures: ['LlavaOnevisionForConditionalGeneration'],
    image_grid_pinpoints: ONEVISION_PINPOINTS,
    image_token_index: 151646,
    model_type: 'llava_onevision',
    projector_hidden_act: 'gelu',
    text_config: {
      _name_or_path: 'Qwen/Qwen2-0.5B-Instruct',
      architectures: ['Qwen2ForCausalLM'],
      bos_token_id: 151643,
      eos_token_id: 151645,
      hidden_size: 896,
      intermediate_size: 4864,
      max_position_embeddings: 32768,
      max_window_layers: 24,
      model_type: 'qwen2',
      num_attention_heads: 14,
      num_hidden_layers: 24,
      num_key_value_heads: 2,
      rope_theta: 1000000.0,
      sliding_window: null,
      tie_word_embeddings: true,
      torch_dtype: 'bfloat16',
      vocab_size: 152000,
    },
    tie_word_embeddings: false,
    torch_dtype: 'float16',
    use_image_newline_parameter: true,
    video_token_index: 151647,
    vision_aspect_ratio: 'anyres_max_9',
    vision_config: {
      hidden_size: 1152,
      image_size: 384,
      intermediate_size: 4304,
      model_type: 'siglip_vision_model',
      num_attention_heads: 16,
      num_hidden_layers: 26,
      patch_size: 14,
      vision_use_head: false,
    },
    vision_feature_layer: -1,
    vision_feature_select_strategy: 'full',
  };
}

/** llama3-llava-next-8b-hf: vision_feature_layer / strategy / pinpoints left to the class defaults. */
function llavaNext8b(): Record<string, unknown> {
  return {
    architectures: ['LlavaNextForConditionalGeneration'],
    image_token_index: 128256,
    model_type: 'llava_next',
    text_config: {
      _name_or_path: 'meta-llama/Meta-Llama-3-8B-Instruct',
      bos_token_id: 128000,
      eos_token_id: 128009,
      intermediate_size: 14336,
      max_position_embeddings: 8192,
      model_type: 'llama',
      num_key_value_heads: 8,
      rms_norm_eps: 1e-5,
      rope_theta: 500000.0,
      vocab_size: 128320,
    },
    torch_dtype: 'float16',
    vision_config: {
      hidden_size: 1024,
      image_size: 336,
      intermediate_size: 4096,
      model_type: 'clip_vision_model',
      num_attention_heads: 16,
      num_hidden_layers: 24,
      patch_size: 14,
      projection_dim: 768,
      vocab_size: 32000,
    },
  };
}

/** Qwen2.5-VL-3B-Instruct as released: text fields flat at the top level, vision in_chans. */
function qwen3bFlat(): Record<string, unknown> {
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
    hidden_size: 2048,
    intermediate_size: 11008,
    max_position_embeddings: 128000,
    max_window_layers: 70,
    model_type: 'qwen2_5_vl',
    num_attention_heads: 16,
    num_hidden_layers: 36,
    num_key_value_heads: 2,
    rms_norm_eps: 1e-6,
    rope_theta: 1000000.0,
    sliding_window: 32768,
    tie_word_embeddings: true,
    torch_dtype: 'bfloat16',
    use_sliding_window: false,
    vision_config: {
      depth: 32,
      hidden_act: 'silu',
      hidden_size: 1280,
      intermediate_size: 3420,
      num_heads: 16,
      in_chans: 3,
      out_hidden_size: 2048,
      patch_size: 14,
      spatial_merge_size: 2,
      spatial_patch_size: 14,
      window_size: 112,
      fullatt_block_indexes: [7, 15, 23, 31],
      tokens_per_second: 2,
      temporal_patch_size: 2,
    },
    rope_scaling: { type: 'mrope', mrope_section: [16, 24, 24] },
    vocab_size: 151936,
  };
}

/** A deep copy with `edit` applied (configs are plain JSON, edited freely by the cases). */
// deno-lint-ignore no-explicit-any
function edited(base: Record<string, unknown>, edit: (c: any) => void): Record<string, unknown> {
  const c = structuredClone(base);
  edit(c);
  return c;
}

Deno.test('llava-onevision 0.5b: values given are kept, omitted ones take Qwen2Config / SiglipVisionConfig defaults', () => {
  const c = parseConfig(oneVision05b());
  assert(c.model_type === 'llava_onevision');
  assertEquals(c.text_config.model_type, 'qwen2');
  assertEquals(c.text_config.head_dim, 64, 'derived 896 / 14');
  assertEquals(c.text_config.hidden_act, 'silu');
  assertEquals(c.text_config.rms_norm_eps, 1e-6);
  assertEquals(c.text_config.rope_theta, 1e6);
  assertEquals(c.text_config.tie_word_embeddings, true, 'the text config ties even though the top level says false');
  assertEquals(c.tie_word_embeddings, false);
  assertEquals([c.text_config.qkv_bias, c.text_config.o_bias, c.text_config.mlp_bias], [true, false, false]);
  assertEquals(c.text_config.mrope_section, null);
  assertEquals(c.vision_config.model_type, 'siglip_vision_model');
  assertEquals(c.vision_config.hidden_act, 'gelu_pytorch_tanh');
  assertEquals(c.vision_config.layer_norm_eps, 1e-6);
  assertEquals(c.vision_config.head_dim, 72);
  assertEquals(c.vision_config.num_channels, 3);
  assertEquals(c.multimodal_projector_bias, true);
  assertEquals(c.image_grid_pinpoints.length, 36);
  assertEquals(c.dtype, 'float16');
  // a save that leaves out everything equal to LlavaOnevisionConfig's defaults reads the same
  const minimal = parseConfig(edited(oneVision05b(), (j) => {
    for (const k of ['image_grid_pinpoints', 'image_token_index', 'projector_hidden_act', 'video_token_index', 'vision_aspect_ratio', 'vision_feature_layer', 'vision_feature_select_strategy', 'tie_word_embeddings']) delete j[k];
  }));
  assertEquals({ ...minimal, dtype: null }, { ...c, dtype: null });
});

Deno.test('llava-next llama3 8b: LlamaConfig / CLIPVisionConfig / LlavaNextConfig defaults', () => {
  const c = parseConfig(llavaNext8b());
  assert(c.model_type === 'llava_next');
  assertEquals(c.vision_feature_layer, -2);
  assertEquals(c.vision_feature_select_strategy, 'default');
  assertEquals(c.image_grid_pinpoints, [[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]]);
  assertEquals(c.image_seq_length, 576);
  assertEquals(c.projector_hidden_act, 'gelu');
  const t = c.text_config;
  assertEquals([t.hidden_size, t.num_hidden_layers, t.num_attention_heads, t.num_key_value_heads, t.head_dim], [4096, 32, 32, 8, 128]);
  assertEquals([t.rope_theta, t.rms_norm_eps, t.vocab_size, t.bos_token_id, t.eos_token_id], [500000, 1e-5, 128320, 128000, 128009]);
  assertEquals([t.qkv_bias, t.o_bias, t.mlp_bias, t.tie_word_embeddings], [false, false, false, false]);
  const v = c.vision_config;
  assert(v.model_type === 'clip_vision_model');
  assertEquals([v.hidden_act, v.layer_norm_eps, v.projection_dim, v.head_dim], ['quick_gelu', 1e-5, 768, 64]);
  // no vision_config / text_config at all: LlavaNextConfig's CLIP-L/336 and a default LlamaConfig
  const bare = parseConfig({ model_type: 'llava_next' });
  assert(bare.model_type === 'llava_next');
  assertEquals([bare.vision_config.model_type, bare.vision_config.hidden_size, bare.vision_config.image_size, bare.vision_config.patch_size], ['clip_vision_model', 1024, 336, 14]);
  assertEquals([bare.text_config.model_type, bare.text_config.vocab_size, bare.text_config.max_position_embeddings, bare.text_config.rms_norm_eps], ['llama', 32000, 2048, 1e-6]);
  assertEquals(bare.image_token_index, 32000);
  // llama's attention_bias puts a bias on q, k, v and o
  const biased = parseConfig(edited(llavaNext8b(), (j) => (j.text_config.attention_bias = true)));
  assertEquals([biased.text_config.qkv_bias, biased.text_config.o_bias], [true, true]);
});

Deno.test('qwen2.5-vl 3b: flat text fields, in_chans, mrope rewritten, nested and transformers-v5 layouts agree', () => {
  const c = parseConfig(qwen3bFlat());
  assert(c.model_type === 'qwen2_5_vl');
  const t = c.text_config;
  assertEquals(t.model_type, 'qwen2_5_vl_text');
  assertEquals([t.hidden_size, t.num_hidden_layers, t.num_attention_heads, t.num_key_value_heads, t.head_dim], [2048, 36, 16, 2, 128]);
  assertEquals(t.mrope_section, [16, 24, 24]);
  assertEquals([t.tie_word_embeddings, t.max_position_embeddings, t.rms_norm_eps], [true, 128000, 1e-6]);
  const v = c.vision_config;
  assertEquals([v.depth, v.hidden_size, v.head_dim, v.in_channels, v.out_hidden_size, v.tokens_per_second], [32, 1280, 80, 3, 2048, 2]);
  assertEquals(v.fullatt_block_indexes, [7, 15, 23, 31]);
  assertEquals([c.image_token_id, c.video_token_id, c.vision_start_token_id, c.vision_end_token_id], [151655, 151656, 151652, 151653]);

  // newer transformers: the text fields nested under text_config (tie flag at the top level)
  const textKeys = ['hidden_size', 'intermediate_size', 'max_position_embeddings', 'num_attention_heads', 'num_hidden_layers', 'num_key_value_heads', 'rms_norm_eps', 'rope_theta', 'rope_scaling', 'vocab_size', 'hidden_act', 'use_sliding_window'];
  const nested = edited(qwen3bFlat(), (j) => {
    j.text_config = { model_type: 'qwen2_5_vl_text' };
    for (const k of textKeys) {
      j.text_config[k] = j[k];
      delete j[k];
    }
    j.text_config.rope_scaling = { type: 'default', rope_type: 'default', mrope_section: [16, 24, 24] };
  });
  const cn = parseConfig(nested);
  assertEquals({ ...cn.text_config, bos_token_id: 0, eos_token_id: 0 }, { ...c.text_config, bos_token_id: 0, eos_token_id: 0 });
  assertEquals(cn.vision_config, c.vision_config);
  // transformers v5: rope_parameters carries theta and sections
  const v5 = edited(nested, (j) => {
    delete j.text_config.rope_scaling;
    delete j.text_config.rope_theta;
    j.text_config.rope_parameters = { rope_type: 'default', rope_theta: 1000000.0, mrope_section: [16, 24, 24] };
  });
  assertEquals(parseConfig(v5).text_config, cn.text_config);
  // defaults of Qwen2_5_VLTextConfig / Qwen2_5_VLVisionConfig when only the required M-RoPE split is given
  // (the class defaults alone contradict each other: text hidden 8192 vs vision out_hidden_size 3584)
  const bare = parseConfig({ model_type: 'qwen2_5_vl', rope_scaling: { type: 'mrope', mrope_section: [16, 24, 24] }, num_attention_heads: 32, hidden_size: 4096, vision_config: { out_hidden_size: 4096 } }) as Extract<ModelConfig, { model_type: 'qwen2_5_vl' }>;
  assertEquals([bare.text_config.num_key_value_heads, bare.text_config.rms_norm_eps, bare.text_config.rope_theta, bare.text_config.vocab_size], [8, 1e-5, 1e6, 152064]);
  assertEquals([bare.vision_config.depth, bare.vision_config.hidden_size, bare.vision_config.tokens_per_second, bare.vision_config.window_size], [32, 3584, 4, 112]);
});

Deno.test('tiny test configs (spec section 7) parse', () => {
  const ov = parseConfig({
    model_type: 'llava_onevision',
    image_token_index: 1,
    vision_feature_select_strategy: 'full',
    vision_feature_layer: -1,
    image_grid_pinpoints: [[16, 16]],
    text_config: { model_type: 'qwen2', vocab_size: 99, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 4, intermediate_size: 37, hidden_act: 'gelu', max_position_embeddings: 580, pad_token_id: 0 },
    vision_config: { model_type: 'siglip_vision_model', image_size: 16, patch_size: 8, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 37 },
  });
  assertEquals([ov.text_config.head_dim, ov.text_config.hidden_act, ov.text_config.pad_token_id, ov.vision_config.head_dim], [8, 'gelu', 0, 8]);
  const qw = parseConfig({
    model_type: 'qwen2_5_vl',
    text_config: { hidden_size: 64, intermediate_size: 37, num_hidden_layers: 4, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 99, max_position_embeddings: 512, rope_theta: 10000, rope_scaling: { type: 'mrope', mrope_section: [2, 3, 3] } },
    tie_word_embeddings: true,
    image_token_id: 4, video_token_id: 5, vision_start_token_id: 3, vision_end_token_id: 6,
    vision_config: { depth: 4, hidden_size: 64, intermediate_size: 32, out_hidden_size: 64, num_heads: 4, fullatt_block_indexes: [1, 3] },
  });
  assert(qw.model_type === 'qwen2_5_vl');
  assertEquals([qw.text_config.head_dim, qw.text_config.tie_word_embeddings, qw.vision_config.head_dim], [16, true, 16]);
  assertEquals(qw.vision_config.fullatt_block_indexes, [1, 3]);
});

Deno.test('validation errors name the file and the field path', () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['unknown model_type', { model_type: 'llava' }, /^config\.json: model_type: unsupported model type "llava" \(supported: llava_onevision, llava_next, qwen2_5_vl\)$/],
    ['missing model_type', { text_config: {} }, /^config\.json: model_type: required field is missing/],
    ['hidden not divisible by heads', edited(oneVision05b(), (j) => (j.text_config.hidden_size = 900)),
      /^config\.json: text_config\.hidden_size: 900 is not divisible by text_config\.num_attention_heads \(14\)$/],
    ['heads not a multiple of kv heads', edited(oneVision05b(), (j) => (j.text_config.num_key_value_heads = 4)),
      /^config\.json: text_config\.num_key_value_heads: 4 does not divide text_config\.num_attention_heads \(14\)/],
    ['vision hidden not divisible', edited(llavaNext8b(), (j) => (j.vision_config.num_attention_heads = 15)),
      /^config\.json: vision_config\.hidden_size: 1024 is not divisible by vision_config\.num_attention_heads \(15\)$/],
    ['wrong type', edited(oneVision05b(), (j) => (j.text_config.num_hidden_layers = '24')),
      /^config\.json: text_config\.num_hidden_layers: expected an integer ≥ 1, found "24"$/],
    ['wrong type (bool)', edited(oneVision05b(), (j) => (j.text_config.tie_word_embeddings = 'yes')),
      /^config\.json: text_config\.tie_word_embeddings: expected true or false, found "yes"$/],
    ['negative eps', edited(llavaNext8b(), (j) => (j.text_config.rms_norm_eps = -1)), /^config\.json: text_config\.rms_norm_eps: expected a positive number, found -1$/],
    ['sub-config not an object', edited(llavaNext8b(), (j) => (j.vision_config = [1])), /^config\.json: vision_config: expected an object, found \[1\]$/],
    ['unsupported text model', edited(llavaNext8b(), (j) => (j.text_config.model_type = 'mistral')),
      /^config\.json: text_config\.model_type: expected one of qwen2, llama, found "mistral"$/],
    ['unsupported vision model', edited(oneVision05b(), (j) => (j.vision_config.model_type = 'dinov2')),
      /^config\.json: vision_config\.model_type: expected one of siglip_vision_model, clip_vision_model, found "dinov2"$/],
    ['bad activation', edited(llavaNext8b(), (j) => (j.projector_hidden_act = 'relu')), /^config\.json: projector_hidden_act: expected one of silu, gelu, gelu_pytorch_tanh, quick_gelu, found "relu"$/],
    ['bad select strategy', edited(llavaNext8b(), (j) => (j.vision_feature_select_strategy = 'cls')), /^config\.json: vision_feature_select_strategy: expected one of default, full/],
    ['feature layer out of range', edited(llavaNext8b(), (j) => (j.vision_feature_layer = -26)),
      /^config\.json: vision_feature_layer: -26 is outside the 25 hidden states of a 24-layer vision tower$/],
    ['bad pinpoints', edited(llavaNext8b(), (j) => (j.image_grid_pinpoints = [[336, 672], [672]])), /^config\.json: image_grid_pinpoints: expected a non-empty list of \[height, width\] pairs/],
    ['bad aspect ratio', edited(oneVision05b(), (j) => (j.vision_aspect_ratio = 'pad')), /^config\.json: vision_aspect_ratio: expected "anyres" or "anyres_max_N", found "pad"$/],
    ['image token not an id', edited(llavaNext8b(), (j) => (j.image_token_index = -1)), /^config\.json: image_token_index: expected an integer ≥ 0, found -1$/],
    ['unsupported rope scaling', edited(llavaNext8b(), (j) => (j.text_config.rope_scaling = { rope_type: 'llama3', factor: 8 })),
      /^config\.json: text_config\.rope_scaling\.rope_type: rope type "llama3" is not supported/],
    ['sliding window', edited(oneVision05b(), (j) => (j.text_config.use_sliding_window = true)), /^config\.json: text_config\.use_sliding_window: sliding-window attention is not supported/],
    ['mrope sum', edited(qwen3bFlat(), (j) => (j.rope_scaling.mrope_section = [16, 24, 16])),
      /^config\.json: rope_scaling\.mrope_section: sections \[16,24,16\] sum to 56, head_dim\/2 is 64$/],
    ['mrope missing', edited(qwen3bFlat(), (j) => delete j.rope_scaling), /^config\.json: rope_parameters\.mrope_section: required for qwen2_5_vl \(M-RoPE\)/],
    ['mrope not three sections', edited(qwen3bFlat(), (j) => (j.rope_scaling.mrope_section = [32, 32])), /^config\.json: rope_scaling\.mrope_section: expected 3 sections \(t, h, w\), found \[32,32\]$/],
    ['qwen head_dim contradicts', edited(qwen3bFlat(), (j) => (j.head_dim = 64)), /^config\.json: head_dim: 64 contradicts hidden_size \/ num_attention_heads = 128/],
    ['merger width vs LM width', edited(qwen3bFlat(), (j) => (j.vision_config.out_hidden_size = 3584)),
      /^config\.json: vision_config\.out_hidden_size: 3584 must equal the LM width hidden_size \(2048\)$/],
    ['full-attention block beyond depth', edited(qwen3bFlat(), (j) => (j.vision_config.fullatt_block_indexes = [7, 32])),
      /^config\.json: vision_config\.fullatt_block_indexes: block 32 does not exist in a depth-32 tower$/],
    ['window not whole merged patches', edited(qwen3bFlat(), (j) => (j.vision_config.window_size = 100)),
      /^config\.json: vision_config\.window_size: 100 px is not a whole number of merged patches/],
    ['vision token id outside vocab', edited(qwen3bFlat(), (j) => (j.image_token_id = 200000)), /^config\.json: image_token_id: 200000 is outside vocab_size \(151936\)$/],
    ['not an object', [] as unknown as Record<string, unknown>, /^config\.json: expected a JSON object$/],
  ];
  for (const [what, json, pattern] of cases) assertThrows(() => parseConfig(json), pattern, what);
  // the nested layout names the nested path
  const nested = edited(qwen3bFlat(), (j) => {
    j.text_config = { hidden_size: 2048, num_attention_heads: 16, num_key_value_heads: 3, rope_scaling: j.rope_scaling };
  });
  assertThrows(() => parseConfig(nested, 'ck/config.json'), /^ck\/config\.json: text_config\.num_key_value_heads: 3 does not divide text_config\.num_attention_heads \(16\)/);
});

Deno.test('readConfig from a directory: parsed, invalid JSON and missing file reported with the path', async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(llavaNext8b()));
  const c = await readConfig(dir);
  assertEquals(c.model_type, 'llava_next');
  await Deno.writeTextFile(`${dir}/config.json`, '{"model_type": "llava_next",');
  await assertRejects(() => readConfig(dir), new RegExp(`^${dir}/config\\.json: not valid JSON`));
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(edited(llavaNext8b(), (j) => (j.text_config.num_key_value_heads = 5))));
  await assertRejects(() => readConfig(dir), new RegExp(`^${dir}/config\\.json: text_config\\.num_key_value_heads: 5 does not divide`));
  await Deno.remove(`${dir}/config.json`);
  await assertRejects(() => readConfig(dir), new RegExp(`^${dir}/config\\.json: cannot read`));
  const picked = await readConfig([new File([JSON.stringify(qwen3bFlat())], 'config.json')]);
  assertEquals(picked.model_type, 'qwen2_5_vl');
});
