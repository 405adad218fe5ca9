// The language-model decoder shared by the three assemblies (Qwen2 for LLaVA-OneVision, Llama 3 for LLaVA-NeXT,
// Qwen2.5-VL text with M-RoPE): pre-norm layers over the static KV cache, then the final norm and the LM head.
// Per layer (one Stage each, no readback):
//   x = RMSNorm(h); q, k, v = x·Wᵀ (+b); RoPE / M-RoPE on q, k; cache[l] ← (k, v) at `start`;
//   h += o_proj(attention(q, cache, causal, GQA, blocking)); h += down(silu(gate(RMSNorm(h))) ⊙ up(·)), with gate_proj
//   and up_proj stacked into one [2I, H] projection at load (one matmul and the fused activation). Each residual add
//   and the RMSNorm after it are one dispatch (ops/norm.ts addRmsNorm, bit-identical to the two): the MLP's input
//   norm, and the next layer's input norm at the end of a layer. 13 dispatches per decode layer without biases.
// The MLP of a long prefill runs in blocks of at most `mlpBlockRows` token rows (default MLP_BLOCK_ROWS), so its
// widest buffers, gate·up [block, 2I] and act [block, I], do not grow with the sequence: per block, x̂'s rows are
// copied out, projected, activated, projected down and copied back into the MLP output. A sequence that fits one
// block runs exactly the unblocked ops.
// Activation dtype (`actDtype`, default f32): with 'f16' the matmul inputs — x̂ (every RMSNorm's output) and the gated
// product act — are stored as f16 (rounded to nearest even from the f32 result) and widened to f32 at the matmul's
// load; the residual stream h, q/k/v, attention, the projections' outputs, gate·up and all accumulation stay f32.
import { OpArgumentError } from '../../gpu/errors.ts';
import type { Gpu } from '../../gpu/device.ts';
import { Stage } from '../../gpu/stage.ts';
import { Tensor } from '../../gpu/tensor.ts';
import type { TextConfig } from '../../io/config.ts';
import { activationFromConfig, gatedActivationFused } from '../../ops/activation.ts';
import { add } from '../../ops/add.ts';
import { attention, type BlockMask, blockMaskBits } from '../../ops/attention.ts';
import { embedding } from '../../ops/embedding.ts';
import { kvWrite } from '../../ops/kvWrite.ts';
import { matmul } from '../../ops/matmul.ts';
import { addRmsNorm, rmsNorm } from '../../ops/norm.ts';
import { mrope, rope as rope1d, type RopeIntoCache } from '../../ops/rope.ts';
import { copyInto, scatterRows, sliceRows } from '../../ops/rows.ts';
import { type AttentionBlockSpec, blocksLayer } from '../../capture/interventions.ts';
import { KvCache, type KvDType } from '../../capture/kvCache.ts';
import { planTaps, type TapName } from '../../capture/taps.ts';
import { type ActDType, checkBlockRows, firstRows, inRowBlocks, MLP_BLOCK_ROWS, RunState, type StateTensors } from '../runState.ts';
export { MLP_BLOCK_ROWS } from '../runState.ts';
import { lmHeadTensorName, type Weights } from '../weights.ts';

export interface DecoderNames {
  /** Prefix of the decoder's tensors, e.g. 'model.language_model.' (Weights resolves legacy names). */
  prefix: string;
  /** 'lm_head.weight'; falls back to `${prefix}embed_tokens.weight` when absent (tied). */
  lmHead: string;
}

/** What the decoder runs on: token ids, or given embeddings h [S, H]; image features [N, H] for N positions. */
export interface DecoderInput {
  ids?: readonly number[];
  h?: Tensor<'f32'>;
  image?: { features: Tensor<'f32'>; positions: readonly number[] };
}

export interface DecoderForwardOptions {
  cache: KvCache;
  /** Cache position of row 0 (0 for prefill, cache.length for decode). */
  start: number;
  /** [S] for 1D RoPE, [3][S] (t, h, w) for M-RoPE; an M-RoPE model given [S] uses it on all three axes. */
  positions: readonly number[] | readonly (readonly number[])[];
  logits: 'all' | 'last' | 'none';
  /** Activations to keep past their layer: filled in place (`lm.layers.{i}.attn.k_pre_rope`, `lm.layers.{i}.out`). */
  keep?: Map<TapName, Tensor<'f32'>>;
  /** Rules index queries within this call and absolute key positions. */
  block?: AttentionBlockSpec;
}

/** The tensors of one decoder layer: key, HF name under `${prefix}layers.{l}.`, expected shape, whether present. */
export const LAYER_TENSORS = [
  { key: 'inputNorm', name: 'input_layernorm.weight', shape: (c: TextConfig) => [c.hidden_size], on: (_c: TextConfig) => true },
  { key: 'q', name: 'self_attn.q_proj.weight', shape: (c: TextConfig) => [c.num_attention_heads * c.head_dim, c.hidden_size], on: (_c: TextConfig) => true },
  { key: 'qBias', name: 'self_attn.q_proj.bias', shape: (c: TextConfig) => [c.num_attention_heads * c.head_dim], on: (c: TextConfig) => c.qkv_bias },
  { key: 'k', name: 'self_attn.k_proj.weight', shape: (c: TextConfig) => [c.num_key_value_heads * c.head_dim, c.hidden_size], on: (_c: TextConfig) => true },
  { key: 'kBias', name: 'self_attn.k_proj.bias', shape: (c: TextConfig) => [c.num_key_value_heads * c.head_dim], on: (c: TextConfig) => c.qkv_bias },
  { key: 'v', name: 'self_attn.v_proj.weight', shape: (c: TextConfig) => [c.num_key_value_heads * c.head_dim, c.hidden_size], on: (_c: TextConfig) => true },
  { key: 'vBias', name: 'self_attn.v_proj.bias', shape: (c: TextConfig) => [c.num_key_value_heads * c.head_dim], on: (c: TextConfig) => c.qkv_bias },
  { key: 'o', name: 'self_attn.o_proj.weight', shape: (c: TextConfig) => [c.hidden_size, c.num_attention_heads * c.head_dim], on: (_c: TextConfig) => true },
  { key: 'oBias', name: 'self_attn.o_proj.bias', shape: (c: TextConfig) => [c.hidden_size], on: (c: TextConfig) => c.o_bias },
  { key: 'postNorm', name: 'post_attention_layernorm.weight', shape: (c: TextConfig) => [c.hidden_size], on: (_c: TextConfig) => true },
  { key: 'gate', name: 'mlp.gate_proj.weight', shape: (c: TextConfig) => [c.intermediate_size, c.hidden_size], on: (_c: TextConfig) => true },
  { key: 'gateBias', name: 'mlp.gate_proj.bias', shape: (c: TextConfig) => [c.intermediate_size], on: (c: TextConfig) => c.mlp_bias },
  { key: 'up', name: 'mlp.up_proj.weight', shape: (c: TextConfig) => [c.intermediate_size, c.hidden_size], on: (_c: TextConfig) => true },
  { key: 'upBias', name: 'mlp.up_proj.bias', shape: (c: TextConfig) => [c.intermediate_size], on: (c: TextConfig) => c.mlp_bias },
  { key: 'down', name: 'mlp.down_proj.weight', shape: (c: TextConfig) => [c.hidden_size, c.intermediate_size], on: (_c: TextConfig) => true },
  { key: 'downBias', name: 'mlp.down_proj.bias', shape: (c: TextConfig) => [c.hidden_size], on: (c: TextConfig) => c.mlp_bias },
] as const;

export type LayerTensorKey = (typeof LAYER_TENSORS)[number]['key'];

/** The LM head's tensor name, tied or not as transformers decides (weights.ts lmHeadTensorName). */
export function lmHeadName(weights: Weights, names: DecoderNames, cfg: TextConfig): string {
  return lmHeadTensorName(weights, cfg.tie_word_embeddings, names.lmHead, `${names.prefix}embed_tokens.weight`);
}

/** Positions as the rope kernels take them: u32 [S] (1D) or [3, S] flattened (M-RoPE), checked against S. */
export function ropePositions(cfg: TextConfig, positions: DecoderForwardOptions['positions'], seq: number): { shape: number[]; values: number[] } {
  const is3d = positions.length > 0 && Array.isArray(positions[0]);
  let rows: readonly (readonly number[])[];
  if (cfg.mrope_section) {
    rows = is3d ? (positions as readonly (readonly number[])[]) : [0, 1, 2].map(() => positions as readonly number[]);
    if (rows.length !== 3) throw new Error(`decoder: M-RoPE positions need 3 rows (t, h, w), got ${rows.length}`);
  } else {
    if (is3d) throw new Error(`decoder: ${cfg.model_type} uses 1D RoPE; positions must be [S], got ${positions.length} rows`);
    rows = [positions as readonly number[]];
  }
  for (const [a, row] of rows.entries()) {
    if (row.length !== seq) throw new Error(`decoder: positions${rows.length > 1 ? ` row ${a}` : ''} has ${row.length} entries for ${seq} tokens`);
    for (const p of row) if (!Number.isInteger(p) || p < 0 || p > 0xffffffff) throw new Error(`decoder: position ${p} is not an integer ≥ 0`);
  }
  return { shape: rows.length > 1 ? [3, seq] : [seq], values: rows.flat() };
}

/** One layer on the GPU: gate_proj and up_proj stacked into one [2I, H] projection (one matmul, fused activation). */
type LayerWeights = Record<Exclude<LayerTensorKey, 'gate' | 'up' | 'gateBias' | 'upBias'>, Tensor | undefined> & Record<RequiredKey, Tensor> & {
  gateUp: Tensor;
  gateUpBias: Tensor | undefined;
};
type RequiredKey = 'inputNorm' | 'q' | 'k' | 'v' | 'o' | 'postNorm' | 'down';

/** The activations of one decoder layer (row lengths), held in the decoder's run state: S rows each. */
function layerActivations(c: TextConfig) {
  const H = c.hidden_size, qw = c.num_attention_heads * c.head_dim, kw = c.num_key_value_heads * c.head_dim;
  // h: residual stream (in place across layers); hAttn: h after attention; proj: o_proj / down_proj output
  return { h: H, hAttn: H, xn: H, q: qw, k: kw, v: kw, attn: qw, proj: H };
}
type LayerActivation = keyof ReturnType<typeof layerActivations>;
/** Every layer activation f32 but x̂, in the activation dtype. */
type LayerDTypes = Record<Exclude<LayerActivation, 'xn'>, 'f32'> & { xn: ActDType };
type LayerState = StateTensors<LayerActivation, LayerDTypes>;

/** The MLP's own buffers, min(S, mlpBlockRows) rows each; xn and proj (a block's input and output) only when blocked. */
function mlpActivations(c: TextConfig) {
  return { gateUp: 2 * c.intermediate_size, act: c.intermediate_size };
}
type MlpActivation = keyof ReturnType<typeof mlpActivations>;

/** The activation dtypes a decoder accepts ('f16' needs no device feature: halves are packed in u32 words). */
export function checkActDType(dtype: string, what = 'decoder'): ActDType {
  if (dtype !== 'f32' && dtype !== 'f16') throw new Error(`${what}: activation dtype must be f32 or f16, got '${dtype}'`);
  return dtype;
}

export class Decoder {
  private constructor(
    readonly gpu: Gpu,
    readonly config: TextConfig,
    private readonly embedTokens: Tensor,
    private readonly layers: LayerWeights[],
    private readonly finalNorm: Tensor,
    private readonly lmHead: Tensor,
    readonly weightBytes: number,
  ) {
    this.makeStates('f32');
  }

  /** The run states for one activation dtype (empty until the first forward). */
  private makeStates(act: ActDType): void {
    const c = this.config;
    this.state = new RunState(this.gpu, 'decoder', layerActivations(c), { h: 'f32', hAttn: 'f32', xn: act, q: 'f32', k: 'f32', v: 'f32', attn: 'f32', proj: 'f32' });
    this.mlpState = new RunState(this.gpu, 'decoder mlp', mlpActivations(c), { gateUp: 'f32', act });
    this.mlpBlockState = new RunState(this.gpu, 'decoder mlp block', { x: c.hidden_size, out: c.hidden_size }, { x: act, out: 'f32' });
    this.act = act;
  }

  /** Upload every decoder tensor in its checkpoint dtype, each checked against the shape the config implies. */
  static async load(gpu: Gpu, weights: Weights, cfg: TextConfig, names: DecoderNames): Promise<Decoder> {
    const held: Tensor[] = [];
    const get = async (name: string, shape: number[]) => {
      const t = await weights.gpu(gpu, name, shape);
      held.push(t);
      return t;
    };
    try {
      const h = cfg.hidden_size;
      const embedName = `${names.prefix}embed_tokens.weight`;
      const embed = await get(embedName, [cfg.vocab_size, h]);
      const layers: LayerWeights[] = [];
      for (let l = 0; l < cfg.num_hidden_layers; l++) {
        const at = (key: LayerTensorKey) => LAYER_TENSORS.find((t) => t.key === key)!;
        const name = (key: LayerTensorKey) => `${names.prefix}layers.${l}.${at(key).name}`;
        const lw = {} as Record<string, Tensor | undefined>;
        // [gate; up] stacked: y[:, :I] = gate(x̂), y[:, I:] = up(x̂)
        const stack = async (a: LayerTensorKey, b: LayerTensorKey, label: string) => {
          const t = await weights.gpuRows(gpu, [{ name: name(a), shape: at(a).shape(cfg) }, { name: name(b), shape: at(b).shape(cfg) }], label);
          held.push(t);
          return t;
        };
        for (const t of LAYER_TENSORS) {
          if (t.key === 'gate') lw.gateUp = await stack('gate', 'up', `${names.prefix}layers.${l}.mlp.gate_up`);
          else if (t.key === 'gateBias') lw.gateUpBias = t.on(cfg) ? await stack('gateBias', 'upBias', `${names.prefix}layers.${l}.mlp.gate_up.bias`) : undefined;
          else if (t.key !== 'up' && t.key !== 'upBias') lw[t.key] = t.on(cfg) ? await get(name(t.key), t.shape(cfg)) : undefined;
        }
        layers.push(lw as unknown as LayerWeights);
      }
      const norm = await get(`${names.prefix}norm.weight`, [h]);
      const headName = lmHeadName(weights, names, cfg);
      const head = headName === embedName ? embed : await get(headName, [cfg.vocab_size, h]);
      const bytes = held.reduce((a, t) => a + t.byteLength, 0);
      return new Decoder(gpu, cfg, embed, layers, norm, head, bytes);
    } catch (e) {
      for (const t of held) t.dispose();
      throw e;
    }
  }

  /** A KV cache sized for this decoder, f32 or f16 (f16 needs shader-f16). */
  newCache(capacity: number, dtype: KvDType = 'f32'): KvCache {
    const c = this.config;
    if (capacity > c.max_position_embeddings) {
      throw new OpArgumentError('KV cache', `the sequence needs ${capacity} positions (prompt, image tokens and any new tokens), more than the model's context of text_config.max_position_embeddings = ${c.max_position_embeddings}; shorten the prompt or use fewer or smaller images`);
    }
    return KvCache.create(this.gpu, c.num_hidden_layers, c.num_key_value_heads, capacity, c.head_dim, dtype);
  }

  /** Every activation of a layer, allocated once for the longest sequence and reused by all layers and forwards. */
  private state!: RunState<LayerActivation, LayerDTypes>;
  /** The MLP's gate·up and act, min(S, mlpBlockRows) rows. */
  private mlpState!: RunState<MlpActivation, { gateUp: 'f32'; act: ActDType }>;
  /** A block's copy of x̂ and its down_proj output, allocated only once a sequence is longer than one block. */
  private mlpBlockState!: RunState<'x' | 'out', { x: ActDType; out: 'f32' }>;
  private act: ActDType = 'f32';

  /** Dtype of the stored matmul inputs (x̂, act): 'f32' (default) or 'f16'. Takes effect at the next forward. */
  get actDtype(): ActDType {
    return this.act;
  }

  set actDtype(dtype: ActDType) {
    checkActDType(dtype);
    if (dtype === this.act) return;
    // the next forward runs after any queued one: swap the states there
    this.queue = this.queue.then(() => {
      this.state.dispose(); this.mlpState.dispose(); this.mlpBlockState.dispose();
      this.makeStates(dtype);
    });
    this.act = dtype;
  }

  private blockRows = MLP_BLOCK_ROWS;

  /** Token rows per MLP block (default MLP_BLOCK_ROWS); a positive integer. Takes effect at the next forward. */
  get mlpBlockRows(): number {
    return this.blockRows;
  }

  set mlpBlockRows(rows: number) {
    this.blockRows = checkBlockRows(rows, 'decoder');
  }

  /** Bytes of the run state now allocated (0 before the first forward). */
  get runStateBytes(): number {
    return this.state.byteLength + this.mlpState.byteLength + this.mlpBlockState.byteLength;
  }

  private queue: Promise<unknown> = Promise.resolve();

  /**
   * The whole decoder as one call: the sequence (token embeddings of `ids`, or a given `h` [S, H]; image features
   * scattered over their positions) into the run state, the layers, the head. LM taps (`lm.layers.{i}.*`) come
   * back by name: pre-RoPE keys and layer outputs as kept tensors, cache taps as views of the cache. Calls run one
   * at a time (they share the run state).
   */
  run(input: DecoderInput, opts: Omit<DecoderForwardOptions, 'keep'> & { taps?: readonly TapName[] }): Promise<{ logits: Tensor<'f32'> | null; taps: Map<TapName, Tensor<'f32' | 'f16'>> }> {
    const next = this.queue.then(() => this.runNow(input, opts));
    this.queue = next.catch(() => {});
    return next;
  }

  private async runNow(input: DecoderInput, opts: Omit<DecoderForwardOptions, 'keep'> & { taps?: readonly TapName[] }): Promise<{ logits: Tensor<'f32'> | null; taps: Map<TapName, Tensor<'f32' | 'f16'>> }> {
    const cfg = this.config, gpu = this.gpu;
    const seq = input.ids ? input.ids.length : input.h!.rows;
    if (!seq) throw new Error('decoder: the sequence is empty');
    if (input.h && (input.h.rank !== 2 || input.h.shape[1] !== cfg.hidden_size)) throw new Error(`decoder: h (${input.h.label}) is [${input.h.shape.join(', ')}], expected [S, ${cfg.hidden_size}]`);
    const plan = planTaps(opts.taps ?? [], 0, cfg.num_hidden_layers, 'the decoder');
    const taps = new Map<TapName, Tensor<'f32'>>();
    try {
      for (const l of plan.preRope) taps.set(`lm.layers.${l}.attn.k_pre_rope`, Tensor.empty(gpu, 'f32', [seq, cfg.num_key_value_heads * cfg.head_dim], `lm.layers.${l}.attn.k_pre_rope`));
      for (const l of plan.hidden) taps.set(`lm.layers.${l}.out`, Tensor.empty(gpu, 'f32', [seq, cfg.hidden_size], `lm.layers.${l}.out`));
      const s = this.state.at(seq);
      const h = s.h;
      // inputs_embeds = embed_tokens(input_ids); image features overwrite the image-token rows, in order
      await Stage.run(gpu, 'decoder sequence', (st) => {
        if (input.h) copyInto(st, input.h, h, 0);
        else this.embed(st, input.ids!, h);
        if (input.image) {
          const pos = Tensor.from(gpu, 'u32', [input.image.positions.length], input.image.positions, 'image token positions');
          scatterRows(st, input.image.features, pos, h);
          st.onDone(() => pos.dispose());
        }
        // layer 0's x̂ (every later layer's comes with the residual add before it)
        if (this.layers.length) rmsNorm(st, h, this.layers[0].inputNorm, cfg.rms_norm_eps, s.xn);
      });
      const logits = await this.forward(s, seq, { ...opts, keep: taps });
      // cache taps are views of the cache (in its dtype): [kv_heads, capacity, head_dim], positions 0..cache.length−1 valid
      const all: Map<TapName, Tensor<'f32' | 'f16'>> = taps;
      for (const c of plan.cache) {
        const t = c.which === 'key' ? opts.cache.keys[c.layer] : opts.cache.values[c.layer];
        all.set(c.name, t.reshape(t.shape, c.name));
      }
      return { logits, taps: all };
    } catch (e) {
      for (const t of taps.values()) t.dispose();
      throw e;
    }
  }

  /** out[s] = embed_tokens[ids[s]] (f32), ids checked against the vocabulary. */
  embed(stage: Stage, ids: readonly number[], out: Tensor<'f32'>): void {
    const vocab = this.config.vocab_size;
    for (const id of ids) if (!Number.isInteger(id) || id < 0 || id >= vocab) throw new Error(`decoder.embed: token id ${id} is outside the vocabulary (0..${vocab - 1})`);
    const idT = Tensor.from(this.gpu, 'u32', [ids.length], ids, 'input_ids');
    embedding(stage, idT, this.embedTokens, out);
    stage.onDone(() => idT.dispose());
  }

  /**
   * The decoder layers over the residual stream `run.h` (rows 0..S−1, filled by the caller with layer 0's x̂ in
   * `run.xn`), writing K/V at cache
   * positions start..start+S−1; then the final norm and the LM head. Sets cache.length. One Stage per layer.
   */
  private async forward(s: LayerState, seq: number, opts: DecoderForwardOptions): Promise<Tensor<'f32'> | null> {
    const cfg = this.config, gpu = this.gpu, { cache, start } = opts;
    if (cache.layers !== cfg.num_hidden_layers || cache.kvHeads !== cfg.num_key_value_heads || cache.headDim !== cfg.head_dim) {
      throw new Error(`decoder.forward: cache has ${cache.layers} layers × ${cache.kvHeads} kv heads × ${cache.headDim}, the model ${cfg.num_hidden_layers} × ${cfg.num_key_value_heads} × ${cfg.head_dim}`);
    }
    if (!Number.isInteger(start) || start < 0 || start > cache.length) throw new Error(`decoder.forward: start ${start} must be in 0..cache.length (${cache.length})`);
    if (start + seq > cache.capacity) throw new Error(`decoder.forward: positions ${start}..${start + seq - 1} do not fit the cache capacity ${cache.capacity}`);
    const kvLength = start + seq;
    const pos = ropePositions(cfg, opts.positions, seq);
    const posT = Tensor.from(gpu, 'u32', pos.shape, pos.values, 'positions');
    const block = this.blockMask(opts.block, seq, kvLength);
    try {
      await this.transformer(s, seq, opts, posT, block, kvLength);
    } finally {
      posT.dispose();
      block?.qBits.dispose();
      block?.kBits.dispose();
    }
    cache.length = kvLength;
    if (opts.logits === 'none') return null;
    return await this.head(s, seq, opts.logits);
  }

  /** The decoder layers, one Stage each: the transformer block as a list of ops over the run state. */
  private async transformer(s: LayerState, seq: number, opts: DecoderForwardOptions, posT: Tensor<'u32'>, block: BlockMask | null, kvLength: number): Promise<void> {
    const cfg = this.config, gpu = this.gpu, { cache, start } = opts;
    const heads = cfg.num_attention_heads, kvHeads = cfg.num_key_value_heads, d = cfg.head_dim, eps = cfg.rms_norm_eps;
    const act = activationFromConfig(cfg.hidden_act);
    // RoPE / M-RoPE into `out`, or into a KV cache at `start`
    const rope = (stage: Stage, x: Tensor<'f32'>, to: { out?: Tensor<'f32'>; into?: RopeIntoCache }) =>
      cfg.mrope_section ? mrope(stage, x, posT, { theta: cfg.rope_theta, mropeSection: cfg.mrope_section, ...to }) : rope1d(stage, x, posT, { theta: cfg.rope_theta, ...to });
    const q3 = s.q.reshape([seq, heads, d]);
    // the MLP in blocks of at most `mlpBlockRows` rows: [r0, r0 + n) per block
    const blockRows = Math.min(seq, this.blockRows);
    const m = this.mlpState.at(blockRows);
    const mlp = (st: Stage, w: LayerWeights) => inRowBlocks(st, s.xn, s.proj, blockRows, this.mlpBlockState, (xn, proj, n) => {
      const gateUp = firstRows(m.gateUp, n), a = firstRows(m.act, n);
      matmul(st, xn, w.gateUp, { bias: w.gateUpBias, out: gateUp });
      gatedActivationFused(st, act, gateUp, a);
      matmul(st, a, w.down, { bias: w.downBias, out: proj });
    });
    for (let l = 0; l < cfg.num_hidden_layers; l++) {
      const w = this.layers[l], h = s.h, next = this.layers[l + 1];
      // a kept tap is written in place of the shared buffer
      const k = opts.keep?.get(`lm.layers.${l}.attn.k_pre_rope`) ?? s.k;
      const hidden = opts.keep?.get(`lm.layers.${l}.out`);
      await Stage.run(gpu, `decoder layer ${l}`, (st) => {
        // attention: x̂ = RMSNorm(h), already in s.xn (layer 0: from the sequence stage; later layers: computed with
        // the previous layer's residual add); q, k, v = x̂·Wᵀ + b
        matmul(st, s.xn, w.q, { bias: w.qBias, out: s.q });
        matmul(st, s.xn, w.k, { bias: w.kBias, out: k });
        matmul(st, s.xn, w.v, { bias: w.vBias, out: s.v });
        // RoPE on q (in place); save RoPE(k) and v at positions start.. of the cache (HF layout [kv_head][pos][d])
        rope(st, q3, { out: q3 });
        rope(st, k.reshape([seq, kvHeads, d]), { into: { cache: cache.keys[l], start } });
        kvWrite(st, s.v, cache.values[l], start);
        // attend over keys 0..start+S−1
        attention(st, q3, cache.keys[l], cache.values[l], { kvLength, qStart: start, causal: true, block: block && blocksLayer(opts.block, l) ? block : undefined, out: s.attn });
        // h' = h + o_proj(attn), and x̂ = RMSNorm(h') in the same dispatch
        matmul(st, s.attn, w.o, { bias: w.oBias, out: s.proj });
        addRmsNorm(st, h, s.proj, w.postNorm, eps, s.hAttn, s.xn);
        // MLP: h = h' + down(act(gate(x̂)) ⊙ up(x̂)), with the next layer's x̂ = RMSNorm(h) in the same dispatch
        mlp(st, w);
        if (next) addRmsNorm(st, s.hAttn, s.proj, next.inputNorm, eps, h, s.xn);
        else add(st, s.hAttn, s.proj, h);
        if (hidden) copyInto(st, h, hidden, 0);
      });
    }
  }

  /** logits = lm_head(RMSNorm(h)); 'last' normalises and projects only the last row. */
  private async head(s: LayerState, seq: number, which: 'all' | 'last'): Promise<Tensor<'f32'>> {
    const cfg = this.config;
    const rows = which === 'last' ? 1 : seq;
    const logits = Tensor.empty(this.gpu, 'f32', [rows, cfg.vocab_size], 'logits');
    try {
      await Stage.run(this.gpu, 'decoder head', (st) => {
        const x = rows === seq ? s.h : sliceRows(st, s.h, seq - 1, 1, s.proj.leadingRows(1));
        const xn = s.xn.leadingRows(rows);
        rmsNorm(st, x, this.finalNorm, cfg.rms_norm_eps, xn);
        matmul(st, xn, this.lmHead, { out: logits });
      });
    } catch (e) {
      logits.dispose();
      throw e;
    }
    return logits;
  }

  /** The blocking spec as bit masks (null when nothing is blocked in any layer). */
  private blockMask(block: AttentionBlockSpec | undefined, seq: number, kvLength: number): BlockMask | null {
    if (!block || !block.rules.length || (block.layers !== 'all' && !block.layers.length)) return null;
    const bits = blockMaskBits(block.rules, seq, kvLength);
    return { qBits: Tensor.from(this.gpu, 'u32', [seq], bits.qBits, 'block qBits'), kBits: Tensor.from(this.gpu, 'u32', [kvLength], bits.kBits, 'block kBits') };
  }

  dispose(): void {
    this.state.dispose();
    this.mlpState.dispose();
    this.mlpBlockState.dispose();
    const all = new Set<Tensor>([this.embedTokens, this.finalNorm, this.lmHead, ...this.layers.flatMap((l) => Object.values(l).filter((t): t is Tensor => !!t))]);
    for (const t of all) t.dispose();
  }
}
