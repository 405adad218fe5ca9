// Reports: the Markdown table marks each tap's best layer and lists baselines; the SVG (vega-lite) holds one line per tap;
// comparisons match rows on (tap, layer, metric) and compute Δ = b − a.
import { compareRows, comparisonTable } from '../../src/analysis/comparison.ts';
import { layerPlotSvg } from '../../src/analysis/layerPlot.ts';
import { resultsTable } from '../../src/analysis/report.ts';
import type { ResultRow } from '../../src/tasks/resultsLog.ts';
import { assert, assertEquals } from '../gpu/assert.ts';

const row = (tap: string, layer: number | null, value: number): ResultRow => ({ task: 't', tap, layer, metric: 'mIoU', value, n: 4 });
const rows = [row('lm.value', 0, 10), row('lm.value', 1, 30), row('lm.value', 2, 20), row('lm.key', 0, 5), row('lm.key', 1, 6), row('lm.key', 2, 7), row('projector', null, 25)];

Deno.test('resultsTable: best layer in bold per tap, baseline rows, sample count', () => {
  const md = resultsTable(rows, 'mIoU');
  assert(md.includes('| 1 | **30.00** | 6.00 |'), md);
  assert(md.includes('| 2 | 20.00 | **7.00** |'), md);
  assert(md.includes('| **max** | 30.00 | 7.00 |'), md);
  assert(md.includes('| projector | 25.00 |'), md);
  assert(md.includes('over 4 sample(s)'), md);
});

Deno.test('layerPlotSvg (vega-lite): one line per layered tap, a rule per baseline, title and legend', async () => {
  const svg = await layerPlotSvg(rows, { title: 'x: mIoU vs layer', metric: 'mIoU' });
  assert(svg.startsWith('<svg') && svg.includes('x: mIoU vs layer'), 'an SVG with the title');
  assertEquals((svg.match(/aria-roledescription="line mark"/g) ?? []).length, 2, 'a line per layered tap');
  assert(/aria-label="[^"]*tap: lm\.value; layer: 1; value: 30\.00; n: 4"/.test(svg), 'points carry tap, layer and value');
  assertEquals((svg.match(/aria-roledescription="rule mark"/g) ?? []).length, 1, 'a rule per baseline');
  for (const t of ['lm.value', 'lm.key', 'projector']) assert(svg.includes(`>${t}</text>`), `legend ${t}`);
});

Deno.test('compareRows / comparisonTable: Δ and best layers', () => {
  const b = rows.map((r) => ({ ...r, value: r.value + (r.layer === 2 ? 15 : 0) }));
  const c = compareRows(rows, b);
  assertEquals(c.length, rows.length, 'all matched');
  assertEquals(c.find((r) => r.tap === 'lm.value' && r.layer === 2)!.delta, 15, 'delta');
  const md = comparisonTable(c, ['plain', 'prefix']);
  assert(md.includes('| lm.value | 30.00 (layer 1) | 35.00 (layer 2) |'), md);
});
