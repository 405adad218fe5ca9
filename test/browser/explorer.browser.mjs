// The explorer view in Chromium (SwiftShader WebGPU), driven by Playwright like a person would: the tiny
// LLaVA-OneVision checkpoint of test/browser/modelFixture.ts (written by Deno to out/browser-tiny-ov/ unless already
// there) is opened with ?view=explorer&checkpoint=/out/browser-tiny-ov/&publish=features; the script presses Run
// (generated test picture, default prompt), clicks a cell on the canvas for three taps (layer-0 value, last-layer
// key, projector.out) and checks the published heatmap: one score per cell, the clicked cell 1 (±1e-5), all in
// [−1, 1], 0 where no token, and equal within TOL to a float64 host cosine computed here from the feature map the
// page also publishes. Then the errors: a folder missing its weights and a URL without a checkpoint must show an
// error on the page. Saves out/browser-explorer.png; prints `browser explorer: N passed, M failed`.
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkList, runModelFixture, startSession } from './chromium.mjs';

const DIR = 'out/browser-tiny-ov';
// GPU cosine (f32 unit rows + matmul) vs float64 host cosine of the same f32 features: |gpu − host| ≤ TOL.
// The clicked cell against itself: |s − 1| ≤ SELF_TOL (the brief's bound). Measured: printed per tap.
const TOL = 1e-5, SELF_TOL = 1e-5;
const WAIT = { timeout: 5 * 60_000, polling: 200 };

const { check, finish } = checkList('browser explorer');

// 1. the checkpoint: reuse the model fixture's, or have Deno write it
const needed = ['config.json', 'model.safetensors', 'tokenizer.json', 'preprocessor_config.json'];
if (!needed.every((f) => existsSync(join(DIR, f)))) {
  const fixtureError = runModelFixture(DIR);
  if (fixtureError) {
    check('deno fixture (tiny checkpoint)', false, fixtureError);
    finish();
  }
}

function fromBase64(b64) {
  const b = Buffer.from(b64, 'base64');
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/** Float64 cos(f_c, f_j) for every cell j from the published [cells, dim] map; 0 where j holds no token. */
function hostCosine(feat, dim, valid, c) {
  const norm = (i) => Math.max(Math.hypot(...feat.subarray(i * dim, (i + 1) * dim)), 1e-12);
  const nc = norm(c);
  return valid.map((v, j) => {
    if (!v) return 0;
    let dot = 0;
    for (let k = 0; k < dim; k++) dot += feat[c * dim + k] * feat[j * dim + k];
    return dot / (nc * norm(j));
  });
}

/** Click cell `c` on the canvas, wait for the query to finish, check the scores against the host cosine. */
async function clickAndCheck(page, label, pick) {
  const before = await page.evaluate(() => window.__kvscopeExplorer);
  const cells = before.valid.map((v, i) => (v ? i : -1)).filter((i) => i >= 0);
  check(`${label}: feature map ${before.rows}×${before.cols}×${before.dim}`, cells.length > 1 && before.dim > 0, `${cells.length} cells hold a token`);
  const c = cells[pick(cells.length)];
  const [x, y] = before.cellCenters[c];
  await page.locator('#x-canvas').click({ position: { x, y } });
  await page.waitForFunction((q) => { const s = window.__kvscopeExplorer; return s.queries > q || s.status === 'error'; }, before.queries, WAIT);
  const st = await page.evaluate(() => window.__kvscopeExplorer);
  if (st.status === 'error') { check(`${label}: similarity query`, false, st.error); return; }
  const n = st.rows * st.cols, s = st.scores;
  check(`${label}: clicked cell ${c} selected`, st.cell === c, `page says ${st.cell}`);
  check(`${label}: one score per cell`, s.length === n, `${s.length} scores for ${n} cells`);
  check(`${label}: clicked cell scores 1 (±${SELF_TOL})`, Math.abs(s[c] - 1) <= SELF_TOL, `s = ${s[c]}`);
  const outside = s.filter((v) => !(v >= -1 - 1e-6 && v <= 1 + 1e-6)).length;
  const emptyNonZero = s.filter((v, i) => !st.valid[i] && v !== 0).length;
  check(`${label}: all scores in [−1, 1], 0 where no token`, outside === 0 && emptyNonZero === 0, `${outside} outside, ${emptyNonZero} empty cells non-zero`);
  const feat = fromBase64(st.features);
  if (feat.length !== n * st.dim) { check(`${label}: published features`, false, `${feat.length} values, expected ${n}·${st.dim}`); return; }
  const want = hostCosine(feat, st.dim, st.valid, c);
  let err = 0, lo = Infinity, hi = -Infinity;
  want.forEach((w, i) => {
    err = Math.max(err, Math.abs(s[i] - w));
    if (st.valid[i] && i !== c) { lo = Math.min(lo, w); hi = Math.max(hi, w); }
  });
  // a map of identical or zero tokens would make every score 1 or 0 and the comparison empty
  check(`${label}: host cosines spread (non-trivial map)`, hi - lo > 1e-3, `others in [${lo.toFixed(4)}, ${hi.toFixed(4)}]`);
  check(`${label}: max |page − host float64| ≤ ${TOL}`, err <= TOL, `max abs err ${err.toExponential(2)}, query ${st.scoreMs?.toFixed(1)} ms`);
}

// 2. the browser
const badFolder = mkdtempSync(join(tmpdir(), 'kvscope-bad-checkpoint-'));
copyFileSync(join(DIR, 'config.json'), join(badFolder, 'config.json')); // a config, but no weights
let session;
try {
  session = await startSession();
} catch (e) {
  check('start Chromium', false, e.message);
}
const { base, browser } = session ?? {};
try {
  if (browser) {
    const page = await browser.newPage();
    page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
    await page.goto(`${base}?view=explorer&checkpoint=/${DIR}/&publish=features`);
    await page.waitForFunction(() => window.__kvscopeExplorer !== undefined, null, WAIT);
    await page.click('#x-run');
    await page.waitForFunction(() => ['ready', 'error'].includes(window.__kvscopeExplorer.status), null, WAIT);
    const st = await page.evaluate(() => window.__kvscopeExplorer);
    console.log(`browser adapter: ${st.adapter}`);
    const shown = await page.locator('#x-status').innerText();
    check('run: prefill in the tab', st.status === 'ready', st.error ?? `load ${st.loadMs?.toFixed(0)} ms, prefill ${st.prefillMs?.toFixed(0)} ms, ${st.tokens} tokens, ${st.layers} layers`);
    check('run: page shows adapter and prefill ms', st.status === 'ready' && shown.includes(st.adapter) && /prefill \d+ ms/.test(shown), shown);
    if (st.status === 'ready') {
      await clickAndCheck(page, 'lm.layers.0.attn.v', (n) => Math.floor(n / 2));
      const last = st.layers - 1;
      await page.selectOption('#x-tap', 'key');
      await page.waitForFunction(() => window.__kvscopeExplorer.tap?.endsWith('attn.k'), null, WAIT);
      await page.evaluate((l) => { const r = document.getElementById('x-layer'); r.value = String(l); r.dispatchEvent(new Event('change')); }, last);
      await page.waitForFunction((t) => window.__kvscopeExplorer.tap === t || window.__kvscopeExplorer.status === 'error', `lm.layers.${last}.attn.k`, WAIT);
      await clickAndCheck(page, `lm.layers.${last}.attn.k`, () => 0);
      await page.selectOption('#x-tap', 'projector');
      await page.waitForFunction(() => window.__kvscopeExplorer.tap === 'projector.out' || window.__kvscopeExplorer.status === 'error', null, WAIT);
      await clickAndCheck(page, 'projector.out', (n) => n - 1);
      await page.screenshot({ path: 'out/browser-explorer.png', fullPage: true });
      console.log('screenshot: out/browser-explorer.png');
    }

    // errors are shown on the page: a folder without weights, a URL without a checkpoint
    for (const [what, setup] of [
      ['folder with only config.json', async (p) => { await p.goto(`${base}?view=explorer`); await p.setInputFiles('#x-folder', badFolder); }],
      ['URL without a checkpoint', async (p) => { await p.goto(`${base}?view=explorer&checkpoint=/out/no-such-checkpoint/`); }],
    ]) {
      const p = await browser.newPage();
      await setup(p);
      await p.waitForFunction(() => window.__kvscopeExplorer !== undefined, null, WAIT);
      await p.click('#x-run');
      await p.waitForFunction(() => ['ready', 'error'].includes(window.__kvscopeExplorer.status), null, WAIT);
      const e = await p.evaluate(() => window.__kvscopeExplorer);
      const text = (await p.locator('#x-error').innerText()).trim();
      check(`error shown: ${what}`, e.status === 'error' && text.length > 0 && text === e.error, text || `(status ${e.status}, nothing shown)`);
      await p.close();
    }
  }
} catch (e) {
  check('page', false, e.message.split('\n')[0]);
} finally {
  await session?.close();
  rmSync(badFolder, { recursive: true, force: true });
}
finish();
