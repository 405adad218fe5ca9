// Where a checkpoint's or a dataset's files come from: one small read-only interface with three implementations —
// a directory on disk (Deno), the Files of a folder picked in a browser (webkitdirectory / directory picker), and
// a base URL (HTTP Range reads; listing needs the server's `files.txt` manifest, one relative path per line).
// Paths are relative and '/'-separated; errors name the full path.
import { blobSource, type ByteSource, fileSource, urlSource } from './safetensors.ts';

export interface FileSource {
  /** Where the tree lives (a directory path, a URL, or "picked folder NAME"), for error messages. */
  readonly root: string;
  /** All bytes of one file. */
  read(path: string): Promise<Uint8Array>;
  /** Random access to one file. */
  open(path: string): Promise<ByteSource>;
  /** Names of the entries (files and sub-directories) of one directory, sorted by code unit. */
  list(dir: string): Promise<string[]>;
  exists(path: string): Promise<boolean>;
}

/** A file or directory is not where a source was asked for it. */
export class SourceError extends Error {
  constructor(readonly path: string, detail: string) {
    super(`${path}: ${detail}`);
    this.name = 'SourceError';
  }
}

function join(root: string, path: string): string {
  const rel = normalize(path);
  return rel ? `${root.replace(/\/+$/, '')}/${rel}` : root;
}

/** 'a//b/./c/' → 'a/b/c'; '..' is refused (a source never reads outside its root). */
function normalize(path: string): string {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new SourceError(path, "'..' is not allowed in a source path");
  return parts.join('/');
}

const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

async function readWhole(src: ByteSource): Promise<Uint8Array> {
  return await src.read(0, src.size);
}

/** A directory on disk (Deno). */
export function denoSource(root: string): FileSource {
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  if (!deno) throw new SourceError(root, 'a directory path needs Deno; in a browser pick the folder or give a URL');
  const full = (p: string) => join(root, p);
  const missing = (p: string, e: unknown) =>
    new SourceError(full(p), `cannot read (${e instanceof deno.errors.NotFound ? 'missing' : (e as Error).message})`);
  return {
    root,
    async read(path) {
      try {
        return await deno.readFile(full(path));
      } catch (e) {
        throw missing(path, e);
      }
    },
    open: (path) => fileSource(full(path)),
    async list(dir) {
      const names: string[] = [];
      try {
        for await (const e of deno.readDir(full(dir))) names.push(e.name);
      } catch (e) {
        throw missing(dir, e);
      }
      return names.sort(byCodeUnit);
    },
    async exists(path) {
      try {
        await deno.stat(full(path));
        return true;
      } catch {
        return false;
      }
    },
  };
}

/**
 * The Files of a picked folder. `webkitRelativePath` ("Folder/sub/file.png") gives each file's place; the picked
 * folder's own name is dropped, so paths are relative to it. Files without one (a flat multi-select) sit at the root.
 */
export function filesSource(files: readonly File[], label?: string): FileSource {
  const byPath = new Map<string, File>();
  let top: string | null = null;
  for (const f of files) {
    const rel = (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name;
    const parts = rel.split('/');
    if (parts.length > 1) top ??= parts[0];
    byPath.set(parts.length > 1 ? parts.slice(1).join('/') : rel, f);
  }
  const root = label ?? `picked folder ${top ?? '(files)'}`;
  const get = (path: string): File => {
    const f = byPath.get(normalize(path));
    if (!f) throw new SourceError(join(root, path), 'not in the picked folder');
    return f;
  };
  return {
    root,
    async read(path) {
      return new Uint8Array(await get(path).arrayBuffer());
    },
    open(path) {
      try {
        // named by its path inside the folder, as the checkpoint reader names a picked file's tensors
        return Promise.resolve(blobSource(get(path), normalize(path)));
      } catch (e) {
        return Promise.reject(e);
      }
    },
    list(dir) {
      const d = normalize(dir);
      const prefix = d ? `${d}/` : '';
      const names = new Set<string>();
      for (const p of byPath.keys()) if (p.startsWith(prefix)) names.add(p.slice(prefix.length).split('/')[0]);
      if (!names.size && d) return Promise.reject(new SourceError(join(root, dir), 'no such folder in the picked folder'));
      return Promise.resolve([...names].sort(byCodeUnit));
    },
    exists(path) {
      const p = normalize(path);
      if (byPath.has(p)) return Promise.resolve(true);
      return Promise.resolve([...byPath.keys()].some((k) => k.startsWith(`${p}/`)));
    },
  };
}

/** A base URL served with Range support; `list` reads `<base>/files.txt` once (one relative path per line). */
export function httpSource(base: string): FileSource {
  const root = base.replace(/\/+$/, '');
  let manifest: Promise<string[]> | null = null;
  const paths = () =>
    manifest ??= (async () => {
      const res = await fetch(`${root}/files.txt`).catch((e) => {
        throw new SourceError(`${root}/files.txt`, `cannot fetch the listing manifest: ${(e as Error).message}`);
      });
      if (!res.ok) {
        await res.body?.cancel();
        throw new SourceError(`${root}/files.txt`, `HTTP ${res.status}: listing a folder over HTTP needs this manifest (one relative path per line)`);
      }
      return (await res.text()).split(/\r?\n/).map((l) => normalize(l.trim())).filter((l) => l.length > 0);
    })();
  return {
    root,
    async read(path) {
      return await readWhole(await urlSource(join(root, path)));
    },
    open: (path) => urlSource(join(root, path)),
    async list(dir) {
      const d = normalize(dir);
      const prefix = d ? `${d}/` : '';
      const names = new Set<string>();
      for (const p of await paths()) if (p.startsWith(prefix)) names.add(p.slice(prefix.length).split('/')[0]);
      if (!names.size && d) throw new SourceError(join(root, dir), 'no such folder in files.txt');
      return [...names].sort(byCodeUnit);
    },
    async exists(path) {
      const res = await fetch(join(root, path), { method: 'HEAD' }).catch(() => null);
      await res?.body?.cancel();
      if (res?.ok) return true;
      // a folder: servers do not answer for those, the manifest does (when there is one)
      const p = normalize(path);
      return (await paths().catch(() => [] as string[])).some((k) => k.startsWith(`${p}/`));
    },
  };
}

/** The source for what a user gave: a directory path (Deno), an http(s) URL, or picked Files. */
export function sourceOf(where: string | readonly File[] | FileSource): FileSource {
  if (typeof where !== 'string') return 'root' in where && 'list' in where ? where as FileSource : filesSource(where as readonly File[]);
  return /^https?:\/\//.test(where) ? httpSource(where) : denoSource(where);
}
