// The optional f16 KV cache (issue 11) on tiny random checkpoints. Decoder level (Qwen2 with 1D RoPE, Qwen2.5-VL
// text with M-RoPE): the same prefill with an f32 and an f16 cache, compared (1) with the float64 reference given
// f16-rounded K/V (the f16 run's own model: tight), (2) with the f32-cache run (the cost of f16 storage: ~1e-3),
// (3) per layer, cached K/V against the f32 cache; the f16 cache holds exactly f16 values; both runs record the
// same dispatches (attention on the flash kernel for both); a prefill continued by decode steps over the f16 cache matches one f16 prefill. Model level
// (LLaVA-OneVision): prefill with kvDtype 'f16' → half the cache bytes, features of cache taps widened exactly from
// the cache, close to the f32 run's, generation runs. A device without shader-f16 refuses the f16 cache by name.
// The figures are printed (normwise: max |got − want| / max |want|).
import type { TapName } from '../../src/capture/taps.ts';
import { features } from '../../src/capture/features.ts';
import { KvCache } from '../../src/capture/kvCache.ts';
import { acquireGpu } from '../../src/gpu/device.ts';
import { roundTo } from '../../src/gpu/dtype.ts';
import { kernelChoice, setKernelChoice } from '../../src/gpu/tuning.ts';
import { parseConfig, type Qwen2_5VLConfig, type TextConfig } from '../../src/io/config.ts';
import type { RgbImage } from '../../src/io/rgbImage.ts';
import { openCheckpoint } from '../../src/io/safetensors.ts';
import { Decoder, type DecoderNames } from '../../src/models/lm/decoder.ts';
import { decoderForwardRef, embedRef, loadDecoderRef } from '../../src/models/ref/decoder.ts';
import { loadModel } from '../../src/models/registry.ts';
import { decoderTensors, WeightRng } from '../../src/models/tiny/randomWeights.ts';
import { writeTinyLlavaOnevision } from '../../src/models/tiny/tinyLlava.ts';
import { writeTinyCheckpoint } from '../../src/models/tiny/writeCheckpoint.ts';
import { Weights } from '../../src/models/weights.ts';
import { assert, assertEquals, normwiseError } from '../gpu/assert.ts';

const gpu = await acquireGpu();
gpu.poisonNewTensors = true;
const opts = { sanitizeResources: false, sanitizeOps: false };
const tmp = await Deno.makeTempDir({ prefix: 'kvscope-kvf16-' });
globalThis.addEventListener('unload', () => Deno.removeSync(tmp, { recursive: true }));
const hasF16 = gpu.features.shaderF16;

// f16 run vs the float64 reference with f16-rounded K/V: the GPU rounds its f32 K/V, the reference its float64
// ones, so an element within f32 error of a rounding boundary lands one f16 ulp away; everything else is f32 error.
// Cached K/V: one such flip is one f16 ulp, ≤ 2^-10 of the largest value. Logits: measured ≤ 5.7e-6 on llvmpipe
// (printed); the bound leaves ~9×.
const REL_REF16_KV = 2 ** -10;
const REL_REF16 = 5e-5;
// f16 run vs f32 run: f16 storage rounds each K/V element by ≤ 2^-11 relative (4.9e-4); through attention and the
// layers the logits move by about that much. Measured on llvmpipe: ≤ 3.9e-4 per layer K/V, ≤ 1.8e-4 logits (printed).
const REL_F32 = 1.5e-3;

const NEW: DecoderNames = { prefix: 'model.language_model.', lmHead: 'lm_head.weight' };
const base = {
  vocab_size: 301, hidden_size: 64, intermediate_size: 96, num_hidden_layers: 3, num_attention_heads: 4, num_key_value_heads: 2,
  head_dim: 16, hidden_act: 'silu' as const, max_position_embeddings: 512, use_sliding_window: false, bos_token_id: null, pad_token_id: null,
  mlp_bias: false, o_bias: false, mrope_section: null,
};
const qwen2Cfg: TextConfig = { ...base, model_type: 'qwen2', rms_norm_eps: 1e-6, rope_theta: 1e6, qkv_bias: true, tie_word_embeddings: true, eos_token_id: null };
const qwenVlJson = {
  model_type: 'qwen2_5_vl', image_token_id: 7, video_token_id: 8, vision_start_token_id: 5, vision_end_token_id: 6, tie_word_embeddings: true,
  text_config: { model_type: 'qwen2_5_vl_text', vocab_size: 301, hidden_size: 64, intermediate_size: 96, num_hidden_layers: 3, num_attention_heads: 4,
    num_key_value_heads: 2, rope_theta: 10000, rms_norm_eps: 1e-6, rope_scaling: { type: 'default', mrope_section: [2, 3, 3] } },
  vision_config: { depth: 1, hidden_size: 32, num_heads: 2, intermediate_size: 32, out_hidden_size: 64, fullatt_block_indexes: [0] },
};
const mropeCfg = (parseConfig(qwenVlJson) as Qwen2_5VLConfig).text_config;

async function flavour(name: string, cfg: TextConfig, storedPrefix: string, config: object): Promise<{ name: string; cfg: TextConfig; dir: string }> {
  const dir = `${tmp}/${name}`;
  await writeTinyCheckpoint(dir, { config, tensors: decoderTensors(new WeightRng(4321), cfg, storedPrefix, { lmHead: null }), dtype: 'F32' });
  return { name, cfg, dir };
}

function ids(n: number, seed: number, vocab: number): number[] {
  const rng = new WeightRng(seed);
  return Array.from({ length: n }, () => Math.floor(rng.uniform() * vocab));
}

function close(got: ArrayLike<number>, want: ArrayLike<number>, rel: number, what: string): number {
  const e = normwiseError(got, want, what);
  assert(e <= rel, `${what}: normwise error ${e.toExponential(2)} > ${rel}`);
  return e;
}

/** 3D positions of a 2×3 "image" after 3 text tokens, then text (as Qwen2.5-VL's get_rope_index lays them out). */
function mropePositions(textAfter: number): number[][] {
  const t = [0, 1, 2], h = [0, 1, 2], w = [0, 1, 2];
  for (let r = 0; r < 2; r++) for (let c = 0; c < 3; c++) { t.push(3); h.push(3 + r); w.push(3 + c); }
  for (let i = 0; i < textAfter; i++) for (const a of [t, h, w]) a.push(6 + i);
  return [t, h, w];
}

async function decoderParity(f: { name: string; cfg: TextConfig; dir: string }, tokens: number[], positions: number[] | number[][]): Promise<void> {
  const weights = new Weights(await openCheckpoint(f.dir));
  const dec = await Decoder.load(gpu, weights, f.cfg, NEW);
  const ref = await loadDecoderRef(weights, f.cfg, NEW);
  const seq = tokens.length, L = f.cfg.num_hidden_layers;
  const want16 = decoderForwardRef(ref, f.cfg, embedRef(ref, tokens), positions, { kvDtype: 'f16' });
  const run = async (dtype: 'f32' | 'f16') => {
    const cache = dec.newCache(seq + 3, dtype);
    const before = gpu.stats.dispatches;
    const out = await dec.run({ ids: tokens }, { cache, start: 0, positions, logits: 'all', taps: [] });
    const dispatches = gpu.stats.dispatches - before;
    const logits = (await out.logits!.read()) as Float32Array;
    out.logits!.dispose();
    return { cache, logits, dispatches };
  };
  // prefill over an f32 cache may run the tiled attention variant (f32 only, 3 passes); the dispatch comparison
  // needs the same variant on both, so the f32 run here is on flash, the kernel the f16 cache reads with
  const choice = kernelChoice(gpu);
  setKernelChoice(gpu, { ...choice, attention: 'flash' });
  const a = await run('f32').finally(() => setKernelChoice(gpu, choice));
  const b = await run('f16');
  assertEquals(b.cache.dtype, 'f16', 'cache dtype');
  assertEquals(b.cache.byteLength * 2, a.cache.byteLength, 'an f16 cache holds half the bytes');
  assertEquals(b.dispatches, a.dispatches, 'the f16 cache records the same dispatches as the f32 cache');
  const figures = { logitsRef16: 0, logitsF32: 0, v: [] as number[], k: [] as number[] };
  for (let l = 0; l < L; l++) {
    for (const which of ['key', 'value'] as const) {
      const got = await b.cache.readLayer(l, which);
      // stored values are f16 (rounded once): rounding them again changes nothing
      assert(got.every((x) => roundTo('f16', x) === x), `layer ${l} ${which}: the f16 cache holds a value that is not an f16`);
      if (l === 0 && which === 'value') {
        // layer 0's V is the same f32 projection in both runs: the f16 cache holds it rounded to nearest even
        const v32 = await a.cache.readLayer(0, 'value');
        for (let i = 0; i < v32.length; i++) if (got[i] !== roundTo('f16', v32[i])) throw new Error(`${f.name} layer 0 V[${i}]: f16 cache ${got[i]}, f32 cache rounded ${roundTo('f16', v32[i])}`);
      }
      close(got, (which === 'key' ? want16.keys : want16.values)[l].data, REL_REF16_KV, `${f.name} layer ${l} ${which} f16 cache vs reference (f16 K/V)`);
      const e = close(got, await a.cache.readLayer(l, which), REL_F32, `${f.name} layer ${l} ${which} f16 vs f32 cache`);
      (which === 'key' ? figures.k : figures.v).push(e);
    }
  }
  figures.logitsRef16 = close(b.logits, want16.logits.data, REL_REF16, `${f.name} logits, f16 cache vs reference with f16 K/V`);
  figures.logitsF32 = close(b.logits, a.logits, REL_F32, `${f.name} logits, f16 vs f32 cache`);
  // the f16 cache must not be a no-op: f16 K/V move the logits off the f32 run (by more than f32 noise)
  assert(figures.logitsF32 > 1e-6, `${f.name}: f16 and f32 caches give logits equal within ${figures.logitsF32}: is the cache really f16?`);
  console.log(`  ${f.name}: logits f16-cache vs reference(f16 K/V) ${figures.logitsRef16.toExponential(2)}, vs f32 cache ${figures.logitsF32.toExponential(2)}; ` +
    `per-layer V vs f32 cache ${figures.v.map((e) => e.toExponential(2)).join(' ')}, K ${figures.k.map((e) => e.toExponential(2)).join(' ')}; ` +
    `dispatches ${b.dispatches} (both); cache ${a.cache.byteLength} → ${b.cache.byteLength} bytes`);

  // prefill of S − 2 tokens then 2 decode steps over the f16 cache = one f16 prefill
  const cache = dec.newCache(seq + 3, 'f16');
  const pos1 = (from: number, to: number) => Array.isArray(positions[0]) ? (positions as number[][]).map((r) => r.slice(from, to)) : (positions as number[]).slice(from, to);
  let last: Float32Array | null = null;
  for (const [from, to] of [[0, seq - 2], [seq - 2, seq - 1], [seq - 1, seq]]) {
    const out = await dec.run({ ids: tokens.slice(from, to) }, { cache, start: from, positions: pos1(from, to), logits: 'last', taps: [] });
    last = (await out.logits!.read()) as Float32Array;
    out.logits!.dispose();
  }
  const V = f.cfg.vocab_size;
  close(last!, b.logits.subarray((seq - 1) * V, seq * V), 1e-5, `${f.name} f16 cache: prefill + 2 decode steps vs one prefill, last logits`);
  for (let l = 0; l < L; l++) close(await cache.readLayer(l, 'value'), await b.cache.readLayer(l, 'value'), 1e-5, `${f.name} f16 cache: decoded V layer ${l}`);
  for (const c of [a.cache, b.cache, cache]) c.dispose();
  dec.dispose();
}

Deno.test({ name: 'f16 KV cache, Qwen2 decoder: vs the reference with f16 K/V, vs the f32 cache, decode steps', ...opts, ignore: !hasF16, async fn() {
  const f = await flavour('qwen2', qwen2Cfg, NEW.prefix, qwen2Cfg);
  const tokens = ids(23, 7, qwen2Cfg.vocab_size);
  await decoderParity(f, tokens, tokens.map((_, i) => i));
} });

Deno.test({ name: 'f16 KV cache, Qwen2.5-VL text decoder (M-RoPE): vs the reference with f16 K/V, vs the f32 cache, decode steps', ...opts, ignore: !hasF16, async fn() {
  const f = await flavour('qwen2_5_vl', mropeCfg, 'model.', qwenVlJson);
  const pos = mropePositions(8);
  await decoderParity(f, ids(pos[0].length, 8, mropeCfg.vocab_size), pos);
} });

function picture(width: number, height: number, seed: number): RgbImage {
  const rng = new WeightRng(seed);
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(rng.uniform() * 256);
  return { width, height, data, source: `noise ${width}×${height}` };
}

Deno.test({ name: 'f16 KV cache, LLaVA-OneVision model: prefill, cache-tap features widened exactly, generation', ...opts, ignore: !hasF16, async fn() {
  const dir = `${tmp}/onevision`;
  await writeTinyLlavaOnevision(dir, { seed: 41 });
  const model = await loadModel(gpu, dir);
  const req = { images: [picture(40, 30, 5)], prompt: 'Describe it.' };
  const r32 = await model.prefill({ ...req, kvDtype: 'f32' });
  const r16 = await model.prefill({ ...req, kvDtype: 'f16' });
  try {
    assertEquals(r16.cache.dtype, 'f16', 'prefill kvDtype f16 → f16 cache');
    assertEquals(r16.cache.byteLength * 2, r32.cache.byteLength, 'half the cache bytes');
    const L = model.config.text_config.num_hidden_layers;
    let worst = 0;
    for (let l = 0; l < L; l++) {
      for (const kv of ['k', 'v'] as const) {
        const tap = `lm.layers.${l}.attn.${kv}` as TapName;
        const f16 = await features(r16, { tap }), f32 = await features(r32, { tap });
        const got = (await f16.features.read()) as Float32Array, ref = (await f32.features.read()) as Float32Array;
        assertEquals([f16.rows, f16.cols, f16.dim], [f32.rows, f32.cols, f32.dim], `${tap} grid`);
        // layer 0 sees the same inputs in both runs, so its V in the f16 cache is the f32 run's V rounded once, and
        // the gather (f16 widened to f32) must give exactly that
        if (l === 0 && kv === 'v') {
          for (let i = 0; i < ref.length; i++) {
            if (got[i] !== roundTo('f16', ref[i])) throw new Error(`${tap} element ${i}: f16-cache feature ${got[i]}, f32-cache feature rounded to f16 ${roundTo('f16', ref[i])}`);
          }
        }
        worst = Math.max(worst, close(got, ref, REL_F32, `${tap} features, f16 vs f32 cache`));
        f16.dispose();
        f32.dispose();
      }
    }
    const l32 = (await r32.logits.read()) as Float32Array, l16 = (await r16.logits.read()) as Float32Array;
    const logitsErr = close(l16, l32, REL_F32, 'last-token logits, f16 vs f32 cache');
    console.log(`  llava_onevision: cache-tap features f16 vs f32 cache ≤ ${worst.toExponential(2)}, last logits ${logitsErr.toExponential(2)}; cache ${r32.cache.byteLength} → ${r16.cache.byteLength} bytes`);
    const gen16 = await model.generate(r16, 3);
    assert(gen16.length >= 1 && gen16.every((t) => Number.isInteger(t) && t >= 0), `generation over an f16 cache gave ${gen16}`);
  } finally {
    r32.dispose();
    r16.dispose();
    model.dispose();
  }
} });

Deno.test({ name: 'f16 KV cache refused by name on a device without shader-f16', ...opts, async fn() {
  const plain = await acquireGpu({ noOptionalFeatures: true });
  try {
    assert(!plain.features.shaderF16, 'noOptionalFeatures device reports shader-f16');
    let msg = '';
    try {
      KvCache.create(plain, 2, 2, 8, 16, 'f16').dispose();
    } catch (e) {
      msg = (e as Error).message;
    }
    assert(msg.includes('shader-f16') && msg.includes(plain.describe()), `expected a refusal naming ${plain.describe()} and shader-f16, got '${msg}'`);
    const f32 = KvCache.create(plain, 2, 2, 8, 16);
    assertEquals(f32.dtype, 'f32', 'default dtype');
    f32.dispose();
  } finally {
    plain.destroy();
  }
} });
