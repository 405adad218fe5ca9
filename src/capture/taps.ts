// Canonical tap names (one stable name per thing a researcher can ask for) and the short names the probe command
// takes. `lm.value` at layer i is `lm.layers.{i}.attn.v` (the image value tokens as cached), `lm.key` the keys as
// cached (after RoPE), `lm.key_pre_rope` the keys before RoPE, `lm.hidden` the residual stream after layer i,
// `projector` the projector output (`projector.out`, what the LM receives), `vision` the vision tower output
// (`vision.out`); `siglip` is the standalone SigLIP encoder run as its own model (the "no MLM fine-tuning" baseline).
import type { TapName } from '../models/model.ts';

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

export type ParsedTap =
  | { kind: 'cache'; which: 'key' | 'value'; layer: number }
  | { kind: 'lmRows'; name: TapName; layer: number }
  | { kind: 'projector' }
  | { kind: 'vision' };

/** What a canonical tap name refers to; an unknown name is an error listing the known forms. */
export function parseTap(name: TapName): ParsedTap {
  let m = /^lm\.layers\.(\d+)\.attn\.(k|v)$/.exec(name);
  if (m) return { kind: 'cache', which: m[2] === 'k' ? 'key' : 'value', layer: Number(m[1]) };
  m = /^lm\.layers\.(\d+)\.(attn\.k_pre_rope|out)$/.exec(name);
  if (m) return { kind: 'lmRows', name, layer: Number(m[1]) };
  if (name === 'projector.out') return { kind: 'projector' };
  if (name === 'vision.out') return { kind: 'vision' };
  throw new Error(`unknown tap ${JSON.stringify(name)}: known taps are lm.layers.{i}.attn.k, lm.layers.{i}.attn.v, ` +
    `lm.layers.{i}.attn.k_pre_rope, lm.layers.{i}.out, projector.out, vision.out`);
}

/** The taps a forward must keep (beyond the cache) for these canonical names. */
export function forwardTapsFor(names: readonly TapName[]): TapName[] {
  return names.filter((n) => parseTap(n).kind !== 'cache');
}
