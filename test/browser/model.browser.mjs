// A model forward in Chromium (SwiftShader WebGPU) against the same forward in Deno (llvmpipe), driven by Playwright:
// Deno (test/browser/modelFixture.ts) writes a tiny LLaVA-OneVision checkpoint (F16), HF inputs for one picture and
// its own GPU outputs to out/browser-tiny-ov/; Vite serves the repo on loopback; the app with
// ?run=model&checkpoint=/out/browser-tiny-ov/ loads the checkpoint over HTTP (Range reads), runs the forward and
// publishes all rows of logits and layer 0's V; this script compares them and prints `browser model: N passed, M failed`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkList, runModelFixture, startSession } from './chromium.mjs';

const DIR = 'out/browser-tiny-ov';
// Two WebGPU implementations running the same WGSL differ only in float rounding (FMA contraction, exp/tanh,
// reduction order inside their compilers): normwise max |browser − deno| ≤ TOL · max |deno| per tensor.
// Measured (SwiftShader vs llvmpipe): logits 3.7e-7, layer-0 V 3.0e-7; TOL leaves > 25×.
const TOL = 1e-5;

const { check, finish } = checkList('browser model');

// 1. the Deno side: checkpoint, inputs, llvmpipe outputs
const fixtureError = runModelFixture(DIR);
if (fixtureError) {
  check('deno fixture (checkpoint, inputs, llvmpipe outputs)', false, fixtureError);
  finish();
}

/** The F32 tensors of a safetensors file: name -> {shape, data}. */
function readSafetensors(path) {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  const out = new Map();
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (t.dtype !== 'F32') throw new Error(`${path}: tensor ${name} is ${t.dtype}, expected F32`);
    const [a, b] = t.data_offsets;
    const bytes = buf.subarray(8 + n + a, 8 + n + b);
    out.set(name, { shape: t.shape, data: new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)) });
  }
  return { tensors: out, metadata: header.__metadata__ ?? {} };
}

function fromBase64(p) {
  const b = Buffer.from(p.base64, 'base64');
  return { shape: p.shape, data: new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)) };
}

/** Shape equality, finiteness, a non-trivial reference, and the normwise error within TOL. */
function compareTensor(what, got, want) {
  const sameShape = got.shape.join(',') === want.shape.join(',') && got.data.length === want.data.length;
  check(`${what}: shape [${want.shape.join(', ')}]`, sameShape, sameShape ? '' : `browser [${got.shape.join(', ')}] (${got.data.length} values)`);
  if (!sameShape) return;
  let err = 0, scale = 0, nonFinite = 0, worst = -1, min = Infinity, max = -Infinity;
  for (let i = 0; i < want.data.length; i++) {
    const g = got.data[i], w = want.data[i];
    if (!Number.isFinite(g) || !Number.isFinite(w)) { nonFinite++; continue; }
    const e = Math.abs(g - w);
    if (e > err) { err = e; worst = i; }
    scale = Math.max(scale, Math.abs(w));
    min = Math.min(min, w); max = Math.max(max, w);
  }
  // a forward that silently wrote nothing (zeros, a constant) must not pass
  check(`${what}: finite, non-constant reference`, nonFinite === 0 && max > min, `non-finite ${nonFinite}, deno range [${min}, ${max}]`);
  const rel = scale > 0 ? err / scale : Infinity;
  check(`${what}: max |browser − deno| ≤ ${TOL} · max |deno|`, rel <= TOL,
    `max abs err ${err.toExponential(3)} at ${worst} = ${rel.toExponential(3)} × ${scale.toExponential(3)}`);
}

/** Per row argmax of [1, S, V] logits. */
function rowArgmax({ shape, data }) {
  const [, s, v] = shape;
  return Array.from({ length: s }, (_, r) => {
    let best = 0;
    for (let j = 1; j < v; j++) if (data[r * v + j] > data[r * v + best]) best = j;
    return best;
  });
}

const want = readSafetensors(join(DIR, 'deno-outputs.safetensors'));
console.log(`deno outputs from: ${want.metadata.device ?? '(unnamed device)'}`);

// 2. the browser side
let session;
try {
  session = await startSession();
} catch (e) {
  check('start Chromium', false, e.message);
  finish();
}
const { base, browser } = session;
let res;
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
  await page.goto(`${base}?run=model&checkpoint=/${DIR}/`);
  await page.waitForFunction(() => window.__kvscopeModel !== undefined, null, { timeout: 10 * 60_000, polling: 500 });
  res = await page.evaluate(() => window.__kvscopeModel);
} catch (e) {
  res = { adapter: '', error: `page: ${e.message.split('\n')[0]}` };
} finally {
  await session.close();
}

// 3. compare
if (res.adapter) console.log(`browser adapter: ${res.adapter}`);
check('browser forward ran', !res.error, res.error ?? `load ${res.loadMs?.toFixed(0)} ms, forward + logits readback ${res.forwardMs?.toFixed(0)} ms`);
if (!res.error) {
  const logits = fromBase64(res.logits), value0 = fromBase64(res.value0);
  const wantLogits = want.tensors.get('logits'), wantV = want.tensors.get('past_key_values.0.value');
  compareTensor('logits', logits, wantLogits);
  compareTensor('layer-0 V', value0, wantV);
  if (logits.data.length === wantLogits.data.length) {
    const a = rowArgmax(logits), b = rowArgmax(wantLogits);
    const differ = a.filter((x, i) => x !== b[i]).length;
    check('greedy token per position identical', differ === 0, `${differ} of ${a.length} rows differ`);
  }
}
finish();
