// The profile view (`?view=profile`): load a checkpoint in the tab (a picked folder or `?checkpoint=<url>`), run
// one profiled prefill (+ N decode steps) exactly as `kvscope profile` does (src/analysis/profileForward.ts), show
// the tables, the vega-lite plot (vega-embed) and offer trace.json / profile.json for download. The result is
// published on window.__kvscopeProfile for test/browser/profile.browser.mjs.
import embed from 'vega-embed';
import type { ForwardProfile } from '../../src/analysis/forwardProfile.ts';
import { profileText } from '../../src/analysis/forwardProfile.ts';
import { profileForward } from '../../src/analysis/profileForward.ts';
import { profilePlotSpec } from '../../src/analysis/profilePlot.ts';
import { profileTrace } from '../../src/analysis/profileTrace.ts';
import type { Gpu } from '../../src/gpu/device.ts';
import { decodeImage } from '../../src/io/image.ts';
import { loadModel } from '../../src/models/registry.ts';
import { downloadLink } from './download.ts';
import { testPicture } from './testPicture.ts';

export interface ProfileState {
  adapter: string;
  status: 'idle' | 'running' | 'ready' | 'error';
  error?: string;
  mode?: ForwardProfile['mode'];
  phases?: ForwardProfile['phases'];
  families?: { name: string; dispatches: number; ms: number }[];
  layers?: string[];
  top?: { name: string; ms: number }[];
  text?: string;
}

declare global {
  interface Window {
    __kvscopeProfile?: ProfileState;
  }
}

const HTML = `
  <h1>kvscope — forward profile</h1>
  <p><a href="?">← doctor</a></p>
  <table>
    <tr><th>checkpoint</th><td><input id="p-url" size="40" placeholder="http base URL, e.g. /out/browser-tiny-ov/">
      or folder <input id="p-folder" type="file" webkitdirectory multiple></td></tr>
    <tr><th>image</th><td><input id="p-image" type="file" accept="image/png,image/jpeg"> (none: a generated test picture)</td></tr>
    <tr><th>prompt</th><td><input id="p-prompt" size="50" value="What is shown in this image?"></td></tr>
    <tr><th>decode steps</th><td><input id="p-decode" type="number" min="0" value="2" style="width: 4rem">
      <label><input id="p-warmup" type="checkbox" checked> one unprofiled prefill first (first-use shader compilation)</label></td></tr>
    <tr><th></th><td><button id="p-run">Profile</button> <span id="p-status"></span> <span id="p-downloads"></span></td></tr>
  </table>
  <div id="p-plot"></div>
  <pre id="p-text"></pre>`;

export function startProfileView(gpu: Gpu, root: HTMLElement, params: URLSearchParams): void {
  root.innerHTML = HTML;
  const el = <T extends HTMLElement>(id: string) => root.querySelector<T>(`#${id}`)!;
  const state: ProfileState = { adapter: gpu.describe(), status: 'idle' };
  window.__kvscopeProfile = state;
  const url = el<HTMLInputElement>('p-url'), folder = el<HTMLInputElement>('p-folder');
  if (params.get('checkpoint')) url.value = params.get('checkpoint')!;
  if (params.get('decode')) el<HTMLInputElement>('p-decode').value = params.get('decode')!;
  if (params.get('warmup') === '0') el<HTMLInputElement>('p-warmup').checked = false;

  async function run(): Promise<void> {
    state.status = 'running';
    delete state.error;
    el('p-status').textContent = 'loading…';
    try {
      const files = folder.files ? [...folder.files] : [];
      const where = files.length ? files : new URL(url.value || '/', location.href).href;
      if (!files.length && !url.value) throw new Error('no checkpoint: pick a folder or give a base URL (e.g. ?checkpoint=/out/browser-tiny-ov/)');
      const model = await loadModel(gpu, where);
      try {
        const picked = el<HTMLInputElement>('p-image').files?.[0];
        const image = picked ? decodeImage(new Uint8Array(await picked.arrayBuffer()), picked.name) : testPicture();
        const decode = Number(el<HTMLInputElement>('p-decode').value);
        if (!Number.isInteger(decode) || decode < 0) throw new Error(`decode steps must be a whole number ≥ 0, got ${el<HTMLInputElement>('p-decode').value}`);
        el('p-status').textContent = 'profiling…';
        const p = await profileForward(model, { images: [image], prompt: el<HTMLInputElement>('p-prompt').value }, { decode, warmup: el<HTMLInputElement>('p-warmup').checked ? 1 : 0 });
        const text = profileText(p);
        el('p-text').textContent = text;
        await embed(el('p-plot'), profilePlotSpec(p) as never, { actions: false, renderer: 'svg' });
        const dl = el('p-downloads');
        dl.replaceChildren(
          downloadLink('trace.json', JSON.stringify(profileTrace(p)), 'application/json'),
          document.createTextNode(' '),
          downloadLink('profile.json', JSON.stringify(p), 'application/json'),
        );
        Object.assign(state, {
          status: 'ready', mode: p.mode, phases: p.phases, text,
          families: p.families.map((f) => ({ name: f.name, dispatches: f.dispatches, ms: f.ms })),
          layers: p.layers.map((l) => l.name), top: p.kernels.slice(0, 5).map((k) => ({ name: k.name, ms: k.ms })),
        });
        el('p-status').textContent = `done: ${p.phases.map((ph) => `${ph.phase} ${ph.dispatches} dispatches`).join(', ')}`;
      } finally {
        model.dispose();
      }
    } catch (e) {
      state.status = 'error';
      state.error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      el('p-status').innerHTML = '';
      el('p-text').textContent = state.error;
      el('p-text').className = 'fail';
    }
  }
  el('p-run').onclick = () => void run();
  if (params.get('checkpoint')) void run();
}
