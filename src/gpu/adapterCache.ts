// Per-adapter measurements (roofline, kernel tuning) kept between runs, keyed by the adapter's identity: a JSON
// file per kind under $KVSCOPE_CACHE_DIR or ~/.cache/kvscope in Deno, localStorage in a browser.
import type { Gpu } from './device.ts';

/** What names one adapter+driver+runtime: vendor, architecture, device, description, runtime, features. */
export function adapterIdentity(gpu: Gpu): string {
  const i = gpu.info;
  const f = gpu.features;
  const feats = [f.shaderF16 && 'f16', f.subgroups && 'subgroups', f.timestampQuery && 'ts'].filter(Boolean).join('+');
  return [i.vendor, i.architecture, i.device, i.description, gpu.runtime, feats].join('|');
}

type DenoFs = {
  env: { get(k: string): string | undefined };
  readTextFileSync(p: string): string;
  writeTextFileSync(p: string, s: string): void;
  mkdirSync(p: string, o: { recursive: boolean }): void;
};

function denoFs(): DenoFs | null {
  return (globalThis as { Deno?: DenoFs }).Deno ?? null;
}

function cacheFile(kind: string): string | null {
  const d = denoFs();
  if (!d) return null;
  const dir = d.env.get('KVSCOPE_CACHE_DIR') ?? `${d.env.get('XDG_CACHE_HOME') ?? `${d.env.get('HOME') ?? '.'}/.cache`}/kvscope`;
  return `${dir}/${kind}.json`;
}

function readAll(kind: string): Record<string, unknown> {
  try {
    const file = cacheFile(kind);
    const text = file ? denoFs()!.readTextFileSync(file) : (globalThis as { localStorage?: Storage }).localStorage?.getItem(`kvscope:${kind}`);
    const v = text ? JSON.parse(text) : {};
    return v && typeof v === 'object' && !Array.isArray(v) ? v : {};
  } catch {
    return {}; // absent or unreadable: nothing cached
  }
}

/** The cached entry of this kind for this adapter, or null. */
export function readAdapterCache<T>(gpu: Gpu, kind: string): T | null {
  return (readAll(kind)[adapterIdentity(gpu)] as T | undefined) ?? null;
}

/** Store this adapter's entry; returns where it went. */
export function writeAdapterCache(gpu: Gpu, kind: string, value: unknown): string {
  return mergeAdapterCache(kind, { [adapterIdentity(gpu)]: value });
}

/** Every adapter's entry of this kind in this runtime's store (to carry to another runtime: `bench --browser`). */
export function adapterCacheEntries(kind: string): Record<string, unknown> {
  return readAll(kind);
}

/** Add entries (adapter identity → value) to this runtime's store of this kind; returns where they went. */
export function mergeAdapterCache(kind: string, entries: Record<string, unknown>): string {
  const all = { ...readAll(kind), ...entries };
  const text = JSON.stringify(all, null, 1);
  const file = cacheFile(kind);
  if (file) {
    const d = denoFs()!;
    d.mkdirSync(file.slice(0, file.lastIndexOf('/')), { recursive: true });
    d.writeTextFileSync(file, text);
    return file;
  }
  const ls = (globalThis as { localStorage?: Storage }).localStorage;
  if (!ls) return 'nowhere (no file system, no localStorage)';
  ls.setItem(`kvscope:${kind}`, text);
  return `localStorage kvscope:${kind}`;
}
