// Headless SVG of a vega-lite spec (plotSpecs.ts): compiled by vega-lite, run by a vega View without a DOM, written
// out by View.toSVG. Runtime-neutral (Deno, Node, a browser tab); PNG is plotPng.ts (native, Deno/Node only).
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** The spec as an SVG document. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
