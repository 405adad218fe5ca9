// The explorer's queries (harness/web/explorer.ts), kept out of the UI: which tap a picker choice names, which
// activations a forward must keep for it, one similarity-map row between two feature maps on the GPU (only the
// [cells] row that is drawn comes back), the best match in it, and an input-agnostic key set re-thresholded on its
// host similarities. The Deno test test/analysis/explorerMaps.test.ts checks them against float64 host cosines.
import type { FeatureMap } from '../capture/features.ts';
import type { AgnosticKeys } from '../capture/interventions.ts';
import type { GridChoice, ImageSpan } from '../capture/spans.ts';
import { canonicalTap, type ShortTap, type TapName } from '../capture/taps.ts';
import { Stage } from '../gpu/stage.ts';
import { Tensor } from '../gpu/tensor.ts';
import { sliceRows } from '../ops/rows.ts';
import { asRows, cosineSimilarity } from '../probe/similarity.ts';

/** The taps the explorer offers (the probe command's short names, less the standalone SigLIP encoder). */
export const EXPLORER_TAPS = ['lm.value', 'lm.key', 'lm.key_pre_rope', 'lm.hidden', 'projector', 'vision'] as const satisfies readonly ShortTap[];
export type ExplorerTap = (typeof EXPLORER_TAPS)[number];

/** What the picker shows for each tap. */
export const EXPLORER_TAP_LABELS: Record<ExplorerTap, string> = {
  'lm.value': 'values (lm.layers.i.attn.v)',
  'lm.key': 'keys (lm.layers.i.attn.k, after RoPE)',
  'lm.key_pre_rope': 'pre-RoPE keys (lm.layers.i.attn.k_pre_rope)',
  'lm.hidden': 'hidden (lm.layers.i.out)',
  'projector': 'projector (projector.out)',
  'vision': 'vision (vision.out)',
};

export function isExplorerTap(s: string): s is ExplorerTap {
  return (EXPLORER_TAPS as readonly string[]).includes(s);
}

/** A picker choice: tap, LM layer (ignored for projector / vision) and KV head (cache taps only; null = all). */
export interface TapChoice {
  tap: ExplorerTap;
  layer: number;
  head: number | null;
}

export function isCacheTap(tap: ExplorerTap): boolean {
  return tap === 'lm.value' || tap === 'lm.key';
}

export function choiceTapName(c: TapChoice): TapName {
  return canonicalTap(c.tap, c.tap.startsWith('lm.') ? c.layer : undefined);
}

/** Activations the forward must keep for the choice (cache taps are views of the KV cache: none). */
export function forwardTapsFor(c: TapChoice): TapName[] {
  return isCacheTap(c.tap) ? [] : [choiceTapName(c)];
}

/** The grid a tap's features lie on for an image span: LLaVA's vision tower output exists only on the base tile. */
export function gridFor(tap: ExplorerTap, span: ImageSpan): GridChoice {
  return tap === 'vision' && span.baseGrid ? 'base' : 'main';
}

/**
 * cos(src[cell], dst[j]) for every cell j of `dst`, on the GPU (slice one row, unit rows, one [1, cells] matmul);
 * cells of `dst` without a token give 0. Only this row is read back.
 */
export async function similarityRow(src: FeatureMap, cell: number, dst: FeatureMap): Promise<Float32Array> {
  if (!Number.isInteger(cell) || cell < 0 || cell >= src.valid.length) throw new Error(`similarity: cell ${cell} is not on the ${src.rows}×${src.cols} grid of ${src.tap}`);
  if (!src.valid[cell]) throw new Error(`similarity: cell ${cell} of ${src.tap} holds no token`);
  if (src.dim !== dst.dim) throw new Error(`similarity: ${src.tap} has ${src.dim} features per cell, ${dst.tap} ${dst.dim}`);
  const gpu = src.features.gpu;
  const mask = Tensor.from(gpu, 'u32', [dst.valid.length], dst.valid, `valid cells of ${dst.tap}`);
  const stage = new Stage(gpu, `explorer similarity ${src.tap}`);
  const a = sliceRows(stage, asRows(src.features), cell, 1);
  const s = await cosineSimilarity(stage, a, asRows(dst.features), { bMask: mask });
  await stage.submit();
  try {
    return (await s.read()) as Float32Array;
  } finally {
    a.dispose();
    s.dispose();
    mask.dispose();
  }
}

/** The valid cell of highest score (first on ties), or -1 when no cell is valid. */
export function bestMatch(scores: ArrayLike<number>, valid: ArrayLike<number>): number {
  let best = -1;
  for (let i = 0; i < scores.length; i++) if (valid[i] && (best < 0 || scores[i] > scores[best])) best = i;
  return best;
}

/** Min and max of the scores over valid cells, leaving out `except` (the clicked cell, always 1 against itself). */
export function scoreRange(scores: ArrayLike<number>, valid: ArrayLike<number>, except = -1): { lo: number; hi: number } {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < scores.length; i++) {
    if (!valid[i] || i === except) continue;
    lo = Math.min(lo, scores[i]);
    hi = Math.max(hi, scores[i]);
  }
  return { lo, hi };
}

/** The same agnostic-key similarities judged with another threshold (cells above it are input-agnostic). */
export function rethreshold(agnostic: AgnosticKeys, threshold: number): AgnosticKeys {
  if (!Number.isFinite(threshold)) throw new Error(`agnostic-key threshold must be a number, got ${threshold}`);
  const cells = new Map<number, number[]>();
  for (const [layer, sim] of agnostic.similarity) cells.set(layer, [...sim.keys()].filter((c) => sim[c] > threshold));
  return { ...agnostic, cells, threshold };
}
