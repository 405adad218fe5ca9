// Deterministic random weights for tiny test checkpoints, in HF names and [out, in] shapes: Linear weights with
// std 1/√in (activations keep unit scale through depth), non-zero biases and norm weights near 1 (so a kernel that
// drops a bias or a norm weight is caught), embeddings with std 1.
import type { TextConfig } from '../../io/config.ts';

/** Seeded normal variates: mulberry32 uniforms through Box–Muller. Same seed, same sequence, in every runtime. */
export class WeightRng {
  private state: number;
  private spare: number | null = null;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Standard normal N(0, 1). */
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    // Box–Muller: two uniforms -> two independent normals
    const u = Math.max(this.uniform(), 1e-12), v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** n values of mean + std·N(0, 1). */
  normals(n: number, std: number, mean = 0): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = mean + std * this.normal();
    return out;
  }
}

/** One named tensor of a tiny checkpoint (f32 values; the writer converts to the checkpoint dtype). */
export interface TinyTensor {
  name: string;
  shape: number[];
  values: Float32Array;
}

/** nn.Linear `name`: weight [out, in] ~ N(0, 1/in), bias [out] ~ N(0, 0.1²) when asked for. */
export function linearWeights(rng: WeightRng, name: string, out: number, inp: number, opts: { bias?: boolean } = {}): TinyTensor[] {
  const t: TinyTensor[] = [{ name: `${name}.weight`, shape: [out, inp], values: rng.normals(out * inp, 1 / Math.sqrt(inp)) }];
  if (opts.bias) t.push({ name: `${name}.bias`, shape: [out], values: rng.normals(out, 0.1) });
  return t;
}

/** RMSNorm / LayerNorm `name`: weight [dim] ~ 1 + N(0, 0.1²), LayerNorm bias [dim] ~ N(0, 0.1²). */
export function normWeights(rng: WeightRng, name: string, dim: number, opts: { bias?: boolean } = {}): TinyTensor[] {
  const t: TinyTensor[] = [{ name: `${name}.weight`, shape: [dim], values: rng.normals(dim, 0.1, 1) }];
  if (opts.bias) t.push({ name: `${name}.bias`, shape: [dim], values: rng.normals(dim, 0.1) });
  return t;
}

/**
 * Every tensor of a Qwen2 / Llama / Qwen2.5-VL-text decoder under `prefix` (e.g. 'model.' or
 * 'model.language_model.'): embed_tokens, per layer input_layernorm, self_attn.{q,k,v,o}_proj (biases as the
 * config says), post_attention_layernorm, mlp.{gate,up,down}_proj, the final norm, and `lmHead` unless tied (null).
 */
export function decoderTensors(rng: WeightRng, cfg: TextConfig, prefix: string, opts: { lmHead: string | null }): TinyTensor[] {
  const h = cfg.hidden_size, d = cfg.head_dim, inter = cfg.intermediate_size;
  const qDim = cfg.num_attention_heads * d, kvDim = cfg.num_key_value_heads * d;
  const out: TinyTensor[] = [{ name: `${prefix}embed_tokens.weight`, shape: [cfg.vocab_size, h], values: rng.normals(cfg.vocab_size * h, 1) }];
  for (let l = 0; l < cfg.num_hidden_layers; l++) {
    const p = `${prefix}layers.${l}.`;
    out.push(
      ...normWeights(rng, `${p}input_layernorm`, h),
      ...linearWeights(rng, `${p}self_attn.q_proj`, qDim, h, { bias: cfg.qkv_bias }),
      ...linearWeights(rng, `${p}self_attn.k_proj`, kvDim, h, { bias: cfg.qkv_bias }),
      ...linearWeights(rng, `${p}self_attn.v_proj`, kvDim, h, { bias: cfg.qkv_bias }),
      ...linearWeights(rng, `${p}self_attn.o_proj`, h, qDim, { bias: cfg.o_bias }),
      ...normWeights(rng, `${p}post_attention_layernorm`, h),
      ...linearWeights(rng, `${p}mlp.gate_proj`, inter, h, { bias: cfg.mlp_bias }),
      ...linearWeights(rng, `${p}mlp.up_proj`, inter, h, { bias: cfg.mlp_bias }),
      ...linearWeights(rng, `${p}mlp.down_proj`, h, inter, { bias: cfg.mlp_bias }),
    );
  }
  out.push(...normWeights(rng, `${prefix}norm`, h));
  if (opts.lmHead !== null) out.push(...linearWeights(rng, opts.lmHead.replace(/\.weight$/, ''), cfg.vocab_size, h));
  return out;
}
