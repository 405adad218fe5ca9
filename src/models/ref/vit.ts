// Float64 CPU reference of the LLaVA vision towers (SigLIP, CLIP), one tile at a time, written out plainly:
// the patch conv as the convolution sum over pixel_values, class token and positions, pre_layrnorm (CLIP), then
// pre-LN encoder layers from the op references. Returns HF's hidden_states selection and every layer's output.
import type { LlavaVisionConfig } from '../../io/config.ts';
import { activation } from '../../ops/ref/activation.ts';
import { add } from '../../ops/ref/add.ts';
import { attention } from '../../ops/ref/attention.ts';
import { type HostTensor, hostTensor } from '../../gpu/hostTensor.ts';
import { matmul } from '../../ops/ref/matmul.ts';
import { layerNorm } from '../../ops/ref/norm.ts';
import type { Weights } from '../weights.ts';
import { act2fn } from './act2fn.ts';

/** pixel_values [tiles, C, S, S], float32 as the processor gives them. */
export interface PixelValues {
  shape: readonly number[];
  data: Float32Array;
}

/** Which of hidden_states = (embeddings, layer 0 out, …) to concatenate (indices ≥ 0), and whether to drop CLS. */
export interface FeatureSelection {
  hiddenStates: readonly number[];
  dropCls: boolean;
}

export interface VitRefWeights {
  /** [hidden, C, p, p] */
  conv: HostTensor;
  convBias: HostTensor | null;
  position: HostTensor;
  classEmbedding: HostTensor | null;
  preNorm: { w: HostTensor; b: HostTensor } | null;
  layers: Record<string, HostTensor>[];
}

const LAYER_TENSORS = [
  'layer_norm1.weight', 'layer_norm1.bias', 'self_attn.q_proj.weight', 'self_attn.q_proj.bias', 'self_attn.k_proj.weight',
  'self_attn.k_proj.bias', 'self_attn.v_proj.weight', 'self_attn.v_proj.bias', 'self_attn.out_proj.weight', 'self_attn.out_proj.bias',
  'layer_norm2.weight', 'layer_norm2.bias', 'mlp.fc1.weight', 'mlp.fc1.bias', 'mlp.fc2.weight', 'mlp.fc2.bias',
];

export async function loadVitRef(weights: Weights, cfg: LlavaVisionConfig, opts: { prefix: string; layerCount: number }): Promise<VitRefWeights> {
  const { prefix } = opts;
  const clip = cfg.model_type === 'clip_vision_model';
  const e = `${prefix}embeddings.`;
  const layers: Record<string, HostTensor>[] = [];
  for (let i = 0; i < opts.layerCount; i++) {
    const l: Record<string, HostTensor> = {};
    for (const name of LAYER_TENSORS) l[name] = await weights.host(`${prefix}encoder.layers.${i}.${name}`);
    layers.push(l);
  }
  return {
    conv: await weights.host(`${e}patch_embedding.weight`),
    convBias: clip ? null : await weights.host(`${e}patch_embedding.bias`),
    position: await weights.host(`${e}position_embedding.weight`),
    classEmbedding: clip ? await weights.host(`${e}class_embedding`) : null,
    preNorm: clip ? { w: await weights.host(`${prefix}pre_layrnorm.weight`), b: await weights.host(`${prefix}pre_layrnorm.bias`) } : null,
    layers,
  };
}

/** hidden_states[0] of one tile: conv2d(stride = kernel = p, valid) + bias, CLS prepended, + positions, CLIP pre-LN. */
function embedTile(w: VitRefWeights, cfg: LlavaVisionConfig, pixels: PixelValues, tile: number): HostTensor {
  const [, c, s] = pixels.shape;
  const p = cfg.patch_size, hv = cfg.hidden_size, g = Math.floor(s / p);
  const cls = w.classEmbedding ? 1 : 0;
  const x = hostTensor([g * g + cls, hv]);
  const px = (ch: number, y: number, xx: number) => pixels.data[((tile * c + ch) * s + y) * s + xx];
  if (w.classEmbedding) x.data.set(w.classEmbedding.data, 0);
  for (let gy = 0; gy < g; gy++) {
    for (let gx = 0; gx < g; gx++) {
      const row = (cls + gy * g + gx) * hv;
      for (let o = 0; o < hv; o++) {
        let sum = w.convBias ? w.convBias.data[o] : 0;
        for (let ch = 0; ch < c; ch++) {
          for (let ky = 0; ky < p; ky++) {
            for (let kx = 0; kx < p; kx++) sum += w.conv.data[((o * c + ch) * p + ky) * p + kx] * px(ch, gy * p + ky, gx * p + kx);
          }
        }
        x.data[row + o] = sum;
      }
    }
  }
  for (let i = 0; i < x.data.length; i++) x.data[i] += w.position.data[i];
  return w.preNorm ? layerNorm(x, w.preNorm.w, w.preNorm.b, cfg.layer_norm_eps) : x;
}

/** [N, heads·d] -> [heads, N, d] (the attention reference's key/value layout). */
function headsFirst(x: HostTensor, heads: number, d: number): HostTensor {
  const n = x.shape[0];
  const out = hostTensor([heads, n, d]);
  for (let i = 0; i < n; i++) for (let h = 0; h < heads; h++) for (let t = 0; t < d; t++) out.data[(h * n + i) * d + t] = x.data[(i * heads + h) * d + t];
  return out;
}

/** One pre-LN encoder layer over one tile. */
export function vitLayerRef(l: Record<string, HostTensor>, cfg: LlavaVisionConfig, x: HostTensor): HostTensor {
  const n = x.shape[0], heads = cfg.num_attention_heads, d = cfg.head_dim, eps = cfg.layer_norm_eps;
  const h = layerNorm(x, l['layer_norm1.weight'], l['layer_norm1.bias'], eps);
  const q = matmul(h, l['self_attn.q_proj.weight'], { bias: l['self_attn.q_proj.bias'] });
  const k = matmul(h, l['self_attn.k_proj.weight'], { bias: l['self_attn.k_proj.bias'] });
  const v = matmul(h, l['self_attn.v_proj.weight'], { bias: l['self_attn.v_proj.bias'] });
  // non-causal MHA, scale d^−½
  const a = attention(hostTensor([n, heads, d], q.data), headsFirst(k, heads, d), headsFirst(v, heads, d), { kvLength: n, causal: false });
  const x1 = add(x, matmul(a, l['self_attn.out_proj.weight'], { bias: l['self_attn.out_proj.bias'] }));
  const h2 = layerNorm(x1, l['layer_norm2.weight'], l['layer_norm2.bias'], eps);
  const f = activation(act2fn(cfg.hidden_act, 'vision_config.hidden_act'), matmul(h2, l['mlp.fc1.weight'], { bias: l['mlp.fc1.bias'] }));
  return add(x1, matmul(f, l['mlp.fc2.weight'], { bias: l['mlp.fc2.bias'] }));
}

/**
 * Features of every tile (tile-major rows): the selected hidden states concatenated on the feature dim, CLS dropped
 * for strategy "default"; and each layer's output over all tiles ([tiles·N, Hv], CLS kept).
 */
export function vitForwardRef(w: VitRefWeights, cfg: LlavaVisionConfig, pixels: PixelValues, sel: FeatureSelection): { features: HostTensor; layerOutputs: HostTensor[] } {
  const tiles = pixels.shape[0];
  const deepest = Math.max(...sel.hiddenStates);
  const hv = cfg.hidden_size;
  const feats: number[] = [];
  const perLayer: number[][] = Array.from({ length: deepest }, () => []);
  let n = 0;
  for (let t = 0; t < tiles; t++) {
    const hidden = [embedTile(w, cfg, pixels, t)];
    for (let i = 0; i < deepest; i++) {
      hidden.push(vitLayerRef(w.layers[i], cfg, hidden[i]));
      perLayer[i].push(...hidden[i + 1].data);
    }
    n = hidden[0].shape[0];
    for (let r = sel.dropCls ? 1 : 0; r < n; r++) {
      for (const j of sel.hiddenStates) feats.push(...hidden[j].data.subarray(r * hv, (r + 1) * hv));
    }
  }
  const rows = tiles * (sel.dropCls ? n - 1 : n);
  return {
    features: hostTensor([rows, hv * sel.hiddenStates.length], feats),
    layerOutputs: perLayer.map((d) => hostTensor([tiles * n, hv], d)),
  };
}
