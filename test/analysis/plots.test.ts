// The vega-lite figures: each spec compiles and renders headless to SVG with the marks it promises (a line per tap,
// rules for baselines, a cell per (layer, head), a bar per subtask and measure); PNG through resvg has the SVG's
// size × scale; results as CSV and Parquet read back to the same rows.
import { decode as decodePng } from 'fast-png';
import { parquetReadObjects } from 'hyparquet';
import { compareRows, comparisonPlotSvg, deltaPlotSvg } from '../../src/analysis/comparison.ts';
import { headHeatmapSpec, layerCurveSpec, surfacingGapSpec } from '../../src/analysis/plotSpecs.ts';
import { renderPng } from '../../src/analysis/plotPng.ts';
import { renderSvg } from '../../src/analysis/plotSvg.ts';
import { resultsCsv, resultsParquet } from '../../src/tasks/resultsExport.ts';
import type { ResultRow } from '../../src/tasks/resultsLog.ts';
import { assert, assertEquals } from '../gpu/assert.ts';

const row = (tap: string, layer: number | null, value: number, extra: Record<string, unknown> = {}): ResultRow => ({ task: 't', tap, layer, metric: 'PCK@0.1', value, n: 4, ...extra });
const plain = [row('lm.value', 0, 10), row('lm.value', 1, 30), row('lm.value', 2, 20), row('lm.key', 0, 5), row('lm.key', 1, 6), row('lm.key', 2, 7), row('projector', null, 25)];
const prefixed = plain.map((r) => ({ ...r, value: r.value + (r.layer === 2 ? 15 : r.layer === null ? 0 : -2) }));
const count = (svg: string, role: string) => (svg.match(new RegExp(`aria-roledescription="${role}"`, 'g')) ?? []).length;

Deno.test('comparison and Δ plots: both runs dashed apart, Δ per tap and layer with the zero rule', async () => {
  const both = await comparisonPlotSvg(plain, prefixed, ['no prefix', 'prefix'], 'PCK@0.1', 't: no prefix vs prefix');
  assertEquals(count(both, 'line mark'), 4, 'a line per (tap, run)');
  assert(both.includes('stroke-dasharray="6,4"'), 'the second run dashed');
  assert(both.includes('>no prefix</text>') && both.includes('>prefix</text>'), 'run legend');
  const delta = await deltaPlotSvg(compareRows(plain, prefixed), ['no prefix', 'prefix'], 'PCK@0.1', 't: Δ');
  assertEquals(count(delta, 'line mark'), 2, 'a Δ line per layered tap');
  assertEquals(count(delta, 'rule mark'), 2, 'baseline Δ rule + zero rule');
  assert(/delta: \+15\.00/.test(delta), 'Δ +15 at layer 2 in the point labels');
});

Deno.test('per-head heatmap: one cell per (layer, head)', async () => {
  const cells = Array.from({ length: 3 * 4 }, (_, i) => ({ layer: Math.floor(i / 4), head: i % 4, value: i / 11 }));
  const svg = await renderSvg(headHeatmapSpec(cells, { title: 'key cosine per head', metric: 'cosine' }));
  assertEquals(count(svg, 'rect mark'), 12, 'cells');
  assert(svg.includes('key cosine per head'), 'title');
});

Deno.test('BLINK surfacing-gap bars: model accuracy, best probe accuracy and its gap per subtask', async () => {
  const b = (tap: string, layer: number | null, measure: string, subtask: string, value: number) => ({ ...row(tap, layer, value), metric: `${measure} [${subtask}]`, measure, subtask });
  const rows = [
    b('model', null, 'accuracy (model)', 'Art_Style', 50), b('lm.value', 0, 'accuracy (probe)', 'Art_Style', 60), b('lm.value', 1, 'accuracy (probe)', 'Art_Style', 80),
    b('lm.value', 0, 'surfacing gap', 'Art_Style', 20), b('lm.value', 1, 'surfacing gap', 'Art_Style', 35),
    b('model', null, 'accuracy (model)', 'Counting', 40),
  ];
  const spec = surfacingGapSpec(rows, { title: 'BLINK' }) as unknown as { data: { values: { subtask: string; measure: string; value: number; at: string }[] } };
  assertEquals(spec.data.values, [
    { subtask: 'Art_Style', measure: 'model accuracy', value: 50, at: 'model' },
    { subtask: 'Art_Style', measure: 'probe accuracy (best)', value: 80, at: 'lm.value @ layer 1' },
    { subtask: 'Art_Style', measure: 'surfacing gap', value: 35, at: 'lm.value @ layer 1' },
    { subtask: 'Counting', measure: 'model accuracy', value: 40, at: 'model' },
  ], 'bars: the gap taken at the best probe');
  const svg = await renderSvg(surfacingGapSpec(rows, { title: 'BLINK' }));
  assertEquals(count(svg, 'bar'), 4, 'bars');
});

Deno.test('PNG through resvg: the SVG\'s size × scale, not blank', async () => {
  const spec = layerCurveSpec(plain, { title: 't', metric: 'PCK@0.1' });
  const svg = await renderSvg(spec);
  const [w, h] = [Number(/width="(\d+)"/.exec(svg)![1]), Number(/height="(\d+)"/.exec(svg)![1])];
  const png = decodePng(await renderPng(svg, 2));
  assertEquals([png.width, png.height], [2 * w, 2 * h], 'size');
  const px = png.data as Uint8Array;
  let dark = 0;
  for (let i = 0; i < px.length; i += png.channels) if (px[i] < 128) dark++;
  assert(dark > 200, `lines and text drawn (${dark} dark pixels)`);
});

Deno.test('results as CSV and Parquet: the same rows back (null layers, extra fields, quoting)', async () => {
  const rows = [...plain, row('siglip', null, 12.5, { subtask: 'Art_Style, "quoted"' })];
  const csv = resultsCsv(rows);
  const lines = csv.trim().split('\n');
  assertEquals(lines[0], 'task,tap,layer,metric,value,n,subtask', 'header');
  assertEquals(lines[7], 't,projector,,PCK@0.1,25,4,', 'null layer as an empty cell');
  assertEquals(lines[8], 't,siglip,,PCK@0.1,12.5,4,"Art_Style, ""quoted"""', 'quoting');
  const pq = resultsParquet(rows);
  const back = await parquetReadObjects({ file: pq.buffer.slice(pq.byteOffset, pq.byteOffset + pq.byteLength) as ArrayBuffer });
  assertEquals(back.map((r) => [r.tap, r.layer, r.value, r.n, r.subtask]), rows.map((r) => [r.tap, r.layer, r.value, r.n, r.subtask ?? null]), 'parquet rows');
});
