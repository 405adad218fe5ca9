// Tap names: one stable, canonical name per activation a researcher can ask for (TransformerLens-style), the one
// parser that reads them, and the short names the probe command takes.
//   vision.out                     vision tower output as the projector takes it (Qwen: last block, before the merger)
//   vision.layers.{i}.out          vision layer / block i's output
//   projector.out                  image features in sequence order (what the LM receives)
//   lm.layers.{i}.attn.k           keys as cached (after RoPE)        lm.layers.{i}.attn.v   values as cached
//   lm.layers.{i}.attn.k_pre_rope  keys before RoPE                   lm.layers.{i}.out      residual stream after layer i
// `siglip.out` names the standalone SigLIP encoder's output (the "no MLM fine-tuning" baseline), not a model tap.

export type LmTapName =
  | `lm.layers.${number}.attn.k`
  | `lm.layers.${number}.attn.v`
  | `lm.layers.${number}.attn.k_pre_rope`
  | `lm.layers.${number}.out`;
export type TapName = 'vision.out' | `vision.layers.${number}.out` | 'projector.out' | LmTapName | 'siglip.out';

/** What a tap name refers to. */
export type ParsedTap =
  | { kind: 'vision' }
  | { kind: 'visionLayer'; layer: number }
  | { kind: 'projector' }
  | { kind: 'cache'; which: 'key' | 'value'; layer: number }
  | { kind: 'preRope'; layer: number }
  | { kind: 'hidden'; layer: number }
  | { kind: 'siglip' };

const KNOWN = 'vision.out, vision.layers.{i}.out, projector.out, lm.layers.{i}.attn.k, lm.layers.{i}.attn.v, ' +
  'lm.layers.{i}.attn.k_pre_rope, lm.layers.{i}.out, siglip.out';

/** The one parser of tap names; an unknown name is an error listing the known forms. */
export function parseTap(name: string): ParsedTap {
  if (name === 'vision.out') return { kind: 'vision' };
  if (name === 'projector.out') return { kind: 'projector' };
  if (name === 'siglip.out') return { kind: 'siglip' };
  let m = /^vision\.layers\.(0|[1-9]\d*)\.out$/.exec(name);
  if (m) return { kind: 'visionLayer', layer: Number(m[1]) };
  m = /^lm\.layers\.(0|[1-9]\d*)\.(attn\.k|attn\.v|attn\.k_pre_rope|out)$/.exec(name);
  if (m) {
    const layer = Number(m[1]);
    switch (m[2]) {
      case 'attn.k': return { kind: 'cache', which: 'key', layer };
      case 'attn.v': return { kind: 'cache', which: 'value', layer };
      case 'attn.k_pre_rope': return { kind: 'preRope', layer };
      default: return { kind: 'hidden', layer };
    }
  }
  throw new Error(`unknown tap ${JSON.stringify(name)}: known taps are ${KNOWN}`);
}

/** The canonical name of a parsed tap (parseTap's inverse). */
export function tapName(t: ParsedTap): TapName {
  switch (t.kind) {
    case 'vision': return 'vision.out';
    case 'visionLayer': return `vision.layers.${t.layer}.out`;
    case 'projector': return 'projector.out';
    case 'siglip': return 'siglip.out';
    case 'cache': return `lm.layers.${t.layer}.attn.${t.which === 'key' ? 'k' : 'v'}`;
    case 'preRope': return `lm.layers.${t.layer}.attn.k_pre_rope`;
    case 'hidden': return `lm.layers.${t.layer}.out`;
  }
}

/** Which activations a forward must keep for a list of taps, checked against the layers the model runs. */
export interface TapPlan {
  vision: boolean;
  visionLayers: Set<number>;
  projector: boolean;
  /** Cache taps are views of the KV cache: nothing extra is kept. */
  cache: { name: TapName; which: 'key' | 'value'; layer: number }[];
  preRope: Set<number>;
  hidden: Set<number>;
}

export function planTaps(names: readonly string[], visionLayers: number, lmLayers: number, model: string): TapPlan {
  const plan: TapPlan = { vision: false, visionLayers: new Set(), projector: false, cache: [], preRope: new Set(), hidden: new Set() };
  const check = (layer: number, n: number, name: string, what: string) => {
    if (layer >= n) throw new Error(`tap ${name}: ${what} layer ${layer} does not exist (${model} runs ${n}: 0..${n - 1})`);
    return layer;
  };
  for (const name of names) {
    const t = parseTap(name);
    switch (t.kind) {
      case 'vision': plan.vision = true; break;
      case 'projector': plan.projector = true; break;
      case 'visionLayer': plan.visionLayers.add(check(t.layer, visionLayers, name, 'vision')); break;
      case 'cache': check(t.layer, lmLayers, name, 'LM'); plan.cache.push({ name: tapName(t), which: t.which, layer: t.layer }); break;
      case 'preRope': plan.preRope.add(check(t.layer, lmLayers, name, 'LM')); break;
      case 'hidden': plan.hidden.add(check(t.layer, lmLayers, name, 'LM')); break;
      case 'siglip': throw new Error(`tap siglip.out is the standalone SigLIP encoder's output, not a ${model} tap (probe --taps siglip --siglip DIR)`);
    }
  }
  return plan;
}

// Short names for the probe command: `lm.value` at layer i is `lm.layers.{i}.attn.v`, and so on.
export const SHORT_TAPS = ['lm.value', 'lm.key', 'lm.key_pre_rope', 'lm.hidden', 'projector', 'vision', 'siglip'] as const;
export type ShortTap = (typeof SHORT_TAPS)[number];

/** Whether the short tap has one feature map per LM layer. */
export function isLayered(tap: ShortTap): boolean {
  return tap.startsWith('lm.');
}

/** Canonical name of a short tap at a layer. */
export function canonicalTap(tap: ShortTap, layer?: number): TapName {
  const need = () => {
    if (layer === undefined || !Number.isInteger(layer) || layer < 0) throw new Error(`tap ${tap} needs a layer index, got ${layer}`);
    return layer;
  };
  switch (tap) {
    case 'lm.value': return `lm.layers.${need()}.attn.v`;
    case 'lm.key': return `lm.layers.${need()}.attn.k`;
    case 'lm.key_pre_rope': return `lm.layers.${need()}.attn.k_pre_rope`;
    case 'lm.hidden': return `lm.layers.${need()}.out`;
    case 'projector': return 'projector.out';
    case 'vision': return 'vision.out';
    case 'siglip': return 'siglip.out';
  }
}

/** Short tap names from a comma list (the CLI's --taps and the browser's picker). */
export function parseShortTaps(spec: string): ShortTap[] {
  const taps = spec.split(',').map((t) => t.trim()).filter(Boolean);
  for (const t of taps) if (!(SHORT_TAPS as readonly string[]).includes(t)) throw new Error(`--taps: unknown tap ${t} (known: ${SHORT_TAPS.join(', ')})`);
  if (!taps.length) throw new Error('--taps: no taps given');
  return taps as ShortTap[];
}
