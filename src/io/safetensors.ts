// safetensors: single files and sharded checkpoints (model.safetensors.index.json), from a path (Deno), a URL
// (HTTP Range requests) or a Blob/File (browser), read tensor by tensor so host memory stays near one tensor.
// Layout: u64 little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]},
// "__metadata__": {...}}, then the data; offsets are relative to the first byte after the header.
// Every error names the file and, where there is one, the tensor.
import { type FileSource, sourceOf } from './source.ts';

/** Element types a safetensors header may name, with their byte sizes (other names are listed, size unknown). */
export const SAFETENSORS_DTYPES: Record<string, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
  F8_E4M3: 1, F8_E5M2: 1, F8_E8M0: 1, C64: 8,
};

/** The dtypes kvscope reads (and puts on the GPU). */
export type FloatDType = 'F32' | 'F16' | 'BF16';
export const LOADABLE_DTYPES: readonly FloatDType[] = ['F32', 'F16', 'BF16'];

/** Largest header the reference implementation accepts (safetensors' MAX_HEADER_SIZE). */
const MAX_HEADER_BYTES = 100_000_000;

/** Random access to the bytes of one file, wherever it lives. */
export interface ByteSource {
  readonly name: string;
  readonly size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
}

export interface TensorInfo {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly byteLength: number;
  /** Absolute byte offset in the file. */
  readonly offset: number;
  readonly file: string;
}

export class SafetensorsError extends Error {
  constructor(file: string, detail: string) {
    super(`${file}: ${detail}`);
    this.name = 'SafetensorsError';
  }
}

/** A Deno file by path; reads by seeking, so only the bytes asked for are in memory. */
export async function fileSource(path: string): Promise<ByteSource> {
  let stat: Deno.FileInfo;
  try {
    stat = await Deno.stat(path);
  } catch (e) {
    throw new SafetensorsError(path, `cannot open: ${(e as Error).message}`);
  }
  return {
    name: path,
    size: stat.size,
    async read(offset, length) {
      const f = await Deno.open(path, { read: true });
      try {
        await f.seek(offset, Deno.SeekMode.Start);
        const buf = new Uint8Array(length);
        let got = 0;
        while (got < length) {
          const n = await f.read(buf.subarray(got));
          if (n === null) throw new SafetensorsError(path, `unexpected end of file at byte ${offset + got} (wanted ${length} bytes from ${offset})`);
          got += n;
        }
        return buf;
      } finally {
        f.close();
      }
    },
  };
}

/** A Blob or File (browser file picker, drag and drop). */
export function blobSource(blob: Blob, name = (blob as File).name ?? 'blob'): ByteSource {
  return {
    name,
    size: blob.size,
    async read(offset, length) {
      const b = new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
      if (b.byteLength !== length) throw new SafetensorsError(name, `wanted ${length} bytes from ${offset}, the blob holds ${b.byteLength} there`);
      return b;
    },
  };
}

/** How long one HTTP request may take before it is abandoned (a stalled server must not hang a load). */
export const URL_TIMEOUT_MS = 120_000;

/** fetch with a deadline; network failures become SafetensorsErrors naming the URL. */
async function fetchChecked(url: string, init: RequestInit, what: string, timeoutMs: number): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    const timedOut = (e as Error).name === 'TimeoutError';
    throw new SafetensorsError(url, `${what} failed: ${timedOut ? `no answer within ${timeoutMs} ms` : (e as Error).message}`);
  }
}

/** The body, at most `limit` bytes (a server sending more than asked is stopped, not buffered). */
async function bodyUpTo(res: Response, limit: number, url: string, what: string, timeoutMs: number): Promise<Uint8Array> {
  const out = new Uint8Array(limit);
  let got = 0;
  const reader = res.body?.getReader();
  if (!reader) return out.subarray(0, 0);
  const deadline = setTimeout(() => reader.cancel().catch(() => {}), timeoutMs);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (got + value.length > limit) {
        await reader.cancel();
        throw new SafetensorsError(url, `${what} returned more than the ${limit} bytes asked for`);
      }
      out.set(value, got);
      got += value.length;
    }
  } catch (e) {
    if (e instanceof SafetensorsError) throw e;
    throw new SafetensorsError(url, `${what}: the body broke off after ${got} of ${limit} bytes (${(e as Error).message})`);
  } finally {
    clearTimeout(deadline);
  }
  return out.subarray(0, got);
}

/**
 * A URL served with HTTP Range support (the browser loading a checkpoint from a static server). Every answer is
 * checked: a 206 must say (Content-Range) that it holds exactly the bytes asked for, of a file of the size learnt
 * first; a 200 is only taken for the whole file; a short or long body is an error, as is a request past `timeoutMs`.
 */
export async function urlSource(url: string, opts: { timeoutMs?: number } = {}): Promise<ByteSource> {
  const timeoutMs = opts.timeoutMs ?? URL_TIMEOUT_MS;
  const size = await urlSize(url, timeoutMs);
  return {
    name: url,
    size,
    async read(offset, length) {
      if (length === 0) return new Uint8Array(0);
      const last = offset + length - 1;
      const what = `range request for bytes ${offset}-${last}`;
      if (offset < 0 || last >= size) throw new SafetensorsError(url, `${what} is outside the ${size}-byte file`);
      const res = await fetchChecked(url, { headers: { Range: `bytes=${offset}-${last}` } }, what, timeoutMs);
      if (res.status === 206) {
        const range = res.headers.get('content-range');
        const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(range?.trim() ?? '');
        if (!m || Number(m[1]) !== offset || Number(m[2]) !== last || (m[3] !== '*' && Number(m[3]) !== size)) {
          await res.body?.cancel();
          throw new SafetensorsError(url, `${what} answered 206 with Content-Range ${JSON.stringify(range)}, not bytes ${offset}-${last}/${size}: the server sent other bytes than asked`);
        }
      } else if (!(res.status === 200 && offset === 0 && length === size)) {
        await res.body?.cancel();
        throw new SafetensorsError(url, `${what} answered HTTP ${res.status}${res.status === 200 ? ' with the whole file (the server ignores Range)' : ''} (the server must support Range)`);
      }
      const b = await bodyUpTo(res, length, url, what, timeoutMs);
      if (b.byteLength !== length) throw new SafetensorsError(url, `${what} returned ${b.byteLength} bytes, wanted ${length}`);
      return b;
    },
  };
}

/** Size of a remote file: Content-Length of a HEAD, else the total in a one-byte range answer's Content-Range. */
async function urlSize(url: string, timeoutMs: number): Promise<number> {
  const head = await fetchChecked(url, { method: 'HEAD' }, 'HEAD', timeoutMs);
  await head.body?.cancel();
  if (head.status === 404) throw new SafetensorsError(url, 'HTTP 404 (not found)');
  const length = head.headers.get('content-length')?.trim() ?? null;
  if (head.ok && length !== null && /^\d+$/.test(length) && Number.isSafeInteger(Number(length))) return Number(length);
  const probe = await fetchChecked(url, { headers: { Range: 'bytes=0-0' } }, 'range probe', timeoutMs);
  await probe.body?.cancel();
  const total = /^bytes 0-0\/(\d+)$/.exec(probe.headers.get('content-range')?.trim() ?? '');
  if (probe.status === 206 && total && Number.isSafeInteger(Number(total[1]))) return Number(total[1]);
  throw new SafetensorsError(url, `cannot learn the size (HEAD answered HTTP ${head.status}, a range probe HTTP ${probe.status})`);
}

export class SafetensorsFile {
  private constructor(
    readonly source: ByteSource,
    readonly tensors: ReadonlyMap<string, TensorInfo>,
    readonly metadata: Readonly<Record<string, string>>,
  ) {}

  /** Parse and validate the header (reads only the header bytes). */
  static async open(source: ByteSource): Promise<SafetensorsFile> {
    const file = source.name;
    if (source.size < 8) throw new SafetensorsError(file, `${source.size} bytes is too short for a safetensors header (needs 8 + header)`);
    const lenBytes = await source.read(0, 8);
    const n = Number(new DataView(lenBytes.buffer, lenBytes.byteOffset, 8).getBigUint64(0, true));
    if (n > source.size - 8) throw new SafetensorsError(file, `header length ${n} runs past the end of the file (${source.size} bytes): truncated or not safetensors`);
    if (n > MAX_HEADER_BYTES) throw new SafetensorsError(file, `header length ${n} is over the ${MAX_HEADER_BYTES}-byte limit`);
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(await source.read(8, n)));
    } catch (e) {
      throw new SafetensorsError(file, `corrupt header: ${(e as Error).message}`);
    }
    if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new SafetensorsError(file, 'corrupt header: not a JSON object');
    const dataStart = 8 + n;
    const dataSize = source.size - dataStart;
    const tensors = new Map<string, TensorInfo>();
    let metadata: Record<string, string> = {};
    const spans: [number, number, string][] = [];
    for (const [name, v] of Object.entries(header)) {
      if (name === '__metadata__') {
        if (typeof v !== 'object' || v === null || Array.isArray(v) || !Object.values(v).every((x) => typeof x === 'string')) {
          throw new SafetensorsError(file, `__metadata__ must map strings to strings, found ${JSON.stringify(v)}`);
        }
        metadata = v as Record<string, string>;
        continue;
      }
      const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      if (typeof e !== 'object' || e === null || typeof e.dtype !== 'string') {
        throw new SafetensorsError(file, `tensor ${name}: no dtype in ${JSON.stringify(v)}`);
      }
      if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) {
        throw new SafetensorsError(file, `tensor ${name}: bad shape ${JSON.stringify(e.shape)}`);
      }
      const off = e.data_offsets;
      if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isInteger(d) && d >= 0) || off[0] > off[1]) {
        throw new SafetensorsError(file, `tensor ${name}: bad data_offsets ${JSON.stringify(off)}`);
      }
      const [begin, end] = off as number[];
      // dtypes with an unknown element size are listed; reading them fails (see read)
      const elementBytes = SAFETENSORS_DTYPES[e.dtype];
      if (elementBytes !== undefined) {
        const want = (e.shape as number[]).reduce((a, b) => a * b, 1) * elementBytes;
        if (end - begin !== want) {
          throw new SafetensorsError(file, `tensor ${name}: shape [${(e.shape as number[]).join(', ')}] ${e.dtype} needs ${want} bytes, data_offsets give ${end - begin}`);
        }
      }
      if (end > dataSize) {
        throw new SafetensorsError(file, `tensor ${name} ends at data byte ${end} but the file holds ${dataSize} data bytes: truncated`);
      }
      spans.push([begin, end, name]);
      tensors.set(name, { name, dtype: e.dtype, shape: e.shape as number[], byteLength: end - begin, offset: dataStart + begin, file });
    }
    spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    for (let i = 1; i < spans.length; i++) {
      if (spans[i][0] < spans[i - 1][1]) {
        throw new SafetensorsError(file, `tensors ${spans[i - 1][2]} (data bytes ${spans[i - 1][0]}-${spans[i - 1][1]}) and ${spans[i][2]} (${spans[i][0]}-${spans[i][1]}) overlap`);
      }
    }
    return new SafetensorsFile(source, tensors, metadata);
  }

  info(name: string): TensorInfo {
    const t = this.tensors.get(name);
    if (!t) throw new SafetensorsError(this.source.name, `no tensor named ${name}`);
    return t;
  }

  /** The raw little-endian bytes of one tensor; only F32, F16 and BF16 tensors can be read. */
  async read(name: string): Promise<Uint8Array> {
    const t = this.info(name);
    expectLoadable(t);
    return await this.source.read(t.offset, t.byteLength);
  }
}

/** The tensor's dtype if kvscope can load it, else an "unsupported dtype" error naming file and tensor. */
export function expectLoadable(t: TensorInfo): FloatDType {
  if (!(LOADABLE_DTYPES as readonly string[]).includes(t.dtype)) {
    throw new SafetensorsError(t.file, `tensor ${t.name}: unsupported dtype ${t.dtype} (kvscope loads ${LOADABLE_DTYPES.join(', ')})`);
  }
  return t.dtype as FloatDType;
}

/** Where a checkpoint's files live: a directory (Deno), a base URL, or a list of Files picked in a browser. */
export interface CheckpointLocation {
  readonly origin: string;
  has(file: string): Promise<boolean>;
  open(file: string): Promise<ByteSource>;
}

/** A directory path, an http(s) URL of a directory, the Files of a picked folder, or any FileSource (src/io/source.ts). */
export function checkpointLocation(where: string | readonly File[] | FileSource): CheckpointLocation {
  if (typeof where !== 'string') {
    const src = sourceOf(where);
    return { origin: src.root, has: (file) => src.exists(file), open: (file) => src.open(file) };
  }
  const base = where.replace(/\/+$/, '');
  if (/^https?:\/\//.test(base)) {
    return {
      origin: base,
      async has(file) {
        const res = await fetchChecked(`${base}/${file}`, { method: 'HEAD' }, 'HEAD', URL_TIMEOUT_MS);
        await res.body?.cancel();
        return res.ok;
      },
      open: (file) => urlSource(`${base}/${file}`),
    };
  }
  return {
    origin: base,
    async has(file) {
      try {
        return (await Deno.stat(`${base}/${file}`)).isFile;
      } catch {
        return false;
      }
    },
    open: (file) => fileSource(`${base}/${file}`),
  };
}

/** The whole of a small file (config.json, an index) as text. */
export async function readText(location: CheckpointLocation, file: string): Promise<string> {
  const src = await location.open(file);
  return new TextDecoder().decode(await src.read(0, src.size));
}

/** Model types whose weight-name layouts canonicalName knows. */
export const NAMED_LAYOUTS = ['llava_onevision', 'llava_next', 'qwen2_5_vl'] as const;

/**
 * One name for a weight whichever transformers version saved it: the newer layout
 * (`model.language_model.*`, `model.vision_tower.*`, `model.visual.*`, `lm_head.*`), as HF's
 * `_checkpoint_conversion_mapping` rewrites legacy hub names at load. Names already canonical are unchanged.
 */
export function canonicalName(name: string, modelType: string): string {
  switch (modelType) {
    case 'llava_onevision':
    case 'llava_next':
      return name
        .replace(/^language_model\.model\./, 'model.language_model.')
        .replace(/^language_model\.lm_head\./, 'lm_head.')
        .replace(/^vision_tower\./, 'model.vision_tower.')
        .replace(/^multi_modal_projector\./, 'model.multi_modal_projector.')
        .replace(/^image_newline$/, 'model.image_newline');
    case 'qwen2_5_vl':
      return name
        .replace(/^visual\./, 'model.visual.')
        .replace(/^model\.(?!language_model\.|visual\.)/, 'model.language_model.');
    default:
      throw new Error(`canonicalName: unknown model_type ${JSON.stringify(modelType)} (known: ${NAMED_LAYOUTS.join(', ')})`);
  }
}

const INDEX_FILE = 'model.safetensors.index.json';
const SINGLE_FILE = 'model.safetensors';

/** A checkpoint: one model.safetensors, or the shards named by model.safetensors.index.json. */
export class Checkpoint {
  private constructor(
    private readonly files: ReadonlyMap<string, SafetensorsFile>,
    /** stored tensor name -> shard file name */
    private readonly where: ReadonlyMap<string, string>,
    /** canonical name -> stored name (empty when the model type is unknown) */
    private readonly canonical: ReadonlyMap<string, string>,
    readonly origin: string,
    readonly modelType: string | null,
    /** metadata.total_size from the index (null for a single file or when absent). */
    readonly indexTotalSize: number | null,
  ) {}

  /**
   * Open the checkpoint at `location`. `modelType` selects the weight-name layout for lookups by either name;
   * without it, `model_type` is taken from config.json when there is one.
   */
  static async open(location: CheckpointLocation, modelType?: string): Promise<Checkpoint> {
    const origin = location.origin;
    const files = new Map<string, SafetensorsFile>();
    const where = new Map<string, string>();
    let indexTotalSize: number | null = null;
    if (await location.has(INDEX_FILE)) {
      const indexFile = `${origin}/${INDEX_FILE}`;
      let index: { metadata?: { total_size?: unknown }; weight_map?: unknown };
      try {
        index = JSON.parse(await readText(location, INDEX_FILE));
      } catch (e) {
        throw new SafetensorsError(indexFile, `not valid JSON: ${(e as Error).message}`);
      }
      const map = index?.weight_map;
      if (typeof map !== 'object' || map === null || Array.isArray(map)) throw new SafetensorsError(indexFile, 'has no weight_map object');
      const total = index.metadata?.total_size;
      if (total !== undefined) {
        if (typeof total !== 'number' || !(total >= 0)) throw new SafetensorsError(indexFile, `metadata.total_size is ${JSON.stringify(total)}, expected a byte count`);
        indexTotalSize = total;
      }
      for (const [tensor, shard] of Object.entries(map)) {
        if (typeof shard !== 'string' || shard.includes('/') || shard.includes('\\') || shard === '..') {
          throw new SafetensorsError(indexFile, `weight_map.${tensor}: ${JSON.stringify(shard)} is not a shard file name`);
        }
        if (!files.has(shard)) {
          if (!(await location.has(shard))) throw new SafetensorsError(indexFile, `weight_map.${tensor} names shard ${shard}, which is not in ${origin}`);
          files.set(shard, await SafetensorsFile.open(await location.open(shard)));
        }
        if (!files.get(shard)!.tensors.has(tensor)) {
          throw new SafetensorsError(`${origin}/${shard}`, `${INDEX_FILE} maps tensor ${tensor} here, but the shard has no such tensor`);
        }
        where.set(tensor, shard);
      }
    } else if (await location.has(SINGLE_FILE)) {
      const f = await SafetensorsFile.open(await location.open(SINGLE_FILE));
      files.set(SINGLE_FILE, f);
      for (const t of f.tensors.keys()) where.set(t, SINGLE_FILE);
    } else {
      throw new SafetensorsError(origin, `has neither ${SINGLE_FILE} nor ${INDEX_FILE}`);
    }
    let type = modelType ?? null;
    if (type === null && (await location.has('config.json'))) {
      try {
        const t = JSON.parse(await readText(location, 'config.json'))?.model_type;
        if (typeof t === 'string' && (NAMED_LAYOUTS as readonly string[]).includes(t)) type = t;
      } catch {
        // config.json is validated by readConfig; here it only names the weight layout
      }
    }
    const canonical = new Map<string, string>();
    if (type !== null) {
      for (const stored of where.keys()) {
        const c = canonicalName(stored, type);
        const other = canonical.get(c);
        if (other !== undefined) throw new SafetensorsError(origin, `tensors ${other} and ${stored} are the same weight (${c}) under two names`);
        canonical.set(c, stored);
      }
    }
    return new Checkpoint(files, where, canonical, origin, type, indexTotalSize);
  }

  /** Tensor names as stored in the files. */
  tensorNames(): string[] {
    return [...this.where.keys()];
  }

  /** The stored name for `name` given in either layout (legacy or new), or null. */
  resolve(name: string): string | null {
    if (this.where.has(name)) return name;
    if (this.modelType === null) return null;
    return this.canonical.get(canonicalName(name, this.modelType)) ?? null;
  }

  has(name: string): boolean {
    return this.resolve(name) !== null;
  }

  info(name: string): TensorInfo {
    const stored = this.resolve(name);
    if (stored === null) throw new SafetensorsError(this.origin, `missing tensor ${name}`);
    return this.files.get(this.where.get(stored)!)!.info(stored);
  }

  /** The raw little-endian bytes of one tensor (F32, F16 or BF16). */
  read(name: string): Promise<Uint8Array> {
    const stored = this.resolve(name);
    if (stored === null) return Promise.reject(new SafetensorsError(this.origin, `missing tensor ${name}`));
    return this.files.get(this.where.get(stored)!)!.read(stored);
  }

  /** Sum of the tensors' byte lengths. */
  get totalBytes(): number {
    let n = 0;
    for (const t of this.where.keys()) n += this.info(t).byteLength;
    return n;
  }
}

/** Open a checkpoint directory, base URL, or picked Files (single file or sharded). */
export async function openCheckpoint(where: string | readonly File[], modelType?: string): Promise<Checkpoint> {
  return await Checkpoint.open(checkpointLocation(where), modelType);
}

export interface TensorToWrite {
  name: string;
  dtype: string;
  shape: readonly number[];
  data: Uint8Array;
}

/** Serialise tensors (in the given order) as one safetensors file; the header is space-padded to 8 bytes as HF does. */
export function writeSafetensors(tensors: readonly TensorToWrite[], metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let at = 0;
  for (const t of tensors) {
    if (t.name === '__metadata__' || t.name in header) throw new Error(`writeSafetensors: tensor name ${t.name} is reserved or repeated`);
    const size = SAFETENSORS_DTYPES[t.dtype];
    if (!size) throw new Error(`writeSafetensors: tensor ${t.name}: unknown dtype ${t.dtype}`);
    if (!t.shape.every((d) => Number.isInteger(d) && d >= 0)) throw new Error(`writeSafetensors: tensor ${t.name}: bad shape [${t.shape.join(', ')}]`);
    const want = t.shape.reduce((a, b) => a * b, 1) * size;
    if (t.data.byteLength !== want) throw new Error(`writeSafetensors: tensor ${t.name}: shape [${t.shape.join(', ')}] ${t.dtype} needs ${want} bytes, got ${t.data.byteLength}`);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + want] };
    at += want;
  }
  const raw = new TextEncoder().encode(JSON.stringify(header));
  const headerBytes = raw.byteLength + ((8 - (raw.byteLength % 8)) % 8);
  const out = new Uint8Array(8 + headerBytes + at);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes), true);
  out.set(raw, 8);
  out.fill(0x20, 8 + raw.byteLength, 8 + headerBytes);
  let p = 8 + headerBytes;
  for (const t of tensors) {
    out.set(t.data, p);
    p += t.data.byteLength;
  }
  return out;
}

/** writeSafetensors to a file (Deno). */
export async function writeSafetensorsFile(path: string, tensors: readonly TensorToWrite[], metadata?: Record<string, string>): Promise<void> {
  await Deno.writeFile(path, writeSafetensors(tensors, metadata));
}
