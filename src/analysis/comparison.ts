// Two runs of one task side by side — with and without the text prefix, with and without the input-agnostic keys
// blocked: per (tap, layer) both values and the difference, the best layer of each, a plot with both curves and one of Δ.
import type { ResultRow } from '../tasks/resultsLog.ts';
import { comparisonSpec, deltaSpec } from './plotSpecs.ts';
import { renderSvg } from './plotSvg.ts';

export interface ComparedRow {
  tap: string;
  layer: number | null;
  metric: string;
  a: number;
  b: number;
  delta: number;
}

/** Rows present in both runs, matched on (tap, layer, metric); delta = b − a (percentage points). */
export function compareRows(a: readonly ResultRow[], b: readonly ResultRow[]): ComparedRow[] {
  const key = (r: ResultRow) => `${r.tap}|${r.layer}|${r.metric}`;
  const bByKey = new Map(b.map((r) => [key(r), r]));
  return a.flatMap((ra) => {
    const rb = bByKey.get(key(ra));
    return rb ? [{ tap: ra.tap, layer: ra.layer, metric: ra.metric, a: ra.value, b: rb.value, delta: rb.value - ra.value }] : [];
  });
}

/** Markdown: one table per metric, rows (tap, layer), columns a, b, Δ; then the best layer of each run per tap. */
export function comparisonTable(rows: readonly ComparedRow[], labels: readonly [string, string]): string {
  const out: string[] = [];
  for (const metric of [...new Set(rows.map((r) => r.metric))]) {
    const mine = rows.filter((r) => r.metric === metric);
    out.push(`### ${metric}`, '', `| tap | layer | ${labels[0]} | ${labels[1]} | Δ |`, '|---|---:|---:|---:|---:|');
    for (const r of mine) out.push(`| ${r.tap} | ${r.layer ?? '—'} | ${r.a.toFixed(2)} | ${r.b.toFixed(2)} | ${r.delta >= 0 ? '+' : ''}${r.delta.toFixed(2)} |`);
    out.push('', `| tap | best ${labels[0]} | best ${labels[1]} |`, '|---|---:|---:|');
    for (const tap of [...new Set(mine.map((r) => r.tap))]) {
      const t = mine.filter((r) => r.tap === tap);
      const best = (f: (r: ComparedRow) => number) => t.reduce((m, r) => (f(r) > f(m) ? r : m));
      const ba = best((r) => r.a), bb = best((r) => r.b);
      out.push(`| ${tap} | ${ba.a.toFixed(2)} (layer ${ba.layer ?? '—'}) | ${bb.b.toFixed(2)} (layer ${bb.layer ?? '—'}) |`);
    }
    out.push('');
  }
  return out.join('\n');
}

/** Both runs' curves in one SVG (solid: run a, dashed: run b), through vega-lite. */
export function comparisonPlotSvg(a: readonly ResultRow[], b: readonly ResultRow[], labels: readonly [string, string], metric: string, title: string): Promise<string> {
  return renderSvg(comparisonSpec(a, b, labels, { title, metric }));
}

/** Δ = b − a per tap and layer for one metric, as SVG (the prefix / blocking effect). */
export function deltaPlotSvg(rows: readonly ComparedRow[], labels: readonly [string, string], metric: string, title: string): Promise<string> {
  return renderSvg(deltaSpec(rows, labels, { title, metric }));
}
