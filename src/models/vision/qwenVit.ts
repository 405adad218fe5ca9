// The Qwen2.5-VL vision tower with its PatchMerger on the GPU (HF Qwen2_5_VisionTransformerPretrainedModel):
//   patch embed: pixel rows [N, C·T·P·P] (merge-block order) · Conv3d weight viewed as [hidden, C·T·P·P]ᵀ (no bias)
//   reorder: merged tokens (m² consecutive rows) into window order (get_window_index), rotary (row, col) alike
//   blocks: x += proj(Attn(RMSNorm1(x))), x += down(silu(gate(x̂)) ⊙ up(x̂)), x̂ = RMSNorm2(x) (biases on; gate_proj
//           and up_proj stacked at load into one [2Iv, Hv] projection: one matmul and the fused gated activation);
//           Attn: qkv → [Q|K|V] head-major, 2D vision RoPE on q and k, non-causal, block-diagonal over windows
//           (cu_window_seqlens) or, in fullatt_block_indexes, over image frames (cu_seqlens); scale d^−½
//   merger: RMSNorm ln_q per patch, view [N/m², m²·hidden], Lin → GELU (erf) → Lin(out_hidden)
//   un-permute to raster order of each image's merged grid (argsort(window_index)).
// Block outputs can be returned in raster order of the patch grid (per image frame, images concatenated).
import type { Gpu } from '../../gpu/device.ts';
import type { HostTensor } from '../../gpu/hostTensor.ts';
import { Stage } from '../../gpu/stage.ts';
import { Tensor } from '../../gpu/tensor.ts';
import type { Qwen2_5VisionConfig } from '../../io/config.ts';
import { type Activation, activation, activationFromConfig, gatedActivationFused } from '../../ops/activation.ts';
import { attention } from '../../ops/attention.ts';
import { kvWrite } from '../../ops/kvWrite.ts';
import { matmul } from '../../ops/matmul.ts';
import { addRmsNorm, rmsNorm } from '../../ops/norm.ts';
import { visionRope2d } from '../../ops/rope.ts';
import { gatherRows, sliceCols } from '../../ops/rows.ts';
import { qwenPatchPosition } from '../processor/qwenImageProcessor.ts';
import { type GridThw, inverseWindowIndex, windowLayout, type WindowLayout, windowRowPermutation } from '../qwen2_5_vl/windowIndex.ts';
import { checkBlockRows, firstRows, inRowBlocks, MLP_BLOCK_ROWS, RunState } from '../runState.ts';
import type { Weights } from '../weights.ts';

/** RMSNorm eps of the vision blocks and the merger (HF hard-codes 1e-6). */
export const QWEN_VIT_EPS = 1e-6;

/** Pixel-row width the patch embedding takes: in_channels · temporal_patch_size · patch_size². */
export function qwenPatchWidth(cfg: Qwen2_5VisionConfig): number {
  return cfg.in_channels * cfg.temporal_patch_size * cfg.patch_size * cfg.patch_size;
}

/** Checks pixel_values against image_grid_thw; returns the row count N = Σ t·h·w. */
export function checkQwenPixels(pixels: HostTensor<Float32Array>, grids: readonly GridThw[], cfg: Qwen2_5VisionConfig): number {
  const width = qwenPatchWidth(cfg);
  const n = grids.reduce((a, [t, h, w]) => a + t * h * w, 0);
  if (pixels.shape.length !== 2 || pixels.shape[0] !== n || pixels.shape[1] !== width) {
    throw new Error(`pixel_values: shape [${pixels.shape.join(', ')}], expected [${n}, ${width}] (Σ t·h·w over image_grid_thw ${JSON.stringify(grids)}; ` +
      `in_channels·temporal_patch_size·patch_size² = ${width})`);
  }
  if (pixels.data.length !== n * width) throw new Error(`pixel_values: [${n}, ${width}] needs ${n * width} values, got ${pixels.data.length}`);
  return n;
}

/** Vision rotary positions (row, col) of every pixel row in merge-block order, frames and images in order: [N, 2]. */
export function qwenRotaryPositions(grids: readonly GridThw[], mergeSize: number): Uint32Array {
  const n = grids.reduce((a, [t, h, w]) => a + t * h * w, 0);
  const out = new Uint32Array(2 * n);
  let at = 0;
  for (const g of grids) {
    for (let i = 0; i < g[0] * g[1] * g[2]; i++, at++) {
      const p = qwenPatchPosition(i, g, mergeSize);
      out[2 * at] = p.row;
      out[2 * at + 1] = p.col;
    }
  }
  return out;
}

/** For each patch in raster order (row-major per image frame, images concatenated), its merge-block row index. */
export function rasterToMergeBlockRows(grids: readonly GridThw[], mergeSize: number): Uint32Array {
  const n = grids.reduce((a, [t, h, w]) => a + t * h * w, 0);
  const out = new Uint32Array(n);
  let base = 0;
  for (const g of grids) {
    const [t, h, w] = g;
    for (let i = 0; i < t * h * w; i++) {
      const p = qwenPatchPosition(i, g, mergeSize);
      out[base + (p.t * h + p.row) * w + p.col] = base + i;
    }
    base += t * h * w;
  }
  return out;
}

interface BlockWeights {
  norm1: Tensor; norm2: Tensor; qkv: Tensor; qkvBias: Tensor; proj: Tensor; projBias: Tensor;
  /** [gate; up] stacked rows [2Iv, Hv] and biases [2Iv]: y[:, :Iv] = gate(x̂), y[:, Iv:] = up(x̂). */
  gateUp: Tensor; gateUpBias: Tensor; down: Tensor; downBias: Tensor;
}

export interface QwenVitResult {
  /** Merger output [Σ t·h·w/m², out_hidden] in raster order of each image's merged grid (sequence order). */
  features: Tensor<'f32'>;
  /** Output of each block [N, hidden] in raster order of the patch grid (when asked for). */
  blockOutputs: Tensor<'f32'>[];
  layout: WindowLayout;
}

// attn, proj and xAttn have no buffers of their own: each reuses one that is dead while it lives (see block())
type QwenVitActivation = 'x' | 'xn' | 'qkv' | 'q' | 'k' | 'v' | 'kh' | 'vh';

export class QwenVisionTower {
  private constructor(
    readonly gpu: Gpu,
    readonly config: Qwen2_5VisionConfig,
    private readonly conv: Tensor,
    private readonly patchWeight: Tensor,
    private readonly blocks: BlockWeights[],
    private readonly merger: { lnQ: Tensor; w0: Tensor; b0: Tensor; w2: Tensor; b2: Tensor },
    private readonly act: Activation,
  ) {
    const hv = config.hidden_size, inter = config.intermediate_size;
    this.state = new RunState(gpu, 'qwen vision', { x: hv, xn: hv, qkv: 3 * hv, q: hv, k: hv, v: hv, kh: hv, vh: hv });
    this.mlpState = new RunState(gpu, 'qwen vision mlp', { gateUp: 2 * inter, act: inter });
    this.mlpBlockState = new RunState(gpu, 'qwen vision mlp block', { x: hv, out: hv });
  }

  /** Every activation of a block, allocated once for the most patches seen and reused by all blocks and forwards. */
  private readonly state: RunState<QwenVitActivation>;
  /** The MLP's gate·up [·, 2Iv] and act: min(N, mlpBlockRows) rows (the MLP runs in blocks of patch rows). */
  private readonly mlpState: RunState<'gateUp' | 'act'>;
  /** A block's copy of x̂ and its down_proj output, only when N is longer than one block. */
  private readonly mlpBlockState: RunState<'x' | 'out'>;
  private blockRows = MLP_BLOCK_ROWS;

  /** Patch rows per MLP block (default MLP_BLOCK_ROWS); a positive integer. */
  get mlpBlockRows(): number {
    return this.blockRows;
  }

  set mlpBlockRows(rows: number) {
    this.blockRows = checkBlockRows(rows, 'qwen vision tower');
  }

  /** Load from `prefix` (e.g. 'model.visual.'; legacy 'visual.*' names resolve through the checkpoint). */
  static async load(gpu: Gpu, weights: Weights, cfg: Qwen2_5VisionConfig, opts: { prefix: string }): Promise<QwenVisionTower> {
    const p = opts.prefix, hv = cfg.hidden_size, inter = cfg.intermediate_size, unit = cfg.spatial_merge_size ** 2;
    const held: Tensor[] = [];
    const get = async (name: string, shape: number[]) => {
      const t = await weights.gpu(gpu, `${p}${name}`, shape);
      held.push(t);
      return t;
    };
    // two tensors stacked along rows into one (same dtype and row length)
    const stack = async (a: string, b: string, shape: number[], label: string) => {
      const t = await weights.gpuRows(gpu, [{ name: `${p}${a}`, shape }, { name: `${p}${b}`, shape }], `${p}${label}`);
      held.push(t);
      return t;
    };
    try {
      // Conv3d weight [hidden, C, T, P, P] = the same bytes as [hidden, C·T·P·P]
      const conv = await get('patch_embed.proj.weight', [hv, cfg.in_channels, cfg.temporal_patch_size, cfg.patch_size, cfg.patch_size]);
      const patchWeight = conv.reshape([hv, qwenPatchWidth(cfg)], `${p}patch_embed.proj.weight as [${hv}, ${qwenPatchWidth(cfg)}]`);
      const blocks: BlockWeights[] = [];
      for (let i = 0; i < cfg.depth; i++) {
        const b = (name: string, shape: number[]) => get(`blocks.${i}.${name}`, shape);
        blocks.push({
          norm1: await b('norm1.weight', [hv]), norm2: await b('norm2.weight', [hv]),
          qkv: await b('attn.qkv.weight', [3 * hv, hv]), qkvBias: await b('attn.qkv.bias', [3 * hv]),
          proj: await b('attn.proj.weight', [hv, hv]), projBias: await b('attn.proj.bias', [hv]),
          gateUp: await stack(`blocks.${i}.mlp.gate_proj.weight`, `blocks.${i}.mlp.up_proj.weight`, [inter, hv], `blocks.${i}.mlp.gate_up`),
          gateUpBias: await stack(`blocks.${i}.mlp.gate_proj.bias`, `blocks.${i}.mlp.up_proj.bias`, [inter], `blocks.${i}.mlp.gate_up.bias`),
          down: await b('mlp.down_proj.weight', [hv, inter]), downBias: await b('mlp.down_proj.bias', [hv]),
        });
      }
      const mh = unit * hv;
      const merger = {
        lnQ: await get('merger.ln_q.weight', [hv]),
        w0: await get('merger.mlp.0.weight', [mh, mh]), b0: await get('merger.mlp.0.bias', [mh]),
        w2: await get('merger.mlp.2.weight', [cfg.out_hidden_size, mh]), b2: await get('merger.mlp.2.bias', [cfg.out_hidden_size]),
      };
      return new QwenVisionTower(gpu, cfg, conv, patchWeight, blocks, merger, activationFromConfig(cfg.hidden_act, 'vision_config.hidden_act'));
    } catch (e) {
      for (const t of held) t.dispose();
      throw e;
    }
  }

  /**
   * One block over the window-ordered residual stream s.x [N, hidden], in place. x̂ = RMSNorm1(x) is already in s.xn
   * (the previous block's last residual add computed it); this block's last add computes `nextNorm`(x) there.
   */
  private block(stage: Stage, i: number, s: Record<QwenVitActivation, Tensor<'f32'>>, rotary: Tensor<'u32'>, segments: Tensor<'u32'>, nextNorm: Tensor): void {
    const w = this.blocks[i], cfg = this.config;
    const n = s.x.rows, hv = cfg.hidden_size, heads = cfg.num_heads, d = cfg.head_dim;
    const q3 = s.q.reshape([n, heads, d]), k3 = s.k.reshape([n, heads, d]), kh = s.kh.reshape([heads, n, d]), vh = s.vh.reshape([heads, n, d]);
    // buffers shared by values whose lives do not overlap (3 of the 13 [N, Hv] buffers saved): the attention output
    // lives in x̂ (dead from the qkv matmul to the second norm), proj in k and x' in v (both dead once in kh / vh)
    const attn = s.xn, proj = s.k, xAttn = s.v;
    // qkv = x̂·Wᵀ + b → [Q | K | V], each [N, heads, d]; 2D RoPE on q and k (in place)
    matmul(stage, s.xn, w.qkv, { bias: w.qkvBias, out: s.qkv });
    sliceCols(stage, s.qkv, 0, hv, s.q);
    sliceCols(stage, s.qkv, hv, hv, s.k);
    sliceCols(stage, s.qkv, 2 * hv, hv, s.v);
    visionRope2d(stage, q3, rotary, { out: q3 });
    visionRope2d(stage, k3, rotary, { out: k3 });
    // softmax(q·kᵀ/√d)·v within each segment (window or image frame), no causal mask
    kvWrite(stage, s.k, kh, 0);
    kvWrite(stage, s.v, vh, 0);
    attention(stage, q3, kh, vh, { kvLength: n, causal: false, segments, out: attn });
    // x' = x + proj(attn), and x̂ = RMSNorm2(x') in the same dispatch (attn, in x̂, is dead once projected)
    matmul(stage, attn, w.proj, { bias: w.projBias, out: proj });
    addRmsNorm(stage, s.x, proj, w.norm2, QWEN_VIT_EPS, xAttn, s.xn);
    // x = x' + down(silu(gate(x̂)) ⊙ up(x̂)) + biases, with the next block's (or the merger's) x̂ = RMSNorm(x)
    const blockRows = Math.min(n, this.blockRows), m = this.mlpState.at(blockRows);
    inRowBlocks(stage, s.xn, proj, blockRows, this.mlpBlockState, (xn, proj, r) => {
      const gateUp = firstRows(m.gateUp, r), a = firstRows(m.act, r);
      matmul(stage, xn, w.gateUp, { bias: w.gateUpBias, out: gateUp });
      gatedActivationFused(stage, this.act, gateUp, a);
      matmul(stage, a, w.down, { bias: w.downBias, out: proj });
    });
    addRmsNorm(stage, xAttn, proj, nextNorm, QWEN_VIT_EPS, s.x, s.xn);
  }

  /** pixel_values [N, C·T·P·P] (merge-block order) of the images with these grids -> merged features. */
  async forward(pixels: HostTensor<Float32Array>, grids: readonly GridThw[], opts: { blockOutputs?: boolean } = {}): Promise<QwenVitResult> {
    const cfg = this.config, gpu = this.gpu, m = cfg.spatial_merge_size, unit = m * m;
    if (!grids.length) throw new Error('qwen vision tower: no images (image_grid_thw is empty)');
    const n = checkQwenPixels(pixels, grids, cfg);
    const layout = windowLayout(grids, { patchSize: cfg.patch_size, spatialMergeSize: m, windowSize: cfg.window_size });
    const perm = windowRowPermutation(layout, m);
    // rotary (row, col) in the window order of the rows
    const rot = qwenRotaryPositions(grids, m);
    const rotWin = new Uint32Array(2 * n);
    perm.forEach((src, i) => { rotWin[2 * i] = rot[2 * src]; rotWin[2 * i + 1] = rot[2 * src + 1]; });
    const own: Tensor[] = [];
    const keep = <T extends Tensor>(t: T) => (own.push(t), t);
    const rotary = keep(Tensor.from(gpu, 'u32', [n, 2], rotWin, 'vision rotary (row, col)'));
    const cuWindow = keep(Tensor.from(gpu, 'u32', [layout.cuWindowSeqlens.length], layout.cuWindowSeqlens, 'cu_window_seqlens'));
    const cuFull = keep(Tensor.from(gpu, 'u32', [layout.cuSeqlens.length], layout.cuSeqlens, 'cu_seqlens'));
    // window position of each raster-order patch: raster j → merge-block row → slot in the window order
    const invPerm = new Uint32Array(n);
    perm.forEach((src, i) => { invPerm[src] = i; });
    const rasterRows = rasterToMergeBlockRows(grids, m).map((r) => invPerm[r]);
    const toRaster = keep(Tensor.from(gpu, 'u32', [n], rasterRows, 'vision raster order'));
    const blockOutputs: Tensor<'f32'>[] = [];
    try {
      const s = this.state.at(n);
      // patch embedding, then rows into window order
      const rows = keep(Tensor.from(gpu, 'f32', [n, qwenPatchWidth(cfg)], pixels.data, 'pixel_values'));
      const permT = keep(Tensor.from(gpu, 'u32', [n], perm, 'window row order'));
      await Stage.run(gpu, 'qwen vision patch embed', (st) => {
        // the patch embedding passes through k (free before the first block)
        matmul(st, rows, this.patchWeight, { out: s.k });
        gatherRows(st, s.k, permT, s.x);
        // block 0's x̂ (each later one's, and the merger's, comes with the residual add before it)
        rmsNorm(st, s.x, cfg.depth ? this.blocks[0].norm1 : this.merger.lnQ, QWEN_VIT_EPS, s.xn);
      });
      const full = new Set(cfg.fullatt_block_indexes);
      for (let i = 0; i < cfg.depth; i++) {
        await Stage.run(gpu, `qwen vision block ${i}`, (st) => {
          this.block(st, i, s, rotary, full.has(i) ? cuFull : cuWindow, i + 1 < cfg.depth ? this.blocks[i + 1].norm1 : this.merger.lnQ);
          // block outputs for taps, in raster order of the patch grid
          if (opts.blockOutputs) blockOutputs.push(gatherRows(st, s.x, toRaster));
        });
      }
      // merger on window-ordered merged tokens, then back to raster order: out[j] = y[argsort(window_index)[j]]
      const unperm = keep(Tensor.from(gpu, 'u32', [layout.mergedTokens], inverseWindowIndex(layout), 'argsort(window_index)'));
      const features = await Stage.run(gpu, 'qwen vision merger', (st) => {
        // x̂ = ln_q(x) is in s.xn (the last block's residual add computed it)
        // the merger's hidden [N/4, 4Hv] pair lives in q and kh (dead after the last block; same element count)
        const hidden = [n / unit, unit * cfg.hidden_size], reuse = (t: Tensor<'f32'>) => (t.isChunked ? undefined : t.reshape(hidden, 'merger hidden'));
        const h0 = matmul(st, s.xn.reshape(hidden), this.merger.w0, { bias: this.merger.b0, out: reuse(s.q) });
        const g0 = activation(st, 'gelu', h0, reuse(s.kh));
        const y = matmul(st, g0, this.merger.w2, { bias: this.merger.b2 });
        st.onDone(() => [h0, g0, y].forEach((t) => t.dispose()));
        return gatherRows(st, y, unperm);
      });
      return { features, blockOutputs, layout };
    } catch (e) {
      for (const t of blockOutputs) t.dispose();
      throw e;
    } finally {
      for (const t of own) t.dispose();
      // the tower runs once per image: its run state goes back to the pool (reused by the next image) for the LM
      this.state.dispose();
      this.mlpState.dispose();
      this.mlpBlockState.dispose();
    }
  }

  dispose(): void {
    this.state.dispose();
    this.mlpState.dispose();
    this.mlpBlockState.dispose();
    const m = this.merger;
    for (const t of [this.conv, m.lnQ, m.w0, m.b0, m.w2, m.b2, ...this.blocks.flatMap((b) => Object.values(b))]) t.dispose();
  }
}
