// `?run=bench&kind=kernels|models|probes&opts=<JSON>`: one benchmark table run in this tab by the same code
// `npx kvscope bench <kind>` runs in Deno (harness/bench/*.ts), on this page's WebGPU adapter. The lines the bench
// prints (console.log: header, table, notes) and its rows are published on window.__kvscopeBench for the CLI's
// Chromium driver (harness/cli/browserBench.ts, `bench <kind> --browser`). Checkpoints come over HTTP: the CLI
// writes them in Deno and passes their paths under the served root in opts.checkpoints.
import { adapterCacheEntries, mergeAdapterCache } from '../../src/gpu/adapterCache.ts';
import type { Gpu } from '../../src/gpu/device.ts';

/** The per-adapter stores carried between the CLI and the tab (a throwaway profile keeps no localStorage). */
export const CARRIED_CACHES = ['roofline', 'tuning'] as const;
export type CarriedCaches = Partial<Record<(typeof CARRIED_CACHES)[number], Record<string, unknown>>>;

export type BenchKind = 'kernels' | 'models' | 'probes';

export interface BenchPageResult {
  status: 'running' | 'done' | 'error';
  adapter: string;
  userAgent: string;
  kind?: BenchKind;
  /** What the bench printed to console.log, in order (the same text the Deno CLI prints). */
  lines: string[];
  rows: unknown[];
  error?: string;
  /** This tab's roofline and tuning stores after the run (what it measured included), for the CLI to keep. */
  caches?: CarriedCaches;
}

declare global {
  interface Window {
    __kvscopeBench?: BenchPageResult;
  }
}

/** A path under the served root ('out/bench-models/x') as an absolute URL of this page's origin. */
function served(path: string): string {
  return /^https?:\/\//.test(path) ? path : new URL(`/${path.replace(/^\.?\/+/, '')}`, location.href).href;
}

export async function runBenchInPage(gpu: Gpu, params: URLSearchParams): Promise<BenchPageResult> {
  const res: BenchPageResult = { status: 'running', adapter: gpu.describe(), userAgent: navigator.userAgent, lines: [], rows: [] };
  window.__kvscopeBench = res;
  const kind = params.get('kind') as BenchKind | null;
  const log = console.log;
  // the bench prints with console.log; keep those lines (and still show them in the page's console)
  console.log = (...a: unknown[]) => {
    res.lines.push(a.map(String).join(' '));
    log(...a);
  };
  try {
    const { adapterCaches, ...opts } = JSON.parse(params.get('opts') ?? '{}') as Record<string, unknown> & { adapterCaches?: CarriedCaches };
    // what earlier runs measured on this adapter (kept by the CLI): the roofline and the tuned kernel choice
    for (const kind of CARRIED_CACHES) if (adapterCaches?.[kind]) mergeAdapterCache(kind, adapterCaches[kind]!);
    if (kind === 'kernels') {
      const { benchKernels } = await import('../bench/kernels.ts');
      res.rows = await benchKernels(gpu, opts);
    } else if (kind === 'models') {
      const { benchModels } = await import('../bench/models.ts');
      const cps = (opts.checkpoints ?? {}) as Record<string, string>;
      res.rows = await benchModels(gpu, { ...opts, checkpoints: Object.fromEntries(Object.entries(cps).map(([k, v]) => [k, served(v)])) });
    } else if (kind === 'probes') {
      const { benchProbes } = await import('../bench/probes.ts');
      res.rows = await benchProbes(gpu, { ...opts, checkpoint: typeof opts.checkpoint === 'string' ? served(opts.checkpoint) : undefined });
    } else {
      throw new Error(`?run=bench: kind must be kernels, models or probes, got ${kind}`);
    }
    res.kind = kind;
    res.caches = Object.fromEntries(CARRIED_CACHES.map((k) => [k, adapterCacheEntries(k)]));
    res.status = 'done';
  } catch (e) {
    res.status = 'error';
    res.error = `${(e as Error).name}: ${(e as Error).message}`;
    console.error(res.error);
  } finally {
    console.log = log;
  }
  return res;
}
