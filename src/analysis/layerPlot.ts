// Metric vs LM layer, one line per layered tap, baselines without layers (projector, vision tower, SigLIP) as
// dashed horizontal lines: the study's layer-curve figure, as a standalone SVG.
import type { ResultRow } from '../tasks/resultsLog.ts';

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** An SVG plot of `metric` vs layer for the rows of one task and metric. */
export function layerPlotSvg(rows: readonly ResultRow[], opts: { title: string; metric: string; width?: number; height?: number }): string {
  const W = opts.width ?? 640, H = opts.height ?? 380;
  const m = { l: 56, r: 170, t: 36, b: 44 };
  const pw = W - m.l - m.r, ph = H - m.t - m.b;
  const layered = rows.filter((r) => r.layer !== null);
  const flat = rows.filter((r) => r.layer === null);
  const layers = layered.map((r) => r.layer as number);
  const xMin = layers.length ? Math.min(...layers) : 0, xMax = layers.length ? Math.max(...layers) : 1;
  const values = rows.map((r) => r.value).filter(Number.isFinite);
  let yMin = values.length ? Math.min(...values) : 0, yMax = values.length ? Math.max(...values) : 100;
  if (yMax - yMin < 1e-9) { yMin -= 1; yMax += 1; }
  const pad = (yMax - yMin) * 0.08;
  yMin = Math.max(0, yMin - pad); yMax = Math.min(100, yMax + pad);
  if (yMax <= yMin) yMax = yMin + 1;
  const x = (l: number) => m.l + (xMax === xMin ? pw / 2 : ((l - xMin) / (xMax - xMin)) * pw);
  const y = (v: number) => m.t + ph - ((v - yMin) / (yMax - yMin)) * ph;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${m.l}" y="20" font-size="14" font-weight="bold">${esc(opts.title)}</text>`);
  // axes and ticks
  out.push(`<line x1="${m.l}" y1="${m.t + ph}" x2="${m.l + pw}" y2="${m.t + ph}" stroke="#333"/>`);
  out.push(`<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${m.t + ph}" stroke="#333"/>`);
  for (let i = 0; i <= 5; i++) {
    const v = yMin + ((yMax - yMin) * i) / 5;
    out.push(`<line x1="${m.l - 4}" y1="${y(v)}" x2="${m.l + pw}" y2="${y(v)}" stroke="#eee"/>`);
    out.push(`<text x="${m.l - 6}" y="${y(v) + 4}" text-anchor="end">${v.toFixed(1)}</text>`);
  }
  const step = Math.max(1, Math.ceil((xMax - xMin + 1) / 12));
  for (let l = xMin; l <= xMax; l += step) out.push(`<text x="${x(l)}" y="${m.t + ph + 16}" text-anchor="middle">${l}</text>`);
  out.push(`<text x="${m.l + pw / 2}" y="${H - 8}" text-anchor="middle">LM layer</text>`);
  out.push(`<text x="14" y="${m.t + ph / 2}" text-anchor="middle" transform="rotate(-90 14 ${m.t + ph / 2})">${esc(opts.metric)} (%)</text>`);
  // series
  const taps = [...new Set(rows.map((r) => r.tap))];
  let legendY = m.t + 6;
  taps.forEach((tap, i) => {
    const colour = COLOURS[i % COLOURS.length];
    const pts = layered.filter((r) => r.tap === tap).sort((a, b) => (a.layer as number) - (b.layer as number));
    const base = flat.find((r) => r.tap === tap);
    if (pts.length) {
      out.push(`<polyline fill="none" stroke="${colour}" stroke-width="2" points="${pts.map((p) => `${x(p.layer as number).toFixed(1)},${y(p.value).toFixed(1)}`).join(' ')}"/>`);
      for (const p of pts) out.push(`<circle cx="${x(p.layer as number).toFixed(1)}" cy="${y(p.value).toFixed(1)}" r="2.5" fill="${colour}"><title>${esc(tap)} layer ${p.layer}: ${p.value.toFixed(2)}</title></circle>`);
    } else if (base) {
      out.push(`<line x1="${m.l}" y1="${y(base.value)}" x2="${m.l + pw}" y2="${y(base.value)}" stroke="${colour}" stroke-width="2" stroke-dasharray="6 4"><title>${esc(tap)}: ${base.value.toFixed(2)}</title></line>`);
    }
    out.push(`<line x1="${m.l + pw + 12}" y1="${legendY}" x2="${m.l + pw + 32}" y2="${legendY}" stroke="${colour}" stroke-width="2"${pts.length ? '' : ' stroke-dasharray="6 4"'}/>`);
    out.push(`<text x="${m.l + pw + 38}" y="${legendY + 4}">${esc(tap)}</text>`);
    legendY += 18;
  });
  out.push('</svg>');
  return out.join('\n');
}
