// The probe view (`?view=probe`): the same task code as `kvscope probe` (src/analysis/probeStudy.ts probeRun) run in
// the tab — checkpoint from a picked folder or URL, dataset from a picked folder in its official layout, a URL
// (with files.txt) or `synthetic`; task, taps, layers, prefix, agnostic-key blocking; progress with rate and ETA;
// the table and layer curves redrawn as samples arrive; results.jsonl / results.md offered exactly as the CLI
// writes them (MemorySink). Published on window.__kvscopeProbe for test/browser/probe.browser.mjs. URL parameters
// (task, checkpoint, data, taps, layers, limit, size, prefix, block) fill the form; `run=1` starts at load.
import { probeRun, type ProbeSpec } from '../../src/analysis/probeStudy.ts';
import { layerPlotSvg } from '../../src/analysis/layerPlot.ts';
import { resultsTable } from '../../src/analysis/report.ts';
import { MemorySink } from '../../src/analysis/runSink.ts';
import { parseShortTaps, SHORT_TAPS } from '../../src/capture/taps.ts';
import type { Gpu } from '../../src/gpu/device.ts';
import { filesSource, type FileSource, httpSource } from '../../src/io/source.ts';
import { loadModel } from '../../src/models/registry.ts';
import type { ResultRow } from '../../src/tasks/resultsLog.ts';
import { TASK_NAMES } from '../../src/tasks/registry.ts';
import { syntheticSegmentationSet } from '../../src/tasks/synthetic/segmentationSet.ts';
import { parseLayers } from '../cli/probeCommand.ts';
import { downloadLink } from './download.ts';

export interface ProbeViewState {
  adapter: string;
  status: 'idle' | 'running' | 'ready' | 'error';
  error?: string;
  done?: number;
  total?: number;
  /** Rows after each sample (the last is the final table). */
  updates: number;
  rows?: ResultRow[];
  resultsJsonl?: string;
  resultsMd?: string;
  /** File names of the overlays drawn (as the CLI names its PNG files). */
  overlays?: string[];
}

/** Overlays a run in the tab draws (the CLI's default is 4; the page keeps to 2). */
const OVERLAYS = 2;

declare global {
  interface Window {
    __kvscopeProbe?: ProbeViewState;
  }
}

const esc = (s: string) => s.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' }[c]!));

const HTML = `
  <h1>kvscope — probe</h1>
  <p><a href="?">← doctor</a></p>
  <table>
    <tr><th>checkpoint</th><td><input id="q-url" size="40" placeholder="http base URL, e.g. /out/browser-tiny-ov/">
      or folder <input id="q-folder" type="file" webkitdirectory multiple></td></tr>
    <tr><th>dataset</th><td><input id="q-data" size="40" value="synthetic" placeholder="synthetic, or a base URL with files.txt">
      or folder (official layout) <input id="q-data-folder" type="file" webkitdirectory multiple></td></tr>
    <tr><th>task</th><td><select id="q-task">${TASK_NAMES.map((t) => `<option>${t}</option>`).join('')}</select>
      limit <input id="q-limit" type="number" min="1" value="4" style="width: 4rem">
      synthetic size <input id="q-size" type="number" min="16" value="64" style="width: 4rem"></td></tr>
    <tr><th>taps</th><td><input id="q-taps" size="40" value="lm.value,lm.key,projector"> (${SHORT_TAPS.join(', ')})</td></tr>
    <tr><th>layers</th><td><input id="q-layers" size="12" value="all"> (all, 3, 0,4,8, 2-5, 0-27:4)</td></tr>
    <tr><th>prefix</th><td><input id="q-prefix" size="40" placeholder="text before the image (the prefix study)"></td></tr>
    <tr><th></th><td><label><input id="q-block" type="checkbox"> block input-agnostic keys (found first on 8 synthetic images)</label></td></tr>
    <tr><th></th><td><button id="q-run">Run</button> <progress id="q-progress" max="1" value="0"></progress> <span id="q-status"></span>
      <span id="q-downloads"></span></td></tr>
  </table>
  <div id="q-error"></div>
  <div id="q-plots"></div>
  <div id="q-tables"></div>
  <div id="q-overlays"></div>`;

export function startProbeView(gpu: Gpu, root: HTMLElement, params: URLSearchParams): void {
  root.innerHTML = HTML;
  const el = <T extends HTMLElement>(id: string) => root.querySelector<T>(`#${id}`)!;
  const input = (id: string) => el<HTMLInputElement>(id);
  const state: ProbeViewState = { adapter: gpu.describe(), status: 'idle', updates: 0 };
  window.__kvscopeProbe = state;
  const fill: Record<string, string> = { checkpoint: 'q-url', data: 'q-data', taps: 'q-taps', layers: 'q-layers', limit: 'q-limit', size: 'q-size', prefix: 'q-prefix' };
  for (const [k, id] of Object.entries(fill)) if (params.has(k)) input(id).value = params.get(k)!;
  if (params.has('task')) el<HTMLSelectElement>('q-task').value = params.get('task')!;
  if (params.get('block') === '1') input('q-block').checked = true;

  /** Table and layer curves of the rows so far. */
  async function draw(rows: readonly ResultRow[], task: string): Promise<void> {
    const metrics = [...new Set(rows.map((r) => r.metric))];
    const plots = await Promise.all(metrics.map((m) => layerPlotSvg(rows.filter((r) => r.metric === m), { title: `${task}: ${m} vs layer`, metric: m })));
    el('q-plots').innerHTML = plots.map((svg) => `<div class="plot">${svg}</div>`).join('');
    el('q-tables').innerHTML = metrics.map((m) => `<h2>${esc(m)}</h2><pre>${esc(resultsTable(rows, m))}</pre>`).join('');
  }

  function dataSource(): string | FileSource {
    const picked = input('q-data-folder').files;
    if (picked && picked.length) return filesSource([...picked]);
    const v = input('q-data').value.trim() || 'synthetic';
    if (v === 'synthetic') return v;
    return httpSource(new URL(v, location.href).href);
  }

  async function run(): Promise<void> {
    Object.assign(state, { status: 'running', updates: 0 });
    delete state.error;
    el('q-error').innerHTML = '';
    el('q-downloads').replaceChildren();
    el('q-overlays').replaceChildren();
    const status = el('q-status'), bar = el<HTMLProgressElement>('q-progress');
    try {
      const files = input('q-folder').files ? [...input('q-folder').files!] : [];
      if (!files.length && !input('q-url').value) throw new Error('no checkpoint: pick its folder or give a base URL (e.g. /out/browser-tiny-ov/)');
      status.textContent = 'loading the checkpoint…';
      const model = await loadModel(gpu, files.length ? files : new URL(input('q-url').value, location.href).href);
      try {
        const task = el<HTMLSelectElement>('q-task').value;
        const taps = parseShortTaps(input('q-taps').value);
        if (taps.includes('siglip')) throw new Error('tap siglip needs a SigLIP checkpoint, which the browser view does not load; drop it from the taps');
        const layers = parseLayers(input('q-layers').value.trim() || 'all', model.config.text_config.num_hidden_layers);
        const limit = Number(input('q-limit').value), size = Number(input('q-size').value);
        const prefix = input('q-prefix').value || undefined;
        const spec: ProbeSpec = {
          task, taskOptions: { data: dataSource(), limit, size }, taps, layers, prefix,
          blockAgnostic: input('q-block').checked ? { images: syntheticSegmentationSet({ n: 8, size, classes: 4, seed: 99 }).images } : null,
          overlays: OVERLAYS, settings: {}, log: (l) => (status.textContent = l),
        };
        const sink = new MemorySink();
        const t0 = performance.now();
        status.textContent = 'running…';
        const result = await probeRun(model, null, spec, 'memory', {
          sink,
          onSample: (p) => {
            const s = (performance.now() - t0) / 1000, rate = p.done / s;
            bar.max = p.total;
            bar.value = p.done;
            status.textContent = `${p.done}/${p.total} samples · ${rate.toFixed(2)}/s · ETA ${((p.total - p.done) / rate).toFixed(0)} s`;
            Object.assign(state, { done: p.done, total: p.total, rows: p.rows, updates: state.updates + 1 });
            void draw(p.rows, p.rows[0]?.task ?? task);
          },
        });
        const jsonl = sink.files.get('results.jsonl') as string, md = sink.files.get('results.md') as string;
        await draw(result.rows, result.rows[0]?.task ?? task);
        // the overlays (matches, masks) the task drew, shown and downloadable like the CLI's PNG files
        const overlays = [...sink.files].filter(([name]) => name.endsWith('.png')).map(([name, png]) => ({ name, png: png as Uint8Array }));
        el('q-downloads').replaceChildren(downloadLink('results.jsonl', jsonl, 'application/jsonl'), document.createTextNode(' '), downloadLink('results.md', md, 'text/markdown'),
          ...overlays.flatMap((o) => [document.createTextNode(' '), downloadLink(o.name, o.png, 'image/png')]));
        el('q-overlays').replaceChildren(...overlays.map((o) => {
          const fig = document.createElement('figure'), img = document.createElement('img'), cap = document.createElement('figcaption');
          img.src = URL.createObjectURL(new Blob([o.png as BlobPart], { type: 'image/png' }));
          Object.assign(img.style, { height: '192px', imageRendering: 'pixelated' });
          cap.textContent = o.name;
          fig.append(img, cap);
          return fig;
        }));
        Object.assign(state, { status: 'ready', rows: result.rows, resultsJsonl: jsonl, resultsMd: md, overlays: overlays.map((o) => o.name) });
        status.textContent = `done: ${result.computed} samples in ${((performance.now() - t0) / 1000).toFixed(1)} s`;
      } finally {
        model.dispose();
      }
    } catch (e) {
      state.status = 'error';
      state.error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      el('q-error').innerHTML = `<p class="fail">${esc(state.error)}</p>`;
      status.textContent = '';
    }
  }
  el('q-run').onclick = () => void run();
  if (params.get('run') === '1') void run();
}
