// The LLaVA vision towers on the GPU: SigLIP (LLaVA-OneVision) and CLIP ViT-L/14-336 (LLaVA-NeXT), as HF's
// SiglipVisionTransformer / CLIPVisionTransformer compute them for LLaVA features:
//   patch conv (kernel = stride = patch, a matmul over host-flattened patches) [+ CLIP class token] + positions
//   [CLIP: pre_layrnorm] -> pre-LN layers: x += out(MHA(LN1(x))), x += fc2(act(fc1(LN2(x)))) -> hidden_states.
// Every tile of every image runs in one sequence; attention is non-causal and block-diagonal per tile (segments).
// Only the layers the feature layer needs are loaded and run; post_layernorm is never applied (HF #40994).
import type { Gpu } from '../../gpu/device.ts';
import type { HostTensor } from '../../gpu/hostTensor.ts';
import { Stage } from '../../gpu/stage.ts';
import { Tensor } from '../../gpu/tensor.ts';
import type { LlavaVisionConfig } from '../../io/config.ts';
import { type Activation, activation, activationFromConfig } from '../../ops/activation.ts';
import { add } from '../../ops/add.ts';
import { attention } from '../../ops/attention.ts';
import { kvWrite } from '../../ops/kvWrite.ts';
import { matmul } from '../../ops/matmul.ts';
import { layerNorm } from '../../ops/norm.ts';
import { concatCols, copyInto, gatherRows } from '../../ops/rows.ts';
import { checkBlockRows, firstRows, inRowBlocks, MLP_BLOCK_ROWS, RunState } from '../runState.ts';
import type { Weights } from '../weights.ts';

/** pixel_values of the tiles of all images: [tiles, channels, S, S] row-major f32. */
export type PixelValues = HostTensor<Float32Array>;

/** Which hidden states become the LLaVA image features, as HF's `vision_feature_layer` / `_select_strategy`. */
export interface FeatureSelection {
  /** Indices into hidden_states = (embeddings, layer 0 out, …), non-negative, in concatenation order. */
  hiddenStates: readonly number[];
  /** Strategy "default": drop token 0 (CLS) of every tile; "full": keep all. */
  dropCls: boolean;
}

/** HF `vision_feature_layer` (int or list, negative counts from the end of the L+1 hidden states) as indices. */
export function featureHiddenStates(layer: number | readonly number[], numLayers: number, where = 'vision_feature_layer'): number[] {
  const list = typeof layer === 'number' ? [layer] : [...layer];
  if (!list.length) throw new Error(`${where}: empty list of layers`);
  return list.map((l) => {
    const i = l < 0 ? numLayers + 1 + l : l;
    if (!Number.isInteger(i) || i < 0 || i > numLayers) throw new Error(`${where}: ${l} is outside the ${numLayers + 1} hidden states of a ${numLayers}-layer vision tower`);
    return i;
  });
}

/** Tokens per tile: (S / patch)² patches (trailing pixels dropped as the valid conv does) + CLS for CLIP. */
export function tokensPerTile(cfg: LlavaVisionConfig): number {
  const g = Math.floor(cfg.image_size / cfg.patch_size);
  return g * g + (cfg.model_type === 'clip_vision_model' ? 1 : 0);
}

/**
 * Input preparation for the patch conv as a matmul: every patch of every tile flattened in (channel, ky, kx) order,
 * the order of the conv weight [hidden, C, p, p] viewed as [hidden, C·p·p]. Rows are tile-major, patches raster
 * (row·g + col); with `clsSlot` each tile starts with a zero row where CLIP's class token goes.
 */
export function patchRows(pixels: PixelValues, cfg: LlavaVisionConfig): { rows: Float32Array; tiles: number; tokens: number; width: number } {
  const [tiles, c, h, w] = pixels.shape;
  const s = cfg.image_size, p = cfg.patch_size;
  if (pixels.shape.length !== 4 || c !== cfg.num_channels || h !== s || w !== s) {
    throw new Error(`pixel_values: shape [${pixels.shape.join(', ')}], expected [tiles, ${cfg.num_channels}, ${s}, ${s}] (vision_config.image_size ${s})`);
  }
  if (pixels.data.length !== tiles * c * h * w) throw new Error(`pixel_values: [${pixels.shape.join(', ')}] needs ${tiles * c * h * w} values, got ${pixels.data.length}`);
  if (tiles < 1) throw new Error('pixel_values: no tiles');
  const g = Math.floor(s / p);
  const cls = cfg.model_type === 'clip_vision_model' ? 1 : 0;
  const tokens = g * g + cls, width = c * p * p;
  const rows = new Float32Array(tiles * tokens * width);
  for (let t = 0; t < tiles; t++) {
    for (let gy = 0; gy < g; gy++) {
      for (let gx = 0; gx < g; gx++) {
        const base = (t * tokens + cls + gy * g + gx) * width;
        for (let ch = 0; ch < c; ch++) {
          for (let ky = 0; ky < p; ky++) {
            const src = ((t * c + ch) * h + gy * p + ky) * w + gx * p;
            rows.set(pixels.data.subarray(src, src + p), base + (ch * p + ky) * p);
          }
        }
      }
    }
  }
  return { rows, tiles, tokens, width };
}

type VitActivation = 'x' | 'xAttn' | 'xn' | 'q' | 'k' | 'v' | 'kh' | 'vh' | 'attn' | 'proj';

/** A copy of x (a kept hidden state) in a tensor of its own. */
function copyOf(stage: Stage, x: Tensor<'f32'>, label: string): Tensor<'f32'> {
  const t = Tensor.empty(stage.gpu, 'f32', x.shape, label);
  copyInto(stage, x, t, 0);
  return t;
}

interface VitLayerWeights {
  ln1w: Tensor; ln1b: Tensor; ln2w: Tensor; ln2b: Tensor;
  q: Tensor; qb: Tensor; k: Tensor; kb: Tensor; v: Tensor; vb: Tensor; o: Tensor; ob: Tensor;
  fc1: Tensor; fc1b: Tensor; fc2: Tensor; fc2b: Tensor;
}

export interface VisionForwardResult {
  /** The selected hidden states (feature-dim concatenated), strategy applied: [tiles·tokens, Hv·layers]. */
  features: Tensor<'f32'>;
  /** Output of each layer run, [tiles·tokensPerTile, Hv] (only when asked for; CLS rows kept). */
  layerOutputs: Tensor<'f32'>[];
  tiles: number;
}

export class VisionTower {
  private constructor(
    readonly gpu: Gpu,
    readonly config: LlavaVisionConfig,
    /** Layers loaded (the deepest hidden state any feature selection may use). */
    readonly layerCount: number,
    /** The conv weight as stored, and the same bytes viewed as [hidden, C·p·p]. */
    private readonly conv: Tensor,
    private readonly patchWeight: Tensor,
    private readonly patchBias: Tensor | null,
    /** [tokensPerTile, Hv] f32: position embedding (+ class embedding on row 0 for CLIP). */
    private readonly tokenTable: Tensor<'f32'>,
    private readonly preNorm: { w: Tensor; b: Tensor } | null,
    private readonly layers: VitLayerWeights[],
    private readonly act: Activation,
  ) {
    const hv = config.hidden_size, inter = config.intermediate_size;
    this.state = new RunState(gpu, 'vision', { x: hv, xAttn: hv, xn: hv, q: hv, k: hv, v: hv, kh: hv, vh: hv, attn: hv, proj: hv });
    this.mlpState = new RunState(gpu, 'vision mlp', { fc1: inter, act: inter });
    this.mlpBlockState = new RunState(gpu, 'vision mlp block', { x: hv, out: hv });
  }

  /** fc1 and act: min(N, mlpBlockRows) rows (the MLP runs in blocks of patch rows). */
  private readonly mlpState: RunState<'fc1' | 'act'>;
  /** A block's copy of LN2(x') and its fc2 output, only when N is longer than one block. */
  private readonly mlpBlockState: RunState<'x' | 'out'>;
  private blockRows = MLP_BLOCK_ROWS;

  /** Patch rows per MLP block (default MLP_BLOCK_ROWS); a positive integer. */
  get mlpBlockRows(): number {
    return this.blockRows;
  }

  set mlpBlockRows(rows: number) {
    this.blockRows = checkBlockRows(rows, 'vision tower');
  }

  /** Load the patch embedding, positions and layers 0..layerCount−1 from `prefix` (e.g. 'model.vision_tower.vision_model.'). */
  static async load(gpu: Gpu, weights: Weights, cfg: LlavaVisionConfig, opts: { prefix: string; layerCount: number }): Promise<VisionTower> {
    const { prefix, layerCount } = opts;
    if (!(Number.isInteger(layerCount) && layerCount >= 0 && layerCount <= cfg.num_hidden_layers)) {
      throw new Error(`vision tower: ${layerCount} layers asked of a ${cfg.num_hidden_layers}-layer tower (vision_config.num_hidden_layers)`);
    }
    const hv = cfg.hidden_size, inter = cfg.intermediate_size, p = cfg.patch_size, c = cfg.num_channels;
    const clip = cfg.model_type === 'clip_vision_model';
    const tokens = tokensPerTile(cfg);
    const e = `${prefix}embeddings.`;
    // conv weight [hidden, C, p, p] is the same bytes as [hidden, C·p·p]
    const conv = await weights.gpu(gpu, `${e}patch_embedding.weight`, [hv, c, p, p]);
    const patchWeight = conv.reshape([hv, c * p * p], `${e}patch_embedding.weight as [${hv}, ${c * p * p}]`);
    const patchBias = clip ? null : await weights.gpu(gpu, `${e}patch_embedding.bias`, [hv]);
    const pos = await weights.host(`${e}position_embedding.weight`, [tokens, hv]);
    const table = Float64Array.from(pos.data);
    if (clip) {
      const cls = await weights.host(`${e}class_embedding`, [hv]);
      for (let i = 0; i < hv; i++) table[i] += cls.data[i];
    }
    const tokenTable = Tensor.from(gpu, 'f32', [tokens, hv], table, `${e}position_embedding (+class)`);
    const preNorm = clip ? { w: await weights.gpu(gpu, `${prefix}pre_layrnorm.weight`, [hv]), b: await weights.gpu(gpu, `${prefix}pre_layrnorm.bias`, [hv]) } : null;
    const layers: VitLayerWeights[] = [];
    for (let i = 0; i < layerCount; i++) {
      const l = `${prefix}encoder.layers.${i}.`;
      const w = (name: string, shape: number[]) => weights.gpu(gpu, `${l}${name}`, shape);
      layers.push({
        ln1w: await w('layer_norm1.weight', [hv]), ln1b: await w('layer_norm1.bias', [hv]),
        q: await w('self_attn.q_proj.weight', [hv, hv]), qb: await w('self_attn.q_proj.bias', [hv]),
        k: await w('self_attn.k_proj.weight', [hv, hv]), kb: await w('self_attn.k_proj.bias', [hv]),
        v: await w('self_attn.v_proj.weight', [hv, hv]), vb: await w('self_attn.v_proj.bias', [hv]),
        o: await w('self_attn.out_proj.weight', [hv, hv]), ob: await w('self_attn.out_proj.bias', [hv]),
        ln2w: await w('layer_norm2.weight', [hv]), ln2b: await w('layer_norm2.bias', [hv]),
        fc1: await w('mlp.fc1.weight', [inter, hv]), fc1b: await w('mlp.fc1.bias', [inter]),
        fc2: await w('mlp.fc2.weight', [hv, inter]), fc2b: await w('mlp.fc2.bias', [hv]),
      });
    }
    const act = activationFromConfig(cfg.hidden_act, 'vision_config.hidden_act');
    return new VisionTower(gpu, cfg, layerCount, conv, patchWeight, patchBias, tokenTable, preNorm, layers, act);
  }

  /** Every activation of a layer, allocated once for the most tokens seen and reused by all layers and forwards. */
  private readonly state: RunState<VitActivation>;

  /** hidden_states[0] into s.x: patch embeddings + positions (CLIP: class token prepended, then pre_layrnorm). */
  private embed(stage: Stage, s: Record<VitActivation, Tensor<'f32'>>, patches: Tensor<'f32'>, tiles: number, tokens: number): void {
    // CLIP's class-token rows are zero patches; the conv has no bias there, so they come out 0 + class embedding
    matmul(stage, patches, this.patchWeight, { bias: this.patchBias ?? undefined, out: s.proj });
    for (let t = 0; t < tiles; t++) copyInto(stage, this.tokenTable, s.xn, t * tokens);
    if (!this.preNorm) add(stage, s.proj, s.xn, s.x);
    else {
      add(stage, s.proj, s.xn, s.xAttn);
      layerNorm(stage, s.xAttn, this.preNorm.w, this.preNorm.b, this.config.layer_norm_eps, s.x);
    }
  }

  /** One pre-LN encoder layer over all tiles (attention within each tile), residual stream s.x in place. */
  private layer(stage: Stage, i: number, s: Record<VitActivation, Tensor<'f32'>>, segments: Tensor<'u32'> | undefined): void {
    const w = this.layers[i], cfg = this.config;
    const n = s.x.rows, heads = cfg.num_attention_heads, d = cfg.head_dim, eps = cfg.layer_norm_eps;
    const q3 = s.q.reshape([n, heads, d]), kh = s.kh.reshape([heads, n, d]), vh = s.vh.reshape([heads, n, d]);
    // x' = x + out_proj(MHA(LN1(x))): softmax(q·kᵀ·d^−½) v per head, per tile
    layerNorm(stage, s.x, w.ln1w, w.ln1b, eps, s.xn);
    matmul(stage, s.xn, w.q, { bias: w.qb, out: s.q });
    matmul(stage, s.xn, w.k, { bias: w.kb, out: s.k });
    matmul(stage, s.xn, w.v, { bias: w.vb, out: s.v });
    kvWrite(stage, s.k, kh, 0);
    kvWrite(stage, s.v, vh, 0);
    attention(stage, q3, kh, vh, { kvLength: n, causal: false, segments, out: s.attn });
    matmul(stage, s.attn, w.o, { bias: w.ob, out: s.proj });
    add(stage, s.x, s.proj, s.xAttn);
    // x = x' + fc2(act(fc1(LN2(x'))))
    layerNorm(stage, s.xAttn, w.ln2w, w.ln2b, eps, s.xn);
    const blockRows = Math.min(n, this.blockRows), m = this.mlpState.at(blockRows);
    inRowBlocks(stage, s.xn, s.proj, blockRows, this.mlpBlockState, (xn, proj, r) => {
      const fc1 = firstRows(m.fc1, r), a = firstRows(m.act, r);
      matmul(stage, xn, w.fc1, { bias: w.fc1b, out: fc1 });
      activation(stage, this.act, fc1, a);
      matmul(stage, a, w.fc2, { bias: w.fc2b, out: proj });
    });
    add(stage, s.xAttn, s.proj, s.x);
  }

  /** The LLaVA image features of every tile, and optionally each layer's output. */
  async forward(pixels: PixelValues, sel: FeatureSelection, opts: { layerOutputs?: boolean } = {}): Promise<VisionForwardResult> {
    const deepest = Math.max(...sel.hiddenStates);
    if (deepest > this.layerCount) throw new Error(`vision tower: hidden state ${deepest} needs ${deepest} layers, ${this.layerCount} were loaded`);
    const { rows, tiles, tokens, width } = patchRows(pixels, this.config);
    const gpu = this.gpu, n = tiles * tokens;
    const s = this.state.at(n);
    const patches = Tensor.from(gpu, 'f32', [n, width], rows, 'patches');
    const segments = Tensor.from(gpu, 'u32', [tiles + 1], Array.from({ length: tiles + 1 }, (_, t) => t * tokens), 'vision tile segments');
    // hidden_states[j] kept for the selected j (and every layer output when asked): copies out of the run state
    const kept = new Map<number, Tensor<'f32'>>();
    const keepAt = (j: number) => sel.hiddenStates.includes(j) || (!!opts.layerOutputs && j > 0);
    try {
      await Stage.run(gpu, 'vision embeddings', (st) => {
        this.embed(st, s, patches, tiles, tokens);
        if (keepAt(0)) kept.set(0, copyOf(st, s.x, 'vision hidden_states[0]'));
      });
      for (let i = 0; i < deepest; i++) {
        await Stage.run(gpu, `vision layer ${i}`, (st) => {
          this.layer(st, i, s, tokens < n ? segments : undefined);
          if (keepAt(i + 1)) kept.set(i + 1, copyOf(st, s.x, `vision.layers.${i}.out`));
        });
      }
      const features = await Stage.run(gpu, 'vision features', (st) => {
        const picked = sel.hiddenStates.map((j) => kept.get(j)!);
        const cat = picked.length === 1 ? picked[0] : concatCols(st, picked);
        if (!sel.dropCls) return cat === picked[0] ? copyOf(st, cat, 'vision features') : cat;
        // strategy "default": token 0 of every tile is CLS
        const idx = Array.from({ length: tiles * (tokens - 1) }, (_, r) => Math.floor(r / (tokens - 1)) * tokens + 1 + (r % (tokens - 1)));
        const index = Tensor.from(gpu, 'u32', [idx.length], idx, 'vision CLS-drop index');
        const out = gatherRows(st, cat, index);
        st.onDone(() => { index.dispose(); if (cat !== picked[0]) cat.dispose(); });
        return out;
      });
      const layerOutputs = opts.layerOutputs ? Array.from({ length: deepest }, (_, i) => kept.get(i + 1)!) : [];
      for (const t of kept.values()) if (!layerOutputs.includes(t)) t.dispose();
      return { features, layerOutputs, tiles };
    } catch (e) {
      for (const t of kept.values()) t.dispose();
      throw e;
    } finally {
      patches.dispose();
      segments.dispose();
      // the tower runs once per image: its run state goes back to the pool (reused by the next image) for the LM
      this.state.dispose();
      this.mlpState.dispose();
      this.mlpBlockState.dispose();
    }
  }

  /** Bytes of the run state now allocated. */
  get runStateBytes(): number {
    return this.state.byteLength + this.mlpState.byteLength + this.mlpBlockState.byteLength;
  }

  dispose(): void {
    this.state.dispose();
    this.mlpState.dispose();
    this.mlpBlockState.dispose();
    const all = [this.conv, this.patchBias, this.tokenTable, this.preNorm?.w, this.preNorm?.b, ...this.layers.flatMap((l) => Object.values(l))];
    for (const t of all) t?.dispose();
  }
}
