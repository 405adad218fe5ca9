// `kvscope bench kernels|models|probes --browser [chromium|both]`: the same benchmark table run in headless Chromium
// (Playwright with the system binary, the app served by Vite on loopback: ./chromium.mjs) on the page's WebGPU
// adapter, by the same bench code (harness/web/benchView.ts calls harness/bench/*.ts). The page's printed lines are
// printed here as they are; its progress (console.error) goes to stderr. `both` runs Deno first, then Chromium, and
// prints a table of the two side by side with the ratio chromium/deno.
import type { BenchRow } from '../bench/benchRow.ts';
import type { ModelBenchRow } from '../bench/models.ts';
import type { ProbeBenchRow } from '../bench/probes.ts';
import { adapterCacheEntries, mergeAdapterCache } from '../../src/gpu/adapterCache.ts';
import { type BenchKind, type BenchPageResult, CARRIED_CACHES, type CarriedCaches } from '../web/benchView.ts';

export type BrowserChoice = 'chromium' | 'both';

/** `--browser` with no value is chromium; anything but chromium / both is an error. */
export function browserChoice(v: string | boolean | undefined): BrowserChoice | null {
  if (v === undefined || v === false) return null;
  if (v === true || v === 'chromium') return 'chromium';
  if (v === 'both') return 'both';
  throw new Error(`--browser must be chromium or both, got ${v}`);
}

const ROOT = new URL('../../', import.meta.url).pathname.replace(/\/+$/, '');

/** A checkpoint directory as a path under the repository root (what Vite serves to the tab); one outside is an error. */
export function servedPath(dir: string): string {
  const real = Deno.realPathSync(dir);
  if (!real.startsWith(`${ROOT}/`)) throw new Error(`bench --browser: ${dir} is outside ${ROOT}, the folder Vite serves to the page (run kvscope from there: checkpoints go to ./out/bench-models)`);
  return real.slice(ROOT.length + 1);
}

/** Every checkpoint of a models run as served paths. */
export function servedPaths(cps: Partial<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(cps).map(([k, v]) => [k, servedPath(v!)]));
}

interface Session {
  base: string;
  browser: {
    newPage(): Promise<Page>;
  };
  close(): Promise<void>;
}
interface Page {
  on(ev: 'console', f: (m: { type(): string; text(): string }) => void): void;
  on(ev: 'pageerror', f: (e: Error) => void): void;
  goto(url: string): Promise<unknown>;
  waitForFunction(f: () => boolean, arg: null, o: { timeout: number; polling: number }): Promise<unknown>;
  evaluate<T>(f: () => T): Promise<T>;
}

/**
 * Run one bench in a Chromium tab. `opts` are the bench's own options (JSON-able; checkpoints as paths under the
 * repository root, which Vite serves). Resolves with what the page published; a page error is a rejection.
 */
export async function benchInChromium(kind: BenchKind, opts: Record<string, unknown>, timeoutMin = opts.dims === 'real-0.5b' ? 12 * 60 : 60): Promise<BenchPageResult> {
  const { startSession } = await import('./chromium.mjs') as { startSession(o: { prebundle: string[]; unbundled: string[] }): Promise<Session> };
  // the kernel table's peers, imported by the page only when it gets to them: tfjs bundled up front, onnxruntime-web
  // served as it is (bundled, it looks for its .wasm in the wrong folder)
  const peers = kind === 'kernels' && opts.peers !== false;
  const session = await startSession({ prebundle: peers ? ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-webgpu'] : [], unbundled: peers ? ['onnxruntime-web'] : [] });
  try {
    const page = await session.browser.newPage();
    page.on('console', (m) => {
      // a 404 is the checkpoint reader asking for an optional file (index.json, generation_config.json, ...)
      if ((m.type() === 'error' || m.type() === 'warning') && !/status of 404/.test(m.text())) console.error(`chromium: ${m.text()}`);
    });
    page.on('pageerror', (e) => console.error(`chromium page error: ${e.message}`));
    // the tab starts with this machine's roofline and tuning entries and hands back what it measured
    const sent: CarriedCaches = Object.fromEntries(CARRIED_CACHES.map((k) => [k, adapterCacheEntries(k)]));
    await page.goto(`${session.base}?run=bench&kind=${kind}&opts=${encodeURIComponent(JSON.stringify({ ...opts, adapterCaches: sent }))}`);
    await page.waitForFunction(() => ['done', 'error'].includes(window.__kvscopeBench?.status ?? ''), null, { timeout: timeoutMin * 60_000, polling: 1000 });
    const res = await page.evaluate(() => window.__kvscopeBench!);
    if (res.status === 'error') throw new Error(`bench ${kind} in Chromium (${res.adapter || 'no adapter'}): ${res.error}`);
    for (const k of CARRIED_CACHES) {
      const fresh = Object.entries(res.caches?.[k] ?? {}).filter(([id, v]) => JSON.stringify(v) !== JSON.stringify(sent[k]?.[id]));
      if (fresh.length) mergeAdapterCache(k, Object.fromEntries(fresh));
    }
    return res;
  } finally {
    await session.close();
  }
}

// ---- side by side ----

/** One measured quantity of one row, in both runtimes. */
interface Pair { what: string; metric: string; deno: number | null; chromium: number | null }

/** Rows by key; a key that repeats within one runtime (attention: flash and tiled rows) is paired in order (#2, #3 …). */
function keyed<R>(rows: R[], key: (r: R) => string): Map<string, R> {
  const m = new Map<string, R>(), seen = new Map<string, number>();
  for (const r of rows) {
    const k = key(r), n = (seen.get(k) ?? 0) + 1;
    seen.set(k, n);
    m.set(n > 1 ? `${k} #${n}` : k, r);
  }
  return m;
}

function pairs<R>(deno: R[], chromium: R[], key: (r: R) => string, metrics: [string, (r: R) => number | null][], tag: (r: R) => string = () => ''): Pair[] {
  const d = keyed(deno, key), c = keyed(chromium, key);
  const out: Pair[] = [];
  for (const k of new Set([...d.keys(), ...c.keys()])) {
    const dr = d.get(k), cr = c.get(k);
    // what tells the rows of one key apart (a kernel's variant), from each runtime where they differ
    const tags = [...new Set([dr, cr].filter((r): r is R => r !== undefined).map(tag))].filter(Boolean).join('/');
    const what = `${k.replace(/ #\d+$/, '')}${tags ? ` ${tags}` : ''}`;
    for (const [metric, f] of metrics) out.push({ what, metric, deno: dr ? f(dr) : null, chromium: cr ? f(cr) : null });
  }
  return out;
}

/** The rows of both runtimes joined on what they measured: Deno, Chromium and chromium/deno per quantity. */
export function sideBySide(kind: BenchKind, deno: unknown[], chromium: unknown[]): Pair[] {
  if (kind === 'kernels') {
    const key = (r: BenchRow) => `${r.kernel} ${r.case} ${r.dtype} ${r.impl}`;
    return pairs(deno as BenchRow[], chromium as BenchRow[], key, [['median ms', (r) => r.median_ms]], (r) => r.variant ?? '');
  }
  if (kind === 'models') {
    return pairs(deno as ModelBenchRow[], chromium as ModelBenchRow[], (r) => `${r.arch} ${r.dims}/${r.dtype}`, [
      ['load s', (r) => r.load.median_s], ['vision ms', (r) => r.vision.median_ms], ['prefill ms', (r) => r.prefill.median_ms],
      ['decode ms', (r) => r.decode.median_ms],
    ]);
  }
  return pairs(deno as ProbeBenchRow[], chromium as ProbeBenchRow[], (r) => r.task, [
    ['evaluate s', (r) => r.evaluate_s], ['forward s', (r) => r.forward_s], ['gather s', (r) => r.gather_s], ['probe s', (r) => r.probe_s],
  ]);
}

export function sideBySideTable(ps: Pair[]): string {
  const num = (x: number | null) => (x === null || !Number.isFinite(x) ? '—' : x >= 100 ? x.toFixed(0) : x.toFixed(x >= 10 ? 1 : 3));
  const head = ['row', 'quantity', 'deno', 'chromium', 'chromium/deno'];
  const body = ps.map((p) => [p.what, p.metric, num(p.deno), num(p.chromium),
    p.deno !== null && p.chromium !== null && p.deno > 0 ? `${(p.chromium / p.deno).toFixed(2)}×` : '—']);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= 2 ? c.padStart(w[i]) : c.padEnd(w[i]))).join('  ');
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...body.map(line)].join('\n');
}

/**
 * The `--browser` run of one bench: `runDeno` (the bench in this process, printing as usual) first when `both`,
 * then the page; prints the page's lines, and with `both` the side-by-side table with both adapters named.
 */
export async function browserBench(kind: BenchKind, choice: BrowserChoice, pageOpts: Record<string, unknown>, runDeno: () => Promise<{ rows: unknown[]; adapter: string }>): Promise<void> {
  const { TIMING_METHOD } = await import('../bench/timing.ts');
  // with --json, stdout carries only the rows (one JSON object a line); the headings and the side-by-side table go to stderr
  const say = pageOpts.json ? (s: string) => console.error(s) : (s: string) => console.log(s);
  let deno: { rows: unknown[]; adapter: string } | null = null;
  if (choice === 'both') {
    say(`== deno ==`);
    deno = await runDeno();
    say(`\n== chromium ==`);
  }
  console.error(`bench ${kind}: starting headless Chromium (SwiftShader is slow; --quick keeps it short)`);
  const res = await benchInChromium(kind, pageOpts);
  say(`chromium adapter: ${res.adapter} (${res.userAgent.match(/(Headless)?Chrome\/[\d.]+/)?.[0] ?? res.userAgent})`);
  for (const l of res.lines) console.log(l);
  if (!deno) return;
  say(`\n== deno vs chromium ==`);
  say(`deno adapter: ${deno.adapter}\nchromium adapter: ${res.adapter}`);
  say(`timing (both): ${kind === 'kernels' ? TIMING_METHOD : 'wall clock to queue idle (as in each table above)'}; chromium/deno > 1: Chromium is slower`);
  say(sideBySideTable(sideBySide(kind, deno.rows, res.rows)));
}
