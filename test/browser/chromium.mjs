// What the browser tests share: Debian's Chromium with SwiftShader WebGPU under Playwright, the app served by Vite
// on loopback, a pass/fail counter that ends with the summary line scripts/test.sh counts, and the Deno fixture
// that writes the tiny checkpoint the model and explorer tests load.
import { spawnSync } from 'node:child_process';

// Chromium, its flags and the Vite + Chromium session live with the CLI, which also drives them (bench --browser).
export { CHROMIUM, FLAGS, startSession } from '../../harness/cli/chromium.mjs';
import { startSession as startSessionLocal } from '../../harness/cli/chromium.mjs';

/** Named checks printed as they go; finish() prints `<label>: N passed, M failed` and exits (0 only if all passed). */
export function checkList(label) {
  let passed = 0, failed = 0;
  return {
    check(name, ok, detail) {
      console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ` — ${detail}` : ''}`);
      if (ok) passed++; else failed++;
    },
    finish() {
      console.log(`${label}: ${passed} passed, ${failed} failed`);
      process.exit(failed === 0 && passed > 0 ? 0 : 1);
    },
  };
}

/** Run test/browser/modelFixture.ts (Deno): the tiny checkpoint, inputs and llvmpipe outputs in `dir`. */
export function runModelFixture(dir) {
  const env = { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp', NO_COLOR: '1' };
  const deno = spawnSync('node_modules/.bin/deno', ['run', '-A', '--config', 'deno.json', 'test/browser/modelFixture.ts', dir], { env, encoding: 'utf8', timeout: 10 * 60_000 });
  process.stdout.write(deno.stdout ?? '');
  if (deno.status !== 0) process.stdout.write(deno.stderr ?? '');
  return deno.status === 0 ? null : `exit ${deno.status ?? deno.signal ?? deno.error?.message}`;
}

/**
 * Screenshot the page to out/screenshots/<name>.png and measure it: the standard deviation of the grey level and
 * the number of distinct colours, so a blank or one-colour page fails the check that uses them.
 */
export async function screenshotStats(page, name, opts = {}) {
  const { decode } = await import('fast-png');
  const { mkdirSync, writeFileSync } = await import('node:fs');
  mkdirSync('out/screenshots', { recursive: true });
  const path = `out/screenshots/${name}.png`;
  const png = await page.screenshot({ fullPage: true, ...opts });
  writeFileSync(path, png);
  const img = decode(png);
  const ch = img.channels, n = img.width * img.height;
  let sum = 0, sum2 = 0;
  const colours = new Set();
  for (let i = 0; i < n; i++) {
    const r = img.data[i * ch], g = img.data[i * ch + 1], b = img.data[i * ch + 2];
    const y = 0.299 * r + 0.587 * g + 0.114 * b;
    sum += y; sum2 += y * y;
    if (colours.size < 100_000) colours.add((r << 16) | (g << 8) | b);
  }
  const mean = sum / n;
  return { path, width: img.width, height: img.height, std: Math.sqrt(Math.max(0, sum2 / n - mean * mean)), colours: colours.size };
}

/**
 * One view of the app in a fresh Chromium session: open `?query`, wait until `window[state].status` is 'ready' or
 * 'error', then (when ready) for `selector`, and screenshot it as `shot`; the session is closed however that ends.
 * Returns { res, shot } where a failed page becomes res = { status: 'error', error }; a Chromium that does not start
 * is a failed check and ends the script.
 */
export async function viewInTab({ check, finish }, { query, state, selector, timeout, shot: name }) {
  let session;
  try {
    session = await startSessionLocal();
  } catch (e) {
    check('start Chromium', false, e.message);
    finish();
  }
  let res, shot;
  try {
    const page = await session.browser.newPage();
    page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
    await page.goto(`${session.base}?${query}`);
    await page.waitForFunction((k) => ['ready', 'error'].includes(window[k]?.status), state, { timeout, polling: 500 });
    res = await page.evaluate((k) => window[k], state);
    if (res.status === 'ready' && selector) await page.waitForSelector(selector, { timeout: 30_000 });
    shot = await screenshotStats(page, name);
  } catch (e) {
    res = { status: 'error', error: `page: ${e.message.split('\n')[0]}` };
  } finally {
    await session.close();
  }
  return { res, shot };
}
