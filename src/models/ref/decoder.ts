// Float64 CPU reference of the language-model decoder, written from HF's Qwen2 / Llama / Qwen2.5-VL text decoder
// layers (one full-sequence pass from position 0, built from the op references in src/ops/ref/); its tensor names,
// position handling and blocking rule are its own, so a host-logic bug in src/models/lm/ fails parity. Weights are
// the checkpoint's values widened exactly from f16/bf16, so GPU and reference see the same numbers. Tiny models only.
import type { TextConfig } from '../../io/config.ts';
import { gatedActivation } from '../../ops/ref/activation.ts';
import { add } from '../../ops/ref/add.ts';
import { attention, type AttentionRefOptions } from '../../ops/ref/attention.ts';
import { embedding } from '../../ops/ref/embedding.ts';
import { type HostTensor, hostTensor } from '../../gpu/hostTensor.ts';
import { matmul } from '../../ops/ref/matmul.ts';
import { rmsNorm } from '../../ops/ref/norm.ts';
import { mrope, rope } from '../../ops/ref/rope.ts';
import type { Weights } from '../weights.ts';
import { act2fn } from './act2fn.ts';
import { roundHalf } from './f16.ts';

/** Where the decoder's tensors live: `${prefix}layers.{l}.…` and the LM head's name (absent = tied to embed_tokens). */
export interface DecoderRefNames {
  prefix: string;
  lmHead: string;
}

/** Attention blocking as the reference applies it: in these layers, these query rows may not see those keys. */
export interface DecoderRefBlock {
  layers: readonly number[] | 'all';
  rules: NonNullable<AttentionRefOptions['block']>;
}

/** One HF Qwen2 / Llama / Qwen2.5-VL text decoder layer's tensors under `layers.{l}.`, written out by HF name. */
function layerTensors(c: TextConfig): [string, number[]][] {
  const h = c.hidden_size, q = c.num_attention_heads * c.head_dim, kv = c.num_key_value_heads * c.head_dim, i = c.intermediate_size;
  const t: [string, number[]][] = [
    ['input_layernorm.weight', [h]],
    ['self_attn.q_proj.weight', [q, h]], ['self_attn.k_proj.weight', [kv, h]], ['self_attn.v_proj.weight', [kv, h]],
    ['self_attn.o_proj.weight', [h, q]],
    ['post_attention_layernorm.weight', [h]],
    ['mlp.gate_proj.weight', [i, h]], ['mlp.up_proj.weight', [i, h]], ['mlp.down_proj.weight', [h, i]],
  ];
  if (c.qkv_bias) t.push(['self_attn.q_proj.bias', [q]], ['self_attn.k_proj.bias', [kv]], ['self_attn.v_proj.bias', [kv]]);
  if (c.o_bias) t.push(['self_attn.o_proj.bias', [h]]);
  if (c.mlp_bias) t.push(['mlp.gate_proj.bias', [i]], ['mlp.up_proj.bias', [i]], ['mlp.down_proj.bias', [h]]);
  return t;
}

/** Host float64 weights of a decoder: embedding, per-layer tensors by HF name (absent biases missing), final norm, head. */
export interface DecoderRefWeights {
  embed: HostTensor;
  layers: Record<string, HostTensor>[];
  norm: HostTensor;
  lmHead: HostTensor;
}

export interface DecoderRefResult {
  /** [S, vocab] for every row. */
  logits: HostTensor;
  /** Per layer [kvHeads, S, d], after RoPE (the cache's layout). */
  keys: HostTensor[];
  /** Per layer [kvHeads, S, d]. */
  values: HostTensor[];
  /** Per layer [S, kvHeads·d]. */
  preRopeKeys: HostTensor[];
  /** Per layer output [S, H]. */
  hidden: HostTensor[];
}

export async function loadDecoderRef(weights: Weights, cfg: TextConfig, names: DecoderRefNames): Promise<DecoderRefWeights> {
  const h = cfg.hidden_size;
  const embedName = `${names.prefix}embed_tokens.weight`;
  const embed = await weights.host(embedName, [cfg.vocab_size, h]);
  const layers: DecoderRefWeights['layers'] = [];
  for (let l = 0; l < cfg.num_hidden_layers; l++) {
    const lw: DecoderRefWeights['layers'][number] = {};
    for (const [name, shape] of layerTensors(cfg)) lw[name] = await weights.host(`${names.prefix}layers.${l}.${name}`, shape);
    layers.push(lw);
  }
  const norm = await weights.host(`${names.prefix}norm.weight`, [h]);
  // transformers' tie_weights(): tied (Qwen2-0.5B, Qwen2.5-VL-3B) → the head IS embed_tokens, whatever the file
  // stores; untied → the file's lm_head (absent would be a random head in transformers: refused)
  if (!cfg.tie_word_embeddings && !weights.has(names.lmHead)) throw new Error(`reference decoder: ${names.lmHead} missing with tie_word_embeddings false`);
  const lmHead = cfg.tie_word_embeddings ? embed : await weights.host(names.lmHead, [cfg.vocab_size, h]);
  return { embed, layers, norm, lmHead };
}

/**
 * HF position_ids as the rope references read them: [S] for 1D RoPE; [3, S] flattened (t, h, w) for M-RoPE, where
 * a [S] list stands for all three axes (Qwen2.5-VL's text model expands 2D position_ids to 3).
 */
function positionTensor(cfg: TextConfig, positions: readonly number[] | readonly (readonly number[])[], seq: number): HostTensor {
  const rows: readonly (readonly number[])[] = Array.isArray(positions[0]) ? (positions as readonly (readonly number[])[]) : [positions as readonly number[]];
  const want = cfg.mrope_section ? [1, 3] : [1];
  if (!want.includes(rows.length)) throw new Error(`reference decoder: ${rows.length} position rows for ${cfg.mrope_section ? 'M-RoPE (1 or 3)' : '1D RoPE (1)'}`);
  for (const r of rows) if (r.length !== seq) throw new Error(`reference decoder: a position row has ${r.length} entries for ${seq} tokens`);
  const full = cfg.mrope_section && rows.length === 1 ? [rows[0], rows[0], rows[0]] : rows;
  return hostTensor(full.length > 1 ? [3, seq] : [seq], full.flat());
}

/** Token embeddings [S, H]. */
export function embedRef(w: DecoderRefWeights, ids: readonly number[]): HostTensor {
  return embedding(hostTensor([ids.length], ids), w.embed);
}

/** [S, kvHeads·d] rows -> [kvHeads, S, d] (the cache layout with capacity S). */
function toCacheLayout(x: HostTensor, seq: number, kvHeads: number, d: number): HostTensor {
  const out = hostTensor([kvHeads, seq, d]);
  for (let s = 0; s < seq; s++) {
    for (let h = 0; h < kvHeads; h++) {
      for (let i = 0; i < d; i++) out.data[(h * seq + s) * d + i] = x.data[(s * kvHeads + h) * d + i];
    }
  }
  return out;
}

const reshape = (x: HostTensor, shape: number[]): HostTensor => ({ shape, data: x.data });

/** The whole decoder over h [S, H] at the given positions (queries 0..S−1 = cache positions 0..S−1). */
export function decoderForwardRef(
  w: DecoderRefWeights,
  cfg: TextConfig,
  h: HostTensor,
  positions: readonly number[] | readonly (readonly number[])[],
  opts: { block?: DecoderRefBlock; kvDtype?: 'f32' | 'f16'; actDtype?: 'f32' | 'f16' } = {},
): DecoderRefResult {
  const seq = h.shape[0];
  const heads = cfg.num_attention_heads, kvHeads = cfg.num_key_value_heads, d = cfg.head_dim, eps = cfg.rms_norm_eps;
  const posT = positionTensor(cfg, positions, seq);
  const rotate = (x: HostTensor) =>
    cfg.mrope_section ? mrope(x, posT, { theta: cfg.rope_theta, mropeSection: cfg.mrope_section }) : rope(x, posT, { theta: cfg.rope_theta });
  const act = act2fn(cfg.hidden_act, 'text_config.hidden_act');
  const res: DecoderRefResult = { logits: hostTensor([0]), keys: [], values: [], preRopeKeys: [], hidden: [] };
  // the f16 activation path stores the matmul inputs x̂ and act rounded to f16 (nearest even)
  const asAct = (t: HostTensor) => opts.actDtype === 'f16' ? hostTensor(t.shape, t.data.map(roundHalf)) : t;
  let x = h;
  for (let l = 0; l < cfg.num_hidden_layers; l++) {
    const lw = w.layers[l];
    // x̂ = RMSNorm(h); q, k, v; RoPE on q and k
    const xn = asAct(rmsNorm(x, lw['input_layernorm.weight'], eps));
    const q = matmul(xn, lw['self_attn.q_proj.weight'], { bias: lw['self_attn.q_proj.bias'] });
    const k = matmul(xn, lw['self_attn.k_proj.weight'], { bias: lw['self_attn.k_proj.bias'] });
    const v = matmul(xn, lw['self_attn.v_proj.weight'], { bias: lw['self_attn.v_proj.bias'] });
    const qRot = rotate(reshape(q, [seq, heads, d]));
    const kRot = rotate(reshape(k, [seq, kvHeads, d]));
    // an f16 cache stores K (after RoPE) and V rounded to f16; attention reads those
    const stored = (t: HostTensor) => opts.kvDtype === 'f16' ? hostTensor(t.shape, t.data.map(roundHalf)) : t;
    const kCache = stored(toCacheLayout(kRot, seq, kvHeads, d)), vCache = stored(toCacheLayout(v, seq, kvHeads, d));
    res.preRopeKeys.push(k);
    res.keys.push(kCache);
    res.values.push(vCache);
    // causal GQA attention over positions 0..S−1, with the blocking rules in the layers they name
    const blocked = opts.block && (opts.block.layers === 'all' || opts.block.layers.includes(l)) ? opts.block.rules : undefined;
    const attn = attention(qRot, kCache, vCache, { kvLength: seq, qStart: 0, causal: true, block: blocked });
    const h1 = add(x, matmul(attn, lw['self_attn.o_proj.weight'], { bias: lw['self_attn.o_proj.bias'] }));
    // h = h1 + down(act(gate(x̂)) ⊙ up(x̂)), x̂ = RMSNorm(h1)
    const xn2 = asAct(rmsNorm(h1, lw['post_attention_layernorm.weight'], eps));
    const gate = matmul(xn2, lw['mlp.gate_proj.weight'], { bias: lw['mlp.gate_proj.bias'] });
    const mid = asAct(gatedActivation(act, gate, matmul(xn2, lw['mlp.up_proj.weight'], { bias: lw['mlp.up_proj.bias'] })));
    x = add(h1, matmul(mid, lw['mlp.down_proj.weight'], { bias: lw['mlp.down_proj.bias'] }));
    res.hidden.push(x);
  }
  res.logits = matmul(asAct(rmsNorm(x, w.norm, eps)), w.lmHead);
  return res;
}
