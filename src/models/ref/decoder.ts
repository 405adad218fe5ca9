// Float64 CPU reference of the language-model decoder (same math as src/models/lm/decoder.ts, one full-sequence
// pass from position 0, built from the op references in src/ops/ref/). Weights are the checkpoint's values widened
// exactly from f16/bf16, so GPU and reference see the same numbers. For tiny checkpoints only.
import type { TextConfig } from '../../io/config.ts';
import { activationFromConfig } from '../../ops/activation.ts';
import { gatedActivation } from '../../ops/ref/activation.ts';
import { add } from '../../ops/ref/add.ts';
import { attention } from '../../ops/ref/attention.ts';
import { embedding } from '../../ops/ref/embedding.ts';
import { type HostTensor, hostTensor } from '../../ops/ref/hostTensor.ts';
import { matmul } from '../../ops/ref/matmul.ts';
import { rmsNorm } from '../../ops/ref/norm.ts';
import { mrope, rope } from '../../ops/ref/rope.ts';
import { blocksLayer, type DecoderNames, LAYER_TENSORS, type LayerTensorKey, lmHeadName, ropePositions } from '../lm/decoder.ts';
import type { AttentionBlockSpec } from '../model.ts';
import type { Weights } from '../weights.ts';

/** Host float64 weights of a decoder: embedding, per-layer tensors by key (absent biases missing), final norm, head. */
export interface DecoderRefWeights {
  embed: HostTensor;
  layers: Partial<Record<LayerTensorKey, HostTensor>>[];
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

export async function loadDecoderRef(weights: Weights, cfg: TextConfig, names: DecoderNames): Promise<DecoderRefWeights> {
  const h = cfg.hidden_size;
  const embedName = `${names.prefix}embed_tokens.weight`;
  const embed = await weights.host(embedName, [cfg.vocab_size, h]);
  const layers: DecoderRefWeights['layers'] = [];
  for (let l = 0; l < cfg.num_hidden_layers; l++) {
    const lw: DecoderRefWeights['layers'][number] = {};
    for (const t of LAYER_TENSORS) if (t.on(cfg)) lw[t.key] = await weights.host(`${names.prefix}layers.${l}.${t.name}`, t.shape(cfg));
    layers.push(lw);
  }
  const norm = await weights.host(`${names.prefix}norm.weight`, [h]);
  const headName = lmHeadName(weights, names);
  const lmHead = headName === embedName ? embed : await weights.host(headName, [cfg.vocab_size, h]);
  return { embed, layers, norm, lmHead };
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
  opts: { block?: AttentionBlockSpec } = {},
): DecoderRefResult {
  const seq = h.shape[0];
  const heads = cfg.num_attention_heads, kvHeads = cfg.num_key_value_heads, d = cfg.head_dim, eps = cfg.rms_norm_eps;
  const pos = ropePositions(cfg, positions, seq);
  const posT = hostTensor(pos.shape, pos.values);
  const rotate = (x: HostTensor) =>
    cfg.mrope_section ? mrope(x, posT, { theta: cfg.rope_theta, mropeSection: cfg.mrope_section }) : rope(x, posT, { theta: cfg.rope_theta });
  const act = activationFromConfig(cfg.hidden_act);
  const res: DecoderRefResult = { logits: hostTensor([0]), keys: [], values: [], preRopeKeys: [], hidden: [] };
  let x = h;
  for (let l = 0; l < cfg.num_hidden_layers; l++) {
    const lw = w.layers[l];
    // x̂ = RMSNorm(h); q, k, v; RoPE on q and k
    const xn = rmsNorm(x, lw.inputNorm!, eps);
    const q = matmul(xn, lw.q!, { bias: lw.qBias });
    const k = matmul(xn, lw.k!, { bias: lw.kBias });
    const v = matmul(xn, lw.v!, { bias: lw.vBias });
    const qRot = rotate(reshape(q, [seq, heads, d]));
    const kRot = rotate(reshape(k, [seq, kvHeads, d]));
    const kCache = toCacheLayout(kRot, seq, kvHeads, d), vCache = toCacheLayout(v, seq, kvHeads, d);
    res.preRopeKeys.push(k);
    res.keys.push(kCache);
    res.values.push(vCache);
    // causal GQA attention over positions 0..S−1, with the blocking rules in the layers they name
    const attn = attention(qRot, kCache, vCache, { kvLength: seq, qStart: 0, causal: true, block: blocksLayer(opts.block, l) ? opts.block!.rules : undefined });
    const h1 = add(x, matmul(attn, lw.o!, { bias: lw.oBias }));
    // h = h1 + down(act(gate(x̂)) ⊙ up(x̂)), x̂ = RMSNorm(h1)
    const xn2 = rmsNorm(h1, lw.postNorm!, eps);
    const mid = gatedActivation(act, matmul(xn2, lw.gate!, { bias: lw.gateBias }), matmul(xn2, lw.up!, { bias: lw.upBias }));
    x = add(h1, matmul(mid, lw.down!, { bias: lw.downBias }));
    res.hidden.push(x);
  }
  res.logits = matmul(rmsNorm(x, w.norm, eps), w.lmHead);
  return res;
}
