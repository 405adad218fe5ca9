// The explorer view in Chromium (SwiftShader WebGPU), driven by Playwright like a person would: the tiny
// LLaVA-OneVision checkpoint of test/browser/modelFixture.ts (written by Deno to out/browser-tiny-ov/ unless already
// there) is opened with ?view=explorer&checkpoint=/out/browser-tiny-ov/&publish=features; the script presses Run
// (two generated pictures A and B, default prompt) and then, for six taps (values, keys per KV head, pre-RoPE keys,
// hidden, projector, vision; LM layers set through the slider), clicks a cell of A or B and checks the published
// maps against float64 host cosines computed here from the feature maps the page also publishes: the map on A and
// on B (within TOL), the clicked cell 1, the best match in the other image = the host argmax, the colour bar's
// min / max = the host range. Then the blend (opacity 0 / 1 against the image / map panels), the input-agnostic key
// map of a layer (= the host mean pairwise cosine of the keys the page publishes), and the blocking and prefix
// toggles: on changes the map (which still equals the host cosine of the re-run forward's features), off restores
// it bit for bit. Screenshots of each view go to out/screenshots/explorer-*.png and must hold non-trivial content.
// Without &publish=features the page's GPU read-backs are counted (mapAsync): none for a run or a tap change, the
// two drawn rows for a query, one row per layer for the agnostic keys.
// Last, the errors: a folder missing its weights and a URL without a checkpoint. Prints
// `browser explorer: N passed, M failed`.
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkList, runModelFixture, screenshotStats, startSession } from './chromium.mjs';

const DIR = 'out/browser-tiny-ov';
// GPU cosine (f32 unit rows + matmul) vs float64 host cosine of the same f32 features: |gpu − host| ≤ TOL.
// The clicked cell against itself: |s − 1| ≤ SELF_TOL. Key consistency (f32 kernel) vs float64: ≤ TOL.
const TOL = 1e-5, SELF_TOL = 1e-5;
// A toggle must move the map by more than this (max |Δ| over cells); un-toggling must restore it exactly.
const MOVED = 1e-4;
// A screenshot of a view: at least this many distinct colours and this grey-level standard deviation.
const MIN_COLOURS = 200, MIN_STD = 10;
const WAIT = { timeout: 5 * 60_000, polling: 200 };

const { check, finish } = checkList('browser explorer');

/**
 * A page without Vite's HMR client: other sessions edit files in this tree while the test runs, and Vite would
 * full-reload the tab on each change (losing the explorer's state mid-check). The stub keeps the client's exports.
 */
async function stablePage(browser) {
  const page = await browser.newPage();
  await page.route('**/@vite/client', (route) => route.fulfill({
    contentType: 'application/javascript',
    body: 'export const createHotContext = () => ({ accept() {}, dispose() {}, prune() {}, invalidate() {}, on() {}, off() {}, send() {}, data: {} });\n' +
      'export const updateStyle = () => {}; export const removeStyle = () => {}; export const injectQuery = (u) => u;\n',
  }));
  page.on('framenavigated', (f) => { if (f === page.mainFrame() && page.__loaded) console.log(`page navigated again: ${f.url()}`); page.__loaded = true; });
  return page;
}

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

const normOf = (f, dim, i) => Math.max(Math.hypot(...f.subarray(i * dim, (i + 1) * dim)), 1e-12);

/** Float64 cos(src_c, dst_j) for every cell j of dst; 0 where j holds no token. */
function hostCosine(src, c, dst, dim, validDst) {
  const nc = normOf(src, dim, c);
  return validDst.map((v, j) => {
    if (!v) return 0;
    let dot = 0;
    for (let k = 0; k < dim; k++) dot += src[c * dim + k] * dst[j * dim + k];
    return dot / (nc * normOf(dst, dim, j));
  });
}

/** Float64 mean pairwise cosine of each cell's key over n images (pairs of non-zero keys), keys [n, cells, dim]. */
function hostConsistency(keys, [n, cells, dim]) {
  const out = [];
  for (let c = 0; c < cells; c++) {
    const rows = [];
    for (let i = 0; i < n; i++) {
      const r = keys.subarray((i * cells + c) * dim, (i * cells + c + 1) * dim);
      if (r.some((x) => x !== 0)) rows.push(r);
    }
    let total = 0, pairs = 0;
    for (let a = 0; a < rows.length; a++) {
      for (let b = a + 1; b < rows.length; b++) {
        let dot = 0, na = 0, nb = 0;
        for (let k = 0; k < dim; k++) { dot += rows[a][k] * rows[b][k]; na += rows[a][k] ** 2; nb += rows[b][k] ** 2; }
        total += dot / Math.sqrt(na * nb);
        pairs++;
      }
    }
    out.push(pairs ? total / pairs : 0);
  }
  return out;
}

const explorer = (page) => page.evaluate(() => window.__kvscopeExplorer);
const maxAbsDiff = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

/** Do `act`, then wait until the page's counter `key` has moved past its value before (or the page fails). */
async function after(page, key, act) {
  const before = (await explorer(page))[key] ?? 0;
  await act();
  await page.waitForFunction(([k, v]) => { const s = window.__kvscopeExplorer; return ((s[k] ?? 0) > v && s.status !== 'running') || s.status === 'error'; }, [key, before], WAIT);
  return await explorer(page);
}

/** Pick a tap, layer (slider) and head in the form; wait for the maps. */
async function choose(page, { tap, layer, head }) {
  return await after(page, 'refreshes', async () => {
    await page.evaluate(({ tap, layer, head }) => {
      const set = (id, v, ev) => { const e = document.getElementById(id); e.value = String(v); e.dispatchEvent(new Event(ev)); };
      // one change event at the end: the page re-runs once
      document.getElementById('x-tap').value = tap;
      if (layer !== undefined) document.getElementById('x-layer').value = String(layer);
      if (head !== undefined) document.getElementById('x-head').value = String(head);
      set('x-tap', tap, 'change');
    }, { tap, layer, head });
  });
}

/**
 * Click cell `pick(cells)` of image `from` ('a' | 'b'), wait for the query, check both maps against the host cosine,
 * the best match and the colour bar. Returns the page state (or null when the query failed).
 */
async function clickAndCheck(page, label, from, pick) {
  const before = await explorer(page);
  const src = before[from], other = from === 'a' ? 'b' : 'a';
  const cells = src.valid.map((v, i) => (v ? i : -1)).filter((i) => i >= 0);
  check(`${label}: grids A ${before.a.rows}×${before.a.cols}, B ${before.b.rows}×${before.b.cols}, ${src.dim} features`, cells.length > 1 && src.dim > 0, `${cells.length} cells of ${from.toUpperCase()} hold a token`);
  const c = cells[pick(cells.length)];
  const [x, y] = src.cellCenters[c];
  const st = await after(page, 'queries', () => page.locator(`#x-${from}-image`).click({ position: { x, y } }));
  if (st.status === 'error') { check(`${label}: similarity query`, false, st.error); return null; }
  check(`${label}: clicked cell ${c} of ${from.toUpperCase()} selected`, st.cell === c && st.from === from, `page says ${st.from} ${st.cell}`);
  const fSrc = fromBase64(st[from].features), fOther = fromBase64(st[other].features), dim = st[from].dim;
  const sizes = [fSrc.length === st[from].rows * st[from].cols * dim, fOther.length === st[other].rows * st[other].cols * dim];
  if (!sizes.every(Boolean)) { check(`${label}: published features`, false, `${fSrc.length} / ${fOther.length} values`); return null; }
  const self = from === 'a' ? st.scoresA : st.scoresB, cross = from === 'a' ? st.scoresB : st.scoresA;
  check(`${label}: clicked cell scores 1 (±${SELF_TOL})`, Math.abs(self[c] - 1) <= SELF_TOL, `s = ${self[c]}`);
  const wantSelf = hostCosine(fSrc, c, fSrc, dim, st[from].valid), wantCross = hostCosine(fSrc, c, fOther, dim, st[other].valid);
  const errSelf = maxAbsDiff(self, wantSelf), errCross = maxAbsDiff(cross, wantCross);
  const others = wantSelf.filter((_, i) => st[from].valid[i] && i !== c);
  const spread = Math.max(...others) - Math.min(...others);
  // a map of identical or zero tokens would make every score 1 or 0 and the comparison empty
  check(`${label}: host cosines spread (non-trivial map)`, spread > 1e-3, `self map spread ${spread.toFixed(4)}`);
  check(`${label}: map on ${from.toUpperCase()}: max |page − host float64| ≤ ${TOL}`, errSelf <= TOL, `max abs err ${errSelf.toExponential(2)}`);
  check(`${label}: map on ${other.toUpperCase()}: max |page − host float64| ≤ ${TOL}`, errCross <= TOL, `max abs err ${errCross.toExponential(2)}, query ${st.scoreMs?.toFixed(1)} ms`);
  // the best match: host argmax over the other image's token cells (the runner-up margin says whether f32 could tie)
  const order = wantCross.map((w, i) => [w, i]).filter(([, i]) => st[other].valid[i]).sort((p, q) => q[0] - p[0]);
  const margin = order.length > 1 ? order[0][0] - order[1][0] : Infinity;
  check(`${label}: best match in ${other.toUpperCase()} = host argmax`, st.best === order[0][1], `page ${st.best}, host ${order[0][1]} (margin to the runner-up ${margin.toExponential(2)})`);
  // the colour bar: min / max over both maps' token cells, the clicked cell left out
  const range = [...others, ...wantCross.filter((_, i) => st[other].valid[i])];
  const lo = Math.min(...range), hi = Math.max(...range);
  const barText = [await page.locator('#x-s-lo').innerText(), await page.locator('#x-s-hi').innerText()];
  check(`${label}: colour bar scale = host [min, max]`, Math.abs(st.lo - lo) <= TOL && Math.abs(st.hi - hi) <= TOL && barText[0] === st.lo.toFixed(4) && barText[1] === st.hi.toFixed(4),
    `page [${st.lo.toFixed(5)}, ${st.hi.toFixed(5)}] shown [${barText.join(', ')}], host [${lo.toFixed(5)}, ${hi.toFixed(5)}]`);
  return st;
}

/** A screenshot of the page (or one element) with enough colours and contrast to be a real view. */
async function shot(page, name, selector) {
  const opts = {};
  if (selector) {
    const box = await page.locator(selector).boundingBox();
    Object.assign(opts, { clip: box, fullPage: true });
  }
  const s = await screenshotStats(page, name, opts);
  check(`screenshot ${s.path}: non-trivial`, s.colours >= MIN_COLOURS && s.std >= MIN_STD, `${s.width}×${s.height}, ${s.colours} colours, grey std ${s.std.toFixed(1)}`);
}

/** Pixels of two canvases that are equal (fraction). */
const sameFraction = (page, a, b) => page.evaluate(([a, b]) => {
  const px = (id) => { const c = document.getElementById(id); return c.getContext('2d').getImageData(0, 0, c.width, c.height).data; };
  const p = px(a), q = px(b);
  if (p.length !== q.length) return -1;
  let same = 0;
  for (let i = 0; i < p.length; i += 4) if (p[i] === q[i] && p[i + 1] === q[i + 1] && p[i + 2] === q[i + 2]) same++;
  return same / (p.length / 4);
}, [a, b]);

async function setOpacity(page, v) {
  await page.evaluate((v) => { const e = document.getElementById('x-opacity'); e.value = String(v); e.dispatchEvent(new Event('input')); }, v);
}

/** Toggle a checkbox (prefix / blocking) on, check the map moved and still equals the host cosine; off, check it is restored. */
async function toggleCheck(page, label, id, base) {
  const on = await after(page, 'refreshes', () => page.locator(`#${id}`).check());
  if (on.status === 'error') { check(`${label} on`, false, on.error); return; }
  const moved = Math.max(maxAbsDiff(on.scoresA, base.scoresA), maxAbsDiff(on.scoresB, base.scoresB));
  check(`${label} on: forwards re-run, same cell`, on.forwardRuns > base.forwardRuns && on.cell === base.cell && on.from === base.from, `forward runs ${base.forwardRuns} → ${on.forwardRuns}`);
  check(`${label} on: the map changes (max |Δ| > ${MOVED})`, moved > MOVED, `max |Δ| ${moved.toExponential(2)}${on.blockedKeys ? `, ${on.blockedKeys} key positions blocked` : ''}${on.prefix ? `, prefix ${JSON.stringify(on.prefix)}` : ''}`);
  const fA = fromBase64(on.a.features), fB = fromBase64(on.b.features), dim = on.a.dim;
  const err = Math.max(maxAbsDiff(on.scoresA, hostCosine(fA, on.cell, fA, dim, on.a.valid)), maxAbsDiff(on.scoresB, hostCosine(fA, on.cell, fB, dim, on.b.valid)));
  check(`${label} on: maps = host cosines of the re-run forwards (≤ ${TOL})`, err <= TOL, `max abs err ${err.toExponential(2)}`);
  await shot(page, `explorer-${label.replace(/\W+/g, '-')}`);
  const off = await after(page, 'refreshes', () => page.locator(`#${id}`).uncheck());
  const back = Math.max(maxAbsDiff(off.scoresA, base.scoresA), maxAbsDiff(off.scoresB, base.scoresB));
  check(`${label} off: the map is restored exactly`, back === 0 && off.best === base.best, `max |Δ| ${back}, best ${off.best} (was ${base.best})`);
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
    const page = await stablePage(browser);
    await page.setViewportSize({ width: 1280, height: 900 });
    page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
    await page.goto(`${base}?view=explorer&checkpoint=/${DIR}/&publish=features`);
    await page.waitForFunction(() => window.__kvscopeExplorer !== undefined, null, WAIT);
    const st = await after(page, 'refreshes', () => page.click('#x-run'));
    console.log(`browser adapter: ${st.adapter}`);
    const shown = await page.locator('#x-status').innerText();
    check('run: prefill of A and B in the tab', st.status === 'ready', st.error ?? `load ${st.loadMs?.toFixed(0)} ms, prefill ${st.prefillMs?.toFixed(0)} ms, ${st.tokens} tokens, ${st.layers} layers, ${st.kvHeads} KV heads`);
    check('run: page shows adapter and prefill ms', st.status === 'ready' && shown.includes(st.adapter) && /prefill \d+ ms/.test(shown), shown);
    if (st.status === 'ready') {
      const last = st.layers - 1, mid = Math.min(1, last);
      // values, layer 0, all KV heads concatenated, clicked in A
      let s = await clickAndCheck(page, 'lm.layers.0.attn.v (concatenated)', 'a', (n) => Math.floor(n / 2));
      const concatDim = s?.a.dim;
      await shot(page, 'explorer-similarity');
      // blend: opacity 1 is the map (where cells hold tokens), opacity 0 the bare picture
      await setOpacity(page, 100);
      const at1 = await sameFraction(page, 'x-a-blend', 'x-a-map');
      await setOpacity(page, 0);
      const at0 = await sameFraction(page, 'x-a-blend', 'x-a-map');
      check('blend: opacity 1 draws the map, opacity 0 the picture', at1 > 0.9 && at0 < 0.2, `pixels equal to the map panel: ${(at1 * 100).toFixed(1)}% at 1, ${(at0 * 100).toFixed(1)}% at 0`);
      await setOpacity(page, 55);
      // keys of the last layer (slider), one KV head, clicked in A
      const head = st.kvHeads - 1;
      let c = await choose(page, { tap: 'lm.key', layer: last, head });
      check(`slider: layer ${last}, head ${head} selected`, c.tap === `lm.layers.${last}.attn.k` && c.head === head && c.layer === last, `${c.tap} head ${c.head}`);
      s = await clickAndCheck(page, `lm.layers.${last}.attn.k head ${head}`, 'a', () => 0);
      check('per-head features: dim = concatenated / KV heads', s && concatDim && s.a.dim * st.kvHeads === concatDim, `head ${s?.a.dim}, concatenated ${concatDim}, ${st.kvHeads} heads`);
      await shot(page, 'explorer-correspondence', '#x-panels');
      // pre-RoPE keys at a non-zero layer, clicked in B (best match in A)
      c = await choose(page, { tap: 'lm.key_pre_rope', layer: mid });
      s = await clickAndCheck(page, `${c.tap} (from B)`, 'b', (n) => n - 1);
      // hidden state, projector, vision
      c = await choose(page, { tap: 'lm.hidden', layer: last });
      await clickAndCheck(page, c.tap, 'a', (n) => Math.floor(n / 3));
      c = await choose(page, { tap: 'projector' });
      await clickAndCheck(page, c.tap, 'a', (n) => n - 1);
      c = await choose(page, { tap: 'vision' });
      await clickAndCheck(page, `${c.tap} (grid ${c.a.rows}×${c.a.cols})`, 'a', (n) => Math.floor(n / 2));

      // input-agnostic keys of the last layer over 4 images
      await choose(page, { tap: 'lm.hidden', layer: last });
      const g = await after(page, 'agnosticRuns', () => page.click('#x-agnostic'));
      if (g.status === 'error' || !g.agnostic?.keys) check('agnostic keys', false, g.error ?? 'no keys published');
      else {
        const ag = g.agnostic;
        const want = hostConsistency(fromBase64(ag.keys), ag.keysShape);
        const validA = (await page.evaluate(() => window.__kvscopeExplorer.a.valid));
        const err = maxAbsDiff(ag.similarity.map((v, i) => (validA[i] ? v : 0)), want.map((v, i) => (validA[i] ? v : 0)));
        const wantFlag = want.map((v, i) => (v > ag.threshold ? i : -1)).filter((i) => i >= 0);
        check(`agnostic keys layer ${ag.layer} over ${ag.images} images = host mean pairwise cosine (≤ ${TOL})`, ag.keysShape[0] === 4 && err <= TOL, `max abs err ${err.toExponential(2)}, [${ag.lo.toFixed(4)}, ${ag.hi.toFixed(4)}], ${ag.keysShape.join('×')} keys`);
        check(`agnostic keys: flagged cells = host cells above ${ag.threshold}`, JSON.stringify(wantFlag) === JSON.stringify(ag.flagged), `${ag.flagged.length} flagged`);
        // a threshold at the median flags about half the cells, so blocking has something to block
        const sorted = ag.similarity.filter((_, i) => validA[i]).sort((p, q) => p - q);
        const median = sorted[Math.floor(sorted.length / 2)];
        const t = await after(page, 'agnosticRuns', () => page.evaluate((m) => { const e = document.getElementById('x-threshold'); e.value = String(m); e.dispatchEvent(new Event('change')); }, median));
        const shownRange = [await page.locator('#x-g-lo').innerText(), await page.locator('#x-g-hi').innerText()];
        check('agnostic keys: threshold at the median flags some cells, colour bar shows the range', t.agnostic.flagged.length > 0 && t.agnostic.flagged.length < sorted.length && shownRange[0] === t.agnostic.lo.toFixed(4) && shownRange[1] === t.agnostic.hi.toFixed(4),
          `${t.agnostic.flagged.length} of ${sorted.length} above ${median.toFixed(4)}; bar [${shownRange.join(', ')}]`);
        await shot(page, 'explorer-agnostic', '#x-agnostic-view');
        // blocking and prefix on the last layer's hidden state: both must move the map and restore it when off
        const q = await clickAndCheck(page, `${t.tap} (before toggles)`, 'a', (n) => Math.floor(n / 2));
        if (q) {
          await toggleCheck(page, 'blocking', 'x-block', q);
          await toggleCheck(page, 'prefix', 'x-prefix-on', await explorer(page));
        }
      }
      await shot(page, 'explorer-page');
    }

    // big models: without &publish=features nothing comes back from the GPU but the drawn rows. Every read-back
    // maps a staging buffer for reading; the page's mapAsync is counted from before the app starts.
    const lean = await stablePage(browser);
    await lean.addInitScript(() => {
      const orig = GPUBuffer.prototype.mapAsync;
      window.__readBack = { calls: 0, bytes: 0 };
      GPUBuffer.prototype.mapAsync = function (mode, ...rest) {
        if (mode & GPUMapMode.READ) { window.__readBack.calls++; window.__readBack.bytes += this.size; }
        return orig.call(this, mode, ...rest);
      };
    });
    await lean.goto(`${base}?view=explorer&checkpoint=/${DIR}/`);
    await lean.waitForFunction(() => window.__kvscopeExplorer !== undefined, null, WAIT);
    const readBack = () => lean.evaluate(() => ({ ...window.__readBack }));
    const delta = async (act) => { const r0 = await readBack(); const st = await act(); const r1 = await readBack(); return { st, calls: r1.calls - r0.calls, bytes: r1.bytes - r0.bytes }; };
    const run = await delta(() => after(lean, 'refreshes', () => lean.click('#x-run')));
    check('read-back: Run (load, two prefills, features) reads nothing back', run.st.status === 'ready' && run.bytes === 0, `${run.calls} reads, ${run.bytes} bytes${run.st.error ? `; ${run.st.error}` : ''}`);
    if (run.st.status === 'ready') {
      const sw = await delta(() => choose(lean, { tap: 'lm.hidden', layer: run.st.layers - 1 }));
      check('read-back: tap / layer change (forwards re-run for lm.hidden) reads nothing back', sw.bytes === 0, `${sw.calls} reads, ${sw.bytes} bytes`);
      const cellsA = sw.st.a.rows * sw.st.a.cols, cellsB = sw.st.b.rows * sw.st.b.cols;
      const c = sw.st.a.valid.indexOf(1);
      const q = await delta(() => after(lean, 'queries', () => lean.locator('#x-a-image').click({ position: { x: sw.st.a.cellCenters[c][0], y: sw.st.a.cellCenters[c][1] } })));
      const featureBytes = cellsA * sw.st.a.dim * 4;
      check('read-back: a query reads exactly the two drawn rows (4·(cells A + cells B) bytes)', q.calls === 2 && q.bytes === 4 * (cellsA + cellsB),
        `${q.calls} reads, ${q.bytes} bytes (one feature map would be ${featureBytes})`);
      const g = await delta(() => after(lean, 'agnosticRuns', () => lean.click('#x-agnostic')));
      check('read-back: input-agnostic keys read one [cells] row per layer', g.st.status === 'ready' && g.calls === g.st.layers && g.bytes === g.st.layers * 4 * cellsA,
        `${g.calls} reads, ${g.bytes} bytes for ${g.st.layers} layers × ${cellsA} cells`);
      const p = await delta(() => after(lean, 'refreshes', () => lean.locator('#x-prefix-on').check()));
      check('read-back: prefix toggle (two forwards re-run, query re-drawn) reads only the two rows', p.calls === 2 && p.bytes === 4 * (cellsA + cellsB), `${p.calls} reads, ${p.bytes} bytes`);
    }
    await lean.close();

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
