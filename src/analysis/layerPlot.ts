// Metric vs LM layer, one line per layered tap, baselines without layers (projector, vision tower, SigLIP) as
// dashed horizontal rules: the study's layer-curve figure, as SVG through vega-lite (layerCurveSpec).
import type { ResultRow } from '../tasks/resultsLog.ts';
import { layerCurveSpec, type PlotOptions } from './plotSpecs.ts';
import { renderSvg } from './plotSvg.ts';

/** An SVG plot of `metric` vs layer for the rows of one task and metric. */
export function layerPlotSvg(rows: readonly ResultRow[], opts: PlotOptions): Promise<string> {
  return renderSvg(layerCurveSpec(rows, opts));
}
