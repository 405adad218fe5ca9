// The human-readable side of a run: a Markdown table (one row per layer, one column per tap, the best layer of
// each tap in bold, baselines without layers in their own rows) and an SVG plot per metric.
import type { ResultRow } from '../tasks/resultsLog.ts';
import { layerPlotSvg } from './layerPlot.ts';
import { writeFileAtomic } from '../io/atomicWrite.ts';

/** Markdown table of one task's rows for one metric. */
export function resultsTable(rows: readonly ResultRow[], metric: string): string {
  const mine = rows.filter((r) => r.metric === metric);
  const taps = [...new Set(mine.map((r) => r.tap))];
  const layeredTaps = taps.filter((t) => mine.some((r) => r.tap === t && r.layer !== null));
  const flatTaps = taps.filter((t) => !layeredTaps.includes(t));
  const layers = [...new Set(mine.filter((r) => r.layer !== null).map((r) => r.layer as number))].sort((a, b) => a - b);
  const best = new Map(layeredTaps.map((t) => [t, Math.max(...mine.filter((r) => r.tap === t).map((r) => r.value))]));
  const cell = (tap: string, layer: number | null) => {
    const r = mine.find((x) => x.tap === tap && x.layer === layer);
    if (!r) return '';
    const v = r.value.toFixed(2);
    return layer !== null && r.value === best.get(tap) ? `**${v}**` : v;
  };
  const lines: string[] = [];
  if (layeredTaps.length) {
    lines.push(`| layer | ${layeredTaps.join(' | ')} |`, `|---:|${layeredTaps.map(() => '---:').join('|')}|`);
    for (const l of layers) lines.push(`| ${l} | ${layeredTaps.map((t) => cell(t, l)).join(' | ')} |`);
    lines.push(`| **max** | ${layeredTaps.map((t) => best.get(t)!.toFixed(2)).join(' | ')} |`);
  }
  if (flatTaps.length) {
    if (lines.length) lines.push('');
    lines.push(`| baseline | ${metric} |`, '|---|---:|');
    for (const t of flatTaps) lines.push(`| ${t} | ${cell(t, null)} |`);
  }
  const n = mine.length ? Math.max(...mine.map((r) => r.n)) : 0;
  lines.push('', `${metric} in percent over ${n} sample(s).`);
  return lines.join('\n');
}

export interface WrittenReport {
  markdown: string;
  files: string[];
}

/** The report's files by name — one SVG per metric, then results.md — without writing them (CLI and browser). */
export async function reportFiles(task: string, rows: readonly ResultRow[], notes: readonly string[] = []): Promise<{ markdown: string; files: { name: string; text: string }[] }> {
  const metrics = [...new Set(rows.map((r) => r.metric))];
  const parts = [`# ${task}`, ''];
  const files: { name: string; text: string }[] = [];
  for (const metric of metrics) {
    const safe = metric.replace(/[^A-Za-z0-9]+/g, '_');
    files.push({ name: `${task}_${safe}.svg`, text: await layerPlotSvg(rows.filter((r) => r.metric === metric), { title: `${task}: ${metric} vs layer`, metric }) });
    parts.push(`## ${metric}`, '', resultsTable(rows, metric), '', `![${metric} vs layer](${task}_${safe}.svg)`, '');
  }
  if (notes.length) parts.push('## Notes', '', ...notes.map((n) => `- ${n}`), '');
  const markdown = parts.join('\n');
  files.push({ name: 'results.md', text: markdown });
  return { markdown, files };
}

/** results.md and one SVG per metric in `dir`; returns the Markdown. */
export async function writeReport(dir: string, task: string, rows: readonly ResultRow[], notes: readonly string[] = []): Promise<WrittenReport> {
  const r = await reportFiles(task, rows, notes);
  for (const f of r.files) await writeFileAtomic(`${dir}/${f.name}`, f.text);
  return { markdown: r.markdown, files: r.files.map((f) => `${dir}/${f.name}`) };
}
