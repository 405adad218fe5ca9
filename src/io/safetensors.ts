// safetensors: single files and sharded checkpoints (model.safetensors.index.json), from a path (Deno), a URL
// (HTTP Range requests) or a Blob/File (browser), read tensor by tensor so host memory stays near one tensor.
// Layout: u64 little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]},
// "__metadata__": {...}}, then the data; offsets are relative to the first byte after the header.
// Every error names the file and, where there is one, the tensor.

/** Element types a safetensors header may name, with their byte sizes. */
export const SAFETENSORS_DTYPES: Record<string, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
  F8_E4M3: 1, F8_E5M2: 1,
};

/** The dtypes kvscope puts on the GPU. */
export type FloatDType = 'F32' | 'F16' | 'BF16';
export const LOADABLE_DTYPES: readonly FloatDType[] = ['F32', 'F16', 'BF16'];

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
      return new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
    },
  };
}

/** A URL served with HTTP Range support (the browser loading a checkpoint from a static server). */
export async function urlSource(url: string): Promise<ByteSource> {
  const head = await fetch(url, { method: 'HEAD' });
  if (!head.ok) throw new SafetensorsError(url, `HTTP ${head.status}`);
  const size = Number(head.headers.get('content-length'));
  if (!Number.isFinite(size)) throw new SafetensorsError(url, 'the server sent no Content-Length');
  return {
    name: url,
    size,
    async read(offset, length) {
      const res = await fetch(url, { headers: { Range: `bytes=${offset}-${offset + length - 1}` } });
      if (res.status !== 206 && !(res.status === 200 && offset === 0 && length === size)) {
        throw new SafetensorsError(url, `range request for bytes ${offset}-${offset + length - 1} answered HTTP ${res.status} (the server must support Range)`);
      }
      const b = new Uint8Array(await res.arrayBuffer());
      if (b.byteLength !== length) throw new SafetensorsError(url, `range request returned ${b.byteLength} bytes, wanted ${length}`);
      return b;
    },
  };
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
    if (n > 100_000_000) throw new SafetensorsError(file, `header length ${n} is implausibly large`);
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
        metadata = (v ?? {}) as Record<string, string>;
        continue;
      }
      const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      if (typeof e?.dtype !== 'string' || !(e.dtype in SAFETENSORS_DTYPES)) {
        throw new SafetensorsError(file, `tensor ${name}: unknown dtype ${JSON.stringify(e?.dtype)}`);
      }
      if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) {
        throw new SafetensorsError(file, `tensor ${name}: bad shape ${JSON.stringify(e.shape)}`);
      }
      const off = e.data_offsets;
      if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isInteger(d) && d >= 0) || off[0] > off[1]) {
        throw new SafetensorsError(file, `tensor ${name}: bad data_offsets ${JSON.stringify(off)}`);
      }
      const [begin, end] = off as number[];
      const want = (e.shape as number[]).reduce((a, b) => a * b, 1) * SAFETENSORS_DTYPES[e.dtype];
      if (end - begin !== want) {
        throw new SafetensorsError(file, `tensor ${name}: shape [${(e.shape as number[]).join(', ')}] ${e.dtype} needs ${want} bytes, data_offsets give ${end - begin}`);
      }
      if (end > dataSize) {
        throw new SafetensorsError(file, `tensor ${name} ends at data byte ${end} but the file holds ${dataSize} data bytes: truncated`);
      }
      spans.push([begin, end, name]);
      tensors.set(name, { name, dtype: e.dtype, shape: e.shape as number[], byteLength: want, offset: dataStart + begin, file });
    }
    spans.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++) {
      if (spans[i][0] < spans[i - 1][1]) throw new SafetensorsError(file, `tensors ${spans[i - 1][2]} and ${spans[i][2]} overlap`);
    }
    return new SafetensorsFile(source, tensors, metadata);
  }

  info(name: string): TensorInfo {
    const t = this.tensors.get(name);
    if (!t) throw new SafetensorsError(this.source.name, `no tensor named ${name}`);
    return t;
  }

  /** The raw little-endian bytes of one tensor. */
  async read(name: string): Promise<Uint8Array> {
    const t = this.info(name);
    return await this.source.read(t.offset, t.byteLength);
  }
}

/** Tensor bytes in one of the GPU-loadable dtypes, or a clear error. */
export function expectLoadable(t: TensorInfo): FloatDType {
  if (!(LOADABLE_DTYPES as readonly string[]).includes(t.dtype)) {
    throw new SafetensorsError(t.file, `tensor ${t.name} has dtype ${t.dtype}; kvscope loads ${LOADABLE_DTYPES.join(', ')}`);
  }
  return t.dtype as FloatDType;
}

/** A checkpoint: one model.safetensors, or the shards named by model.safetensors.index.json. */
export class Checkpoint {
  private constructor(private files: Map<string, SafetensorsFile>, private where: Map<string, string>, readonly origin: string) {}

  /**
   * Open from a way to get sources by file name: `open('model.safetensors.index.json')` etc. `list` is the
   * names present (for error messages and to find the single-file case).
   */
  static async open(origin: string, names: readonly string[], open: (name: string) => Promise<ByteSource>): Promise<Checkpoint> {
    const files = new Map<string, SafetensorsFile>();
    const where = new Map<string, string>();
    if (names.includes('model.safetensors.index.json')) {
      const src = await open('model.safetensors.index.json');
      let index: { weight_map?: Record<string, string> };
      try {
        index = JSON.parse(new TextDecoder().decode(await src.read(0, src.size)));
      } catch (e) {
        throw new SafetensorsError(`${origin}/model.safetensors.index.json`, `not valid JSON: ${(e as Error).message}`);
      }
      if (!index.weight_map || typeof index.weight_map !== 'object') {
        throw new SafetensorsError(`${origin}/model.safetensors.index.json`, 'has no weight_map');
      }
      for (const shard of new Set(Object.values(index.weight_map))) {
        if (!names.includes(shard)) throw new SafetensorsError(`${origin}/model.safetensors.index.json`, `names shard ${shard}, which is not in ${origin}`);
        files.set(shard, await SafetensorsFile.open(await open(shard)));
      }
      for (const [tensor, shard] of Object.entries(index.weight_map)) {
        if (!files.get(shard)!.tensors.has(tensor)) {
          throw new SafetensorsError(`${origin}/${shard}`, `model.safetensors.index.json maps tensor ${tensor} here, but the shard has no such tensor`);
        }
        where.set(tensor, shard);
      }
    } else if (names.includes('model.safetensors')) {
      const f = await SafetensorsFile.open(await open('model.safetensors'));
      files.set('model.safetensors', f);
      for (const t of f.tensors.keys()) where.set(t, 'model.safetensors');
    } else {
      throw new SafetensorsError(origin, 'has neither model.safetensors nor model.safetensors.index.json');
    }
    return new Checkpoint(files, where, origin);
  }

  /** A checkpoint directory on disk (Deno). */
  static async openDir(dir: string): Promise<Checkpoint> {
    const names: string[] = [];
    try {
      for await (const e of Deno.readDir(dir)) if (e.isFile) names.push(e.name);
    } catch (e) {
      throw new SafetensorsError(dir, `cannot read the checkpoint directory: ${(e as Error).message}`);
    }
    return await Checkpoint.open(dir, names, (n) => fileSource(`${dir}/${n}`));
  }

  tensorNames(): string[] {
    return [...this.where.keys()];
  }

  has(name: string): boolean {
    return this.where.has(name);
  }

  info(name: string): TensorInfo {
    const shard = this.where.get(name);
    if (!shard) throw new SafetensorsError(this.origin, `missing tensor ${name}`);
    return this.files.get(shard)!.info(name);
  }

  read(name: string): Promise<Uint8Array> {
    const shard = this.where.get(name);
    if (!shard) throw new SafetensorsError(this.origin, `missing tensor ${name}`);
    return this.files.get(shard)!.read(name);
  }

  get totalBytes(): number {
    let n = 0;
    for (const t of this.where.keys()) n += this.info(t).byteLength;
    return n;
  }
}

export interface TensorToWrite {
  name: string;
  dtype: string;
  shape: readonly number[];
  data: Uint8Array;
}

/** Serialise tensors (in the given order) as one safetensors file; the header is padded to 8 bytes as HF does. */
export function writeSafetensors(tensors: readonly TensorToWrite[], metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let at = 0;
  for (const t of tensors) {
    const size = SAFETENSORS_DTYPES[t.dtype];
    if (!size) throw new Error(`writeSafetensors: tensor ${t.name}: unknown dtype ${t.dtype}`);
    const want = t.shape.reduce((a, b) => a * b, 1) * size;
    if (t.data.byteLength !== want) throw new Error(`writeSafetensors: tensor ${t.name}: shape [${t.shape.join(', ')}] ${t.dtype} needs ${want} bytes, got ${t.data.byteLength}`);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + want] };
    at += want;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + new TextEncoder().encode(json).byteLength) % 8)) % 8);
  const hb = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + hb.byteLength + at);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.byteLength), true);
  out.set(hb, 8);
  let p = 8 + hb.byteLength;
  for (const t of tensors) {
    out.set(t.data, p);
    p += t.data.byteLength;
  }
  return out;
}
