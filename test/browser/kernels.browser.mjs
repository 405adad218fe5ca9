// The kernel test table in Chromium (SwiftShader WebGPU), driven by Playwright: starts Vite on loopback, opens
// the app with ?run=kernels, prints one line per case and `browser kernels: N passed, M failed`.
// Also saves a screenshot of the doctor page to out/browser-doctor.png.
import { mkdirSync } from 'node:fs';
import { FLAGS, startSession } from './chromium.mjs';

let session;
try {
  session = await startSession();
} catch (e) {
  console.log(`browser kernels: ${e.message}`);
  console.log('browser kernels: 0 passed, 1 failed');
  process.exit(1);
}
const { base, browser } = session;
let code = 1;
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
  await page.goto(`${base}?run=kernels`);
  await page.waitForFunction(() => window.__kvscopeResults !== undefined, null, { timeout: 20 * 60_000, polling: 500 });
  const res = await page.evaluate(() => window.__kvscopeResults);
  if (res.error) {
    console.log(`browser kernels: no WebGPU in Chromium: ${res.error}`);
    console.log(`browser kernels: Chromium ran with ${FLAGS.join(' ')}; it needs --enable-unsafe-webgpu and a loopback (secure) origin`);
    console.log('browser kernels: 0 passed, 1 failed');
  } else {
    console.log(`adapter: ${res.adapter}`);
    let pass = 0, fail = 0;
    for (const r of res.results) {
      console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.name} (${r.ms.toFixed(0)} ms) ${r.ok ? '' : r.detail}`);
      if (r.ok) pass++; else fail++;
    }
    console.log(`browser kernels: ${pass} passed, ${fail} failed`);
    code = fail === 0 && pass > 0 ? 0 : 1;
  }
  const doctor = await browser.newPage();
  await doctor.goto(base);
  await doctor.waitForFunction(() => !document.getElementById('report').textContent.includes('acquiring'), null, { timeout: 120_000 });
  mkdirSync('out', { recursive: true });
  await doctor.screenshot({ path: 'out/browser-doctor.png', fullPage: true });
} finally {
  await session.close();
}
process.exit(code);
