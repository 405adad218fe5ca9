// Float64 CPU reference of the whole LLaVA forward (OneVision and NeXt), written out plainly after HF
// `LlavaOnevisionForConditionalGeneration` / `LlavaNextForConditionalGeneration`: vision tower per tile, projector,
// per-image packing (base, crop grid assembled as [gh·p, gw·p, H], unpad, OneVision anyres_max bilinear downscale,
// newline after each row), scatter over the image token ids, then the decoder reference. For tiny checkpoints.
import type { LlavaNextConfig, LlavaOnevisionConfig } from '../../io/config.ts';
import { activation } from '../../ops/ref/activation.ts';
import { type HostTensor, hostTensor } from '../../gpu/hostTensor.ts';
import { interpolateBilinear } from '../../ops/ref/interpolate.ts';
import { matmul } from '../../ops/ref/matmul.ts';
import type { ModelInputs } from '../model.ts';
import type { Weights } from '../weights.ts';
import { act2fn } from './act2fn.ts';
import { anyresGridShape, imageSizeToNumPatches, unpadImage } from './anyres.ts';
import { type DecoderRefBlock, type DecoderRefResult, type DecoderRefWeights, decoderForwardRef, embedRef, loadDecoderRef } from './decoder.ts';
import { loadVitRef, vitForwardRef, type VitRefWeights } from './vit.ts';

export type LlavaConfig = LlavaOnevisionConfig | LlavaNextConfig;

export interface LlavaRefWeights {
  vision: VitRefWeights;
  projector: { w1: HostTensor; b1?: HostTensor; w2: HostTensor; b2?: HostTensor };
  newline: HostTensor;
  decoder: DecoderRefWeights;
}

/**
 * HF `vision_feature_layer` (an int or a list) as indices into the L + 1 hidden states (embeddings, layer 0 out, …),
 * Python's negative indexing: hidden_states[l] with l < 0 is hidden_states[L + 1 + l].
 */
export function featureLayers(cfg: LlavaConfig): number[] {
  const n = cfg.vision_config.num_hidden_layers + 1;
  const layers = typeof cfg.vision_feature_layer === 'number' ? [cfg.vision_feature_layer] : [...cfg.vision_feature_layer];
  return layers.map((l) => {
    if (!Number.isInteger(l) || l < -n || l >= n) throw new Error(`reference: vision_feature_layer ${l} indexes none of the ${n} hidden states`);
    return l < 0 ? n + l : l;
  });
}

export async function loadLlavaRef(weights: Weights, cfg: LlavaConfig): Promise<LlavaRefWeights> {
  const vc = cfg.vision_config;
  const layerCount = Math.max(...featureLayers(cfg));
  const p = 'model.multi_modal_projector.';
  const bias = cfg.multimodal_projector_bias;
  return {
    vision: await loadVitRef(weights, vc, { prefix: 'model.vision_tower.vision_model.', layerCount }),
    projector: {
      w1: await weights.host(`${p}linear_1.weight`), b1: bias ? await weights.host(`${p}linear_1.bias`) : undefined,
      w2: await weights.host(`${p}linear_2.weight`), b2: bias ? await weights.host(`${p}linear_2.bias`) : undefined,
    },
    newline: await weights.host('model.image_newline', [cfg.text_config.hidden_size]),
    decoder: await loadDecoderRef(weights, cfg.text_config, { prefix: 'model.language_model.', lmHead: 'lm_head.weight' }),
  };
}

export interface LlavaRefResult extends DecoderRefResult {
  /** Each vision layer's output over all tiles [tiles·N, Hv]. */
  visionLayers: HostTensor[];
  /** Selected vision features [tiles·tokens, Hv·k] (`vision.out`). */
  visionFeatures: HostTensor;
  /** Projector output per tile token [tiles·tokens, H]. */
  projected: HostTensor;
  /** Image features in sequence order [n_image_tokens, H] (`projector.out`). */
  packed: HostTensor;
  /** Input embeddings after the scatter [S, H]. */
  embeddings: HostTensor;
}

/** One image's tokens: base tile, then (anyres) the crop grid rows with a newline after each. */
function packImage(cfg: LlavaConfig, tilesFeat: number[][][], imageSize: readonly [number, number], newline: HostTensor, singleTile: boolean): number[][] {
  const vc = cfg.vision_config;
  const p = Math.floor(vc.image_size / vc.patch_size);
  const base = tilesFeat[0];
  if (singleTile) return [...base, Array.from(newline.data)];
  const [oh, ow] = imageSize;
  const [gh, gw] = anyresGridShape(imageSize, cfg.image_grid_pinpoints, vc.image_size);
  if (tilesFeat.length !== 1 + gh * gw) throw new Error(`reference: image ${oh}×${ow} has ${tilesFeat.length} tiles, its ${gh}×${gw} grid needs ${1 + gh * gw}`);
  // crops as [gh, gw, p, p, H] -> one [gh·p, gw·p, H] map
  let map: number[][][] = [];
  for (let r = 0; r < gh * p; r++) {
    const row: number[][] = [];
    for (let c = 0; c < gw * p; c++) {
      const crop = Math.floor(r / p) * gw + Math.floor(c / p);
      row.push(tilesFeat[1 + crop][(r % p) * p + (c % p)]);
    }
    map.push(row);
  }
  map = unpadImage(map, imageSize);
  const aspect = cfg.model_type === 'llava_onevision' ? cfg.vision_aspect_ratio : 'anyres';
  const max = /^anyres_max_(\d+)$/.exec(aspect);
  if (max) {
    // anyres_max_N: ratio = sqrt(h·w / (N·p²)); if > 1.1, bilinear to (int(h // ratio), int(w // ratio))
    const h = map.length, w = map[0].length;
    const ratio = Math.sqrt((h * w) / (Number(max[1]) * p * p));
    if (ratio > 1.1) {
      const dim = map[0][0].length;
      const oh2 = Math.floor(h / ratio), ow2 = Math.floor(w / ratio);
      const small = interpolateBilinear(hostTensor([h, w, dim], map.flat(2)), oh2, ow2);
      map = Array.from({ length: oh2 }, (_, r) => Array.from({ length: ow2 }, (_, c) => Array.from(small.data.subarray((r * ow2 + c) * dim, (r * ow2 + c + 1) * dim))));
    }
  }
  const out = [...base];
  for (const row of map) out.push(...row, Array.from(newline.data));
  return out;
}

/** The vision side and the scatter: the LM's input embeddings [S, H] with every intermediate before it. */
export function llavaEmbedRef(w: LlavaRefWeights, cfg: LlavaConfig, inputs: ModelInputs): Omit<LlavaRefResult, keyof DecoderRefResult> {
  const vc = cfg.vision_config, H = cfg.text_config.hidden_size;
  const ids = inputs.inputIds;
  const sizes = inputs.imageSizes ?? [];
  let visionLayers: HostTensor[] = [], visionFeatures = hostTensor([0, vc.hidden_size]), projected = hostTensor([0, H]);
  const packedRows: number[][] = [];
  if (inputs.pixelValues && sizes.length) {
    // hidden_states[vision_feature_layer] (a list: concatenated on the feature dim); strategy 'default' drops CLS
    const sel = { hiddenStates: featureLayers(cfg), dropCls: cfg.vision_feature_select_strategy === 'default' };
    const v = vitForwardRef(w.vision, vc, inputs.pixelValues, sel);
    visionLayers = v.layerOutputs;
    visionFeatures = v.features;
    // projector: linear_2(act(linear_1(x)))
    const act = act2fn(cfg.projector_hidden_act, 'projector_hidden_act');
    projected = matmul(activation(act, matmul(v.features, w.projector.w1, { bias: w.projector.b1 })), w.projector.w2, { bias: w.projector.b2 });
    const tokens = visionFeatures.shape[0] / inputs.pixelValues.shape[0];
    const tileRows = (t: number) => Array.from({ length: tokens }, (_, i) => Array.from(projected.data.subarray((t * tokens + i) * H, (t * tokens + i + 1) * H)));
    // tiles per image (image_size_to_num_patches); OneVision with several images in a sample: one each (no patching)
    const single = cfg.model_type === 'llava_onevision' && sizes.length > 1;
    const counts = sizes.map((size) => (single ? 1 : imageSizeToNumPatches(size, cfg.image_grid_pinpoints, vc.image_size)));
    const total = counts.reduce((a, n) => a + n, 0);
    if (total !== inputs.pixelValues.shape[0]) throw new Error(`reference: image_sizes ${JSON.stringify(sizes)} need ${total} tiles, pixel_values has ${inputs.pixelValues.shape[0]}`);
    let tile = 0;
    sizes.forEach((size, k) => {
      packedRows.push(...packImage(cfg, Array.from({ length: counts[k] }, (_, i) => tileRows(tile + i)), size, w.newline, single));
      tile += counts[k];
    });
  }
  const packed = hostTensor([packedRows.length, H], packedRows.flat());
  // scatter: the image features replace the embeddings of the image token ids, in order
  const embeddings = embedRef(w.decoder, ids.map((id) => (id === cfg.image_token_index ? 0 : id)));
  const positions = ids.flatMap((id, i) => (id === cfg.image_token_index ? [i] : []));
  if (positions.length !== packedRows.length) {
    throw new Error(`Image features and image tokens do not match: tokens: ${positions.length}, features ${packedRows.length}`);
  }
  positions.forEach((pos, j) => embeddings.data.set(packed.data.subarray(j * H, (j + 1) * H), pos * H));
  return { visionLayers, visionFeatures, projected, packed, embeddings };
}

/** The full forward of `inputs` in float64, every intermediate kept; positions 0..S−1. */
export function llavaForwardRef(w: LlavaRefWeights, cfg: LlavaConfig, inputs: ModelInputs, opts: { block?: DecoderRefBlock } = {}): LlavaRefResult {
  const front = llavaEmbedRef(w, cfg, inputs);
  const lm = decoderForwardRef(w.decoder, cfg.text_config, front.embeddings, inputs.inputIds.map((_, i) => i), opts);
  return { ...lm, ...front };
}

/**
 * Greedy decoding without a cache: the prompt's embeddings once, then per new token the whole decoder over the
 * prompt plus the generated tokens' embeddings; argmax (first maximum) of the last row. Stops after a stop token.
 */
export function llavaGreedyRef(w: LlavaRefWeights, cfg: LlavaConfig, inputs: ModelInputs, maxNewTokens: number, stop: readonly number[]): number[] {
  const H = cfg.text_config.hidden_size;
  let h = llavaEmbedRef(w, cfg, inputs).embeddings;
  const out: number[] = [];
  while (out.length < maxNewTokens) {
    const seq = h.shape[0];
    const { logits } = decoderForwardRef(w.decoder, cfg.text_config, h, Array.from({ length: seq }, (_, i) => i));
    const vocab = logits.shape[1], last = (seq - 1) * vocab;
    let best = 0;
    for (let j = 1; j < vocab; j++) if (logits.data[last + j] > logits.data[last + best]) best = j;
    out.push(best);
    if (stop.includes(best)) break;
    const next = hostTensor([seq + 1, H]);
    next.data.set(h.data);
    next.data.set(embedRef(w.decoder, [best]).data, seq * H);
    h = next;
  }
  return out;
}
