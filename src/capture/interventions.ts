// Interventions are data, not code paths: an attention-blocking spec the same forward applies in the layers it names,
// and the span a text prefix occupies. Input-agnostic keys (found by analysis/agnosticKeys.ts) become a blocking spec.
import type { BlockRule } from '../ops/attention.ts';
import { type GridChoice, gridTokenKind, type ImageSpan } from './spans.ts';

/** Attention blocking applied inside the forward: in these layers, these query positions may not see those keys. */
export interface AttentionBlockSpec {
  layers: readonly number[] | 'all';
  rules: readonly BlockRule[];
}

/** Whether the blocking spec applies to layer l. */
export function blocksLayer(block: AttentionBlockSpec | null | undefined, l: number): boolean {
  return !!block && block.rules.length > 0 && (block.layers === 'all' || block.layers.includes(l));
}

/**
 * The rules a decode step keeps: those that reached the prefill's last query (so generated tokens are blocked from
 * the same keys as the question), re-indexed to the one new query.
 */
export function decodeBlock(block: AttentionBlockSpec | null, prefillLength: number): AttentionBlockSpec | undefined {
  if (!block) return undefined;
  const last = prefillLength - 1;
  const rules = block.rules.filter((r) => r.queries[0] <= last && r.queries[1] > last).map((r) => ({ queries: [0, 1] as const, keys: r.keys }));
  return rules.length ? { layers: block.layers, rules } : undefined;
}

/** The ids a prefix added: the span where the prompt with the prefix differs from the prompt without it. */
export function prefixSpan(withPrefix: readonly number[], without: readonly number[]): [number, number] {
  let a = 0;
  while (a < without.length && a < withPrefix.length && without[a] === withPrefix[a]) a++;
  let b = 0;
  while (b < without.length - a && b < withPrefix.length - a && without[without.length - 1 - b] === withPrefix[withPrefix.length - 1 - b]) b++;
  return [a, withPrefix.length - b];
}

/** Input-agnostic image keys per layer, on one grid (analysis/agnosticKeys.ts finds them). */
export interface AgnosticKeys {
  /** Per layer: cell indices (row·cols + col on the image grid) judged input-agnostic. */
  cells: Map<number, number[]>;
  /** Per layer: every cell's cross-image similarity (host copy, for the report's heatmaps). */
  similarity: Map<number, Float32Array>;
  grid: { rows: number; cols: number; choice: GridChoice };
  threshold: number;
  images: number;
}

/**
 * The blocking intervention for one image span: in the layers where agnostic keys were found, every query from the
 * image's first token on (later image tokens and all text after the image) may not attend to the agnostic key
 * positions. kvscope's choice: one rule over the union of the layers' agnostic positions (the forward's mask spec
 * applies one rule set to a list of layers). Null when nothing is agnostic.
 */
export function blockAgnosticKeys(agnostic: AgnosticKeys, span: ImageSpan, sequenceLength: number): AttentionBlockSpec | null {
  const choice = agnostic.grid.choice;
  const g = choice === 'base' ? span.baseGrid : span.grid;
  if (!g) return null;
  const kind = gridTokenKind(span, choice);
  const { rows: R, cols: C } = agnostic.grid;
  const flagged = new Set([...agnostic.cells.values()].flat());
  // an image whose grid differs from the one the keys were found on: cells map proportionally
  const agnosticCellOf = (row: number, col: number) => Math.floor((row * R) / g.rows) * C + Math.floor((col * C) / g.cols);
  const keys: number[] = [];
  span.tokens.forEach((t, i) => {
    if (t.kind === kind && flagged.has(agnosticCellOf(t.row, t.col))) keys.push(span.start + i);
  });
  const layers = [...agnostic.cells].filter(([, cells]) => cells.length).map(([l]) => l).sort((a, b) => a - b);
  if (!layers.length || !keys.length) return null;
  return { layers, rules: [{ queries: [span.start, sequenceLength], keys: keys.map((p) => [p, p + 1] as const) }] };
}
