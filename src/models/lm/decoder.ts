// The language-model decoder shared by the three assemblies (Qwen2 for LLaVA-OneVision, Llama 3 for LLaVA-NeXT,
// Qwen2.5-VL text with M-RoPE): pre-norm layers over the static KV cache, then the final norm and the LM head.
// Per layer (one Stage each, no readback):
//   x = RMSNorm(h); q, k, v = x·Wᵀ (+b); RoPE / M-RoPE on q, k; cache[l] ← (k, v) at `start`;
//   h += o_proj(attention(q, cache, causal, GQA, blocking)); h += down(silu(gate(RMSNorm(h))) ⊙ up(·)).
import type { Gpu } from '../../gpu/device.ts';
import { Stage } from '../../gpu/stage.ts';
import { Tensor } from '../../gpu/tensor.ts';
import type { TextConfig } from '../../io/config.ts';
import { activationFromConfig, gatedActivation } from '../../ops/activation.ts';
import { add } from '../../ops/add.ts';
import { attention, type BlockMask, blockMaskBits } from '../../ops/attention.ts';
import { embedding } from '../../ops/embedding.ts';
import { kvWrite } from '../../ops/kvWrite.ts';
import { matmul } from '../../ops/matmul.ts';
import { rmsNorm } from '../../ops/norm.ts';
import { mrope, rope } from '../../ops/rope.ts';
import { sliceRows } from '../../ops/rows.ts';
import type { AttentionBlockSpec } from '../model.ts';
import type { Weights } from '../weights.ts';
import { KvCache } from './kvCache.ts';

export interface DecoderNames {
  /** Prefix of the decoder's tensors, e.g. 'model.language_model.' (Weights resolves legacy names). */
  prefix: string;
  /** 'lm_head.weight'; falls back to `${prefix}embed_tokens.weight` when absent (tied). */
  lmHead: string;
}

export interface DecoderTaps {
  /** Keep each layer's keys before RoPE ([S, kvHeads·d]): `lm.layers.{i}.attn.k_pre_rope`. */
  preRopeKeys?: boolean;
  /** Keep each layer's output ([S, H]): `lm.layers.{i}.out`. */
  hidden?: boolean;
}

export interface DecoderForwardOptions {
  cache: KvCache;
  /** Cache position of row 0 (0 for prefill, cache.length for decode). */
  start: number;
  /** [S] for 1D RoPE, [3][S] (t, h, w) for M-RoPE; an M-RoPE model given [S] uses it on all three axes. */
  positions: readonly number[] | readonly (readonly number[])[];
  logits: 'all' | 'last' | 'none';
  taps?: DecoderTaps;
  /** Rules index queries within this call and absolute key positions. */
  block?: AttentionBlockSpec;
}

export interface DecoderForwardResult {
  /** [S, vocab] ('all'), [1, vocab] ('last'), or null ('none'). */
  logits: Tensor<'f32'> | null;
  /** Per layer [S, kvHeads·d] when tapped, else empty. */
  preRopeKeys: Tensor<'f32'>[];
  /** Per layer output [S, H] when tapped, else empty. */
  hidden: Tensor<'f32'>[];
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

/** The LM head's tensor name: `names.lmHead` when the checkpoint has it, else the (tied) token embedding. */
export function lmHeadName(weights: Weights, names: DecoderNames): string {
  return weights.has(names.lmHead) ? names.lmHead : `${names.prefix}embed_tokens.weight`;
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

/** Whether the blocking spec applies to layer l. */
export function blocksLayer(block: AttentionBlockSpec | undefined, l: number): boolean {
  return !!block && (block.layers === 'all' || block.layers.includes(l));
}

type LayerWeights = Partial<Record<LayerTensorKey, Tensor>>;

export class Decoder {
  private constructor(
    readonly gpu: Gpu,
    readonly config: TextConfig,
    private readonly embedTokens: Tensor,
    private readonly layers: LayerWeights[],
    private readonly finalNorm: Tensor,
    private readonly lmHead: Tensor,
    readonly weightBytes: number,
  ) {}

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
        const lw: LayerWeights = {};
        for (const t of LAYER_TENSORS) if (t.on(cfg)) lw[t.key] = await get(`${names.prefix}layers.${l}.${t.name}`, t.shape(cfg));
        layers.push(lw);
      }
      const norm = await get(`${names.prefix}norm.weight`, [h]);
      const headName = lmHeadName(weights, names);
      const head = headName === embedName ? embed : await get(headName, [cfg.vocab_size, h]);
      const bytes = held.reduce((a, t) => a + t.byteLength, 0);
      return new Decoder(gpu, cfg, embed, layers, norm, head, bytes);
    } catch (e) {
      for (const t of held) t.dispose();
      throw e;
    }
  }

  /** A KV cache sized for this decoder. */
  newCache(capacity: number): KvCache {
    const c = this.config;
    return KvCache.create(this.gpu, c.num_hidden_layers, c.num_key_value_heads, capacity, c.head_dim);
  }

  /** Token embeddings [S, H] (f32). */
  async embed(ids: readonly number[]): Promise<Tensor<'f32'>> {
    const vocab = this.config.vocab_size;
    for (const id of ids) if (!Number.isInteger(id) || id < 0 || id >= vocab) throw new Error(`decoder.embed: token id ${id} is outside the vocabulary (0..${vocab - 1})`);
    const stage = new Stage(this.gpu, 'decoder embed');
    const idT = Tensor.from(this.gpu, 'u32', [ids.length], ids, 'input_ids');
    const h = await embedding(stage, idT, this.embedTokens);
    stage.onDone(() => idT.dispose());
    await stage.submit();
    return h;
  }

  /** Run the decoder layers on h [S, H], writing K/V at cache positions start..start+S−1; sets cache.length. */
  async forward(h: Tensor<'f32'>, opts: DecoderForwardOptions): Promise<DecoderForwardResult> {
    const cfg = this.config, gpu = this.gpu, { cache, start } = opts;
    const seq = h.shape[0];
    if (h.rank !== 2 || h.shape[1] !== cfg.hidden_size) throw new Error(`decoder.forward: h (${h.label}) is [${h.shape.join(', ')}], expected [S, ${cfg.hidden_size}]`);
    if (cache.layers !== cfg.num_hidden_layers || cache.kvHeads !== cfg.num_key_value_heads || cache.headDim !== cfg.head_dim) {
      throw new Error(`decoder.forward: cache has ${cache.layers} layers × ${cache.kvHeads} kv heads × ${cache.headDim}, the model ${cfg.num_hidden_layers} × ${cfg.num_key_value_heads} × ${cfg.head_dim}`);
    }
    if (!Number.isInteger(start) || start < 0 || start > cache.length) throw new Error(`decoder.forward: start ${start} must be in 0..cache.length (${cache.length})`);
    if (start + seq > cache.capacity) throw new Error(`decoder.forward: positions ${start}..${start + seq - 1} do not fit the cache capacity ${cache.capacity}`);
    const pos = ropePositions(cfg, opts.positions, seq);
    const posT = Tensor.from(gpu, 'u32', pos.shape, pos.values, 'positions');
    const kvLength = start + seq;
    const heads = cfg.num_attention_heads, kvHeads = cfg.num_key_value_heads, d = cfg.head_dim, eps = cfg.rms_norm_eps;
    const act = activationFromConfig(cfg.hidden_act);
    const applyRope = (stage: Stage, x: Tensor<'f32'>, out?: Tensor<'f32'>) =>
      cfg.mrope_section ? mrope(stage, x, posT, { theta: cfg.rope_theta, mropeSection: cfg.mrope_section, out }) : rope(stage, x, posT, { theta: cfg.rope_theta, out });
    let mask: BlockMask | null = null;
    const result: DecoderForwardResult = { logits: null, preRopeKeys: [], hidden: [] };
    let x = h;
    try {
      if (opts.block && (opts.block.layers === 'all' || opts.block.layers.length) && opts.block.rules.length) {
        const bits = blockMaskBits(opts.block.rules, seq, kvLength);
        mask = { qBits: Tensor.from(gpu, 'u32', [seq], bits.qBits, 'block qBits'), kBits: Tensor.from(gpu, 'u32', [kvLength], bits.kBits, 'block kBits') };
      }
      for (let l = 0; l < cfg.num_hidden_layers; l++) {
        const w = this.layers[l];
        const stage = new Stage(gpu, `decoder layer ${l}`);
        const temps: Tensor[] = [];
        const tmp = <T extends Tensor>(t: T) => (temps.push(t), t);
        // attention block: x̂ = RMSNorm(h); q, k, v projections; rotary on q (in place) and k (kept pre-RoPE if tapped)
        const xn = tmp(await rmsNorm(stage, x, w.inputNorm!, eps));
        const q = tmp(await matmul(stage, xn, w.q!, { bias: w.qBias }));
        const k = await matmul(stage, xn, w.k!, { bias: w.kBias });
        if (opts.taps?.preRopeKeys) result.preRopeKeys.push(k);
        else temps.push(k);
        const v = tmp(await matmul(stage, xn, w.v!, { bias: w.vBias }));
        const q3 = q.reshape([seq, heads, d]);
        await applyRope(stage, q3, q3);
        const kRot = tmp(await applyRope(stage, k.reshape([seq, kvHeads, d])));
        // cache[l][kv_head, start + s, :] ← k_rot, v (HF cache layout); attend over keys 0..start+S−1
        await kvWrite(stage, kRot, cache.keys[l], start);
        await kvWrite(stage, v, cache.values[l], start);
        const attn = tmp(await attention(stage, q3, cache.keys[l], cache.values[l], {
          kvLength, qStart: start, causal: true, block: mask && blocksLayer(opts.block, l) ? mask : undefined,
        }));
        const o = tmp(await matmul(stage, attn, w.o!, { bias: w.oBias }));
        const h1 = tmp(await add(stage, x, o));
        // MLP block: h = h1 + down(act(gate(x̂)) ⊙ up(x̂)), x̂ = RMSNorm(h1)
        const xn2 = tmp(await rmsNorm(stage, h1, w.postNorm!, eps));
        const gate = tmp(await matmul(stage, xn2, w.gate!, { bias: w.gateBias }));
        const up = tmp(await matmul(stage, xn2, w.up!, { bias: w.upBias }));
        const mid = tmp(await gatedActivation(stage, act, gate, up));
        const down = tmp(await matmul(stage, mid, w.down!, { bias: w.downBias }));
        const out = await add(stage, h1, down);
        if (x !== h && !opts.taps?.hidden) temps.push(x);
        if (opts.taps?.hidden) result.hidden.push(out);
        stage.onDone(() => temps.forEach((t) => t.dispose()));
        x = out;
        await stage.submit();
      }
      cache.length = kvLength;
      if (opts.logits !== 'none') {
        // logits = lm_head(RMSNorm(h)); 'last' normalises and projects only the last row
        const stage = new Stage(gpu, 'decoder head');
        const rows = opts.logits === 'last' && seq > 1 ? await sliceRows(stage, x, seq - 1, 1) : x;
        const xn = await rmsNorm(stage, rows, this.finalNorm, eps);
        result.logits = await matmul(stage, xn, this.lmHead);
        stage.onDone(() => { xn.dispose(); if (rows !== x) rows.dispose(); });
        await stage.submit();
      }
      if (x !== h && !opts.taps?.hidden) x.dispose();
      return result;
    } catch (e) {
      for (const t of [...result.preRopeKeys, ...result.hidden]) t.dispose();
      throw e;
    } finally {
      posT.dispose();
      mask?.qBits.dispose();
      mask?.kBits.dispose();
    }
  }

  dispose(): void {
    const all = new Set<Tensor>([this.embedTokens, this.finalNorm, this.lmHead, ...this.layers.flatMap((l) => Object.values(l))]);
    for (const t of all) t.dispose();
  }
}
