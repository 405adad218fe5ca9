// Headless Chromium on the app: Debian's Chromium with SwiftShader WebGPU under Playwright (playwright-core, the
// system binary), the app served by Vite on loopback. Used by `kvscope bench … --browser` (harness/cli/browserBench.ts,
// in Deno) and by the browser tests (test/browser/chromium.mjs, in Node).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { createServer } from 'vite';

export const CHROMIUM = process.env.KVSCOPE_CHROMIUM ?? '/usr/bin/chromium';
// WebGPU on Linux is behind --enable-unsafe-webgpu (the only flag the adapter needs here, as root with --no-sandbox:
// Chromium 156 then falls back to SwiftShader by itself; without it navigator.gpu exists but requestAdapter gives
// null). The Vulkan/ANGLE/adapter flags only pin that choice. The rest keeps Chromium off the network and out of
// the user's profile.
export const FLAGS = [
  '--no-sandbox', '--headless=new', '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-angle=swiftshader',
  '--use-webgpu-adapter=swiftshader', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-default-apps', '--metrics-recording-only',
];

/**
 * Vite on loopback and Chromium in a throwaway profile. Returns {base (the app's URL), origin, browser, close()}; a
 * Chromium that does not start is an Error naming the binary and how to install it (Vite is closed again).
 * No file watching and no HMR: a source edited while a page runs (a shared tree) would otherwise reload the page and
 * start its work over. `prebundle`: packages the page imports lazily, bundled before it loads (Vite's optimizer
 * finding them mid-run would otherwise want a reload), in this session's own cache folder (another Vite on the
 * same tree re-optimising node_modules/.vite would pull the bundles from under the page); `unbundled`: packages
 * served as they are (onnxruntime-web finds its .wasm next to its own module).
 */
export async function startSession({ prebundle = [], unbundled = [] } = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'kvscope-chromium-'));
  const server = await createServer({
    configFile: new URL('../../vite.config.ts', import.meta.url).pathname, logLevel: 'error',
    server: { host: '127.0.0.1', port: 0, hmr: false, watch: null },
    ...(prebundle.length || unbundled.length ? { cacheDir: join(profile, 'vite'), optimizeDeps: { include: prebundle, exclude: unbundled } } : {}),
  });
  await server.listen();
  const origin = `http://127.0.0.1:${server.httpServer.address().port}`;
  const base = `${origin}/harness/web/index.html`;
  const cleanup = async () => {
    await server.close();
    rmSync(profile, { recursive: true, force: true });
  };
  let browser;
  try {
    browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS });
  } catch (e) {
    await cleanup();
    throw new Error(`could not start Chromium at ${CHROMIUM}: ${e.message.split('\n')[0]} (install Debian's chromium: scripts/setup.sh)`);
  }
  return { base, origin, browser, async close() { await browser.close(); await cleanup(); } };
}
