// Test-only writers for tiny copies of the dataset layouts: a directory tree, PNG/JPEG files, Python
// protocol-2 pickles (hand-written opcodes) and parquet files. No parquet writer is installed (hyparquet only
// reads), so `writeParquet` is a minimal one: one row group, one data page (v1) per column, PLAIN values,
// RLE levels, uncompressed, Dremel shredding for optional fields, structs and 3-level LIST groups.

import { encode as encodePngFile } from 'fast-png';
import jpeg from 'jpeg-js';

// ---------------------------------------------------------------------------------------------------------------
// Files

const trees: string[] = [];
// The temp trees go when the test process ends.
globalThis.addEventListener('unload', () => {
  for (const dir of trees) Deno.removeSync(dir, { recursive: true });
});

/** Write files under a fresh temp dir (removed at exit); string values are UTF-8 text. Returns the dir. */
export async function writeTree(files: Record<string, Uint8Array | string>): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: 'kvscope-ds-' });
  trees.push(root);
  for (const [rel, content] of Object.entries(files)) {
    const path = `${root}/${rel}`;
    await Deno.mkdir(path.slice(0, path.lastIndexOf('/')), { recursive: true });
    await Deno.writeFile(path, typeof content === 'string' ? new TextEncoder().encode(content) : content);
  }
  return root;
}

/** 8-bit RGB PNG. */
export function rgbPng(width: number, height: number, rgb: Uint8Array): Uint8Array {
  return encodePngFile({ width, height, data: rgb, channels: 3, depth: 8 });
}

/** 8-bit grey PNG. */
export function greyPng(width: number, height: number, values: Uint8Array): Uint8Array {
  return encodePngFile({ width, height, data: values, channels: 1, depth: 8 });
}

/** 8-bit palette PNG holding the given indices (palette = VOC-like colours so renderings differ from indices). */
export function palettePng(width: number, height: number, indices: Uint8Array, palette: number[][]): Uint8Array {
  return encodePngFile({ width, height, data: indices, channels: 1, depth: 8, palette });
}

/** Baseline JPEG (quality 95) of an RGB buffer. */
export function rgbJpeg(width: number, height: number, rgb: Uint8Array): Uint8Array {
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    rgba.set(rgb.subarray(3 * i, 3 * i + 3), 4 * i);
    rgba[4 * i + 3] = 255;
  }
  return new Uint8Array(jpeg.encode({ width, height, data: rgba }, 95).data);
}

/** An RGB buffer filled with one colour. */
export function solid(width: number, height: number, [r, g, b]: readonly number[]): Uint8Array {
  const out = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) out.set([r, g, b], 3 * i);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Pickle, protocol 2 (as Python 2's cPickle.dump(obj, f, 2) would write: str as SHORT_BINSTRING/BINSTRING,
// unicode as BINUNICODE, containers memoised with BINPUT)

export type PickleValue = null | boolean | number | string | PickleValue[] | { [k: string]: PickleValue };

export function pickleProtocol2(value: PickleValue): Uint8Array {
  const out: number[] = [0x80, 2];
  let memo = 0;
  const u32 = (n: number) => out.push(n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255);
  const put = () => {
    if (memo < 256) out.push(0x71, memo++); // BINPUT
    else {
      out.push(0x72); // LONG_BINPUT
      u32(memo++);
    }
  };
  const write = (v: PickleValue): void => {
    if (v === null) out.push(0x4e); // NONE
    else if (v === true) out.push(0x88); // NEWTRUE
    else if (v === false) out.push(0x89); // NEWFALSE
    else if (typeof v === 'number') {
      if (Number.isInteger(v) && v >= 0 && v < 256) out.push(0x4b, v); // BININT1
      else if (Number.isInteger(v) && v >= 0 && v < 65536) out.push(0x4d, v & 255, v >> 8); // BININT2
      else if (Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31) {
        out.push(0x4a); // BININT
        u32(v);
      } else {
        out.push(0x47); // BINFLOAT, big-endian
        const b = new Uint8Array(8);
        new DataView(b.buffer).setFloat64(0, v, false);
        out.push(...b);
      }
    } else if (typeof v === 'string') {
      const bytes = new TextEncoder().encode(v);
      // deno-lint-ignore no-control-regex
      const ascii = /^[\x00-\x7f]*$/.test(v);
      if (ascii && bytes.length < 256) out.push(0x55, bytes.length, ...bytes); // SHORT_BINSTRING
      else if (ascii) {
        out.push(0x54); // BINSTRING
        u32(bytes.length);
        out.push(...bytes);
      } else {
        out.push(0x58); // BINUNICODE
        u32(bytes.length);
        out.push(...bytes);
      }
      put();
    } else if (Array.isArray(v)) {
      out.push(0x5d); // EMPTY_LIST
      put();
      if (v.length) {
        out.push(0x28); // MARK
        v.forEach(write);
        out.push(0x65); // APPENDS
      }
    } else {
      out.push(0x7d); // EMPTY_DICT
      put();
      const keys = Object.keys(v);
      if (keys.length) {
        out.push(0x28); // MARK
        for (const k of keys) {
          write(k);
          write(v[k]);
        }
        out.push(0x75); // SETITEMS
      }
    }
  };
  write(value);
  out.push(0x2e); // STOP
  return Uint8Array.from(out);
}

// ---------------------------------------------------------------------------------------------------------------
// Parquet

export type ParquetLeafType = 'string' | 'binary' | 'int32' | 'int64' | 'double' | 'boolean';
export type ParquetNode =
  | { type: ParquetLeafType; optional?: boolean }
  | { struct: Record<string, ParquetNode>; optional?: boolean }
  | { list: ParquetNode; optional?: boolean };

const PHYSICAL: Record<ParquetLeafType, number> = { boolean: 0, int32: 1, int64: 2, double: 5, string: 6, binary: 6 };

// Thrift compact protocol values.
type Thrift =
  | { i32: number } | { i64: number } | { bin: Uint8Array } | { str: string }
  | { struct: [number, Thrift][] } | { list: Thrift[]; elem: number };

function thriftType(t: Thrift): number {
  if ('i32' in t) return 5;
  if ('i64' in t) return 6;
  if ('bin' in t || 'str' in t) return 8;
  if ('list' in t) return 9;
  return 12;
}

function writeThrift(out: number[], t: Thrift): void {
  const varint = (n: bigint) => {
    while (n >= 0x80n) {
      out.push(Number(n & 0x7fn) | 0x80);
      n >>= 7n;
    }
    out.push(Number(n));
  };
  const zigzag = (n: number) => {
    const b = BigInt(n);
    varint(b >= 0n ? b << 1n : ((-b) << 1n) - 1n);
  };
  if ('i32' in t) zigzag(t.i32);
  else if ('i64' in t) zigzag(t.i64);
  else if ('bin' in t || 'str' in t) {
    const b = 'bin' in t ? t.bin : new TextEncoder().encode(t.str);
    varint(BigInt(b.length));
    out.push(...b);
  } else if ('list' in t) {
    if (t.list.length < 15) out.push((t.list.length << 4) | t.elem);
    else {
      out.push(0xf0 | t.elem);
      varint(BigInt(t.list.length));
    }
    for (const e of t.list) writeThrift(out, e);
  } else {
    let last = 0;
    for (const [id, v] of t.struct) {
      if (id - last > 0 && id - last <= 15) out.push(((id - last) << 4) | thriftType(v));
      else {
        out.push(thriftType(v));
        zigzag(id);
      }
      last = id;
      writeThrift(out, v);
    }
    out.push(0); // STOP
  }
}

interface Leaf {
  path: string[];
  type: ParquetLeafType;
  maxDef: number;
  maxRep: number;
  values: unknown[];
  defs: number[];
  reps: number[];
}

/** Bit-width of levels 0..max. */
function bitWidth(max: number): number {
  return max === 0 ? 0 : 32 - Math.clz32(max);
}

/** RLE/bit-packed hybrid with only RLE runs, 4-byte length prefix (data page v1 levels). */
function rleLevels(levels: number[], max: number): number[] {
  const width = Math.ceil(bitWidth(max) / 8);
  const body: number[] = [];
  for (let i = 0; i < levels.length;) {
    let j = i;
    while (j < levels.length && levels[j] === levels[i]) j++;
    let header = (j - i) << 1;
    while (header >= 0x80) {
      body.push((header & 0x7f) | 0x80);
      header >>>= 7;
    }
    body.push(header);
    for (let k = 0; k < width; k++) body.push((levels[i] >> (8 * k)) & 255);
    i = j;
  }
  const n = body.length;
  return [n & 255, (n >> 8) & 255, (n >> 16) & 255, (n >>> 24) & 255, ...body];
}

function plainValues(leaf: Leaf): number[] {
  const out: number[] = [];
  const vals = leaf.values;
  if (leaf.type === 'boolean') {
    for (let i = 0; i < vals.length; i += 8) {
      let byte = 0;
      for (let k = 0; k < 8 && i + k < vals.length; k++) if (vals[i + k]) byte |= 1 << k;
      out.push(byte);
    }
    return out;
  }
  for (const v of vals) {
    if (leaf.type === 'int32') {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setInt32(0, v as number, true);
      out.push(...b);
    } else if (leaf.type === 'int64') {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setBigInt64(0, BigInt(v as number), true);
      out.push(...b);
    } else if (leaf.type === 'double') {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setFloat64(0, v as number, true);
      out.push(...b);
    } else {
      const b = leaf.type === 'string' ? new TextEncoder().encode(v as string) : (v as Uint8Array);
      const n = b.length;
      out.push(n & 255, (n >> 8) & 255, (n >> 16) & 255, (n >>> 24) & 255, ...b);
    }
  }
  return out;
}

/**
 * A parquet file with the given top-level columns and rows (objects keyed by column name; null/undefined = null).
 * Lists are written in the 3-level form pyarrow uses: <name> (LIST) / repeated group list / element.
 */
export function writeParquet(columns: Record<string, ParquetNode>, rows: Record<string, unknown>[]): Uint8Array {
  const schema: Thrift[] = [{ struct: [[4, { str: 'schema' }], [5, { i32: Object.keys(columns).length }]] }];
  const leaves: Leaf[] = [];
  const leafOf = new Map<string, Leaf>();

  // Flatten the schema (depth-first) into SchemaElements and leaf columns with their max levels.
  const walk = (name: string, node: ParquetNode, path: string[], def: number, rep: number, repetition: number) => {
    const p = [...path, name];
    const d = def + (repetition === 0 ? 0 : 1);
    const r = rep + (repetition === 2 ? 1 : 0);
    const base: [number, Thrift][] = [[3, { i32: repetition }], [4, { str: name }]];
    if ('type' in node) {
      const el: [number, Thrift][] = [[1, { i32: PHYSICAL[node.type] }], ...base];
      if (node.type === 'string') el.push([6, { i32: 0 }]); // converted_type UTF8
      schema.push({ struct: el });
      const leaf: Leaf = { path: p, type: node.type, maxDef: d, maxRep: r, values: [], defs: [], reps: [] };
      leaves.push(leaf);
      leafOf.set(p.join('.'), leaf);
    } else if ('struct' in node) {
      schema.push({ struct: [...base, [5, { i32: Object.keys(node.struct).length }]] });
      for (const [k, child] of Object.entries(node.struct)) walk(k, child, p, d, r, child.optional ? 1 : 0);
    } else {
      schema.push({ struct: [...base, [5, { i32: 1 }], [6, { i32: 3 }]] }); // converted_type LIST
      schema.push({ struct: [[3, { i32: 2 }], [4, { str: 'list' }], [5, { i32: 1 }]] });
      walk('element', node.list, [...p, 'list'], d + 1, r + 1, node.list.optional ? 1 : 0);
    }
  };
  for (const [name, node] of Object.entries(columns)) walk(name, node, [], 0, 0, node.optional ? 1 : 0);

  const leavesUnder = (prefix: string) => leaves.filter((l) => l.path.join('.').startsWith(prefix + '.') || l.path.join('.') === prefix);
  const nullAt = (prefix: string, r: number, d: number) => {
    for (const l of leavesUnder(prefix)) {
      l.defs.push(d);
      l.reps.push(r);
    }
  };
  // Dremel shredding: r = repetition level of this value, d = definition level reached by its ancestors,
  // depth = number of repeated ancestors.
  const shred = (node: ParquetNode, value: unknown, path: string, r: number, d: number, depth: number) => {
    if (node.optional) {
      if (value === null || value === undefined) return nullAt(path, r, d);
      d++;
    } else if (value === null || value === undefined) {
      throw new Error(`writeParquet: required ${path} is null`);
    }
    if ('type' in node) {
      const l = leafOf.get(path)!;
      l.values.push(value);
      l.defs.push(d);
      l.reps.push(r);
    } else if ('struct' in node) {
      for (const [k, child] of Object.entries(node.struct)) shred(child, (value as Record<string, unknown>)[k], `${path}.${k}`, r, d, depth);
    } else {
      const items = value as unknown[];
      const elPath = `${path}.list.element`;
      if (items.length === 0) return nullAt(elPath, r, d);
      items.forEach((item, i) => shred(node.list, item, elPath, i === 0 ? r : depth + 1, d + 1, depth + 1));
    }
  };
  for (const row of rows) for (const [name, node] of Object.entries(columns)) shred(node, row[name], name, 0, 0, 0);

  const file: number[] = [0x50, 0x41, 0x52, 0x31]; // PAR1
  const chunks: Thrift[] = [];
  let total = 0;
  for (const l of leaves) {
    const body = [
      ...(l.maxRep > 0 ? rleLevels(l.reps, l.maxRep) : []),
      ...(l.maxDef > 0 ? rleLevels(l.defs, l.maxDef) : []),
      ...plainValues(l),
    ];
    const header: number[] = [];
    writeThrift(header, {
      struct: [
        [1, { i32: 0 }], [2, { i32: body.length }], [3, { i32: body.length }],
        [5, { struct: [[1, { i32: l.defs.length }], [2, { i32: 0 }], [3, { i32: 3 }], [4, { i32: 3 }]] }],
      ],
    });
    const offset = file.length;
    file.push(...header, ...body);
    const size = header.length + body.length;
    total += size;
    chunks.push({
      struct: [
        [2, { i64: offset }],
        [3, {
          struct: [
            [1, { i32: PHYSICAL[l.type] }], [2, { list: [{ i32: 0 }, { i32: 3 }], elem: 5 }],
            [3, { list: l.path.map((s) => ({ str: s })), elem: 8 }], [4, { i32: 0 }], [5, { i64: l.defs.length }],
            [6, { i64: size }], [7, { i64: size }], [9, { i64: offset }],
          ],
        }],
      ],
    });
  }
  const footer: number[] = [];
  writeThrift(footer, {
    struct: [
      [1, { i32: 1 }], [2, { list: schema, elem: 12 }], [3, { i64: rows.length }],
      [4, { list: [{ struct: [[1, { list: chunks, elem: 12 }], [2, { i64: total }], [3, { i64: rows.length }]] }], elem: 12 }],
    ],
  });
  const n = footer.length;
  file.push(...footer, n & 255, (n >> 8) & 255, (n >> 16) & 255, (n >>> 24) & 255, 0x50, 0x41, 0x52, 0x31);
  return Uint8Array.from(file);
}
