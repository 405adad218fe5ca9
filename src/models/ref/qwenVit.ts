// Float64 CPU reference of the Qwen2.5-VL vision tower + PatchMerger, written plainly and without HF's window
// permutation: rows stay in the processor's merge-block order and each attention block restricts every patch to
// the patches of its own window (image, frame, ⌊row/(m·s)⌋, ⌊col/(m·s)⌋) or, in fullatt_block_indexes, of its own
// image frame. Attention is permutation-invariant within a set and every other step is row-wise, so this equals
// HF's reorder → attend → argsort un-permute, and checks the GPU's window index independently.
import type { Qwen2_5VisionConfig } from '../../io/config.ts';
import { activation, gatedActivation } from '../../ops/ref/activation.ts';
import { add } from '../../ops/ref/add.ts';
import { type HostTensor, hostTensor } from '../../gpu/hostTensor.ts';
import { matmul } from '../../ops/ref/matmul.ts';
import { rmsNorm } from '../../ops/ref/norm.ts';
import { visionRope2d } from '../../ops/ref/rope.ts';
import type { Weights } from '../weights.ts';
import { act2fn } from './act2fn.ts';

/** image_grid_thw of one image: (frames, patch rows, patch cols). */
export type GridThw = readonly [number, number, number];

const EPS = 1e-6;
const BLOCK_TENSORS = [
  'norm1.weight', 'norm2.weight', 'attn.qkv.weight', 'attn.qkv.bias', 'attn.proj.weight', 'attn.proj.bias',
  'mlp.gate_proj.weight', 'mlp.gate_proj.bias', 'mlp.up_proj.weight', 'mlp.up_proj.bias', 'mlp.down_proj.weight', 'mlp.down_proj.bias',
];

export interface QwenVitRefWeights {
  /** Conv3d weight flattened to [hidden, C·T·P·P]. */
  patch: HostTensor;
  blocks: Record<string, HostTensor>[];
  merger: { lnQ: HostTensor; w0: HostTensor; b0: HostTensor; w2: HostTensor; b2: HostTensor };
}

export interface QwenVitRefResult {
  /** [Σ t·h·w/m², out_hidden], raster order of each image's merged grid. */
  features: HostTensor;
  /** Per block [N, hidden], raster order of the patch grid (per frame, images concatenated). */
  blockOutputs: HostTensor[];
}

export async function loadQwenVitRef(weights: Weights, cfg: Qwen2_5VisionConfig, opts: { prefix: string }): Promise<QwenVitRefWeights> {
  const p = opts.prefix;
  const conv = await weights.host(`${p}patch_embed.proj.weight`, [cfg.hidden_size, cfg.in_channels, cfg.temporal_patch_size, cfg.patch_size, cfg.patch_size]);
  const blocks: Record<string, HostTensor>[] = [];
  for (let i = 0; i < cfg.depth; i++) {
    const b: Record<string, HostTensor> = {};
    for (const name of BLOCK_TENSORS) b[name] = await weights.host(`${p}blocks.${i}.${name}`);
    blocks.push(b);
  }
  return {
    patch: { shape: [cfg.hidden_size, conv.data.length / cfg.hidden_size], data: conv.data },
    blocks,
    merger: {
      lnQ: await weights.host(`${p}merger.ln_q.weight`), w0: await weights.host(`${p}merger.mlp.0.weight`), b0: await weights.host(`${p}merger.mlp.0.bias`),
      w2: await weights.host(`${p}merger.mlp.2.weight`), b2: await weights.host(`${p}merger.mlp.2.bias`),
    },
  };
}

/** Per pixel row (merge-block order): patch (row, col), its raster index, its window key and its frame key. */
function rowGeometry(grids: readonly GridThw[], cfg: Qwen2_5VisionConfig) {
  const m = cfg.spatial_merge_size, s = Math.floor(cfg.window_size / m / cfg.patch_size);
  const pos: number[] = [], raster: number[] = [], windowKey: string[] = [], frameKey: string[] = [];
  let base = 0;
  grids.forEach(([t, h, w], img) => {
    for (let f = 0; f < t; f++) {
      // merge blocks in raster order over (h/m × w/m), inside a block the m² patches in raster order
      for (let by = 0; by < h / m; by++) {
        for (let bx = 0; bx < w / m; bx++) {
          for (let iy = 0; iy < m; iy++) {
            for (let ix = 0; ix < m; ix++) {
              const row = by * m + iy, col = bx * m + ix;
              pos.push(row, col);
              raster.push(base + (f * h + row) * w + col);
              windowKey.push(`${img}/${f}/${Math.floor(by / s)}/${Math.floor(bx / s)}`);
              frameKey.push(`${img}/${f}`);
            }
          }
        }
      }
    }
    base += t * h * w;
  });
  return { pos, raster, windowKey, frameKey };
}

/** Non-causal attention where row i sees the rows j with key[j] = key[i]; q, k, v [N, heads, d] -> [N, heads·d]. */
function groupedAttention(q: HostTensor, k: HostTensor, v: HostTensor, key: readonly string[]): HostTensor {
  const [n, heads, d] = q.shape;
  const members = new Map<string, number[]>();
  key.forEach((g, i) => { if (!members.has(g)) members.set(g, []); members.get(g)!.push(i); });
  const out = hostTensor([n, heads * d]);
  const scale = 1 / Math.sqrt(d);
  for (let i = 0; i < n; i++) {
    const js = members.get(key[i])!;
    for (let h = 0; h < heads; h++) {
      // p_j = softmax_j(q_i·k_j / √d); o_i = Σ_j p_j v_j
      const scores = js.map((j) => {
        let dot = 0;
        for (let t = 0; t < d; t++) dot += q.data[(i * heads + h) * d + t] * k.data[(j * heads + h) * d + t];
        return dot * scale;
      });
      const mx = Math.max(...scores);
      const e = scores.map((sc) => Math.exp(sc - mx));
      const sum = e.reduce((a, b) => a + b, 0);
      for (let t = 0; t < d; t++) {
        let o = 0;
        js.forEach((j, c) => { o += e[c] * v.data[(j * heads + h) * d + t]; });
        out.data[(i * heads + h) * d + t] = o / sum;
      }
    }
  }
  return out;
}

/** Columns [c0, c0 + width) of x [N, W]. */
function cols(x: HostTensor, c0: number, width: number): HostTensor {
  const [n, w] = x.shape;
  const out = hostTensor([n, width]);
  for (let r = 0; r < n; r++) for (let c = 0; c < width; c++) out.data[r * width + c] = x.data[r * w + c0 + c];
  return out;
}

/** Rows in merge-block order -> raster order of the patch grid. */
function toRaster(x: HostTensor, raster: readonly number[]): HostTensor {
  const [n, w] = x.shape;
  const out = hostTensor([n, w]);
  for (let i = 0; i < n; i++) out.data.set(x.data.subarray(i * w, (i + 1) * w), raster[i] * w);
  return out;
}

export function qwenVitForwardRef(
  w: QwenVitRefWeights,
  cfg: Qwen2_5VisionConfig,
  pixels: { shape: readonly number[]; data: Float32Array },
  grids: readonly GridThw[],
): QwenVitRefResult {
  const hv = cfg.hidden_size, heads = cfg.num_heads, d = cfg.head_dim, unit = cfg.spatial_merge_size ** 2;
  const geo = rowGeometry(grids, cfg);
  const n = geo.raster.length;
  if (pixels.shape[0] !== n) throw new Error(`qwen vit reference: pixel_values has ${pixels.shape[0]} rows, image_grid_thw implies ${n}`);
  const positions = hostTensor([n, 2], geo.pos);
  const act = act2fn(cfg.hidden_act, 'vision_config.hidden_act');
  const full = new Set(cfg.fullatt_block_indexes);
  // patch embed: Conv3d with kernel = stride = (T, P, P) on one patch = dot product with the flattened kernel
  let x = matmul(hostTensor(pixels.shape, pixels.data), w.patch);
  const blockOutputs: HostTensor[] = [];
  for (let i = 0; i < cfg.depth; i++) {
    const b = w.blocks[i];
    // x += proj(Attn(RMSNorm1(x))), q and k rotated by the 2D vision RoPE
    const qkv = matmul(rmsNorm(x, b['norm1.weight'], EPS), b['attn.qkv.weight'], { bias: b['attn.qkv.bias'] });
    const q = visionRope2d({ shape: [n, heads, d], data: cols(qkv, 0, hv).data }, positions);
    const k = visionRope2d({ shape: [n, heads, d], data: cols(qkv, hv, hv).data }, positions);
    const v: HostTensor = { shape: [n, heads, d], data: cols(qkv, 2 * hv, hv).data };
    const a = groupedAttention(q, k, v, full.has(i) ? geo.frameKey : geo.windowKey);
    const x1 = add(x, matmul(a, b['attn.proj.weight'], { bias: b['attn.proj.bias'] }));
    // x1 += down(silu(gate(x̂)) ⊙ up(x̂)), x̂ = RMSNorm2(x1)
    const xn = rmsNorm(x1, b['norm2.weight'], EPS);
    const mid = gatedActivation(act, matmul(xn, b['mlp.gate_proj.weight'], { bias: b['mlp.gate_proj.bias'] }), matmul(xn, b['mlp.up_proj.weight'], { bias: b['mlp.up_proj.bias'] }));
    x = add(x1, matmul(mid, b['mlp.down_proj.weight'], { bias: b['mlp.down_proj.bias'] }));
    blockOutputs.push(toRaster(x, geo.raster));
  }
  // merger: ln_q per patch, m² consecutive rows (one merge block) concatenated, Lin → GELU → Lin
  const xn = rmsNorm(x, w.merger.lnQ, EPS);
  const grouped: HostTensor = { shape: [n / unit, unit * hv], data: xn.data };
  const features = matmul(activation('gelu', matmul(grouped, w.merger.w0, { bias: w.merger.b0 })), w.merger.w2, { bias: w.merger.b2 });
  return { features, blockOutputs };
}
