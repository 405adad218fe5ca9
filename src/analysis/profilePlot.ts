// Where the time goes, as a vega-lite spec: GPU ms per layer / stage (in forward order), stacked by op family,
// one panel per phase; rendered headless to SVG with vega (the browser app embeds the same spec).
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { ForwardProfile } from './forwardProfile.ts';

export function profilePlotSpec(p: ForwardProfile): TopLevelSpec {
  const order = new Map<string, number>();
  const values: { phase: string; layer: string; order: number; family: string; ms: number }[] = [];
  const cell = new Map<string, (typeof values)[number]>();
  const add = (phase: string, layer: string, family: string, ms: number) => {
    if (!order.has(layer)) order.set(layer, order.size);
    const k = `${phase}|${layer}|${family}`;
    const c = cell.get(k);
    if (c) c.ms += ms;
    else {
      const v = { phase, layer, order: order.get(layer)!, family, ms };
      cell.set(k, v);
      values.push(v);
    }
  };
  if (p.mode === 'timestamp') for (const d of [...p.dispatches].sort((a, b) => a.startNs - b.startNs)) add(d.phase, d.layer, d.family, d.ms);
  else for (const s of p.stages) add(s.phase, s.layer, 'stage (wall)', s.ms);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: 'GPU time per layer, by op family', subtitle: `${p.device}; ${p.mode === 'timestamp' ? 'timestamp queries' : 'wall time per stage'}` },
    data: { values },
    facet: { row: { field: 'phase', type: 'nominal', title: null, sort: ['prefill', 'decode'] } },
    resolve: { scale: { x: 'independent', y: 'independent' } },
    spec: {
      width: Math.max(300, 14 * order.size),
      height: 180,
      mark: 'bar',
      encoding: {
        x: { field: 'layer', type: 'ordinal', sort: { field: 'order', op: 'min' }, title: 'layer / stage', axis: { labelAngle: -60 } },
        y: { field: 'ms', type: 'quantitative', aggregate: 'sum', title: 'GPU ms' },
        color: { field: 'family', type: 'nominal', title: 'op family' },
        tooltip: [{ field: 'layer' }, { field: 'family' }, { field: 'ms', aggregate: 'sum', format: '.3f' }],
      },
    },
  } as TopLevelSpec;
}

/** The spec rendered to an SVG string without a DOM. */
export async function profilePlotSvg(p: ForwardProfile): Promise<string> {
  const view = new vega.View(vega.parse(compile(profilePlotSpec(p)).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
