// The LM decoder on tiny random checkpoints written in HF layout: GPU (f32 activations, weights in the checkpoint
// dtype) against the float64 reference, per layer (K after RoPE read from the cache, V, K before RoPE, layer
// outputs) and logits; prefill + decode steps against one prefill; greedy tokens; attention blocking; sharded
// and 16-bit checkpoints. Three flavours: Qwen2 (qkv bias, tied head), Llama (no biases, untied head, θ 5e5),
// Qwen2.5-VL text (M-RoPE [2,3,3] with image-like 3D positions, legacy `model.*` names, config parsed).
import type { TapName } from '../../src/capture/taps.ts';
import { Stage } from '../../src/gpu/stage.ts';
import { acquireGpu } from '../../src/gpu/device.ts';
import { Tensor } from '../../src/gpu/tensor.ts';
import { parseConfig, type Qwen2_5VLConfig, type TextConfig } from '../../src/io/config.ts';
import { openCheckpoint } from '../../src/io/safetensors.ts';
import type { HostTensor } from '../../src/gpu/hostTensor.ts';
import { Decoder, type DecoderNames } from '../../src/models/lm/decoder.ts';
import { greedyDecode } from '../../src/models/lm/greedy.ts';
import type { AttentionBlockSpec } from '../../src/capture/interventions.ts';
import { decoderForwardRef, type DecoderRefWeights, embedRef, loadDecoderRef } from '../../src/models/ref/decoder.ts';
import { decoderTensors, WeightRng } from '../../src/models/tiny/randomWeights.ts';
import { writeTinyCheckpoint } from '../../src/models/tiny/writeCheckpoint.ts';
import { Weights } from '../../src/models/weights.ts';
import { assert, assertEquals, assertRejects, normwiseError } from '../gpu/assert.ts';

const gpu = await acquireGpu();
gpu.poisonNewTensors = true; // any output a kernel leaves unwritten reads as NaN
const opts = { sanitizeResources: false, sanitizeOps: false };
const tmp = await Deno.makeTempDir({ prefix: 'kvscope-decoder-' });
globalThis.addEventListener('unload', () => Deno.removeSync(tmp, { recursive: true }));

// f32 GPU vs float64 reference: max |got − want| ≤ REL · max |want| per compared tensor (normwise, as ggml's
// test-backend-ops). Measured on llvmpipe: ≤ 3.6e-7 for every flavour and dtype (printed); REL leaves ~30×.
const REL = 1e-5;
// GPU vs GPU through other kernel paths (gemv vs tiled matmul, one prefill vs decode steps)
const REL_PATHS = 1e-5;

const base = {
  vocab_size: 301, hidden_size: 64, intermediate_size: 96, num_hidden_layers: 3, num_attention_heads: 4, num_key_value_heads: 2,
  head_dim: 16, hidden_act: 'silu' as const, max_position_embeddings: 512, use_sliding_window: false, bos_token_id: null, pad_token_id: null,
  mlp_bias: false, o_bias: false, mrope_section: null,
};
const qwen2Cfg: TextConfig = { ...base, model_type: 'qwen2', rms_norm_eps: 1e-6, rope_theta: 1e6, qkv_bias: true, tie_word_embeddings: true, eos_token_id: null };
const llamaCfg: TextConfig = { ...base, model_type: 'llama', rms_norm_eps: 1e-5, rope_theta: 5e5, qkv_bias: false, tie_word_embeddings: false, eos_token_id: null };
// Qwen2.5-VL: a minimal config.json through parseConfig (the text config it yields drives the test)
const qwenVlJson = {
  model_type: 'qwen2_5_vl', image_token_id: 7, video_token_id: 8, vision_start_token_id: 5, vision_end_token_id: 6, tie_word_embeddings: true,
  text_config: { model_type: 'qwen2_5_vl_text', vocab_size: 301, hidden_size: 64, intermediate_size: 96, num_hidden_layers: 3, num_attention_heads: 4,
    num_key_value_heads: 2, rope_theta: 10000, rms_norm_eps: 1e-6, rope_scaling: { type: 'default', mrope_section: [2, 3, 3] } },
  vision_config: { depth: 1, hidden_size: 32, num_heads: 2, intermediate_size: 32, out_hidden_size: 64, fullatt_block_indexes: [0] },
};
const mropeCfg = (parseConfig(qwenVlJson) as Qwen2_5VLConfig).text_config;

const NEW: DecoderNames = { prefix: 'model.language_model.', lmHead: 'lm_head.weight' };

interface Flavour { name: string; cfg: TextConfig; dir: string; names: DecoderNames }

async function writeFlavour(name: string, cfg: TextConfig, storedPrefix: string, lmHead: string | null, config: object, dtype: 'F32' | 'F16' | 'BF16' = 'F32', shards?: number): Promise<Flavour> {
  const dir = `${tmp}/${name}`;
  await writeTinyCheckpoint(dir, { config, tensors: decoderTensors(new WeightRng(1234), cfg, storedPrefix, { lmHead }), dtype, shards });
  return { name, cfg, dir, names: NEW };
}

const qwen2 = await writeFlavour('qwen2', qwen2Cfg, NEW.prefix, null, qwen2Cfg, 'F32', 3);
const llama = await writeFlavour('llama', llamaCfg, NEW.prefix, 'lm_head.weight', llamaCfg);
// legacy Qwen2.5-VL names (`model.layers.*`), loaded under the new prefix through the checkpoint's name mapping
const qwenVl = await writeFlavour('qwen2_5_vl', mropeCfg, 'model.', null, qwenVlJson);
// untied (as Qwen2.5-VL-7B): a tied random head tends to repeat the input token, which would hide greedy bugs
const qwenVlUntied = await writeFlavour('qwen2_5_vl-untied', { ...mropeCfg, tie_word_embeddings: false }, 'model.', 'lm_head.weight', { ...qwenVlJson, tie_word_embeddings: false });

async function open(f: Flavour, dir = f.dir): Promise<{ dec: Decoder; ref: DecoderRefWeights }> {
  const weights = new Weights(await openCheckpoint(dir));
  return { dec: await Decoder.load(gpu, weights, f.cfg, f.names), ref: await loadDecoderRef(weights, f.cfg, f.names) };
}

function ids(n: number, seed: number, vocab: number): number[] {
  const rng = new WeightRng(seed);
  return Array.from({ length: n }, () => Math.floor(rng.uniform() * vocab));
}

/** Qwen2.5-VL-style positions: 3 text tokens, a 2×3 image grid at st = 3 (t = 3, h = 3 + r, w = 3 + c), text from 3 + max(2, 3). */
function imagePositions(textAfter: number): { pos: number[][]; delta: number } {
  const t: number[] = [0, 1, 2], h: number[] = [0, 1, 2], w: number[] = [0, 1, 2];
  for (let r = 0; r < 2; r++) for (let c = 0; c < 3; c++) { t.push(3); h.push(3 + r); w.push(3 + c); }
  for (let i = 0; i < textAfter; i++) for (const a of [t, h, w]) a.push(6 + i);
  const seq = t.length, maxPos = 6 + textAfter - 1;
  return { pos: [t, h, w], delta: maxPos + 1 - seq };
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** Normwise closeness; returns the measured relative error. */
/** Normwise closeness; returns the measured relative error. */
function close(got: ArrayLike<number>, want: ArrayLike<number>, rel: number, what: string): number {
  const e = normwiseError(got, want, what);
  assert(e <= rel, `${what}: normwise error ${e.toExponential(2)} > ${rel}`);
  return e;
}

function argmaxRow(t: HostTensor, row: number): { id: number; margin: number } {
  const v = t.shape[1];
  let best = -Infinity, second = -Infinity, id = -1;
  for (let j = 0; j < v; j++) {
    const x = t.data[row * v + j];
    if (x > best) { second = best; best = x; id = j; } else if (x > second) second = x;
  }
  return { id, margin: best - second };
}

/** Prefill on the GPU with all taps and compare every layer and the logits with the reference. */
async function parity(f: Flavour, h: { ids?: number[]; values?: Float32Array }, positions: number[] | number[][], block?: AttentionBlockSpec, label = f.name): Promise<number> {
  const { dec, ref } = await open(f);
  const seq = h.ids?.length ?? h.values!.length / f.cfg.hidden_size;
  const hRef = h.ids ? embedRef(ref, h.ids) : { shape: [seq, f.cfg.hidden_size], data: Float64Array.from(h.values!) };
  const hGpu = Tensor.from(gpu, 'f32', [seq, f.cfg.hidden_size], h.values ?? new Float32Array(seq * f.cfg.hidden_size), 'h');
  if (h.ids) await Stage.run(gpu, 'embed', (st) => dec.embed(st, h.ids!, hGpu));
  const cache = dec.newCache(seq + 5);
  const taps = Array.from({ length: f.cfg.num_hidden_layers }, (_, l): TapName[] => [`lm.layers.${l}.attn.k_pre_rope`, `lm.layers.${l}.out`]).flat();
  const out = await dec.run(h.ids ? { ids: h.ids } : { h: hGpu }, { cache, start: 0, positions, logits: 'all', taps, block });
  const want = decoderForwardRef(ref, f.cfg, hRef, positions, { block });
  assertEquals(cache.length, seq, 'cache.length after prefill');
  let worst = 0;
  if (h.ids) worst = Math.max(worst, close(await hGpu.read(), hRef.data, REL, `${label} embeddings`));
  for (let l = 0; l < f.cfg.num_hidden_layers; l++) {
    worst = Math.max(worst,
      close(await cache.readLayer(l, 'key'), want.keys[l].data, REL, `${label} layer ${l} K (post-RoPE, cache)`),
      close(await cache.readLayer(l, 'value'), want.values[l].data, REL, `${label} layer ${l} V`),
      close(await out.taps.get(`lm.layers.${l}.attn.k_pre_rope`)!.read(), want.preRopeKeys[l].data, REL, `${label} layer ${l} K pre-RoPE`),
      close(await out.taps.get(`lm.layers.${l}.out`)!.read(), want.hidden[l].data, REL, `${label} layer ${l} output`));
  }
  worst = Math.max(worst, close(await out.logits!.read(), want.logits.data, REL, `${label} logits`));
  assertEquals(out.logits!.shape, [seq, f.cfg.vocab_size], 'logits shape');
  console.log(`  ${label}: max normwise error vs float64 ${worst.toExponential(2)}`);
  for (const t of [hGpu, out.logits!, ...out.taps.values()]) t.dispose();
  cache.dispose();
  dec.dispose();
  return worst;
}

Deno.test({ name: 'Qwen2 flavour (qkv bias, tied head): every layer and the logits match the float64 reference', ...opts, async fn() {
  await parity(qwen2, { ids: ids(11, 1, 301) }, [...Array(11).keys()]);
} });

Deno.test({ name: 'Llama flavour (no biases, untied lm_head, θ 5e5): every layer and the logits match the reference', ...opts, async fn() {
  // positions that do not start at 0 (a continued sequence's numbering) exercise the rotation angles
  await parity(llama, { ids: ids(9, 2, 301) }, [...Array(9).keys()].map((i) => 3 * i + 5));
} });

Deno.test({ name: 'Qwen2.5-VL flavour: M-RoPE [2,3,3] with image-grid 3D positions matches the reference (legacy names)', ...opts, async fn() {
  const { pos } = imagePositions(3);
  const seq = pos[0].length;
  const rng = new WeightRng(3);
  // inputs as a projector would give them: arbitrary rows, not embeddings
  await parity(qwenVl, { values: rng.normals(seq * 64, 1) }, pos);
  // the 3D positions matter: the same rows with 1D positions give other keys
  const { dec, ref } = await open(qwenVl);
  const h = embedRef(ref, ids(seq, 4, 301));
  const a = decoderForwardRef(ref, mropeCfg, h, pos), b = decoderForwardRef(ref, mropeCfg, h, [...Array(seq).keys()]);
  assert(maxAbs(a.keys[0].data.map((x, i) => x - b.keys[0].data[i])) > 1e-2, 'M-RoPE positions change the keys');
  dec.dispose();
} });

Deno.test({ name: 'an M-RoPE decoder given 1D positions uses them on all three axes (GPU = reference = explicit [3][S])', ...opts, async fn() {
  const toks = ids(9, 21, 301), pos1d = [...Array(9).keys()].map((p) => p * 3 + 1);
  // the parity path: GPU with 1D positions against the reference with 1D positions, every layer
  await parity(qwenVl, { ids: toks }, pos1d, undefined, 'qwen2_5_vl 1D positions');
  // and the GPU with 1D positions equals the GPU with the same positions written out on t, h and w
  const { dec } = await open(qwenVl);
  const run = async (positions: number[] | number[][]) => {
    const cache = dec.newCache(12);
    const out = await dec.run({ ids: toks }, { cache, start: 0, positions, logits: 'all' });
    const logits = [...(await out.logits!.read())];
    out.logits!.dispose();
    cache.dispose();
    return logits;
  };
  assertEquals(await run(pos1d), await run([pos1d, pos1d, pos1d]), '1D = [t, h, w] all equal');
  dec.dispose();
} });

Deno.test({ name: 'the MLP in blocks of 5 token rows matches the float64 reference and equals the unblocked MLP; one block runs the same dispatches', ...opts, async fn() {
  for (const [f, positions] of [[qwen2, [...Array(13).keys()]], [qwenVl, imagePositions(7).pos]] as const) {
    const seq = Array.isArray(positions[0]) ? (positions[0] as number[]).length : positions.length;
    const toks = ids(seq, 31, 301);
    const { dec, ref } = await open(f);
    const taps = Array.from({ length: f.cfg.num_hidden_layers }, (_, l): TapName => `lm.layers.${l}.out`);
    const run = async (blockRows: number) => {
      dec.mlpBlockRows = blockRows;
      const cache = dec.newCache(seq);
      const before = gpu.stats.dispatches;
      const out = await dec.run({ ids: toks }, { cache, start: 0, positions: positions as number[] | number[][], logits: 'all', taps });
      const dispatches = gpu.stats.dispatches - before;
      const hidden = await Promise.all(taps.map((t) => out.taps.get(t)!.read()));
      const keys = await Promise.all(taps.map((_, l) => cache.readLayer(l, 'key')));
      const logits = await out.logits!.read();
      for (const t of [out.logits!, ...out.taps.values()]) t.dispose();
      cache.dispose();
      return { dispatches, hidden, keys, logits };
    };
    const whole = await run(4096), one = await run(seq), blocked = await run(5), again = await run(4096);
    // 13 rows (16 with the image grid) in blocks of 5: 3 or 4 blocks, the last one short
    assertEquals(one.dispatches, whole.dispatches, `${f.name}: a sequence of one block (mlpBlockRows = S) runs the unblocked dispatches`);
    assertEquals(again.dispatches, whole.dispatches, `${f.name}: unblocked again after a blocked forward`);
    assert(blocked.dispatches > whole.dispatches, `${f.name}: the blocked MLP dispatches per block (${blocked.dispatches} vs ${whole.dispatches})`);
    const want = decoderForwardRef(ref, f.cfg, embedRef(ref, toks), positions as number[] | number[][]);
    let worst = 0;
    for (let l = 0; l < f.cfg.num_hidden_layers; l++) {
      worst = Math.max(worst, close(blocked.hidden[l], want.hidden[l].data, REL, `${f.name} blocked layer ${l} output`), close(blocked.keys[l], want.keys[l].data, REL, `${f.name} blocked layer ${l} K`));
      assertEquals([...blocked.hidden[l]], [...whole.hidden[l]], `${f.name} layer ${l} output: blocked = unblocked`);
      assertEquals([...again.hidden[l]], [...whole.hidden[l]], `${f.name} layer ${l} output: unblocked twice`);
    }
    worst = Math.max(worst, close(blocked.logits, want.logits.data, REL, `${f.name} blocked logits`));
    assertEquals([...blocked.logits], [...whole.logits], `${f.name} logits: blocked = unblocked`);
    console.log(`  ${f.name} MLP in blocks of 5 over ${seq} rows: max normwise error vs float64 ${worst.toExponential(2)}; ${blocked.dispatches} dispatches vs ${whole.dispatches} unblocked`);
    dec.dispose();
  }
  const { dec } = await open(qwen2);
  for (const bad of [0, -1, 2.5]) {
    let msg = '';
    try { dec.mlpBlockRows = bad; } catch (e) { msg = (e as Error).message; }
    assert(msg.includes('mlpBlockRows'), `mlpBlockRows = ${bad} is refused naming the option (got "${msg}")`);
  }
  dec.dispose();
} });

Deno.test({ name: 'prefill then 3 decode steps equals one prefill of the whole sequence (cache, logits), 1D and M-RoPE', ...opts, async fn() {
  for (const f of [qwen2, qwenVl]) {
    const { dec } = await open(f);
    const toks = ids(11, 5, 301);
    const posAll: number[][] = f.cfg.mrope_section ? imagePositions(2).pos : [[...Array(11).keys()]];
    const cut = (p: number[][], a: number, b: number) => (f.cfg.mrope_section ? p.map((r) => r.slice(a, b)) : p[0].slice(a, b));
    const full = dec.newCache(16), stepped = dec.newCache(16);
    const one = await dec.run({ ids: toks }, { cache: full, start: 0, positions: cut(posAll, 0, 11), logits: 'all' });
    const allLogits = (await one.logits!.read()) as Float32Array;
    const v = f.cfg.vocab_size;
    const pre = await dec.run({ ids: toks.slice(0, 8) }, { cache: stepped, start: 0, positions: cut(posAll, 0, 8), logits: 'last' });
    assertEquals(pre.logits!.shape, [1, v], "'last' logits shape");
    close(await pre.logits!.read(), allLogits.subarray(7 * v, 8 * v), REL_PATHS, `${f.name} prefill 'last' row`);
    for (let s = 8; s < 11; s++) {
      const step = await dec.run({ ids: [toks[s]] }, { cache: stepped, start: stepped.length, positions: cut(posAll, s, s + 1), logits: 'last' });
      assertEquals(stepped.length, s + 1, 'cache.length after a decode step');
      close(await step.logits!.read(), allLogits.subarray(s * v, (s + 1) * v), REL_PATHS, `${f.name} decode step ${s} logits`);
    }
    for (let l = 0; l < f.cfg.num_hidden_layers; l++) {
      for (const which of ['key', 'value'] as const) close(await stepped.readLayer(l, which), await full.readLayer(l, which), REL_PATHS, `${f.name} layer ${l} ${which} cache`);
    }
    // logits 'none' runs the layers and fills the cache but returns no logits
    const again = dec.newCache(16);
    const none = await dec.run({ ids: toks }, { cache: again, start: 0, positions: cut(posAll, 0, 11), logits: 'none' });
    assertEquals(none.logits, null, "'none' logits");
    close(await again.readLayer(2, 'key'), await full.readLayer(2, 'key'), 0, `${f.name} cache after logits 'none'`);
    dec.dispose();
  }
} });

Deno.test({ name: 'greedyDecode reproduces the reference greedy tokens (1D; M-RoPE with rope_delta), and stops on a stop token', ...opts, async fn() {
  for (const f of [llama, qwenVlUntied]) {
    const { dec, ref } = await open(f);
    const prompt = ids(9, 6, 301);
    const img = imagePositions(0);
    const pos: number[][] = f.cfg.mrope_section ? img.pos : [[...Array(9).keys()]];
    const delta = f.cfg.mrope_section ? img.delta : 0;
    // reference: re-run the whole sequence per token, new token at cache index c gets position c + rope_delta
    const seq = [...prompt], refPos = pos.map((r) => [...r]);
    const want: number[] = [];
    for (let n = 0; n < 6; n++) {
      const r = decoderForwardRef(ref, f.cfg, embedRef(ref, seq), f.cfg.mrope_section ? refPos : refPos[0]);
      const { id, margin } = argmaxRow(r.logits, seq.length - 1);
      assert(margin > 1e-3 * maxAbs(r.logits.data), `reference top-2 gap ${margin} is too small for a stable greedy comparison`);
      want.push(id);
      for (const row of refPos) row.push(seq.length + delta);
      seq.push(id);
    }
    const cache = dec.newCache(20);
    const pre = await dec.run({ ids: prompt }, { cache, start: 0, positions: f.cfg.mrope_section ? pos : pos[0], logits: 'last' });
    const got = await greedyDecode(dec, cache, pre.logits!, { maxNewTokens: 6, stop: [], positionOf: (c) => c + delta });
    assertEquals(got, want, `${f.name} greedy tokens`);
    console.log(`  ${f.name}: greedy ${got.join(' ')}`);
    assert(new Set(want).size > 1, `${f.name}: the greedy tokens are not all one id (the comparison discriminates)`);
    assertEquals(cache.length, 9 + 5, 'the last token is returned, not run');
    // a stop token ends decoding and is returned (HF generate keeps the EOS)
    const cache2 = dec.newCache(20);
    const pre2 = await dec.run({ ids: prompt }, { cache: cache2, start: 0, positions: f.cfg.mrope_section ? pos : pos[0], logits: 'last' });
    const stopAt = want.findIndex((t, i) => i >= 1 && want.indexOf(t) === i); // first token new at its step
    const stopped = await greedyDecode(dec, cache2, pre2.logits!, { maxNewTokens: 6, stop: [want[stopAt]], positionOf: (c) => c + delta });
    assertEquals(stopped, want.slice(0, stopAt + 1), `${f.name} tokens up to the stop token`);
    dec.dispose();
  }
} });

Deno.test({ name: 'attention blocking changes exactly the blocked queries in the named layers and matches the reference (prefill and decode)', ...opts, async fn() {
  const f = qwen2;
  const { dec, ref } = await open(f);
  const toks = ids(11, 7, 301), pos = [...Array(11).keys()];
  const block: AttentionBlockSpec = { layers: [1, 2], rules: [{ queries: [7, 11], keys: [[2, 5]] }] };
  await parity(f, { ids: toks }, pos, block, 'qwen2 blocked');
  const h = embedRef(ref, toks);
  const open_ = decoderForwardRef(ref, f.cfg, h, pos), blocked = decoderForwardRef(ref, f.cfg, h, pos, { block });
  // layer 0 is untouched; in layer 1 queries < 7 are untouched and queries ≥ 7 change
  assertEquals([...blocked.hidden[0].data], [...open_.hidden[0].data], 'layer 0 (not blocked)');
  const row = (t: HostTensor, a: number, b: number) => t.data.subarray(a * 64, b * 64);
  assertEquals([...row(blocked.hidden[1], 0, 7)], [...row(open_.hidden[1], 0, 7)], 'unblocked queries of layer 1');
  const diff = maxAbs(row(blocked.hidden[1], 7, 11).map((x, i) => x - row(open_.hidden[1], 7, 11)[i]));
  assert(diff > 1e-2, `blocked queries of layer 1 change (max diff ${diff})`);
  // the GPU blocked run differs from the GPU open run where the reference says so
  const c1 = dec.newCache(12), c2 = dec.newCache(12);
  const a = (await (await dec.run({ ids: toks }, { cache: c1, start: 0, positions: pos, logits: 'all' })).logits!.read()) as Float32Array;
  const b = (await (await dec.run({ ids: toks }, { cache: c2, start: 0, positions: pos, logits: 'all', block })).logits!.read()) as Float32Array;
  close(a.subarray(0, 7 * 301), b.subarray(0, 7 * 301), 1e-6, 'unblocked rows unchanged');
  assert(maxAbs(a.subarray(7 * 301).map((x, i) => x - b[7 * 301 + i])) > 1e-2, 'blocked rows change on the GPU');
  // decode: rules index this call's queries (query 0 = the new token) and absolute key positions
  const c3 = dec.newCache(12);
  await dec.run({ ids: toks.slice(0, 10) }, { cache: c3, start: 0, positions: pos.slice(0, 10), logits: 'none' });
  const stepBlock: AttentionBlockSpec = { layers: 'all', rules: [{ queries: [0, 1], keys: [[2, 5]] }] };
  const step = await dec.run({ ids: [toks[10]] }, { cache: c3, start: 10, positions: [10], logits: 'last', block: stepBlock });
  const wantStep = decoderForwardRef(ref, f.cfg, h, pos, { block: { layers: 'all', rules: [{ queries: [10, 11], keys: [[2, 5]] }] } });
  close(await step.logits!.read(), wantStep.logits.data.subarray(10 * 301), REL, 'blocked decode step logits');
  dec.dispose();
} });

Deno.test({ name: 'the sharded checkpoint loads to identical outputs', ...opts, async fn() {
  const toks = ids(7, 8, 301), pos = [...Array(7).keys()];
  const run = async (dir: string) => {
    const { dec } = await open(qwen2, dir);
    const cache = dec.newCache(8);
    const out = await dec.run({ ids: toks }, { cache, start: 0, positions: pos, logits: 'all' });
    const r = { logits: [...(await out.logits!.read())], bytes: dec.weightBytes };
    dec.dispose();
    return r;
  };
  const shards = [...Deno.readDirSync(`${qwen2.dir}-sharded`)].map((e) => e.name).filter((n) => n.endsWith('.safetensors')).sort();
  assertEquals(shards, ['model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors'], 'shard files');
  const single = await run(qwen2.dir), sharded = await run(`${qwen2.dir}-sharded`);
  assertEquals(sharded.bytes, single.bytes, 'weight bytes');
  assertEquals(sharded.logits, single.logits, 'logits');
} });

Deno.test({ name: 'F16 and BF16 checkpoints run with 16-bit weights on the GPU and match the reference on the same weights', ...opts, async fn() {
  const f32 = await open(llama);
  const bytes32 = f32.dec.weightBytes;
  f32.dec.dispose();
  for (const dtype of ['F16', 'BF16'] as const) {
    for (const [f, cfgJson, lmHead] of [[llama, llamaCfg, 'lm_head.weight'], [qwen2, qwen2Cfg, null]] as const) {
      const g = await writeFlavour(`${f.name}-${dtype}`, f.cfg, NEW.prefix, lmHead, cfgJson, dtype);
      const { dec } = await open(g);
      if (f === llama) assertEquals(dec.weightBytes * 2, bytes32, `${dtype} weights take half the f32 bytes on the GPU`);
      dec.dispose();
      await parity(g, { ids: ids(8, 9, 301) }, [...Array(8).keys()], undefined, `${g.name}`);
    }
  }
} });

Deno.test({ name: 'bad weights and bad forward arguments fail naming the tensor or the argument', ...opts, async fn() {
  const weights = new Weights(await openCheckpoint(llama.dir));
  await assertRejects(() => Decoder.load(gpu, weights, { ...llamaCfg, intermediate_size: 97 }, NEW), /model\.language_model\.layers\.0\.mlp\.gate_proj\.weight: shape \[96, 64\], expected \[97, 64\]/, 'intermediate size mismatch');
  await assertRejects(() => Decoder.load(gpu, weights, { ...llamaCfg, qkv_bias: true }, NEW), /missing tensor model\.language_model\.layers\.0\.self_attn\.q_proj\.bias/, 'absent bias');
  const dec = await Decoder.load(gpu, weights, llamaCfg, NEW);
  const cache = dec.newCache(4);
  const h = { ids: [1, 2, 3] };
  await assertRejects(() => dec.run(h, { cache, start: 0, positions: [0, 1], logits: 'all' }), /positions has 2 entries for 3 tokens/, 'short positions');
  await assertRejects(() => dec.run(h, { cache, start: 0, positions: [[0, 1, 2], [0, 1, 2], [0, 1, 2]], logits: 'all' }), /uses 1D RoPE/, '3D positions on 1D RoPE');
  await assertRejects(() => dec.run(h, { cache, start: 2, positions: [0, 1, 2], logits: 'all' }), /start 2 must be in 0\.\.cache\.length \(0\)/, 'start past the cache');
  await assertRejects(() => dec.run(h, { cache: dec.newCache(2), start: 0, positions: [0, 1, 2], logits: 'all' }), /do not fit the cache capacity 2/, 'capacity');
  await assertRejects(() => dec.run({ ids: [301] }, { cache, start: 0, positions: [0], logits: 'all' }), /token id 301 is outside the vocabulary/, 'token id');
  await assertRejects(() => dec.run({ h: Tensor.empty(gpu, 'f32', [3, 7], 'narrow h') }, { cache, start: 0, positions: [0, 1, 2], logits: 'all' }), /h \(narrow h\) is \[3, 7\], expected \[S, 64\]/, 'h width');
  // a failed call leaves the decoder usable: the next one runs (no leaked error scope, the run state intact)
  const ok = await dec.run(h, { cache, start: 0, positions: [0, 1, 2], logits: 'last' });
  assertEquals(ok.logits!.shape, [1, 301], 'a call after failures runs');
  ok.logits!.dispose();
  dec.dispose();
} });

// Tensor.reshape (added to src/gpu/tensor.ts for the decoder's [S, heads·d] -> [S, heads, d] views)
Deno.test({ name: 'Tensor.reshape: a view on the same storage that owns nothing', ...opts, async fn() {
  const t = Tensor.from(gpu, 'f32', [2, 6], [...Array(12).keys()], 't');
  const v = t.reshape([2, 3, 2]);
  assertEquals([v.shape, v.rows, v.rowLength], [[2, 3, 2], 6, 2], 'view shape');
  assertEquals([...(await v.read())], [...Array(12).keys()], 'same data');
  v.dispose();
  assertEquals([...(await t.read())].length, 12, 'disposing the view leaves the storage');
  let threw = false;
  try { t.reshape([5]); } catch (e) { threw = /element counts differ/.test((e as Error).message); }
  assert(threw, 'reshape to another element count fails');
  const w = t.reshape([12]);
  t.dispose();
  threw = false;
  try { await w.read(); } catch (e) { threw = /used after dispose/.test((e as Error).message); }
  assert(threw, 'a view of a disposed tensor cannot be read');
} });
