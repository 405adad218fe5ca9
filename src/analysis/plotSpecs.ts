// The study's figures as vega-lite specs, runtime-neutral (no DOM, no native code): rendered headless by
// vega (plotSvg.ts, plotPng.ts), embedded interactively by the browser app with vega-embed. Each takes result rows.
//   layerCurveSpec     metric vs LM layer, one line per tap, taps without layers (baselines) as horizontal rules
//   comparisonSpec     two runs' curves (solid: first, dashed: second), e.g. without / with a prefix
//   deltaSpec          Δ = second − first per layer and tap (the prefix / blocking effect), zero as a rule
//   headHeatmapSpec    a value per (layer, head), e.g. per-head probe scores or key-artifact cosines
//   surfacingGapSpec   BLINK per subtask: model accuracy, best probe accuracy, surfacing gap, as grouped bars
// plotSvg.ts renders any of them to SVG (runtime-neutral), plotPng.ts to PNG (Deno/Node).
import type { TopLevelSpec } from 'vega-lite';
import type { ComparedRow } from './comparison.ts';
import type { ResultRow } from '../tasks/resultsLog.ts';

export interface PlotOptions {
  title: string;
  /** The y axis: "<metric> (%)". */
  metric: string;
  width?: number;
  height?: number;
}

const BASE = { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', background: 'white', config: { font: 'sans-serif', view: { stroke: null } } } as const;

/** A spec with the house style, the title and the size (default `w`×`h`) around `body`. */
function spec(o: Pick<PlotOptions, 'title' | 'width' | 'height'>, w: number, h: number, body: Record<string, unknown>): TopLevelSpec {
  return { ...BASE, title: o.title, width: o.width ?? w, height: o.height ?? h, ...body } as TopLevelSpec;
}

/** The LM layer on the x axis, integer ticks. */
const LAYER_X = { field: 'layer', type: 'quantitative', title: 'LM layer', axis: { tickMinStep: 1, format: 'd' } } as const;

/** The y scale: values in percent, padded, inside 0..100 when they are. */
function yScale(values: number[]): { domain: [number, number] } | { zero: false } {
  const finite = values.filter(Number.isFinite);
  if (!finite.length) return { zero: false };
  let lo = Math.min(...finite), hi = Math.max(...finite);
  if (hi - lo < 1e-9) { lo -= 1; hi += 1; }
  const pad = (hi - lo) * 0.08;
  const domain: [number, number] = [lo - pad, hi + pad];
  if (lo >= 0 && hi <= 100) domain[0] = Math.max(0, domain[0]), domain[1] = Math.min(100, domain[1]);
  return { domain };
}

/** One line per layered tap (points titled with the value), a dashed horizontal rule per baseline tap. */
export function layerCurveSpec(rows: readonly ResultRow[], o: PlotOptions): TopLevelSpec {
  const layered = rows.filter((r) => r.layer !== null).map((r) => ({ tap: r.tap, layer: r.layer, value: r.value, n: r.n }));
  const flat = rows.filter((r) => r.layer === null).map((r) => ({ tap: r.tap, value: r.value, n: r.n }));
  const y = { field: 'value', type: 'quantitative', title: `${o.metric} (%)`, scale: yScale(rows.map((r) => r.value)) } as const;
  const colour = { field: 'tap', type: 'nominal', title: 'tap', scale: { domain: [...new Set(rows.map((r) => r.tap))] } } as const;
  return spec(o, 440, 300, {
    layer: [
      {
        data: { values: layered },
        mark: { type: 'line', point: true, strokeWidth: 2 },
        encoding: {
          x: LAYER_X,
          y,
          color: colour,
          tooltip: [{ field: 'tap' }, { field: 'layer' }, { field: 'value', format: '.2f' }, { field: 'n' }],
        },
      },
      {
        data: { values: flat },
        mark: { type: 'rule', strokeDash: [6, 4], strokeWidth: 2 },
        encoding: { y, color: colour, tooltip: [{ field: 'tap' }, { field: 'value', format: '.2f' }, { field: 'n' }] },
      },
    ],
  });
}

/** Both runs' curves in one plot: colour = tap, dash = run. */
export function comparisonSpec(a: readonly ResultRow[], b: readonly ResultRow[], labels: readonly [string, string], o: PlotOptions): TopLevelSpec {
  const tag = (rows: readonly ResultRow[], run: string) => rows.filter((r) => r.metric === o.metric).map((r) => ({ tap: r.tap, layer: r.layer, value: r.value, run }));
  const all = [...tag(a, labels[0]), ...tag(b, labels[1])];
  const y = { field: 'value', type: 'quantitative', title: `${o.metric} (%)`, scale: yScale(all.map((r) => r.value)) } as const;
  const encoding = {
    color: { field: 'tap', type: 'nominal' },
    strokeDash: { field: 'run', type: 'nominal', title: 'run', scale: { domain: [...labels], range: [[1, 0], [6, 4]] } },
    tooltip: [{ field: 'run' }, { field: 'tap' }, { field: 'layer' }, { field: 'value', format: '.2f' }],
  } as const;
  return spec(o, 440, 300, {
    layer: [
      { data: { values: all.filter((r) => r.layer !== null) }, mark: { type: 'line', point: true }, encoding: { x: LAYER_X, y, detail: { field: 'run' }, ...encoding } },
      { data: { values: all.filter((r) => r.layer === null) }, mark: { type: 'rule', strokeWidth: 2 }, encoding: { y, ...encoding } },
    ],
  });
}

/** Δ (percentage points) per layer and tap, with the zero line; taps without layers as bars at the right. */
export function deltaSpec(rows: readonly ComparedRow[], labels: readonly [string, string], o: PlotOptions): TopLevelSpec {
  const mine = rows.filter((r) => r.metric === o.metric).map((r) => ({ tap: r.tap, layer: r.layer, delta: r.delta, a: r.a, b: r.b }));
  const y = { field: 'delta', type: 'quantitative', title: `Δ ${o.metric} (${labels[1]} − ${labels[0]}, points)` } as const;
  const tooltip = [{ field: 'tap' }, { field: 'layer' }, { field: 'a', title: labels[0], format: '.2f' }, { field: 'b', title: labels[1], format: '.2f' }, { field: 'delta', format: '+.2f' }];
  return spec(o, 440, 300, {
    layer: [
      { data: { values: mine.filter((r) => r.layer !== null) }, mark: { type: 'line', point: true }, encoding: { x: LAYER_X, y, color: { field: 'tap', type: 'nominal' }, tooltip } },
      { data: { values: mine.filter((r) => r.layer === null) }, mark: { type: 'rule', strokeDash: [6, 4] }, encoding: { y, color: { field: 'tap', type: 'nominal' }, tooltip } },
      { data: { values: [{ zero: 0 }] }, mark: { type: 'rule', color: '#444' }, encoding: { y: { field: 'zero', type: 'quantitative' } } },
    ],
  });
}

export interface HeadCell {
  layer: number;
  head: number;
  value: number;
}

/** A heatmap of one value per (layer, head): layers down, heads across. */
export function headHeatmapSpec(cells: readonly HeadCell[], o: PlotOptions & { scheme?: string }): TopLevelSpec {
  return spec(o, 360, 300, {
    data: { values: cells.map((c) => ({ ...c })) },
    mark: 'rect',
    encoding: {
      x: { field: 'head', type: 'ordinal', title: 'head' },
      y: { field: 'layer', type: 'ordinal', title: 'LM layer', sort: 'ascending' },
      color: { field: 'value', type: 'quantitative', title: o.metric, scale: { scheme: o.scheme ?? 'viridis' } },
      tooltip: [{ field: 'layer' }, { field: 'head' }, { field: 'value', format: '.3f' }],
    },
  });
}

/**
 * BLINK per subtask (rows of the blink task, which carry `subtask` and `measure`): the model's accuracy, the best
 * probe accuracy over (tap, layer), and the surfacing gap (probe right, model wrong) at that best probe.
 */
export function surfacingGapSpec(rows: readonly ResultRow[], o: Omit<PlotOptions, 'metric'>): TopLevelSpec {
  const bars: { subtask: string; measure: string; value: number; at: string }[] = [];
  const subtasks = [...new Set(rows.map((r) => r.subtask).filter((s): s is string => typeof s === 'string'))];
  for (const s of subtasks) {
    const model = rows.find((r) => r.subtask === s && r.measure === 'accuracy (model)');
    if (model) bars.push({ subtask: s, measure: 'model accuracy', value: model.value, at: 'model' });
    const probes = rows.filter((r) => r.subtask === s && r.measure === 'accuracy (probe)');
    if (!probes.length) continue;
    const best = probes.reduce((m, r) => (r.value > m.value ? r : m));
    const at = `${best.tap}${best.layer === null ? '' : ` @ layer ${best.layer}`}`;
    bars.push({ subtask: s, measure: 'probe accuracy (best)', value: best.value, at });
    const gap = rows.find((r) => r.subtask === s && r.measure === 'surfacing gap' && r.tap === best.tap && r.layer === best.layer);
    if (gap) bars.push({ subtask: s, measure: 'surfacing gap', value: gap.value, at });
  }
  const measures = ['model accuracy', 'probe accuracy (best)', 'surfacing gap'];
  return spec(o, Math.max(240, 90 * subtasks.length), 280, {
    data: { values: bars },
    mark: 'bar',
    encoding: {
      x: { field: 'subtask', type: 'nominal', title: 'BLINK subtask', axis: { labelAngle: 0 } },
      xOffset: { field: 'measure', type: 'nominal', sort: measures },
      y: { field: 'value', type: 'quantitative', title: '%', scale: { domain: [0, 100] } },
      color: { field: 'measure', type: 'nominal', sort: measures, title: null },
      tooltip: [{ field: 'subtask' }, { field: 'measure' }, { field: 'value', format: '.2f' }, { field: 'at', title: 'probe' }],
    },
  });
}
