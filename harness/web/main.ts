// Browser entry: adapter report (the doctor view) and the kernel test table run against the float64
// references, exactly as test/ops/kernels.test.ts runs it in Deno. `?run=kernels` starts the tests at load and
// publishes the results on window.__kvscopeResults for test/browser/kernels.browser.mjs; `?run=model` runs a model
// forward from a checkpoint URL and publishes it on window.__kvscopeModel for test/browser/model.browser.mjs;
// `?view=explorer` opens the KV cache explorer (harness/web/explorer.ts), `?view=profile` the forward profile
// (harness/web/profileView.ts), `?view=probe` a probe task run in the tab (harness/web/probeView.ts).
import { acquireGpu, type Gpu } from '../../src/gpu/device.ts';
import { setShaderSource } from '../../src/gpu/kernel.ts';
import { allCases as opCases } from '../../test/ops/cases/index.ts';
import { probeCases } from '../../test/probe/cases/index.ts';
import { compare, Rng } from '../../test/ops/opCase.ts';

// Vite's import.meta.glob (typed here by hand so `deno check` also checks this file)
type Glob = (pattern: string, opts: { query: string; import: string }) => Record<string, () => Promise<string>>;
const shaders = (import.meta as unknown as { glob: Glob }).glob('../../shaders/**/*.wgsl', { query: '?raw', import: 'default' });
setShaderSource(async (name) => {
  const load = shaders[`../../shaders/${name}.wgsl`];
  if (!load) throw new Error(`shader ${name}.wgsl is not in the bundle`);
  return await load();
});

interface CaseResult { op: string; name: string; ok: boolean; detail: string; ms: number }
/** A float32 tensor read back from the GPU, its bytes base64-encoded (little-endian, row-major). */
interface PublishedTensor { shape: number[]; base64: string }
interface ModelRun { adapter: string; logits?: PublishedTensor; value0?: PublishedTensor; loadMs?: number; forwardMs?: number; error?: string }
declare global {
  interface Window {
    __kvscopeResults?: { adapter: string; results: CaseResult[]; error?: string };
    __kvscopeModel?: ModelRun;
  }
}

const $ = (id: string) => document.getElementById(id)!;
const esc = (s: string) => s.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' }[c]!));

function report(gpu: Gpu): string {
  const i = gpu.info;
  const rows = Object.entries(gpu.limits).map(([k, v]) => `<tr><td>${k}</td><td>${v.toLocaleString('en-US')}</td></tr>`).join('');
  const tests = gpu.selfTests.map((t) => `<tr><td>${t.feature}</td><td class="${t.passed ? 'pass' : 'fail'}">${t.passed ? 'pass' : 'FAIL'}</td><td>${esc(t.detail)}</td></tr>`).join('');
  return `<table><tr><th>adapter</th><td>${esc(i.description || '(no description)')}</td></tr>
    <tr><th>vendor</th><td>${esc(i.vendor)}</td></tr><tr><th>architecture</th><td>${esc(i.architecture)}</td></tr></table>
    <h2>Features</h2><pre>${[...gpu.adapter.features].sort().join('\n')}</pre>
    <h2>Self-tests</h2><table>${tests}</table><h2>Limits</h2><table>${rows}</table>`;
}

async function runKernels(gpu: Gpu): Promise<CaseResult[]> {
  gpu.poisonNewTensors = true;
  const out: CaseResult[] = [];
  const list = $('kernels');
  list.innerHTML = '';
  for (const [i, c] of [...opCases, ...probeCases].entries()) {
    const t0 = performance.now();
    let ok = false, detail = '';
    try {
      const { got, want } = await c.run(gpu, new Rng(1000 + i));
      const r = compare(got, want, c.tol);
      ok = r.ok;
      detail = ok ? `max abs err ${r.maxAbsErr.toExponential(2)}` : `${r.bad} bad (non-finite ${r.nonFinite}); first ${r.firstBad}`;
    } catch (e) {
      detail = `threw: ${(e as Error).message}`;
    }
    const res = { op: c.op, name: c.name, ok, detail, ms: performance.now() - t0 };
    out.push(res);
    list.insertAdjacentHTML('beforeend', `<div class="${ok ? 'pass' : 'fail'}">${ok ? '✓' : '✗'} ${esc(c.name)} — ${esc(detail)}</div>`);
  }
  return out;
}

function base64Of(values: Float32Array): string {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

/**
 * `?run=model&checkpoint=<base URL>`: load the checkpoint over HTTP, run the tensor forward on the HF inputs in
 * `<base>/inputs.safetensors` and publish all rows of logits and layer 0's V (test/browser/model.browser.mjs).
 */
async function runModel(gpu: Gpu, checkpoint: string): Promise<ModelRun> {
  const { loadModel } = await import('../../src/models/registry.ts');
  const { readModelInputsFrom } = await import('../../src/models/modelTensors.ts');
  const { urlSource } = await import('../../src/io/safetensors.ts');
  const base = new URL(checkpoint, location.href).href.replace(/\/+$/, '');
  gpu.poisonNewTensors = true; // an output a kernel leaves unwritten reads as NaN
  const t0 = performance.now();
  const model = await loadModel(gpu, base);
  const loadMs = performance.now() - t0;
  try {
    const inputs = await readModelInputsFrom(await urlSource(`${base}/inputs.safetensors`));
    const t1 = performance.now();
    const r = await model.forward(inputs, { logits: 'all' });
    const logits = (await r.logits.read()) as Float32Array;
    const forwardMs = performance.now() - t1;
    const value0 = await r.cache.readLayer(0, 'value');
    const s = inputs.inputIds.length;
    r.logits.dispose();
    r.cache.dispose();
    return {
      adapter: gpu.describe(), loadMs, forwardMs,
      logits: { shape: [1, s, logits.length / s], base64: base64Of(logits) },
      value0: { shape: [1, r.cache.kvHeads, s, r.cache.headDim], base64: base64Of(value0) },
    };
  } finally {
    model.dispose();
  }
}

async function main(): Promise<void> {
  let gpu: Gpu;
  try {
    gpu = await acquireGpu();
  } catch (e) {
    $('report').innerHTML = `<p class="fail">${esc((e as Error).message)}</p>`;
    window.__kvscopeResults = { adapter: '', results: [], error: (e as Error).message };
    window.__kvscopeModel = { adapter: '', error: `no WebGPU: ${(e as Error).message}` };
    window.__kvscopeExplorer = { adapter: '', status: 'error', error: `no WebGPU: ${(e as Error).message}`, queries: 0 };
    window.__kvscopeProfile = { adapter: '', status: 'error', error: `no WebGPU: ${(e as Error).message}` };
    window.__kvscopeProbe = { adapter: '', status: 'error', error: `no WebGPU: ${(e as Error).message}`, updates: 0 };
    window.__kvscopeBench = { adapter: '', status: 'error', error: `no WebGPU: ${(e as Error).message}`, userAgent: navigator.userAgent, lines: [], rows: [] };
    return;
  }
  // `?view=explorer`: the KV cache explorer (harness/web/explorer.ts) replaces the doctor page
  if (new URLSearchParams(location.search).get('view') === 'explorer') {
    const { startExplorer } = await import('./explorer.ts');
    startExplorer(gpu, document.body, new URLSearchParams(location.search));
    return;
  }
  // `?view=probe`: a probe task run in the tab as `kvscope probe` runs it (harness/web/probeView.ts)
  if (new URLSearchParams(location.search).get('view') === 'probe') {
    const { startProbeView } = await import('./probeView.ts');
    startProbeView(gpu, document.body, new URLSearchParams(location.search));
    return;
  }
  // `?run=bench`: a benchmark table in this tab, for `kvscope bench … --browser` (harness/web/benchView.ts)
  if (new URLSearchParams(location.search).get('run') === 'bench') {
    const { runBenchInPage } = await import('./benchView.ts');
    document.body.textContent = 'running the benchmark…';
    const r = await runBenchInPage(gpu, new URLSearchParams(location.search));
    document.body.innerHTML = `<pre>${esc(r.status === 'done' ? r.lines.join('\n') : r.error ?? '')}</pre>`;
    return;
  }
  // `?view=profile`: one profiled prefill (+ decode) of a checkpoint (harness/web/profileView.ts)
  if (new URLSearchParams(location.search).get('view') === 'profile') {
    const { startProfileView } = await import('./profileView.ts');
    startProfileView(gpu, document.body, new URLSearchParams(location.search));
    return;
  }
  $('report').innerHTML = report(gpu);
  const adapter = gpu.describe();
  $('run').onclick = () => void runKernels(gpu);
  const params = new URLSearchParams(location.search);
  if (params.get('run') === 'kernels') {
    const results = await runKernels(gpu);
    window.__kvscopeResults = { adapter, results };
  }
  if (params.get('run') === 'model') {
    const checkpoint = params.get('checkpoint') ?? '/out/browser-tiny-ov/';
    $('kernels').textContent = `model forward: ${checkpoint} …`;
    try {
      window.__kvscopeModel = await runModel(gpu, checkpoint);
      $('kernels').textContent = `model forward: ${checkpoint}: done`;
    } catch (e) {
      const error = `${(e as Error).name}: ${(e as Error).message}`;
      $('kernels').innerHTML = `<p class="fail">${esc(error)}</p>`;
      window.__kvscopeModel = { adapter, error };
    }
  }
}

void main();
