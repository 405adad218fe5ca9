// LLaVA-OneVision and Llama-3-LLaVA-NeXT end to end on tiny random checkpoints written in the hub's layout (legacy
// names, real tokenizers, preprocessor configs): the GPU forward against the float64 reference forward stage by
// stage — every vision layer run, the selected vision features, the projector output per tile token (through the
// packing), the packed image features in sequence order, per LM layer K (from the cache, after RoPE), K before
// RoPE, V, the layer outputs, and all logits — for OneVision with an image that unpads (30×100), one that takes the
// anyres_max_9 downscale (84×112: 3×4 crops, grid 6×8 = 48 > 9·4·1.21 → 5×6), two images in one prompt (one tile
// each), and NeXt (CLIP, feature layer −2, CLS dropped); greedy tokens against the reference's; prefill against a
// hand-built forward; the token-count mismatch error; spans covering every image position once.
import type { TapName } from '../../src/capture/taps.ts';
import { acquireGpu } from '../../src/gpu/device.ts';
import type { LlavaNextConfig, LlavaOnevisionConfig } from '../../src/io/config.ts';
import type { RgbImage } from '../../src/io/rgbImage.ts';
import { checkpointLocation, openCheckpoint, readText } from '../../src/io/safetensors.ts';
import { Tokenizer } from '../../src/io/tokenizer.ts';
import { buildPrompt } from '../../src/io/chatTemplate.ts';
import type { HostTensor } from '../../src/gpu/hostTensor.ts';
import { loadLlava, llavaPackingSpec } from '../../src/models/llava.ts';
import { imagePackings } from '../../src/models/llava/packing.ts';
import type { ForwardResult, ModelInputs } from '../../src/models/model.ts';
import { anyresLayout } from '../../src/models/processor/anyres.ts';
import { llavaPreprocess } from '../../src/models/processor/llavaImageProcessor.ts';
import { type LlavaImageProcessorConfig, parsePreprocessorConfig } from '../../src/models/processor/preprocessorConfig.ts';
import { llavaForwardRef, llavaGreedyRef, type LlavaRefResult, type LlavaRefWeights, loadLlavaRef } from '../../src/models/ref/llava.ts';
import { tinyLlavaOnevisionConfig, writeTinyLlavaNext, writeTinyLlavaOnevision } from '../../src/models/tiny/tinyLlava.ts';
import { parseConfig } from '../../src/io/config.ts';
import { Weights } from '../../src/models/weights.ts';
import { assert, assertEquals, assertNormwise, assertRejects, assertThrows } from '../gpu/assert.ts';
import { testPicture } from './testPicture.ts';

const gpu = await acquireGpu();
gpu.poisonNewTensors = true; // an output row a kernel leaves unwritten reads as NaN
const opts = { sanitizeResources: false, sanitizeOps: false };
const tmp = await Deno.makeTempDir({ prefix: 'kvscope-llava-' });
globalThis.addEventListener('unload', () => Deno.removeSync(tmp, { recursive: true }));

// f32 GPU vs float64 reference, normwise: max |got − want| ≤ REL · max |want| per compared tensor (as ggml's
// test-backend-ops). Measured on llvmpipe (printed by each test): ≤ 9.4e-7 everywhere; REL leaves > 10×.
const REL = 1e-5;

interface Fixture<C> {
  dir: string;
  cfg: C;
  model: Awaited<ReturnType<typeof loadLlava>>;
  ref: LlavaRefWeights;
  tokenizer: Tokenizer;
  processor: LlavaImageProcessorConfig;
}

async function fixture<C extends LlavaOnevisionConfig | LlavaNextConfig>(dir: string, cfg: C): Promise<Fixture<C>> {
  const location = checkpointLocation(dir);
  const processor = parsePreprocessorConfig(await readText(location, 'preprocessor_config.json')) as LlavaImageProcessorConfig;
  return {
    dir, cfg, processor,
    model: await loadLlava(gpu, dir),
    ref: await loadLlavaRef(new Weights(await openCheckpoint(dir)), cfg),
    tokenizer: await Tokenizer.load(location),
  };
}

const ov = await fixture(`${tmp}/onevision`, await writeTinyLlavaOnevision(`${tmp}/onevision`, { seed: 11, dtype: 'F16' }));
const next = await fixture(`${tmp}/next`, await writeTinyLlavaNext(`${tmp}/next`, { seed: 12, dtype: 'BF16' }));

/** HF processor by hand: pixel_values, image_sizes, and the prompt's ids with each <image> expanded. */
function inputsFor<C extends LlavaOnevisionConfig | LlavaNextConfig>(f: Fixture<C>, images: RgbImage[], prompt: string): ModelInputs {
  const multiImage = f.cfg.model_type === 'llava_onevision' && images.length > 1;
  const processed = images.map((img) => llavaPreprocess(img, f.processor, { multiImage }));
  const text = buildPrompt(f.cfg.model_type, f.tokenizer.chatTemplate, { prompt, images: images.length, bosToken: f.tokenizer.bosToken });
  const sizes = processed.map((p) => p.imageSize);
  const counts = imagePackings(sizes, llavaPackingSpec(f.cfg, images.length)).map((p) => p.tokens);
  let k = 0;
  const inputIds = f.tokenizer.encode(text).flatMap((id) => (id === f.cfg.image_token_index ? Array<number>(counts[k++]).fill(id) : [id]));
  assertEquals(k, images.length, 'one placeholder per image');
  const tiles = processed.reduce((a, p) => a + p.pixelValues.shape[0], 0);
  const [, c, s] = processed[0].pixelValues.shape;
  const data = new Float32Array(tiles * c * s * s);
  let at = 0;
  for (const p of processed) { data.set(p.pixelValues.data, at); at += p.pixelValues.data.length; }
  return { inputIds, pixelValues: { shape: [tiles, c, s, s], data }, imageSizes: sizes };
}

const lmTaps = (layers: number): TapName[] => Array.from({ length: layers }, (_, i): TapName[] => [`lm.layers.${i}.attn.k_pre_rope`, `lm.layers.${i}.out`]).flat();
const visionTaps = (layers: number): TapName[] => Array.from({ length: layers }, (_, i): TapName => `vision.layers.${i}.out`);

/** Every stage of one GPU forward against the reference; returns the worst normwise error. */
async function compareStages<C extends LlavaOnevisionConfig | LlavaNextConfig>(f: Fixture<C>, inputs: ModelInputs, label: string): Promise<{ gpu: ForwardResult; ref: LlavaRefResult }> {
  const visionLayers = f.model.parts.tower.layerCount, lmLayers = f.cfg.text_config.num_hidden_layers;
  const taps: TapName[] = ['vision.out', 'projector.out', ...visionTaps(visionLayers), ...lmTaps(lmLayers)];
  const res = await f.model.forward(inputs, { taps, logits: 'all' });
  const ref = llavaForwardRef(f.ref, f.cfg, inputs);
  const read = async (name: TapName) => (await res.taps.get(name)!.read()) as Float32Array;
  const errs: string[] = [];
  const check = (got: ArrayLike<number>, want: HostTensor, what: string) => errs.push(`${what} ${assertNormwise(got, want.data, REL, `${label} ${what}`).toExponential(1)}`);
  assertEquals(ref.visionLayers.length, visionLayers, 'vision layers run');
  for (let i = 0; i < visionLayers; i++) check(await read(`vision.layers.${i}.out`), ref.visionLayers[i], `vision.layers.${i}`);
  check(await read('vision.out'), ref.visionFeatures, 'vision.out');
  assertEquals(res.taps.get('projector.out')!.shape, ref.packed.shape, `${label} projector.out shape`);
  check(await read('projector.out'), ref.packed, 'projector.out');
  for (let l = 0; l < lmLayers; l++) {
    check(await res.cache.readLayer(l, 'key'), ref.keys[l], `L${l}.k`);
    check(await res.cache.readLayer(l, 'value'), ref.values[l], `L${l}.v`);
    check(await read(`lm.layers.${l}.attn.k_pre_rope`), ref.preRopeKeys[l], `L${l}.k_pre_rope`);
    check(await read(`lm.layers.${l}.out`), ref.hidden[l], `L${l}.out`);
  }
  check(await res.logits.read(), ref.logits, 'logits');
  console.log(`${label}: S=${inputs.inputIds.length}, tiles ${inputs.pixelValues?.shape[0]}; normwise errors: ${errs.join(', ')}`);
  return { gpu: res, ref };
}

/** Spans: the image runs cover exactly the image-token positions, once each; text ranges cover the rest. */
function checkSpans(r: ForwardResult, imageToken: number, label: string): void {
  const owner = new Array<string>(r.inputIds.length).fill('');
  for (const s of r.spans.images) {
    assertEquals(s.tokens.length, s.length, `${label} image ${s.image}: one place per token`);
    for (let i = s.start; i < s.start + s.length; i++) {
      assert(owner[i] === '', `${label}: position ${i} claimed by ${owner[i]} and image ${s.image}`);
      assert(r.inputIds[i] === imageToken, `${label}: image ${s.image} covers position ${i}, which holds id ${r.inputIds[i]}`);
      owner[i] = `image ${s.image}`;
    }
    const grid = s.tokens.filter((t) => t.kind === 'grid').length, base = s.tokens.filter((t) => t.kind === 'base').length;
    assertEquals(base, s.baseGrid!.rows * s.baseGrid!.cols, `${label}: base tokens`);
    if (grid) assertEquals(grid, s.grid.rows * s.grid.cols, `${label}: grid tokens`);
  }
  for (const [a, b] of r.spans.text) {
    for (let i = a; i < b; i++) {
      assert(owner[i] === '', `${label}: text range [${a}, ${b}) overlaps ${owner[i]} at ${i}`);
      owner[i] = 'text';
    }
  }
  owner.forEach((o, i) => {
    assert(o !== '', `${label}: position ${i} is in no span`);
    if (o === 'text') assert(r.inputIds[i] !== imageToken, `${label}: text position ${i} holds the image token`);
  });
}

Deno.test({ name: 'OneVision: a 30×100 image unpads (rows 1..2 of the 4×8 crop grid); every stage matches the reference', ...opts, async fn() {
  const img = testPicture(30, 100, 1);
  const layout = anyresLayout({ height: 30, width: 100 }, llavaPackingSpec(ov.cfg, 1));
  assert(layout.window.rowStart > 0 && layout.unpadded.height < layout.gridRows * 2, `unpadding happens: ${JSON.stringify(layout.window)}`);
  assertEquals(layout.final, layout.unpadded, 'no downscale');
  const inputs = inputsFor(ov, [img], 'What is shown?');
  const { gpu: res, ref } = await compareStages(ov, inputs, 'onevision 30×100');
  assertEquals(ref.packed.shape[0], 4 + layout.unpadded.height * (layout.unpadded.width + 1), 'base + rows with newlines');
  checkSpans(res, ov.cfg.image_token_index, 'onevision 30×100');
  assertEquals(res.spans.images[0].grid, { rows: layout.unpadded.height, cols: layout.unpadded.width }, 'span grid = unpadded grid');
  assertEquals(res.spans.images[0].baseGrid, { rows: 2, cols: 2 }, 'base grid');
  // greedy decoding from the cache against the reference re-running the whole sequence per token
  const tokens = await ov.model.generate(res, 4);
  const want = llavaGreedyRef(ov.ref, ov.cfg, inputs, 4, [151645]);
  assertEquals(tokens, want, 'greedy tokens');
  res.dispose();
} });

Deno.test({ name: 'OneVision and NeXt with the vision MLP in blocks of 5 patch rows and the LM MLP in blocks of 7: every stage matches the reference, logits equal the unblocked run', ...opts, async fn() {
  for (const [f, img, label] of [[ov, testPicture(30, 100, 1), 'onevision'], [next, testPicture(45, 60, 5), 'next']] as const) {
    const inputs = inputsFor(f as Fixture<LlavaOnevisionConfig | LlavaNextConfig>, [img], 'What is shown?');
    const tower = f.model.parts.tower, dec = f.model.decoder;
    const whole = await f.model.forward(inputs, { logits: 'all', taps: ['vision.out'] });
    const wantLogits = [...await whole.logits.read()], wantVision = [...await whole.taps.get('vision.out')!.read()];
    whole.dispose();
    try {
      tower.mlpBlockRows = 5;
      dec.mlpBlockRows = 7;
      const { gpu: res } = await compareStages(f as Fixture<LlavaOnevisionConfig | LlavaNextConfig>, inputs, `${label} blocked`);
      assert(inputs.inputIds.length > 7 && (inputs.pixelValues?.shape[0] ?? 0) * 4 > 5, 'the inputs span several blocks');
      assertEquals([...await res.logits.read()], wantLogits, `${label}: logits blocked = unblocked`);
      assertEquals([...await res.taps.get('vision.out')!.read()], wantVision, `${label}: vision.out blocked = unblocked`);
      res.dispose();
    } finally {
      tower.mlpBlockRows = 2048;
      dec.mlpBlockRows = 2048;
    }
  }
} });

Deno.test({ name: 'OneVision: an 84×112 image (3×4 crops) takes the anyres_max_9 bilinear downscale 6×8 → 5×6', ...opts, async fn() {
  const layout = anyresLayout({ height: 84, width: 112 }, llavaPackingSpec(ov.cfg, 1));
  assertEquals([layout.gridRows, layout.gridCols, layout.tiles], [3, 4, 13], 'pinpoint 84×112');
  assertEquals([layout.unpadded, layout.final], [{ height: 6, width: 8 }, { height: 5, width: 6 }], 'downscaled grid');
  const inputs = inputsFor(ov, [testPicture(84, 112, 2)], 'Describe.');
  const { gpu: res, ref } = await compareStages(ov, inputs, 'onevision 84×112');
  assertEquals(ref.packed.shape[0], 4 + 5 * 7, 'image tokens');
  checkSpans(res, ov.cfg.image_token_index, 'onevision 84×112');
  assertEquals(res.spans.images[0].grid, { rows: 5, cols: 6 }, 'span grid = final grid');
  res.dispose();
} });

Deno.test({ name: 'OneVision: two images in one prompt get one tile and one newline each', ...opts, async fn() {
  const inputs = inputsFor(ov, [testPicture(40, 30, 3), testPicture(20, 50, 4)], 'Compare.');
  assertEquals(inputs.pixelValues!.shape[0], 2, 'one tile per image');
  const { gpu: res } = await compareStages(ov, inputs, 'onevision 2 images');
  assertEquals(res.spans.images.map((s) => s.length), [5, 5], '2×2 tokens + newline each');
  checkSpans(res, ov.cfg.image_token_index, 'onevision 2 images');
  res.dispose();
} });

Deno.test({ name: 'NeXt: CLIP feature layer −2 (of 3), CLS dropped, 45×60 image on the 56×56 pinpoint; stages, greedy', ...opts, async fn() {
  const inputs = inputsFor(next, [testPicture(45, 60, 5)], 'What is this?');
  assertEquals(inputs.inputIds[0], 128000, 'BOS from the tokenizer');
  assertEquals(next.model.parts.tower.layerCount, 2, 'only layers 0..1 are loaded and run for hidden_states[-2]');
  const { gpu: res, ref } = await compareStages(next, inputs, 'next 45×60');
  assertEquals(ref.visionFeatures.shape, [5 * 4, 48], '5 tiles × 4 patches (CLS dropped)');
  checkSpans(res, next.cfg.image_token_index, 'next 45×60');
  const tokens = await next.model.generate(res, 5);
  const want = llavaGreedyRef(next.ref, next.cfg, inputs, 5, [128009]);
  assertEquals(tokens, want, 'greedy tokens');
  assert(new Set(tokens).size > 1, `greedy tokens vary (${tokens})`);
  res.dispose();
} });

Deno.test({ name: 'NeXt with vision_feature_layer [-2, 0]: hidden states concatenated on the feature dim (embeddings included)', ...opts, async fn() {
  const dir = `${tmp}/next-list`;
  const f = await fixture(dir, await writeTinyLlavaNext(dir, { seed: 13, dtype: 'F32', visionFeatureLayer: [-2, 0] }));
  assertEquals(f.model.parts.featureLayers, [2, 0], 'hidden_states indices');
  const inputs = inputsFor(f, [testPicture(50, 30, 6)], 'And this?');
  const { gpu: res, ref } = await compareStages(f, inputs, 'next [-2, 0]');
  assertEquals(ref.visionFeatures.shape[1], 2 * 48, 'two hidden states side by side');
  res.dispose();
  f.model.dispose();
} });

Deno.test({ name: 'prefill = the hand-built forward (template, tokenizer, processor); the prefix span', ...opts, async fn() {
  const img = testPicture(45, 60, 5);
  const inputs = inputsFor(next, [img], 'What is this?');
  const a = await next.model.prefill({ images: [img], prompt: 'What is this?', logits: 'all' });
  assertEquals(a.inputIds, [...inputs.inputIds], 'prefill ids');
  const b = await next.model.forward(inputs, { logits: 'all' });
  assertNormwise(await a.logits.read(), Float64Array.from(await b.logits.read()), REL, 'prefill vs forward logits');
  const withPrefix = await next.model.prefill({ images: [img], prompt: 'What is this?', prefix: 'Look closely. ' });
  const [p0, p1] = withPrefix.spans.prefix!;
  const prefixIds = next.tokenizer.encode('Look closely. ', { addSpecialTokens: false });
  assertEquals(withPrefix.inputIds.slice(p0, p1), prefixIds, 'prefix span holds the prefix tokens');
  assertEquals(p1, withPrefix.spans.images[0].start, 'the prefix ends where the image starts');
  for (const r of [a, b, withPrefix]) r.dispose();
} });

Deno.test({ name: 'a token count that does not match the image features is an error naming both counts', ...opts, async fn() {
  const inputs = inputsFor(ov, [testPicture(30, 100, 1)], 'Hi');
  const n = inputs.inputIds.filter((id) => id === ov.cfg.image_token_index).length;
  const fewer = inputs.inputIds.filter((id, i) => !(id === ov.cfg.image_token_index && i === inputs.inputIds.indexOf(id)));
  await assertRejects(() => ov.model.forward({ ...inputs, inputIds: fewer }), new RegExp(`tokens: ${n - 1} .*features ${n}`), 'one image token short');
  const noPixels = { inputIds: inputs.inputIds };
  await assertRejects(() => ov.model.forward(noPixels), new RegExp(`tokens: ${n} .*features 0`), 'image tokens without pixels');
  const badTiles = { ...inputs, pixelValues: { shape: [2, 3, 28, 28], data: inputs.pixelValues!.data.subarray(0, 2 * 3 * 28 * 28) } };
  await assertRejects(() => ov.model.forward(badTiles), /holds 2 tiles.*need 9/, 'tile count');
  await assertRejects(() => ov.model.forward(inputs, { taps: ['vision.layers.7.out'] }), /layer 7 does not exist/, 'bad tap');
  assertThrows(() => llavaForwardRef(ov.ref, ov.cfg, { ...inputs, inputIds: fewer }), new RegExp(`tokens: ${n - 1}, features ${n}`), 'the reference raises too');
} });

Deno.test('the real-0.5b config is LLaVA-OneVision-0.5B: dims, 36 pinpoints, tied head', () => {
  const cfg = parseConfig(tinyLlavaOnevisionConfig('real-0.5b', 'F16')) as LlavaOnevisionConfig;
  const t = cfg.text_config, v = cfg.vision_config;
  assertEquals([t.hidden_size, t.num_hidden_layers, t.num_attention_heads, t.num_key_value_heads, t.head_dim, t.intermediate_size, t.vocab_size], [896, 24, 14, 2, 64, 4864, 152000], 'text dims');
  assertEquals([t.rope_theta, t.rms_norm_eps, t.tie_word_embeddings, t.qkv_bias], [1e6, 1e-6, true, true], 'text rope/eps/tie/bias');
  assertEquals([v.hidden_size, v.intermediate_size, v.num_hidden_layers, v.num_attention_heads, v.image_size, v.patch_size, v.hidden_act], [1152, 4304, 26, 16, 384, 14, 'gelu_pytorch_tanh'], 'vision dims');
  assertEquals(cfg.image_grid_pinpoints.length, 36, 'pinpoints');
  assertEquals([cfg.image_grid_pinpoints[1], cfg.image_grid_pinpoints[35]], [[384, 768], [2304, 2304]], 'h-major pinpoints');
  assertEquals([cfg.vision_feature_layer, cfg.vision_feature_select_strategy, cfg.vision_aspect_ratio, cfg.image_token_index], [-1, 'full', 'anyres_max_9', 151646], 'llava fields');
  // 899×1024 reproduces the HF integration test's 6551 image tokens on this config
  assertEquals(imagePackings([[899, 1024]], llavaPackingSpec(cfg, 1))[0].tokens, 6551, 'radar-chart token count');
});

Deno.test('tiny checkpoints hold the hub layout: legacy names, tied OneVision head, untied NeXt head', async () => {
  const ovNames = (await openCheckpoint(ov.dir)).tensorNames();
  assert(ovNames.includes('vision_tower.vision_model.embeddings.patch_embedding.bias'), 'SigLIP conv bias');
  assert(ovNames.includes('image_newline') && ovNames.includes('multi_modal_projector.linear_2.bias'), 'projector/newline');
  assert(ovNames.includes('language_model.model.layers.0.self_attn.q_proj.bias'), 'Qwen2 qkv bias');
  assert(!ovNames.some((n) => n.includes('lm_head')), 'OneVision tiny: tied head');
  const nextNames = (await openCheckpoint(next.dir)).tensorNames();
  assert(nextNames.includes('language_model.lm_head.weight') && nextNames.includes('vision_tower.vision_model.pre_layrnorm.weight'), 'NeXt head, pre_layrnorm');
  assert(nextNames.includes('vision_tower.vision_model.embeddings.class_embedding'), 'CLIP class embedding');
  assert(!nextNames.some((n) => /self_attn\.q_proj\.bias/.test(n) && n.startsWith('language_model')), 'Llama: no biases');
  const json = JSON.parse(await Deno.readTextFile(`${ov.dir}/config.json`));
  assertEquals([json.model_type, json.architectures[0], json.text_config.model_type, json.vision_config.model_type], ['llava_onevision', 'LlavaOnevisionForConditionalGeneration', 'qwen2', 'siglip_vision_model'], 'config layout');
});
