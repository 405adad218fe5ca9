// The kernel test table in Chromium (SwiftShader WebGPU), driven by Playwright: starts Vite on loopback, opens
// the app with ?run=kernels, prints one line per case and `browser kernels: N passed, M failed`.
// Also saves a screenshot of the doctor page to out/browser-doctor.png.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { createServer } from 'vite';

const CHROMIUM = process.env.KVSCOPE_CHROMIUM ?? '/usr/bin/chromium';
// WebGPU on Linux is behind --enable-unsafe-webgpu (the only flag the adapter needs here, as root with --no-sandbox:
// Chromium 156 then falls back to SwiftShader by itself; without it navigator.gpu exists but requestAdapter gives
// null). The Vulkan/ANGLE/adapter flags only pin that choice. The rest keeps Chromium off the network and out of
// the user's profile.
const FLAGS = [
  '--no-sandbox', '--headless=new', '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-angle=swiftshader',
  '--use-webgpu-adapter=swiftshader', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-default-apps', '--metrics-recording-only',
];

const server = await createServer({ configFile: new URL('../../vite.config.ts', import.meta.url).pathname, logLevel: 'error', server: { host: '127.0.0.1', port: 0 } });
await server.listen();
const addr = server.httpServer.address();
const base = `http://127.0.0.1:${addr.port}/harness/web/index.html`;
const profile = mkdtempSync(join(tmpdir(), 'kvscope-chromium-'));
let browser;
let code = 1;
try {
  browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS });
} catch (e) {
  console.log(`browser kernels: could not start Chromium at ${CHROMIUM}: ${e.message.split('\n')[0]} (install Debian's chromium: scripts/setup.sh)`);
  console.log('browser kernels: 0 passed, 1 failed');
  await server.close();
  process.exit(1);
}
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
  await browser.close();
  await server.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(code);
