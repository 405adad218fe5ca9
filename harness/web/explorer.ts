// The explorer view (`?view=explorer`): load a checkpoint in the tab (a picked folder or `?checkpoint=<url>`),
// prefill one image + prompt, then show the image's value / key / projector tokens on their patch grid; clicking a
// cell computes on the GPU cos(f_cell, f_j) for every cell j (features() + cosineSimilarity, only the [cells]
// scores read back) and draws it as a heatmap. State is published on window.__kvscopeExplorer for
// test/browser/explorer.browser.mjs; `&publish=features` also reads back the feature map itself for host checks.
import { type FeatureMap, features } from '../../src/capture/features.ts';
import type { Gpu } from '../../src/gpu/device.ts';
import { Stage } from '../../src/gpu/stage.ts';
import { Tensor } from '../../src/gpu/tensor.ts';
import { decodeImage } from '../../src/io/image.ts';
import type { RgbImage } from '../../src/io/rgbImage.ts';
import { testPicture } from './testPicture.ts';
import type { TapName } from '../../src/capture/taps.ts';
import type { ForwardResult, MultimodalModel } from '../../src/models/model.ts';
import { loadModel } from '../../src/models/registry.ts';
import { sliceRows } from '../../src/ops/rows.ts';
import { asRows, cosineSimilarity } from '../../src/probe/similarity.ts';

export type ExplorerTap = 'value' | 'key' | 'projector';

/** What the page shows, for scripts: the run, the current feature map, the last similarity query. */
export interface ExplorerState {
  adapter: string;
  status: 'idle' | 'running' | 'ready' | 'error';
  error?: string;
  checkpoint?: string;
  loadMs?: number;
  prefillMs?: number;
  tokens?: number;
  layers?: number;
  tap?: TapName;
  layer?: number;
  rows?: number;
  cols?: number;
  dim?: number;
  /** 1 where the cell holds a token, row-major over [rows, cols]. */
  valid?: number[];
  /** Centre of each valid cell in canvas CSS pixels (null where no token), for clicking. */
  cellCenters?: ([number, number] | null)[];
  /** With `&publish=features`: the map [rows·cols, dim] as little-endian f32, base64. */
  features?: string;
  /** The clicked cell and cos(f_cell, f_j) for every cell j (0 where no token). */
  cell?: number;
  scores?: number[];
  scoreMs?: number;
  /** Increments with each finished similarity query. */
  queries: number;
}

declare global {
  interface Window {
    __kvscopeExplorer?: ExplorerState;
  }
}

const DEFAULT_PROMPT = 'Describe the image.';
const MAX_CANVAS = 512;

const esc = (s: string) => s.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' }[c]!));
const errorText = (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));

function tapName(tap: ExplorerTap, layer: number): TapName {
  return tap === 'projector' ? 'projector.out' : `lm.layers.${layer}.attn.${tap === 'value' ? 'v' : 'k'}`;
}

function base64Of(values: Float32Array): string {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

/**
 * Score s as an overlay colour on the range [lo, hi] of the other cells' scores: the most similar cell is opaque
 * red, the least similar transparent (a random or early-layer model has every cosine positive, so an absolute
 * scale would paint everything alike); negative scores stay blue.
 */
function heatColour(s: number, lo: number, hi: number): string {
  if (s < 0) return `rgba(30, 80, 230, ${(Math.min(1, -s) * 0.8).toFixed(3)})`;
  const t = hi > lo ? (s - Math.max(lo, 0)) / (hi - Math.max(lo, 0)) : 1;
  return `rgba(230, 30, 30, ${(Math.max(0, Math.min(1, t)) * 0.85).toFixed(3)})`;
}

const HTML = `
  <h1>kvscope — KV cache explorer</h1>
  <p><a href="?">← doctor</a></p>
  <table class="explorer-form">
    <tr><th>checkpoint</th><td><input id="x-url" size="40" placeholder="http base URL, e.g. /out/browser-tiny-ov/">
      or folder <input id="x-folder" type="file" webkitdirectory multiple></td></tr>
    <tr><th>image</th><td><input id="x-image" type="file" accept="image/png,image/jpeg"> (none: a generated test picture)</td></tr>
    <tr><th>prompt</th><td><input id="x-prompt" size="50"></td></tr>
    <tr><th></th><td><button id="x-run">Run</button> <span id="x-status"></span></td></tr>
  </table>
  <div id="x-error"></div>
  <div id="x-controls" hidden>
    <label>tap <select id="x-tap"><option value="value">value (lm.layers.i.attn.v)</option>
      <option value="key">key (lm.layers.i.attn.k)</option><option value="projector">projector.out</option></select></label>
    <label>layer <input id="x-layer" type="range" min="0" max="0" value="0"> <span id="x-layer-n">0</span></label>
    <div id="x-info"></div>
  </div>
  <canvas id="x-canvas" width="1" height="1" style="cursor: crosshair; margin-top: 0.6rem"></canvas>
  <div id="x-cell"></div>`;

/** Build the explorer into `root` and wire it to `gpu`. */
export function startExplorer(gpu: Gpu, root: HTMLElement, params: URLSearchParams): void {
  document.title = 'kvscope — explorer';
  root.innerHTML = HTML;
  const el = <T extends HTMLElement>(id: string) => root.querySelector<T>(`#${id}`)!;
  const urlIn = el<HTMLInputElement>('x-url'), folderIn = el<HTMLInputElement>('x-folder');
  const imageIn = el<HTMLInputElement>('x-image'), promptIn = el<HTMLInputElement>('x-prompt');
  const runBtn = el<HTMLButtonElement>('x-run'), statusEl = el('x-status'), errorEl = el('x-error');
  const controls = el('x-controls'), tapSel = el<HTMLSelectElement>('x-tap'), layerIn = el<HTMLInputElement>('x-layer');
  const layerN = el('x-layer-n'), infoEl = el('x-info'), cellEl = el('x-cell');
  const canvas = el<HTMLCanvasElement>('x-canvas');
  urlIn.value = params.get('checkpoint') ?? '';
  promptIn.value = params.get('prompt') ?? DEFAULT_PROMPT;
  const publishFeatures = params.get('publish') === 'features';

  const state: ExplorerState = { adapter: gpu.describe(), status: 'idle', queries: 0 };
  window.__kvscopeExplorer = state;
  statusEl.textContent = `adapter: ${state.adapter}`;

  let loaded: { key: unknown; label: string; model: MultimodalModel } | null = null;
  let run: { result: ForwardResult; image: RgbImage } | null = null;
  let map: { fm: FeatureMap; mask: Tensor<'u32'>; scale: number } | null = null;
  let scores: Float32Array | null = null, cell = -1;

  // one action at a time; any failure is shown on the page and published, never swallowed
  let chain = Promise.resolve();
  const serial = (what: string, fn: () => Promise<void>) => {
    chain = chain.then(async () => {
      try {
        await fn();
      } catch (e) {
        const error = `${what}: ${errorText(e)}`;
        errorEl.innerHTML = `<p class="fail">${esc(error)}</p>`;
        state.status = 'error';
        state.error = error;
        runBtn.disabled = false;
      }
    });
  };

  function freeMap(): void {
    map?.fm.dispose();
    map?.mask.dispose();
    map = null;
    scores = null;
    cell = -1;
  }

  function freeRun(): void {
    freeMap();
    if (!run) return;
    for (const t of new Set(run.result.taps.values())) t.dispose();
    run.result.cache.dispose();
    run.result.logits.dispose();
    run = null;
  }

  /** The checkpoint the form names: picked folder files win over the URL field. */
  function checkpointSource(): { key: unknown; label: string; where: string | File[] } {
    const files = folderIn.files ? [...folderIn.files] : [];
    if (files.length) return { key: folderIn.files, label: `folder (${files.length} files)`, where: files };
    const url = urlIn.value.trim();
    if (!url) throw new Error('no checkpoint: pick a folder or give a base URL (e.g. ?checkpoint=/out/browser-tiny-ov/)');
    const abs = new URL(url, location.href).href.replace(/\/+$/, '');
    return { key: abs, label: abs, where: abs };
  }

  async function pickedImage(): Promise<RgbImage> {
    const f = imageIn.files?.[0];
    if (!f) return testPicture();
    return decodeImage(new Uint8Array(await f.arrayBuffer()), f.name);
  }

  async function doRun(): Promise<void> {
    runBtn.disabled = true;
    errorEl.innerHTML = '';
    state.status = 'running';
    state.error = undefined;
    const src = checkpointSource();
    state.checkpoint = src.label;
    freeRun();
    if (!loaded || loaded.key !== src.key) {
      loaded?.model.dispose();
      loaded = null;
      statusEl.textContent = `loading ${src.label} …`;
      const t0 = performance.now();
      const model = await loadModel(gpu, src.where);
      loaded = { key: src.key, label: src.label, model };
      state.loadMs = performance.now() - t0;
    }
    const image = await pickedImage();
    statusEl.textContent = `prefill on ${image.source ?? 'image'} …`;
    const t1 = performance.now();
    // projector.out is a forward tap; the cache taps need nothing extra
    const result = await loaded.model.prefill({ images: [image], prompt: promptIn.value, taps: ['projector.out'], logits: 'last' });
    await gpu.device.queue.onSubmittedWorkDone();
    state.prefillMs = performance.now() - t1;
    run = { result, image };
    state.tokens = result.inputIds.length;
    state.layers = result.cache.layers;
    layerIn.max = String(result.cache.layers - 1);
    if (Number(layerIn.value) >= result.cache.layers) layerIn.value = '0';
    controls.hidden = false;
    statusEl.textContent = `adapter: ${state.adapter} · load ${state.loadMs?.toFixed(0)} ms · prefill ${state.prefillMs.toFixed(0)} ms · ` +
      `${state.tokens} tokens · ${state.layers} layers`;
    await showMap();
    runBtn.disabled = false;
  }

  /** Gather the selected tap's feature map (GPU) and draw the image with its token grid. */
  async function showMap(): Promise<void> {
    if (!run) return;
    freeMap();
    const tap = tapSel.value as ExplorerTap;
    const layer = Number(layerIn.value);
    layerIn.disabled = tap === 'projector';
    layerN.textContent = String(layer);
    const name = tapName(tap, layer);
    const fm = await features(run.result, { tap: name, grid: 'main' });
    const mask = Tensor.from(gpu, 'u32', [fm.valid.length], fm.valid, 'explorer valid cells');
    const img = run.image;
    const scale = Math.min(MAX_CANVAS / img.width, MAX_CANVAS / img.height);
    map = { fm, mask, scale };
    Object.assign(state, {
      status: 'ready', tap: name, layer, rows: fm.rows, cols: fm.cols, dim: fm.dim, valid: [...fm.valid],
      cellCenters: [...fm.valid].map((v, i) => (v ? [(fm.rects[i * 4] + fm.rects[i * 4 + 2]) / 2 * scale, (fm.rects[i * 4 + 1] + fm.rects[i * 4 + 3]) / 2 * scale] : null)),
      features: publishFeatures ? base64Of((await fm.features.read()) as Float32Array) : undefined,
      cell: undefined, scores: undefined, scoreMs: undefined,
    });
    const n = fm.valid.reduce((a, v) => a + v, 0);
    infoEl.textContent = `${name}: ${fm.rows}×${fm.cols} grid, ${n} tokens, ${fm.dim} features per token — click a cell`;
    cellEl.textContent = '';
    draw();
  }

  /** Image, cell outlines, and the similarity heatmap when a cell is selected. */
  function draw(): void {
    if (!run || !map) return;
    const { image } = run, { fm, scale } = map;
    canvas.width = Math.round(image.width * scale);
    canvas.height = Math.round(image.height * scale);
    const g = canvas.getContext('2d')!;
    const rgba = new ImageData(image.width, image.height);
    for (let i = 0; i < image.width * image.height; i++) {
      rgba.data.set(image.data.subarray(i * 3, i * 3 + 3), i * 4);
      rgba.data[i * 4 + 3] = 255;
    }
    const pic = document.createElement('canvas');
    pic.width = image.width;
    pic.height = image.height;
    pic.getContext('2d')!.putImageData(rgba, 0, 0);
    g.imageSmoothingEnabled = false;
    g.drawImage(pic, 0, 0, canvas.width, canvas.height);
    g.lineWidth = 1;
    // the range of the other valid cells' scores, for the colour scale
    let lo = Infinity, hi = -Infinity;
    if (scores) {
      for (let i = 0; i < fm.valid.length; i++) {
        if (!fm.valid[i] || i === cell) continue;
        lo = Math.min(lo, scores[i]);
        hi = Math.max(hi, scores[i]);
      }
    }
    for (let i = 0; i < fm.valid.length; i++) {
      if (!fm.valid[i]) continue;
      const [x0, y0, x1, y1] = fm.rects.subarray(i * 4, i * 4 + 4);
      const r = [x0 * scale, y0 * scale, (x1 - x0) * scale, (y1 - y0) * scale] as const;
      if (scores) {
        g.fillStyle = i === cell ? 'rgba(230, 30, 30, 0.85)' : heatColour(scores[i], lo, hi);
        g.fillRect(...r);
      }
      g.strokeStyle = i === cell ? 'rgba(255, 255, 0, 1)' : 'rgba(255, 255, 255, 0.35)';
      g.lineWidth = i === cell ? 3 : 1;
      g.strokeRect(...r);
    }
  }

  /** cos(f_cell, f_j) for every cell j on the GPU: slice the cell's row, unit rows, one [1, cells] matmul. */
  async function similarityFrom(c: number): Promise<void> {
    if (!map) return;
    const { fm, mask } = map;
    const t0 = performance.now();
    const flat = asRows(fm.features);
    const stage = new Stage(gpu, 'explorer similarity');
    const a = await sliceRows(stage, flat, c, 1);
    const s = await cosineSimilarity(stage, a, flat, { bMask: mask });
    await stage.submit();
    const got = (await s.read()) as Float32Array;
    a.dispose();
    s.dispose();
    scores = got;
    cell = c;
    state.scoreMs = performance.now() - t0;
    state.cell = c;
    state.scores = [...got];
    state.queries++;
    let lo = Infinity, hi = -Infinity;
    fm.valid.forEach((v, i) => { if (v && i !== c) { lo = Math.min(lo, got[i]); hi = Math.max(hi, got[i]); } });
    cellEl.textContent = `cell (${Math.floor(c / fm.cols)}, ${c % fm.cols}) of ${state.tap}: cos with the other cells in ` +
      `[${lo.toFixed(3)}, ${hi.toFixed(3)}] (red: most similar, scaled over the other cells; blue < 0) · ${state.scoreMs.toFixed(1)} ms`;
    draw();
  }

  canvas.addEventListener('click', (ev) => {
    if (!map) return;
    const box = canvas.getBoundingClientRect();
    const px = (ev.clientX - box.left) / map.scale, py = (ev.clientY - box.top) / map.scale;
    const { fm } = map;
    for (let i = 0; i < fm.valid.length; i++) {
      const [x0, y0, x1, y1] = fm.rects.subarray(i * 4, i * 4 + 4);
      if (fm.valid[i] && px >= x0 && px < x1 && py >= y0 && py < y1) {
        serial('similarity', () => similarityFrom(i));
        return;
      }
    }
  });
  runBtn.onclick = () => serial('run', doRun);
  tapSel.onchange = () => serial('features', showMap);
  layerIn.oninput = () => { layerN.textContent = layerIn.value; };
  layerIn.onchange = () => serial('features', showMap);
}
