// Real widths on a 128 MiB-binding adapter, in miniature: under a small storage binding limit (gpu.maxBindingBytes,
// as the op case tables force it) the run-state buffers that a 7B/8B model fills past one binding — the LM MLP's
// [S, 2I] gate_up and [S, I] act (Llama-3-8B: past ~1170 and ~2340 rows), the vision MLP's [n, I_v] (SigLIP with
// OneVision's 37 tiles: 26973 rows), the projector's hidden [n, H] — are row-chunked, at different rows from each
// other, while the residual stream and attention tensors stay whole (as at real widths) — and OneVision's packing of
// projected tile features past one binding (a 7B at 13+ tiles: gather, anyres_max_9 downscale, concat). The decoder, the vision
// tower and the projector must still match the float64 reference forward at the usual normwise 1e-5.
import type { TapName } from '../../src/capture/taps.ts';
import { acquireGpu } from '../../src/gpu/device.ts';
import { Stage } from '../../src/gpu/stage.ts';
import { rowsPerChunk, Tensor } from '../../src/gpu/tensor.ts';
import type { LlavaOnevisionConfig, TextConfig } from '../../src/io/config.ts';
import { checkpointLocation, openCheckpoint, readText } from '../../src/io/safetensors.ts';
import { Decoder, type DecoderNames } from '../../src/models/lm/decoder.ts';
import { Projector } from '../../src/models/llava/projector.ts';
import { imagePackings, packImageFeatures } from '../../src/models/llava/packing.ts';
import { llavaPackingSpec } from '../../src/models/llava.ts';
import { llavaPreprocess } from '../../src/models/processor/llavaImageProcessor.ts';
import { type LlavaImageProcessorConfig, parsePreprocessorConfig } from '../../src/models/processor/preprocessorConfig.ts';
import { llavaEmbedRef, loadLlavaRef } from '../../src/models/ref/llava.ts';
import { testPicture } from './testPicture.ts';
import { decoderForwardRef, embedRef, loadDecoderRef } from '../../src/models/ref/decoder.ts';
import { act2fn } from '../../src/models/ref/act2fn.ts';
import { loadVitRef, vitForwardRef } from '../../src/models/ref/vit.ts';
import { decoderTensors, WeightRng } from '../../src/models/tiny/randomWeights.ts';
import { writeTinyLlavaOnevision } from '../../src/models/tiny/tinyLlava.ts';
import { writeTinyCheckpoint } from '../../src/models/tiny/writeCheckpoint.ts';
import { featureHiddenStates, tokensPerTile, VisionTower } from '../../src/models/vision/vit.ts';
import { Weights } from '../../src/models/weights.ts';
import { activation as activationRef } from '../../src/ops/ref/activation.ts';
import { matmul as matmulRef } from '../../src/ops/ref/matmul.ts';
import { assert, assertEquals, assertNormwise } from '../gpu/assert.ts';
import { withBindingLimit } from '../ops/opCase.ts';
import { kernelChoice, setKernelChoice } from '../../src/gpu/tuning.ts';

const gpu = await acquireGpu();
gpu.poisonNewTensors = true; // an output row a chunk walk skips reads as NaN
// the tiled attention variant where it applies (it sizes its score chunks by the capped gpu.maxBindingBytes too)
setKernelChoice(gpu, { ...kernelChoice(gpu), attention: 'tiled' });
const opts = { sanitizeResources: false, sanitizeOps: false };
const tmp = await Deno.makeTempDir({ prefix: 'kvscope-binding-' });
globalThis.addEventListener('unload', () => Deno.removeSync(tmp, { recursive: true }));

// f32 GPU vs float64 reference, normwise: max |got − want| ≤ REL · max |want| (as test/models/decoder.test.ts)
const REL = 1e-5;

/** How many chunks a [rows, width] f32 tensor takes under `bytes` per binding. */
const chunksOf = (rows: number, width: number, bytes: number) => Math.ceil(rows / rowsPerChunk('f32', width, rows, bytes, 'check'));

// Llama-3-shaped decoder (no biases, untied head, θ 5e5) with a wide MLP: gate_up rows of 1672 B, act 836 B, h 256 B
const llamaCfg: TextConfig = {
  model_type: 'llama', vocab_size: 301, hidden_size: 64, intermediate_size: 209, num_hidden_layers: 2, num_attention_heads: 4,
  num_key_value_heads: 2, head_dim: 16, hidden_act: 'silu', max_position_embeddings: 512, use_sliding_window: false,
  bos_token_id: null, pad_token_id: null, eos_token_id: null, mlp_bias: false, o_bias: false, mrope_section: null,
  rms_norm_eps: 1e-5, rope_theta: 5e5, qkv_bias: false, tie_word_embeddings: false,
};
// Qwen2-shaped (qkv bias, tied head) with an MLP bias, so the stacked gate_up bias rides the chunked matmul too
const qwenCfg: TextConfig = { ...llamaCfg, model_type: 'qwen2', intermediate_size: 150, qkv_bias: true, mlp_bias: true, rope_theta: 1e6, rms_norm_eps: 1e-6, tie_word_embeddings: true };
const NAMES: DecoderNames = { prefix: 'model.language_model.', lmHead: 'lm_head.weight' };

async function writeDecoder(name: string, cfg: TextConfig): Promise<string> {
  const dir = `${tmp}/${name}`;
  await writeTinyCheckpoint(dir, { config: cfg, tensors: decoderTensors(new WeightRng(77), cfg, NAMES.prefix, { lmHead: cfg.tie_word_embeddings ? null : 'lm_head.weight' }), dtype: 'BF16' });
  return dir;
}

/** Prefill `seq` tokens under `limit` bytes per binding; every layer's K, V, output and the logits vs the reference. Returns dispatches. */
async function decoderParity(cfg: TextConfig, dir: string, seq: number, limit: number | null, label: string): Promise<number> {
  const weights = new Weights(await openCheckpoint(dir));
  const ref = await loadDecoderRef(weights, cfg, NAMES);
  const rng = new WeightRng(5);
  const ids = Array.from({ length: seq }, () => Math.floor(rng.uniform() * cfg.vocab_size));
  const positions = [...Array(seq).keys()];
  const run = async () => {
    const dec = await Decoder.load(gpu, weights, cfg, NAMES);
    const cache = dec.newCache(seq + 3);
    const taps = Array.from({ length: cfg.num_hidden_layers }, (_, l): TapName => `lm.layers.${l}.out`);
    const before = gpu.stats.dispatches;
    const out = await dec.run({ ids }, { cache, start: 0, positions, logits: 'all', taps });
    return { dec, cache, out, dispatches: gpu.stats.dispatches - before };
  };
  const { dec, cache, out, dispatches } = limit === null ? await run() : await withBindingLimit(gpu, limit, run);
  const want = decoderForwardRef(ref, cfg, embedRef(ref, ids), positions);
  const errs: number[] = [];
  for (let l = 0; l < cfg.num_hidden_layers; l++) {
    errs.push(assertNormwise(await cache.readLayer(l, 'key'), want.keys[l].data, REL, `${label} layer ${l} K`));
    errs.push(assertNormwise(await cache.readLayer(l, 'value'), want.values[l].data, REL, `${label} layer ${l} V`));
    errs.push(assertNormwise(await out.taps.get(`lm.layers.${l}.out`)!.read(), want.hidden[l].data, REL, `${label} layer ${l} output`));
  }
  errs.push(assertNormwise(await out.logits!.read(), want.logits.data, REL, `${label} logits`));
  console.log(`  ${label}: ${dispatches} dispatches, max normwise error vs float64 ${Math.max(...errs).toExponential(2)}`);
  for (const t of [out.logits!, ...out.taps.values()]) t.dispose();
  cache.dispose();
  dec.dispose();
  return dispatches;
}

for (const [name, cfg] of [['Llama', llamaCfg], ['Qwen2 (MLP bias)', qwenCfg]] as const) {
  Deno.test({ name: `${name} decoder with gate_up and act row-chunked at different rows matches the reference`, ...opts, async fn() {
    const dir = await writeDecoder(name.split(' ')[0], cfg);
    const seq = 13, limit = 4096, I = cfg.intermediate_size, H = cfg.hidden_size;
    // the MLP buffers chunk, at different rows; the residual stream, q/k/v and the cache stay whole
    const gu = chunksOf(seq, 2 * I, limit), act = chunksOf(seq, I, limit);
    assert(gu > act && act > 1, `gate_up ${gu} and act ${act} chunks: both chunked, at different rows`);
    assertEquals(chunksOf(seq, H, limit), 1, 'h stays whole');
    assert(2 * (seq + 3) * 16 * 4 <= limit, 'one layer of the KV cache fits');
    const whole = await decoderParity(cfg, dir, seq, null, `${name} whole`);
    const chunked = await decoderParity(cfg, dir, seq, limit, `${name} ≤${limit} B`);
    // the chunked forward walks chunks (more dispatches); the op case table checks one dispatch when nothing is chunked
    assert(chunked > whole, `the chunked forward walks chunks (${chunked} vs ${whole} dispatches)`);
  } });
}

Deno.test({ name: 'SigLIP tower (OneVision) with fc1/act and the projector hidden row-chunked matches the reference', ...opts, async fn() {
  const dir = `${tmp}/onevision`;
  const cfg = await writeTinyLlavaOnevision(dir, { seed: 21, dtype: 'F16' }) as LlavaOnevisionConfig;
  const vc = cfg.vision_config, H = cfg.text_config.hidden_size;
  const weights = new Weights(await openCheckpoint(dir));
  const prefix = 'model.vision_tower.vision_model.', layerCount = vc.num_hidden_layers;
  const tiles = 6, n = tiles * tokensPerTile(vc), limit = 4096;
  assert(chunksOf(n, vc.intermediate_size, limit) > 1 && chunksOf(n, H, limit) > 1, `fc1 [${n}, ${vc.intermediate_size}] and the projector hidden [${n}, ${H}] chunk`);
  assertEquals(chunksOf(n, vc.hidden_size, limit), 1, 'the vision residual stream stays whole');
  const rng = new WeightRng(9);
  const pixels = { shape: [tiles, vc.num_channels, vc.image_size, vc.image_size], data: Float32Array.from(rng.normals(tiles * vc.num_channels * vc.image_size ** 2, 1)) };
  const sel = { hiddenStates: [layerCount], dropCls: false };
  const ref = vitForwardRef(await loadVitRef(weights, vc, { prefix, layerCount }), vc, pixels, sel);
  const p = 'model.multi_modal_projector.';
  const [w1, b1, w2, b2] = await Promise.all(['linear_1.weight', 'linear_1.bias', 'linear_2.weight', 'linear_2.bias'].map((t) => weights.host(`${p}${t}`)));
  const projRef = matmulRef(activationRef(act2fn(cfg.projector_hidden_act, 'projector_hidden_act'), matmulRef(ref.features, w1, { bias: b1 })), w2, { bias: b2 });
  const tower = await VisionTower.load(gpu, weights, vc, { prefix, layerCount });
  const projector = await Projector.load(gpu, weights, { prefix: p, inDim: vc.hidden_size, hidden: H, bias: cfg.multimodal_projector_bias, act: cfg.projector_hidden_act });
  await withBindingLimit(gpu, limit, async () => {
    const res = await tower.forward(pixels, sel, { layerOutputs: true });
    const projected = await Stage.run(gpu, 'projector', (st) => projector.forward(st, res.features));
    assert(res.features.chunks.length === 1, 'vision features whole');
    const errs = [
      ...await Promise.all(res.layerOutputs.map(async (t, i) => assertNormwise(await t.read(), ref.layerOutputs[i].data, REL, `vision layer ${i}`))),
      assertNormwise(await res.features.read(), ref.features.data, REL, 'vision features'),
      assertNormwise(await projected.read(), projRef.data, REL, 'projector out'),
    ];
    console.log(`  SigLIP ${tiles} tiles (${n} rows) ≤${limit} B: max normwise error vs float64 ${Math.max(...errs).toExponential(2)}`);
    for (const t of [res.features, ...res.layerOutputs, projected]) t.dispose();
  });
  tower.dispose();
  projector.dispose();
} });

Deno.test({ name: 'OneVision packing of row-chunked projected features (84×112: 13 tiles, 6×8 → 5×6 downscale) matches the reference', ...opts, async fn() {
  const dir = `${tmp}/onevision-pack`;
  const cfg = await writeTinyLlavaOnevision(dir, { seed: 23, dtype: 'F32' }) as LlavaOnevisionConfig;
  const vc = cfg.vision_config, H = cfg.text_config.hidden_size, p = Math.floor(vc.image_size / vc.patch_size);
  const weights = new Weights(await openCheckpoint(dir));
  const processor = parsePreprocessorConfig(await readText(checkpointLocation(dir), 'preprocessor_config.json')) as LlavaImageProcessorConfig;
  const img = llavaPreprocess(testPicture(84, 112, 3), processor);
  const sizes = [[...img.imageSize] as [number, number]];
  const packings = imagePackings(sizes, llavaPackingSpec(cfg, 1));
  const n = img.pixelValues.shape[0] * p * p, tokens = packings[0].tokens;
  // the projected features [n, H], the gathered crop map [48, H] and the concat chunk; the vision stream and the packed output fit
  const limit = 10240;
  assertEquals(img.pixelValues.shape[0], 13, 'tiles');
  assert(chunksOf(n, H, limit) > 1 && chunksOf(48, H, limit) > 1, `projected [${n}, ${H}] and the crop map [48, ${H}] chunk under ${limit} B`);
  assert(chunksOf(n, vc.hidden_size, limit) === 1 && chunksOf(tokens, H, limit) === 1, 'the vision stream and the packed features stay whole');
  const inputs = { inputIds: [1, 2, ...Array<number>(tokens).fill(cfg.image_token_index), 3], pixelValues: img.pixelValues, imageSizes: sizes };
  const want = llavaEmbedRef(await loadLlavaRef(weights, cfg), cfg, inputs);
  const hiddenStates = featureHiddenStates(cfg.vision_feature_layer, vc.num_hidden_layers);
  const tower = await VisionTower.load(gpu, weights, vc, { prefix: 'model.vision_tower.vision_model.', layerCount: Math.max(...hiddenStates) });
  const projector = await Projector.load(gpu, weights, { prefix: 'model.multi_modal_projector.', inDim: vc.hidden_size * hiddenStates.length, hidden: H, bias: cfg.multimodal_projector_bias, act: cfg.projector_hidden_act });
  const nl = await weights.host('model.image_newline', [H]);
  const newline = Tensor.from(gpu, 'f32', [1, H], nl.data, 'image_newline');
  await withBindingLimit(gpu, limit, async () => {
    const vis = await tower.forward(img.pixelValues, { hiddenStates, dropCls: cfg.vision_feature_select_strategy === 'default' });
    const packed = await Stage.run(gpu, 'projector + packing', (st) => {
      const projected = projector.forward(st, vis.features);
      assert(projected.isChunked, 'the projected features are chunked');
      st.onDone(() => projected.dispose());
      return packImageFeatures(st, projected, newline, packings, p);
    });
    assertEquals(packed.shape, [tokens, H], 'packed shape');
    const e = assertNormwise(await packed.read(), want.packed.data, REL, 'packed image features');
    console.log(`  OneVision 84×112 packing ≤${limit} B: ${tokens} image tokens, normwise error vs float64 ${e.toExponential(2)}`);
    vis.features.dispose();
    packed.dispose();
  });
  for (const t of [tower, projector, newline]) t.dispose();
} });
