// The explorer view (`?view=explorer`): load a checkpoint in the tab (a picked folder or `?checkpoint=<url>`), run
// two images (A and B) with one prompt, pick a tap (values / keys / pre-RoPE keys / hidden / projector / vision), an
// LM layer by slider and a KV head or all concatenated; clicking a cell of either image draws cos(f_cell, f_j) on
// both images' grids (image, map and blend at the opacity slider, one colour bar with its min and max) and marks the
// best match in the other image. "find" computes the input-agnostic keys of every layer over image A and generated
// pictures of its size and draws the shown layer's key consistency; the prefix and blocking toggles re-run both
// forwards and the open query. Only the drawn rows come back from the GPU. State is published on
// window.__kvscopeExplorer for test/browser/explorer.browser.mjs; `&publish=features` also reads back the feature
// maps (and the agnostic images' keys) for host checks. Layout: explorerForm.ts, drawing: explorerDraw.ts, model
// side: explorerSession.ts, math: src/analysis/explorerMaps.ts.
import { bestMatch, choiceTapName, isCacheTap, isExplorerTap, scoreRange, similarityRow, type TapChoice } from '../../src/analysis/explorerMaps.ts';
import type { FeatureMap } from '../../src/capture/features.ts';
import type { Gpu } from '../../src/gpu/device.ts';
import { decodeImage } from '../../src/io/image.ts';
import type { RgbImage } from '../../src/io/rgbImage.ts';
import { loadModel } from '../../src/models/registry.ts';
import { barNumber, drawColourBar, drawPanel, pictureCanvas } from './explorerDraw.ts';
import { EXPLORER_HTML, type ExplorerElements, explorerElements } from './explorerForm.ts';
import { ExplorerSession, type ForwardSettings } from './explorerSession.ts';
import { testPicture } from './testPicture.ts';

/** One image's grid as published: which cells hold a token and where to click them. */
export interface PublishedGrid {
  rows: number;
  cols: number;
  dim: number;
  valid: number[];
  /** Centre of each valid cell in the image panel's CSS pixels (null where no token). */
  cellCenters: ([number, number] | null)[];
  /** With `&publish=features`: the map [rows·cols, dim] as little-endian f32, base64. */
  features?: string;
}

/** What the page shows, for scripts. */
export interface ExplorerState {
  adapter: string;
  status: 'idle' | 'running' | 'ready' | 'error';
  error?: string;
  checkpoint?: string;
  loadMs?: number;
  prefillMs?: number;
  tokens?: number;
  layers?: number;
  kvHeads?: number;
  /** Canonical name of the shown tap, and the choice behind it. */
  tap?: string;
  shortTap?: string;
  layer?: number;
  head?: number | null;
  a?: PublishedGrid;
  b?: PublishedGrid;
  /** The forwards' settings and how often they ran. */
  prefix?: string | null;
  blocked?: boolean;
  /** Key positions the blocking covers in image A's forward (0 when not blocking). */
  blockedKeys?: number;
  forwardRuns?: number;
  /** The last query: clicked image and cell, cos on A's and on B's grid, the best match in the other image. */
  from?: 'a' | 'b';
  cell?: number;
  scoresA?: number[];
  scoresB?: number[];
  best?: number;
  /** The colour bar's scale (min and max over both maps' token cells, the clicked cell left out). */
  lo?: number;
  hi?: number;
  scoreMs?: number;
  /** Increments with each finished similarity query. */
  queries: number;
  /** The input-agnostic key map of the shown layer. */
  agnostic?: { layer: number; images: number; threshold: number; similarity: number[]; flagged: number[]; lo: number; hi: number; keys?: string; keysShape?: number[] };
  agnosticRuns?: number;
  opacity?: number;
  /** Increments each time the maps were gathered and drawn (after a run, a picker change or a toggle). */
  refreshes?: number;
}

declare global {
  interface Window {
    __kvscopeExplorer?: ExplorerState;
  }
}

const DEFAULT_PROMPT = 'Describe the image.';
const DEFAULT_PREFIX = 'Look closely at the objects in this picture.';
const PANEL = 300;

const esc = (s: string) => s.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' }[c]!));
const errorText = (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));

function base64Of(values: Float32Array): string {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

/** Build the explorer into `root` and wire it to `gpu`. */
export function startExplorer(gpu: Gpu, root: HTMLElement, params: URLSearchParams): void {
  document.title = 'kvscope — explorer';
  root.style.maxWidth = 'none';
  root.innerHTML = EXPLORER_HTML;
  const ui: ExplorerElements = explorerElements(root);
  ui.url.value = params.get('checkpoint') ?? '';
  ui.prompt.value = params.get('prompt') ?? DEFAULT_PROMPT;
  ui.prefix.value = params.get('prefix') ?? DEFAULT_PREFIX;
  const publishFeatures = params.get('publish') === 'features';

  const state: ExplorerState = { adapter: gpu.describe(), status: 'idle', queries: 0, refreshes: 0 };
  window.__kvscopeExplorer = state;
  ui.status.textContent = `adapter: ${state.adapter}`;

  let loaded: { key: unknown; label: string; session: ExplorerSession | null; model: Awaited<ReturnType<typeof loadModel>> } | null = null;
  let maps: FeatureMap[] = [];
  let pics: HTMLCanvasElement[] = [];
  let query: { from: number; cell: number; rows: Float32Array[]; best: number; lo: number; hi: number } | null = null;
  let agnosticOthers: RgbImage[] = [];

  // one action at a time; any failure is shown on the page and published, never swallowed
  let chain = Promise.resolve();
  const serial = (what: string, fn: () => Promise<void>) => {
    chain = chain.then(async () => {
      try {
        await fn();
      } catch (e) {
        const error = `${what}: ${errorText(e)}`;
        ui.error.innerHTML = `<p class="fail">${esc(error)}</p>`;
        state.status = 'error';
        state.error = error;
        ui.run.disabled = false;
      }
    });
  };

  const session = () => {
    if (!loaded?.session) throw new Error('press Run first');
    return loaded.session;
  };
  const scaleOf = (i: number) => Math.min(PANEL / pics[i].width, PANEL / pics[i].height);
  const opacity = () => Number(ui.opacity.value) / 100;

  function choice(): TapChoice {
    const tap = ui.tap.value;
    if (!isExplorerTap(tap)) throw new Error(`unknown tap ${tap}`);
    return { tap, layer: Number(ui.layer.value), head: isCacheTap(tap) && ui.head.value !== 'all' ? Number(ui.head.value) : null };
  }

  function settings(): ForwardSettings {
    return { prompt: ui.prompt.value, prefix: ui.prefixOn.checked ? ui.prefix.value : null, block: ui.block.checked };
  }

  /** The checkpoint the form names: picked folder files win over the URL field. */
  function checkpointSource(): { key: unknown; label: string; where: string | File[] } {
    const files = ui.folder.files ? [...ui.folder.files] : [];
    if (files.length) return { key: ui.folder.files, label: `folder (${files.length} files)`, where: files };
    const url = ui.url.value.trim();
    if (!url) throw new Error('no checkpoint: pick a folder or give a base URL (e.g. ?checkpoint=/out/browser-tiny-ov/)');
    const abs = new URL(url, location.href).href.replace(/\/+$/, '');
    return { key: abs, label: abs, where: abs };
  }

  async function pickedImage(input: HTMLInputElement, fallback: () => RgbImage): Promise<RgbImage> {
    const f = input.files?.[0];
    if (!f) return fallback();
    return decodeImage(new Uint8Array(await f.arrayBuffer()), f.name);
  }

  function freeMaps(): void {
    for (const m of maps) m.dispose();
    maps = [];
  }

  async function doRun(): Promise<void> {
    ui.run.disabled = true;
    ui.error.innerHTML = '';
    state.status = 'running';
    state.error = undefined;
    const src = checkpointSource();
    state.checkpoint = src.label;
    freeMaps();
    query = null;
    loaded?.session?.dispose();
    if (loaded) loaded.session = null;
    if (!loaded || loaded.key !== src.key) {
      loaded?.model.dispose();
      loaded = null;
      ui.status.textContent = `loading ${src.label} …`;
      const t0 = performance.now();
      const model = await loadModel(gpu, src.where);
      loaded = { key: src.key, label: src.label, model, session: null };
      state.loadMs = performance.now() - t0;
    }
    const a = await pickedImage(ui.imageA, () => testPicture());
    const b = await pickedImage(ui.imageB, () => testPicture(96, 128, 1));
    agnosticOthers = [];
    loaded.session = new ExplorerSession(gpu, loaded.model, [a, b]);
    pics = [pictureCanvas(a), pictureCanvas(b)];
    ui.block.checked = false;
    ui.block.disabled = true;
    ui.agnosticView.hidden = true;
    state.agnostic = undefined;
    ui.status.textContent = `prefill on ${a.source ?? 'image A'} and ${b.source ?? 'image B'} …`;
    const s = loaded.session;
    ui.layer.max = String(s.layers - 1);
    if (Number(ui.layer.value) >= s.layers) ui.layer.value = '0';
    await refresh();
    ui.controls.hidden = false;
    ui.run.disabled = false;
  }

  /** Bring the forwards up to date, gather the chosen tap's maps, re-run the open query and redraw. */
  async function refresh(): Promise<void> {
    const s = session();
    const c = choice();
    const ran = await s.ensure(settings(), c);
    const r0 = s.forwards[0].result;
    if (ran) {
      // the head picker follows the checkpoint
      const heads = r0.cache.kvHeads;
      if (ui.head.options.length !== heads + 1) {
        ui.head.innerHTML = `<option value="all">all ${heads}, concatenated</option>` + Array.from({ length: heads }, (_, h) => `<option value="${h}">head ${h}</option>`).join('');
      }
    }
    ui.layer.disabled = !c.tap.startsWith('lm.');
    ui.head.disabled = !isCacheTap(c.tap);
    ui.layerN.textContent = ui.layer.value;
    freeMaps();
    maps = await s.featureMaps(c);
    const grids: PublishedGrid[] = [];
    for (const [i, fm] of maps.entries()) {
      const sc = scaleOf(i);
      grids.push({
        rows: fm.rows, cols: fm.cols, dim: fm.dim, valid: [...fm.valid],
        cellCenters: [...fm.valid].map((v, j) => (v ? [(fm.rects[j * 4] + fm.rects[j * 4 + 2]) / 2 * sc, (fm.rects[j * 4 + 1] + fm.rects[j * 4 + 3]) / 2 * sc] : null)),
        features: publishFeatures ? base64Of((await fm.features.read()) as Float32Array) : undefined,
      });
    }
    const blockedKeys = s.forwards[0].block?.rules.reduce((a, r) => a + r.keys.reduce((k, [x, y]) => k + y - x, 0), 0) ?? 0;
    Object.assign(state, {
      tokens: r0.inputIds.length, layers: s.layers, kvHeads: r0.cache.kvHeads, tap: choiceTapName(c), shortTap: c.tap, layer: c.layer, head: c.head,
      a: grids[0], b: grids[1], prefix: settings().prefix, blocked: settings().block, blockedKeys, forwardRuns: s.forwardRuns, prefillMs: s.prefillMs,
    });
    ui.status.textContent = `adapter: ${state.adapter} · load ${state.loadMs?.toFixed(0)} ms · prefill ${s.prefillMs.toFixed(0)} ms (2 images${ran ? '' : ', kept'}) · ` +
      `${state.tokens} tokens · ${s.layers} layers · ${r0.cache.kvHeads} KV heads`;
    const n = maps[0].valid.reduce((a, v) => a + v, 0);
    ui.info.textContent = `${state.tap}${c.head === null ? '' : ` head ${c.head}`}: ${maps[0].rows}×${maps[0].cols} grid on A (${n} tokens), ` +
      `${maps[1].rows}×${maps[1].cols} on B, ${maps[0].dim} features per token${settings().prefix ? ' · prefix on' : ''}` +
      `${settings().block ? ` · ${blockedKeys} agnostic key positions blocked` : ''} — click a cell of A or B`;
    if (query && maps[query.from].valid[query.cell]) await similarityFrom(query.from, query.cell);
    else {
      query = null;
      Object.assign(state, { from: undefined, cell: undefined, scoresA: undefined, scoresB: undefined, best: undefined, lo: undefined, hi: undefined });
      ui.cell.textContent = '';
      draw();
    }
    drawAgnostic();
    state.refreshes = (state.refreshes ?? 0) + 1;
    state.status = 'ready';
  }

  /** Both images' panels and the colour bar. */
  function draw(): void {
    if (!maps.length) return;
    for (const [i, panels] of [ui.a, ui.b].entries()) {
      const fm = maps[i], sc = scaleOf(i);
      const map = query ? { values: query.rows[i], lo: query.lo, hi: query.hi } : null;
      const selected = query?.from === i ? query.cell : -1, marker = query && query.from !== i ? query.best : -1;
      drawPanel(panels.image, pics[i], fm, sc, { mode: 'image', selected, marker });
      drawPanel(panels.map, pics[i], fm, sc, { mode: 'map', map, selected, marker });
      drawPanel(panels.blend, pics[i], fm, sc, { mode: 'blend', map, opacity: opacity(), selected, marker });
    }
    drawColourBar(ui.bar, query?.lo ?? NaN, query?.hi ?? NaN);
    ui.barLo.textContent = barNumber(query?.lo ?? NaN);
    ui.barHi.textContent = barNumber(query?.hi ?? NaN);
    state.opacity = opacity();
  }

  /** cos(f_cell, ·) on both grids (GPU; two [cells] rows read back), the best match in the other image. */
  async function similarityFrom(from: number, cell: number): Promise<void> {
    const t0 = performance.now();
    const rows: Float32Array[] = [];
    for (const fm of maps) rows.push(await similarityRow(maps[from], cell, fm));
    const other = 1 - from;
    const best = bestMatch(rows[other], maps[other].valid);
    const ra = scoreRange(rows[0], maps[0].valid, from === 0 ? cell : -1), rb = scoreRange(rows[1], maps[1].valid, from === 1 ? cell : -1);
    const lo = Math.min(ra.lo, rb.lo), hi = Math.max(ra.hi, rb.hi);
    query = { from, cell, rows, best, lo, hi };
    Object.assign(state, {
      from: from === 0 ? 'a' : 'b', cell, scoresA: [...rows[0]], scoresB: [...rows[1]], best, lo, hi, scoreMs: performance.now() - t0,
    });
    state.queries++;
    const cols = maps[from].cols, ocols = maps[other].cols, name = (i: number) => (i === 0 ? 'A' : 'B');
    ui.cell.textContent = `cell (${Math.floor(cell / cols)}, ${cell % cols}) of ${name(from)}, ${state.tap}: best match in ${name(other)} ` +
      `(${Math.floor(best / ocols)}, ${best % ocols}) at cos ${rows[other][best].toFixed(4)}; colour scale [${lo.toFixed(4)}, ${hi.toFixed(4)}] ` +
      `over both maps (clicked cell left out) · ${state.scoreMs!.toFixed(1)} ms`;
    draw();
  }

  /** The shown layer's key consistency over image A's grid, flagged cells outlined. */
  function drawAgnostic(): void {
    const s = loaded?.session;
    const ag = s?.agnostic;
    if (!s || !ag) return;
    const layer = Number(ui.layer.value);
    const sim = ag.similarity.get(layer);
    if (!sim) return;
    const grid = s.mainGrid();
    if (grid.rows !== ag.grid.rows || grid.cols !== ag.grid.cols) throw new Error(`agnostic keys lie on a ${ag.grid.rows}×${ag.grid.cols} grid, image A on ${grid.rows}×${grid.cols}`);
    const { lo, hi } = scoreRange(sim, grid.valid);
    const flagged = ag.cells.get(layer) ?? [];
    const sc = scaleOf(0);
    drawPanel(ui.agnosticMap, pics[0], grid, sc, { mode: 'map', map: { values: sim, lo, hi }, flagged: new Set(flagged) });
    drawPanel(ui.agnosticBlend, pics[0], grid, sc, { mode: 'blend', map: { values: sim, lo, hi }, opacity: opacity(), flagged: new Set(flagged) });
    drawColourBar(ui.agnosticBar, lo, hi);
    ui.agnosticLo.textContent = barNumber(lo);
    ui.agnosticHi.textContent = barNumber(hi);
    ui.agnosticTitle.textContent = `input-agnostic keys of layer ${layer} (over ${ag.images} images)`;
    ui.agnosticInfo.textContent = `${flagged.length} of ${grid.valid.reduce((a, v) => a + v, 0)} key cells above ${ag.threshold.toFixed(4)} at layer ${layer}; ` +
      `blocking covers the union over the ${[...ag.cells.values()].filter((c) => c.length).length} layers that have any`;
    ui.agnosticView.hidden = false;
    const keys = state.agnostic?.layer === layer ? { keys: state.agnostic.keys, keysShape: state.agnostic.keysShape } : {};
    state.agnostic = { layer, images: ag.images, threshold: ag.threshold, similarity: [...sim], flagged, lo, hi, ...keys };
  }

  async function doAgnostic(): Promise<void> {
    const s = session();
    const n = Number(ui.agnosticN.value);
    if (!Number.isInteger(n) || n < 2 || n > 16) throw new Error(`images for agnostic keys: give 2..16, got ${ui.agnosticN.value}`);
    const a = s.images[0];
    agnosticOthers = Array.from({ length: n - 1 }, (_, i) => testPicture(a.height, a.width, i + 2));
    ui.status.textContent = `input-agnostic keys: ${n} forwards …`;
    await s.findAgnostic(agnosticOthers, ui.prompt.value, Number(ui.threshold.value));
    const layer = Number(ui.layer.value);
    state.agnostic = undefined;
    if (publishFeatures) {
      const k = await s.agnosticKeysOf(agnosticOthers, ui.prompt.value, layer);
      state.agnostic = { layer, images: n, threshold: 0, similarity: [], flagged: [], lo: 0, hi: 0, keys: base64Of(k.data), keysShape: [k.n, k.cells, k.dim] };
    }
    ui.block.disabled = false;
    state.agnosticRuns = (state.agnosticRuns ?? 0) + 1;
    drawAgnostic();
    ui.status.textContent = `input-agnostic keys over ${n} images: done`;
  }

  async function doThreshold(): Promise<void> {
    const s = session();
    s.setThreshold(Number(ui.threshold.value));
    if (ui.block.checked) await refresh(); // the blocked set changed: re-run the forwards
    else drawAgnostic();
    state.agnosticRuns = (state.agnosticRuns ?? 0) + 1;
  }

  const clickCell = (from: number) => (ev: MouseEvent) => {
    if (!maps.length) return;
    const canvas = ev.currentTarget as HTMLCanvasElement;
    const box = canvas.getBoundingClientRect();
    const sc = scaleOf(from);
    const px = (ev.clientX - box.left) / sc, py = (ev.clientY - box.top) / sc;
    const fm = maps[from];
    for (let i = 0; i < fm.valid.length; i++) {
      const [x0, y0, x1, y1] = fm.rects.subarray(i * 4, i * 4 + 4);
      if (fm.valid[i] && px >= x0 && px < x1 && py >= y0 && py < y1) {
        serial('similarity', () => similarityFrom(from, i));
        return;
      }
    }
  };
  for (const [i, panels] of [ui.a, ui.b].entries()) for (const c of Object.values(panels)) c.addEventListener('click', clickCell(i));
  ui.run.onclick = () => serial('run', doRun);
  const rerun = (what: string) => () => serial(what, async () => {
    state.status = 'running';
    await refresh();
  });
  ui.tap.onchange = rerun('features');
  ui.head.onchange = rerun('features');
  ui.layer.oninput = () => { ui.layerN.textContent = ui.layer.value; };
  ui.layer.onchange = rerun('features');
  ui.prefixOn.onchange = rerun('prefix');
  ui.prefix.onchange = () => { if (ui.prefixOn.checked) rerun('prefix')(); };
  ui.block.onchange = rerun('blocking');
  ui.agnostic.onclick = () => serial('input-agnostic keys', async () => {
    state.status = 'running';
    await doAgnostic();
    state.status = 'ready';
  });
  ui.threshold.onchange = () => serial('threshold', async () => {
    state.status = 'running';
    await doThreshold();
    state.status = 'ready';
  });
  ui.opacity.oninput = () => {
    ui.opacityN.textContent = opacity().toFixed(2);
    draw();
    drawAgnostic();
  };
}
