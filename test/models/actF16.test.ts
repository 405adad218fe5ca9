// The decoder's f16 activation path (Decoder.actDtype = 'f16': x̂ and the gated product stored as f16, widened at the
// matmul's load, everything else f32) on tiny random checkpoints in HF layout:
//   - per layer (K after RoPE, V, layer outputs) and logits against the float64 reference, exact and rounded to f16
//     at the same places as the GPU, and against the GPU's own f32 path: the parity figures the f16 path costs
//     (printed), bounded, and not zero against the f32 path (the path really stores halves);
//   - the MLP in blocks (f16 rows copied as u32 words) equals the unblocked f16 forward bit for bit;
//   - prefill + decode steps (the gemv path over an f16 x̂) equal one f16 prefill;
//   - an unknown dtype is refused naming the option.
import { acquireGpu } from '../../src/gpu/device.ts';
import { parseConfig, type Qwen2_5VLConfig, type TextConfig } from '../../src/io/config.ts';
import { openCheckpoint } from '../../src/io/safetensors.ts';
import { Decoder, type DecoderNames } from '../../src/models/lm/decoder.ts';
import { decoderForwardRef, type DecoderRefResult, type DecoderRefWeights, embedRef, loadDecoderRef } from '../../src/models/ref/decoder.ts';
import type { ActDType } from '../../src/models/runState.ts';
import { decoderTensors, WeightRng } from '../../src/models/tiny/randomWeights.ts';
import { writeTinyCheckpoint } from '../../src/models/tiny/writeCheckpoint.ts';
import { Weights } from '../../src/models/weights.ts';
import type { TapName } from '../../src/capture/taps.ts';
import { assert, assertEquals, normwiseError } from '../gpu/assert.ts';

const gpu = await acquireGpu();
gpu.poisonNewTensors = true;
const opts = { sanitizeResources: false, sanitizeOps: false };
const tmp = await Deno.makeTempDir({ prefix: 'kvscope-actf16-' });
globalThis.addEventListener('unload', () => Deno.removeSync(tmp, { recursive: true }));

// Halves carry 11 significant bits: each stored x̂ / act element is off by ≤ 2⁻¹¹ relative, and through 3 layers and
// the head the normwise error of K, V, layer outputs and logits is a few 1e-4 (llvmpipe: 2.5–6.1e-4, printed).
// That holds against the exact float64 reference, against the GPU's f32 path, and also against the float64 reference
// rounded at the same places: one rounding that goes the other way (the GPU's f32 value within ~1e-7 of a midpoint
// where float64 is not) perturbs the next layer's inputs by 2⁻¹¹ and the later roundings follow, so the rounded
// reference is no closer than the f16 budget. F16_BOUND: ~3× the largest measured; F16_FLOOR: the f16 path must differ
// from the f32 path (a path that silently stayed f32 would agree to f32 noise, ~1e-7).
const F16_BOUND = 2e-3, F16_FLOOR = 1e-5;
// GPU vs GPU through other kernel paths (decode gemv vs prefill tiles) at the same activation dtype
const REL_PATHS = 1e-4;

const NEW: DecoderNames = { prefix: 'model.language_model.', lmHead: 'lm_head.weight' };
const qwen2Cfg: TextConfig = {
  vocab_size: 301, hidden_size: 64, intermediate_size: 96, num_hidden_layers: 3, num_attention_heads: 4, num_key_value_heads: 2,
  head_dim: 16, hidden_act: 'silu', max_position_embeddings: 512, use_sliding_window: false, bos_token_id: null, pad_token_id: null,
  mlp_bias: false, o_bias: false, mrope_section: null,
  model_type: 'qwen2', rms_norm_eps: 1e-6, rope_theta: 1e6, qkv_bias: true, tie_word_embeddings: true, eos_token_id: null,
};
const qwenVlJson = {
  model_type: 'qwen2_5_vl', image_token_id: 7, video_token_id: 8, vision_start_token_id: 5, vision_end_token_id: 6, tie_word_embeddings: false,
  text_config: { model_type: 'qwen2_5_vl_text', vocab_size: 301, hidden_size: 64, intermediate_size: 96, num_hidden_layers: 3, num_attention_heads: 4,
    num_key_value_heads: 2, rope_theta: 10000, rms_norm_eps: 1e-6, rope_scaling: { type: 'default', mrope_section: [2, 3, 3] } },
  vision_config: { depth: 1, hidden_size: 32, num_heads: 2, intermediate_size: 32, out_hidden_size: 64, fullatt_block_indexes: [0] },
};
const mropeCfg = (parseConfig(qwenVlJson) as Qwen2_5VLConfig).text_config;

interface Flavour { name: string; cfg: TextConfig; dir: string }
async function flavour(name: string, cfg: TextConfig, lmHead: string | null, config: object, dtype: 'F32' | 'BF16'): Promise<Flavour> {
  const dir = `${tmp}/${name}`;
  await writeTinyCheckpoint(dir, { config, tensors: decoderTensors(new WeightRng(99), cfg, NEW.prefix, { lmHead }), dtype });
  return { name, cfg, dir };
}
const flavours = [
  await flavour('qwen2 f32 weights', qwen2Cfg, null, qwen2Cfg, 'F32'),
  await flavour('qwen2_5_vl text bf16 weights (M-RoPE, untied)', mropeCfg, 'lm_head.weight', qwenVlJson, 'BF16'),
];

async function open(f: Flavour): Promise<{ dec: Decoder; ref: DecoderRefWeights }> {
  const weights = new Weights(await openCheckpoint(f.dir));
  return { dec: await Decoder.load(gpu, weights, f.cfg, NEW), ref: await loadDecoderRef(weights, f.cfg, NEW) };
}

function ids(n: number, seed: number): number[] {
  const rng = new WeightRng(seed);
  return Array.from({ length: n }, () => Math.floor(rng.uniform() * 301));
}

const positionsOf = (cfg: TextConfig, a: number, b: number): number[] | number[][] => {
  const p = Array.from({ length: b - a }, (_, i) => a + i);
  return cfg.mrope_section ? [p, p.map((x) => x + 1), p.map((x) => x + 2)] : p;
};

type Values = Float32Array | Float64Array;
interface Run { keys: Values[]; values: Values[]; hidden: Values[]; logits: Values; dispatches: number }

async function prefill(dec: Decoder, f: Flavour, toks: number[], act: ActDType): Promise<Run> {
  dec.actDtype = act;
  const cache = dec.newCache(toks.length + 4);
  const taps = Array.from({ length: f.cfg.num_hidden_layers }, (_, l): TapName => `lm.layers.${l}.out`);
  const before = gpu.stats.dispatches;
  const out = await dec.run({ ids: toks }, { cache, start: 0, positions: positionsOf(f.cfg, 0, toks.length), logits: 'all', taps });
  const dispatches = gpu.stats.dispatches - before;
  const r: Run = { keys: [], values: [], hidden: [], logits: (await out.logits!.read()) as Float32Array, dispatches };
  for (let l = 0; l < f.cfg.num_hidden_layers; l++) {
    r.keys.push((await cache.readLayer(l, 'key')) as Float32Array);
    r.values.push((await cache.readLayer(l, 'value')) as Float32Array);
    r.hidden.push((await out.taps.get(`lm.layers.${l}.out`)!.read()) as Float32Array);
  }
  for (const t of [out.logits!, ...out.taps.values()]) t.dispose();
  cache.dispose();
  return r;
}

function close(got: ArrayLike<number>, want: ArrayLike<number>, rel: number, what: string): number {
  const e = normwiseError(got, want, what);
  assert(e <= rel, `${what}: normwise error ${e.toExponential(2)} > ${rel}`);
  return e;
}

Deno.test({ name: 'f16 activations: per layer and logits vs float64 (exact and rounded as f16) and vs the f32 path', ...opts, async fn() {
  for (const f of flavours) {
    const { dec, ref } = await open(f);
    const toks = ids(13, 7);
    const half = await prefill(dec, f, toks, 'f16'), full = await prefill(dec, f, toks, 'f32');
    assertEquals(half.dispatches, full.dispatches, `${f.name}: the f16 path runs the same dispatches as f32`);
    const h = embedRef(ref, toks), pos = positionsOf(f.cfg, 0, toks.length);
    const exact = decoderForwardRef(ref, f.cfg, h, pos), rounded = decoderForwardRef(ref, f.cfg, h, pos, { actDtype: 'f16' });
    // worst normwise error over K, V, layer outputs and logits against one comparand
    const against = (want: Run, what: string) => {
      let worst = 0;
      for (let l = 0; l < f.cfg.num_hidden_layers; l++) {
        worst = Math.max(worst,
          close(half.keys[l], want.keys[l], F16_BOUND, `${f.name} f16 layer ${l} K (post-RoPE) vs ${what}`),
          close(half.values[l], want.values[l], F16_BOUND, `${f.name} f16 layer ${l} V vs ${what}`),
          close(half.hidden[l], want.hidden[l], F16_BOUND, `${f.name} f16 layer ${l} output vs ${what}`));
      }
      return Math.max(worst, close(half.logits, want.logits, F16_BOUND, `${f.name} f16 logits vs ${what}`));
    };
    const fromRef = (r: DecoderRefResult): Run => ({ keys: r.keys.map((t) => t.data), values: r.values.map((t) => t.data), hidden: r.hidden.map((t) => t.data), logits: r.logits.data, dispatches: 0 });
    const vsExact = against(fromRef(exact), 'float64'), vsRounded = against(fromRef(rounded), 'float64 rounded as f16'), gap = against(full, 'the f32 path');
    const gapLogits = normwiseError(half.logits, full.logits, `${f.name} logits f16 vs f32`);
    assert(gap >= F16_FLOOR, `${f.name}: f16 vs f32 path gap ${gap.toExponential(2)} < ${F16_FLOOR}: the f16 path looks unused`);
    let agree = 0;
    const v = f.cfg.vocab_size;
    for (let s = 0; s < toks.length; s++) {
      const am = (x: Values) => { let b = 0; for (let j = 1; j < v; j++) if (x[s * v + j] > x[s * v + b]) b = j; return b; };
      if (am(half.logits) === am(full.logits)) agree++;
    }
    console.log(`  ${f.name}: f16 path (K, V, layer outputs, logits) vs float64 ${vsExact.toExponential(2)}, vs float64 rounded as f16 ${vsRounded.toExponential(2)}, vs the f32 path ${gap.toExponential(2)} (logits ${gapLogits.toExponential(2)}); argmax agrees with f32 on ${agree}/${toks.length} rows`);
    dec.dispose();
  }
} });

Deno.test({ name: 'f16 activations: MLP in blocks equals unblocked; decode steps equal one prefill; bad dtype refused', ...opts, async fn() {
  for (const f of flavours) {
    const { dec } = await open(f);
    const toks = ids(11, 3);
    const whole = await prefill(dec, f, toks, 'f16');
    dec.mlpBlockRows = 4;
    const blocked = await prefill(dec, f, toks, 'f16');
    dec.mlpBlockRows = 2048;
    assert(blocked.dispatches > whole.dispatches, `${f.name}: blocked MLP dispatches per block`);
    for (let l = 0; l < f.cfg.num_hidden_layers; l++) assertEquals([...blocked.hidden[l]], [...whole.hidden[l]], `${f.name} f16 layer ${l}: blocked = unblocked`);
    assertEquals([...blocked.logits], [...whole.logits], `${f.name} f16 logits: blocked = unblocked`);
    // 8 tokens of prefill, then 3 single-token steps (gemv over the f16 x̂ and act)
    const cache = dec.newCache(16), v = f.cfg.vocab_size;
    await dec.run({ ids: toks.slice(0, 8) }, { cache, start: 0, positions: positionsOf(f.cfg, 0, 8), logits: 'none' });
    let worst = 0;
    for (let s = 8; s < 11; s++) {
      const step = await dec.run({ ids: [toks[s]] }, { cache, start: cache.length, positions: positionsOf(f.cfg, s, s + 1), logits: 'last' });
      worst = Math.max(worst, close(await step.logits!.read(), whole.logits.subarray(s * v, (s + 1) * v), REL_PATHS, `${f.name} f16 decode step ${s}`));
      step.logits!.dispose();
    }
    for (let l = 0; l < f.cfg.num_hidden_layers; l++) worst = Math.max(worst, close(await cache.readLayer(l, 'key'), whole.keys[l], REL_PATHS, `${f.name} f16 layer ${l} K after steps`));
    console.log(`  ${f.name}: f16 decode steps vs one f16 prefill ${worst.toExponential(2)}`);
    cache.dispose();
    let msg = '';
    try { dec.actDtype = 'bf16' as ActDType; } catch (e) { msg = (e as Error).message; }
    assert(msg.includes('activation dtype') && msg.includes('bf16'), `actDtype = 'bf16' is refused naming the option (got "${msg}")`);
    dec.dispose();
  }
} });
