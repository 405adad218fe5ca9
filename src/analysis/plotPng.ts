// PNG of a plot: its SVG (plotSvg.ts) rasterised by resvg. @resvg/resvg-js is a native addon, so this module is for
// Deno/Node only; the browser app embeds the same vega-lite specs with vega-embed instead.
import { Resvg } from '@resvg/resvg-js';
import type { TopLevelSpec } from 'vega-lite';
import { renderSvg } from './plotSvg.ts';

/** An SVG document (or a spec, rendered first) as PNG bytes at `scale`× its size. */
export async function renderPng(what: TopLevelSpec | string, scale = 2): Promise<Uint8Array> {
  const svg = typeof what === 'string' ? what : await renderSvg(what);
  return new Resvg(svg, { background: 'white', fitTo: { mode: 'zoom', value: scale }, font: { loadSystemFonts: true } }).render().asPng();
}
