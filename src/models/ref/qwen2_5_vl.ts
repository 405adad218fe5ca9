// Float64 CPU reference of the whole Qwen2.5-VL forward (tiny checkpoints): the vision reference
// (ref/qwenVit.ts), the image features written over the `<|image_pad|>` rows of the token embeddings, the
// decoder reference at get_rope_index's 3D positions; and greedy decoding by re-running the full sequence with
// each new token at position (cache index + rope_delta) on all three axes.
import type { Qwen2_5VLConfig } from '../../io/config.ts';
import type { HostTensor } from '../../gpu/hostTensor.ts';
import type { ModelInputs } from '../model.ts';
import type { Weights } from '../weights.ts';
import { type DecoderRefBlock, type DecoderRefResult, type DecoderRefWeights, decoderForwardRef, embedRef, loadDecoderRef } from './decoder.ts';
import { getRopeIndex } from './getRopeIndex.ts';
import { loadQwenVitRef, qwenVitForwardRef, type QwenVitRefResult, type QwenVitRefWeights } from './qwenVit.ts';

export interface Qwen2_5VLRefWeights {
  vit: QwenVitRefWeights;
  decoder: DecoderRefWeights;
}

export interface Qwen2_5VLRefResult {
  /** Vision reference (block outputs in raster patch order, merger features), null without images. */
  vision: QwenVitRefResult | null;
  lm: DecoderRefResult;
  positions: [number[], number[], number[]];
  ropeDelta: number;
}

export async function loadQwen2_5VLRef(weights: Weights, cfg: Qwen2_5VLConfig): Promise<Qwen2_5VLRefWeights> {
  return {
    vit: await loadQwenVitRef(weights, cfg.vision_config, { prefix: 'model.visual.' }),
    decoder: await loadDecoderRef(weights, cfg.text_config, { prefix: 'model.language_model.', lmHead: 'lm_head.weight' }),
  };
}

/** inputs_embeds: token embeddings with the image features over the pad rows, in order. */
export function embeddings(w: Qwen2_5VLRefWeights, ids: readonly number[], imagePositions: readonly number[], features: HostTensor | null): HostTensor {
  const h = embedRef(w.decoder, ids);
  const H = h.shape[1];
  imagePositions.forEach((p, i) => h.data.set(features!.data.subarray(i * H, (i + 1) * H), p * H));
  return h;
}

/** HF's forward up to the decoder: image pad positions, the vision features over them, get_rope_index. */
function front(w: Qwen2_5VLRefWeights, cfg: Qwen2_5VLConfig, inputs: ModelInputs) {
  const grids = (inputs.imageGridThw ?? []).map((g) => [g[0], g[1], g[2]] as const);
  const vision = inputs.pixelValues && grids.length ? qwenVitForwardRef(w.vit, cfg.vision_config, inputs.pixelValues, grids) : null;
  const imagePositions = inputs.inputIds.flatMap((id, i) => (id === cfg.image_token_id ? [i] : []));
  const nFeatures = vision?.features.shape[0] ?? 0;
  if (imagePositions.length !== nFeatures) throw new Error(`reference: Image features and image tokens do not match: tokens: ${imagePositions.length}, features ${nFeatures}`);
  const rope = getRopeIndex(inputs.inputIds, grids, {
    imageTokenId: cfg.image_token_id, visionStartTokenId: cfg.vision_start_token_id, spatialMergeSize: cfg.vision_config.spatial_merge_size,
  });
  return { vision, imagePositions, rope };
}

export function qwen2_5VLForwardRef(w: Qwen2_5VLRefWeights, cfg: Qwen2_5VLConfig, inputs: ModelInputs, opts: { block?: DecoderRefBlock } = {}): Qwen2_5VLRefResult {
  const { vision, imagePositions, rope } = front(w, cfg, inputs);
  const h = embeddings(w, inputs.inputIds, imagePositions, vision?.features ?? null);
  const lm = decoderForwardRef(w.decoder, cfg.text_config, h, rope.positions, opts);
  return { vision, lm, positions: rope.positions, ropeDelta: rope.ropeDelta };
}

/** argmax over a row (first maximum, as torch.argmax). */
function argmaxRow(x: HostTensor, row: number): number {
  const v = x.shape[1];
  let best = 0;
  for (let j = 1; j < v; j++) if (x.data[row * v + j] > x.data[row * v + best]) best = j;
  return best;
}

/** Greedy tokens: argmax of the last logits row, appended and re-run at position (index + rope_delta), until a stop id. */
export function qwen2_5VLGreedyRef(w: Qwen2_5VLRefWeights, cfg: Qwen2_5VLConfig, inputs: ModelInputs, opts: { maxNewTokens: number; stop: readonly number[] }): number[] {
  const first = qwen2_5VLForwardRef(w, cfg, inputs);
  const imagePositions = inputs.inputIds.flatMap((id, i) => (id === cfg.image_token_id ? [i] : []));
  const ids = [...inputs.inputIds];
  const pos = first.positions.map((r) => [...r]) as [number[], number[], number[]];
  const tokens: number[] = [];
  let logits = first.lm.logits;
  while (tokens.length < opts.maxNewTokens) {
    const token = argmaxRow(logits, logits.shape[0] - 1);
    tokens.push(token);
    if (opts.stop.includes(token) || tokens.length === opts.maxNewTokens) break;
    // decode position: cache index + rope_delta on every axis
    const p = ids.length + first.ropeDelta;
    ids.push(token);
    for (const r of pos) r.push(p);
    const h = embeddings(w, ids, imagePositions, first.vision?.features ?? null);
    logits = decoderForwardRef(w.decoder, cfg.text_config, h, pos).logits;
  }
  return tokens;
}

