// What every dataset reader shares: a file tree to read from (a Deno directory now, a browser File list later),
// the image decoders it needs, a reader shape (list sample ids cheaply, read one sample by id), and errors that
// name the file and the field at fault.

import { parquetMetadataAsync, parquetReadObjects, parquetSchema, type AsyncBuffer } from 'hyparquet';
import type { ByteSource } from '../../io/safetensors.ts';
import type { FileSource } from '../../io/source.ts';
import type { RgbImage } from '../../io/rgbImage.ts';
import { decodeImage, decodeLabelPng } from '../../io/image.ts';

/** Read-only access to a dataset's directory tree (a directory, a picked folder, a URL: src/io/source.ts). */
export type FileTree = FileSource;

/** A decoded label image: one raw value per pixel (palette index or grey value), row-major. */
export interface LabelImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array | Uint16Array;
}

/** The decoders readers use; `src/io/image.ts` provides `decodeImage` and `decodeLabelPng` with these shapes. */
export interface ImageCodec {
  /** JPEG/PNG (or whatever the decoder knows) to 8-bit RGB. */
  decodeImage(bytes: Uint8Array, name: string): RgbImage;
  /** A PNG's raw sample values: palette indices for colour type 3, grey values for colour type 0. */
  decodeLabelPng(bytes: Uint8Array, name: string): LabelImage;
}

/** The project's decoders (PNG, JPEG and BMP; stored pixels, no EXIF orientation: annotations are in that frame). */
export const IMAGE_CODEC: ImageCodec = { decodeImage, decodeLabelPng };

/** A reader: cheap listing of sample ids, then one sample at a time. */
export interface DatasetReader<S> {
  readonly name: string;
  ids(): Promise<readonly string[]>;
  read(id: string): Promise<S>;
}

/** Every sample of a reader, in id order, loaded one at a time. */
export async function* readAll<S>(reader: DatasetReader<S>): AsyncGenerator<S> {
  for (const id of await reader.ids()) yield await reader.read(id);
}

/** A dataset file is missing or does not have the expected format. */
export class DatasetError extends Error {
  readonly file: string;
  readonly field?: string;
  constructor(file: string, detail: string, field?: string) {
    super(field === undefined ? `${file}: ${detail}` : `${file}: field '${field}': ${detail}`);
    this.name = 'DatasetError';
    this.file = file;
    this.field = field;
  }
}

/**
 * A folder of the wrong layout is named with what it holds and what the dataset needs: checked before the first
 * listing, so `--data` pointed one level too high or at another dataset says so instead of "X: missing".
 */
export async function expectLayout(files: FileTree, dataset: string, needed: readonly string[], layout: string): Promise<void> {
  const missing: string[] = [];
  for (const p of needed) if (!(await files.exists(p))) missing.push(p);
  if (!missing.length) return;
  let holds: string[] = [];
  try {
    holds = await files.list('');
  } catch {
    // an unreadable or absent root: "holds nothing"
  }
  const shown = holds.length ? `${holds.slice(0, 12).join(', ')}${holds.length > 12 ? `, … (${holds.length} entries)` : ''}` : 'nothing (missing or empty)';
  throw new DatasetError(files.root, `not a ${dataset} folder: no ${missing.join(', ')}; ${dataset} is laid out as ${layout}; this folder holds ${shown}`);
}

/** Join a root and relative parts with '/'. */
export function joinPath(...parts: string[]): string {
  return parts.filter((p) => p.length > 0).join('/').replace(/\/+/g, '/');
}

/** A directory on disk via Deno; a FileSource given instead (a picked folder, a URL) is used as it is. */
export function denoFileTree(root: string | FileSource): FileTree {
  if (typeof root !== 'string') return root;
  const full = (p: string) => joinPath(root, p);
  const missing = (p: string, e: unknown) =>
    new DatasetError(full(p), `cannot read (${e instanceof Deno.errors.NotFound ? 'missing' : (e as Error).message})`);
  return {
    root,
    async read(path) {
      try {
        return await Deno.readFile(full(path));
      } catch (e) {
        throw missing(path, e);
      }
    },
    async open(path) {
      let size: number;
      try {
        size = (await Deno.stat(full(path))).size;
      } catch (e) {
        throw missing(path, e);
      }
      return {
        name: full(path),
        size,
        async read(offset, length) {
          const f = await Deno.open(full(path), { read: true });
          try {
            await f.seek(offset, Deno.SeekMode.Start);
            const buf = new Uint8Array(length);
            let got = 0;
            while (got < length) {
              const n = await f.read(buf.subarray(got));
              if (n === null) throw new DatasetError(full(path), `short read: wanted ${length} bytes at ${offset}, file ended after ${got}`);
              got += n;
            }
            return buf;
          } finally {
            f.close();
          }
        },
      };
    },
    async list(dir) {
      const names: string[] = [];
      try {
        for await (const e of Deno.readDir(full(dir))) names.push(e.name);
      } catch (e) {
        throw missing(dir, e);
      }
      return names.sort(byCodeUnit);
    },
    async exists(path) {
      try {
        await Deno.stat(full(path));
        return true;
      } catch {
        return false;
      }
    },
  };
}

/** Plain code-unit order (Python's sorted() on str), independent of locale. */
export function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Read a text file; the file name goes into any error. */
export async function readText(files: FileTree, path: string): Promise<string> {
  return new TextDecoder().decode(await files.read(path));
}

/** Non-empty lines of a list file (split files, class lists), trimmed. */
export async function readLines(files: FileTree, path: string): Promise<string[]> {
  return (await readText(files, path)).split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
}

/** Parse a JSON file, naming it on a syntax error. */
export async function readJson(files: FileTree, path: string): Promise<unknown> {
  const text = await readText(files, path);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new DatasetError(joinPath(files.root, path), `invalid JSON (${(e as Error).message})`);
  }
}

/** Typed access to the fields of one JSON object (or decoded pickle dict / parquet row) with located errors. */
export class FieldReader {
  readonly obj: Record<string, unknown>;
  readonly file: string;
  readonly prefix: string;
  constructor(value: unknown, file: string, prefix = '') {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new DatasetError(file, `expected an object, found ${describe(value)}`, prefix || undefined);
    }
    this.obj = value as Record<string, unknown>;
    this.file = file;
    this.prefix = prefix;
  }
  private path(key: string): string {
    return this.prefix ? `${this.prefix}.${key}` : key;
  }
  fail(key: string, expected: string): never {
    throw new DatasetError(this.file, `expected ${expected}, found ${describe(this.obj[key])}`, this.path(key));
  }
  has(key: string): boolean {
    return this.obj[key] !== undefined && this.obj[key] !== null;
  }
  raw(key: string): unknown {
    if (!(key in this.obj)) throw new DatasetError(this.file, 'missing', this.path(key));
    return this.obj[key];
  }
  string(key: string): string {
    const v = this.raw(key);
    if (typeof v !== 'string') this.fail(key, 'a string');
    return v;
  }
  number(key: string): number {
    const v = this.raw(key);
    if (typeof v === 'bigint') return Number(v);
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(key, 'a number');
    return v;
  }
  int(key: string): number {
    const v = this.number(key);
    if (!Number.isInteger(v)) this.fail(key, 'an integer');
    return v;
  }
  numbers(key: string, length?: number): number[] {
    const v = this.raw(key);
    const ok = (Array.isArray(v) || ArrayBuffer.isView(v)) &&
      Array.from(v as ArrayLike<unknown>).every((x) => typeof x === 'bigint' || (typeof x === 'number' && Number.isFinite(x)));
    if (!ok) this.fail(key, length === undefined ? 'a list of numbers' : `a list of ${length} numbers`);
    const out = Array.from(v as ArrayLike<number | bigint>, Number);
    if (length !== undefined && out.length !== length) this.fail(key, `a list of ${length} numbers`);
    return out;
  }
  strings(key: string): string[] {
    const v = this.raw(key);
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) this.fail(key, 'a list of strings');
    return v as string[];
  }
  array(key: string): unknown[] {
    const v = this.raw(key);
    if (!Array.isArray(v)) this.fail(key, 'a list');
    return v;
  }
  object(key: string): FieldReader {
    return new FieldReader(this.raw(key), this.file, this.path(key));
  }
}

/** Short description of a found value for error messages. */
export function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  if (typeof v === 'string') return `"${v.length > 40 ? v.slice(0, 40) + '…' : v}"`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

/** Deterministic PRNG (mulberry32) for episode sampling: same seed, same sequence, in Deno and browsers. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Decode a label PNG and check its size against the image it annotates. */
export function decodeLabelChecked(
  codec: ImageCodec, bytes: Uint8Array, file: string, expect?: { width: number; height: number },
): LabelImage {
  const lab = codec.decodeLabelPng(bytes, file);
  if (expect && (lab.width !== expect.width || lab.height !== expect.height)) {
    throw new DatasetError(file, `label is ${lab.width}×${lab.height}, its image is ${expect.width}×${expect.height}`);
  }
  return lab;
}

/** A random-access file as hyparquet's AsyncBuffer. */
export function asyncBufferOf(src: ByteSource): AsyncBuffer {
  const read = async (start: number, end?: number): Promise<ArrayBuffer> => {
    const stop = Math.min(end ?? src.size, src.size);
    // a corrupt footer gives NaN or out-of-file offsets: name the file instead of reading garbage
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(stop) || start < 0 || start > stop) {
      throw new DatasetError(src.name, `corrupt parquet metadata: asks for bytes ${start}..${end ?? 'end'} of a ${src.size}-byte file`);
    }
    const bytes = await src.read(start, stop - start);
    return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
      ? bytes.buffer as ArrayBuffer
      : bytes.slice().buffer as ArrayBuffer;
  };
  return {
    byteLength: src.size,
    slice(start: number, end?: number): Promise<ArrayBuffer> {
      const p = read(start, end);
      // hyparquet starts column-chunk reads together and may abandon the rest when one fails: a rejection nobody
      // awaits must not become an uncaught error that ends the process (the awaited one still rejects)
      p.catch(() => {});
      return p;
    },
  };
}

/** Number of rows, rows per row group and top-level column names of a parquet file. */
export async function parquetColumns(
  files: FileTree, rel: string,
): Promise<{ rows: number; rowGroups: number[]; columns: string[] }> {
  const path = joinPath(files.root, rel);
  try {
    const meta = await parquetMetadataAsync(asyncBufferOf(await files.open(rel)));
    return {
      rows: Number(meta.num_rows), rowGroups: meta.row_groups.map((g) => Number(g.num_rows)),
      columns: parquetSchema(meta).children.map((c) => c.element.name),
    };
  } catch (e) {
    if (e instanceof DatasetError) throw e;
    throw new DatasetError(path, `not a readable parquet file (${(e as Error).message})`);
  }
}

/** Rows [start, end) of a parquet file as objects (binary stays Uint8Array); a missing column is named. */
export async function readParquetRows(
  files: FileTree, rel: string, columns: string[], rows?: { start: number; end: number },
): Promise<Record<string, unknown>[]> {
  const path = joinPath(files.root, rel);
  const have = (await parquetColumns(files, rel)).columns;
  for (const c of columns) if (!have.includes(c)) throw new DatasetError(path, `column missing (columns: ${have.join(', ')})`, c);
  try {
    const file = asyncBufferOf(await files.open(rel));
    return await parquetReadObjects({ file, columns, utf8: false, rowStart: rows?.start, rowEnd: rows?.end });
  } catch (e) {
    throw new DatasetError(path, `cannot read parquet (${(e as Error).message})`);
  }
}
