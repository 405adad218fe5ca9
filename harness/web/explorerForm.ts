// The explorer's page: the form (checkpoint, two images, prompt, prefix), the tap / layer / head pickers, the
// opacity slider, the input-agnostic key controls and the panels (image, similarity map, blend for image A and B;
// the agnostic-key map of the layer over image A), each with its colour bar. Markup and element lookup only.
import { EXPLORER_TAP_LABELS, EXPLORER_TAPS } from '../../src/analysis/explorerMaps.ts';

const panelRow = (id: string, title: string) => `
  <div class="x-row" id="x-${id}-row"><div class="x-row-title">${title}</div>
    <figure><canvas id="x-${id}-image" class="x-click"></canvas><figcaption>image</figcaption></figure>
    <figure><canvas id="x-${id}-map" class="x-click"></canvas><figcaption>map</figcaption></figure>
    <figure><canvas id="x-${id}-blend" class="x-click"></canvas><figcaption>blend</figcaption></figure>
  </div>`;

const bar = (id: string, what: string) => `
  <div class="x-bar"><span>${what}</span> <canvas id="x-${id}-bar"></canvas>
    <span>min <b id="x-${id}-lo">—</b> · max <b id="x-${id}-hi">—</b></span></div>`;

export const EXPLORER_HTML = `
  <style>
    .x-row { display: flex; gap: 10px; align-items: flex-start; margin: 0.4rem 0; }
    .x-row figure { margin: 0; } .x-row figcaption { font-size: 12px; color: #555; text-align: center; }
    .x-row-title { width: 5.5rem; font-weight: bold; padding-top: 0.3rem; }
    .x-click { cursor: crosshair; } .x-bar { display: flex; gap: 10px; align-items: center; margin: 0.3rem 0 0.3rem 6rem; }
    .x-controls label { margin-right: 1.2rem; white-space: nowrap; } .x-controls div { margin: 0.25rem 0; }
  </style>
  <h1>kvscope — KV cache explorer</h1>
  <p><a href="?">← doctor</a></p>
  <table class="explorer-form">
    <tr><th>checkpoint</th><td><input id="x-url" size="40" placeholder="http base URL, e.g. /out/browser-tiny-ov/">
      or folder <input id="x-folder" type="file" webkitdirectory multiple></td></tr>
    <tr><th>image A</th><td><input id="x-image" type="file" accept="image/png,image/jpeg"> (none: a generated test picture)</td></tr>
    <tr><th>image B</th><td><input id="x-image-b" type="file" accept="image/png,image/jpeg"> (none: a second generated picture)</td></tr>
    <tr><th>prompt</th><td><input id="x-prompt" size="50"></td></tr>
    <tr><th>prefix</th><td><label><input id="x-prefix-on" type="checkbox"> text before the image</label>
      <input id="x-prefix" size="40"></td></tr>
    <tr><th></th><td><button id="x-run">Run</button> <span id="x-status"></span></td></tr>
  </table>
  <div id="x-error"></div>
  <div id="x-controls" class="x-controls" hidden>
    <div><label>tap <select id="x-tap">${EXPLORER_TAPS.map((t) => `<option value="${t}">${EXPLORER_TAP_LABELS[t]}</option>`).join('')}</select></label>
      <label>layer <input id="x-layer" type="range" min="0" max="0" value="0"> <span id="x-layer-n">0</span></label>
      <label>KV head <select id="x-head"><option value="all">all, concatenated</option></select></label>
      <label>opacity <input id="x-opacity" type="range" min="0" max="100" value="50"> <span id="x-opacity-n">0.50</span></label></div>
    <div><label>input-agnostic keys over <input id="x-agnostic-n" type="number" min="2" max="16" value="4" style="width: 3rem"> images
      <button id="x-agnostic">find</button></label>
      <label>threshold <input id="x-threshold" type="number" step="0.01" value="0.9" style="width: 5rem"></label>
      <label><input id="x-block" type="checkbox" disabled> block them (every query from the image on)</label></div>
    <div id="x-info"></div>
  </div>
  <div id="x-panels">
  ${panelRow('a', 'image A')}
  ${panelRow('b', 'image B')}
  ${bar('s', 'cosine')}
  <div id="x-cell"></div>
  </div>
  <div id="x-agnostic-view" hidden>
    <h2 id="x-g-title">input-agnostic keys</h2>
    <div class="x-row"><div class="x-row-title">image A</div>
      <figure><canvas id="x-g-map"></canvas><figcaption>mean pairwise cosine across images</figcaption></figure>
      <figure><canvas id="x-g-blend"></canvas><figcaption>blend (red: above threshold)</figcaption></figure></div>
    ${bar('g', 'key consistency')}
    <div id="x-g-info"></div>
  </div>`;

/** The page's elements by role. */
export function explorerElements(root: HTMLElement) {
  const el = <T extends HTMLElement = HTMLElement>(id: string) => {
    const e = root.querySelector<T>(`#${id}`);
    if (!e) throw new Error(`explorer page: no element #${id}`);
    return e;
  };
  const panels = (id: string) => ({
    image: el<HTMLCanvasElement>(`x-${id}-image`), map: el<HTMLCanvasElement>(`x-${id}-map`), blend: el<HTMLCanvasElement>(`x-${id}-blend`),
  });
  return {
    url: el<HTMLInputElement>('x-url'), folder: el<HTMLInputElement>('x-folder'),
    imageA: el<HTMLInputElement>('x-image'), imageB: el<HTMLInputElement>('x-image-b'), prompt: el<HTMLInputElement>('x-prompt'),
    prefixOn: el<HTMLInputElement>('x-prefix-on'), prefix: el<HTMLInputElement>('x-prefix'),
    run: el<HTMLButtonElement>('x-run'), status: el('x-status'), error: el('x-error'), controls: el('x-controls'),
    tap: el<HTMLSelectElement>('x-tap'), layer: el<HTMLInputElement>('x-layer'), layerN: el('x-layer-n'), head: el<HTMLSelectElement>('x-head'),
    opacity: el<HTMLInputElement>('x-opacity'), opacityN: el('x-opacity-n'),
    agnosticN: el<HTMLInputElement>('x-agnostic-n'), agnostic: el<HTMLButtonElement>('x-agnostic'), threshold: el<HTMLInputElement>('x-threshold'),
    block: el<HTMLInputElement>('x-block'), info: el('x-info'), cell: el('x-cell'),
    a: panels('a'), b: panels('b'),
    bar: el<HTMLCanvasElement>('x-s-bar'), barLo: el('x-s-lo'), barHi: el('x-s-hi'),
    agnosticView: el('x-agnostic-view'), agnosticTitle: el('x-g-title'), agnosticMap: el<HTMLCanvasElement>('x-g-map'),
    agnosticBlend: el<HTMLCanvasElement>('x-g-blend'), agnosticBar: el<HTMLCanvasElement>('x-g-bar'),
    agnosticLo: el('x-g-lo'), agnosticHi: el('x-g-hi'), agnosticInfo: el('x-g-info'),
  };
}

export type ExplorerElements = ReturnType<typeof explorerElements>;
