// Input mutations for the fuzz targets, as fast-check arbitraries over a valid base: byte-level (bit flips,
// truncation anywhere, inserted/overwritten/duplicated ranges) and JSON-level (one field removed, given another
// type, set out of range), so every field of a config and every byte of a file gets its turn.
import fc from 'fast-check';

export type ByteEdit =
  | { kind: 'flip'; at: number[]; bit: number }
  | { kind: 'truncate'; length: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'overwrite'; at: number; bytes: Uint8Array }
  | { kind: 'duplicate'; from: number; length: number; at: number };

/** Edits of a file of `size` bytes (positions are fractions so the same edit fits any base). */
export function byteEdits(): fc.Arbitrary<ByteEdit> {
  const frac = fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true });
  return fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.array(frac, { minLength: 1, maxLength: 8 }).map((a) => a.map((x) => x * 1e9)), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('truncate' as const), length: frac.map((x) => x * 1e9) }),
    fc.record({ kind: fc.constant('insert' as const), at: frac.map((x) => x * 1e9), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
    fc.record({ kind: fc.constant('overwrite' as const), at: frac.map((x) => x * 1e9), bytes: fc.uint8Array({ minLength: 1, maxLength: 32 }) }),
    fc.record({ kind: fc.constant('duplicate' as const), from: frac.map((x) => x * 1e9), length: fc.integer({ min: 1, max: 4096 }), at: frac.map((x) => x * 1e9) }),
  ).map((e) => e as ByteEdit);
}

/** Apply an edit; positions (×1e9 fractions) are scaled to the base's size. */
export function applyByteEdit(base: Uint8Array, e: ByteEdit): Uint8Array {
  const pos = (x: number) => Math.floor((x / 1e9) * base.length);
  switch (e.kind) {
    case 'flip': {
      const out = base.slice();
      for (const a of e.at) if (out.length) out[pos(a)] ^= 1 << e.bit;
      return out;
    }
    case 'truncate':
      return base.slice(0, pos(e.length));
    case 'insert': {
      const at = pos(e.at);
      const out = new Uint8Array(base.length + e.bytes.length);
      out.set(base.subarray(0, at));
      out.set(e.bytes, at);
      out.set(base.subarray(at), at + e.bytes.length);
      return out;
    }
    case 'overwrite': {
      const out = base.slice();
      out.set(e.bytes.subarray(0, Math.max(0, out.length - pos(e.at))), pos(e.at));
      return out;
    }
    case 'duplicate': {
      const from = pos(e.from), at = pos(e.at);
      const piece = base.slice(from, from + e.length);
      const out = new Uint8Array(base.length + piece.length);
      out.set(base.subarray(0, at));
      out.set(piece, at);
      out.set(base.subarray(at), at + piece.length);
      return out;
    }
  }
}

export type JsonEditOp = 'remove' | 'string' | 'bool' | 'null' | 'array' | 'object' | 'zero' | 'negative' | 'huge' | 'fraction' | 'tiny';
export const JSON_EDIT_OPS: readonly JsonEditOp[] = ['remove', 'string', 'bool', 'null', 'array', 'object', 'zero', 'negative', 'huge', 'fraction', 'tiny'];

export interface JsonEdit {
  path: readonly (string | number)[];
  op: JsonEditOp;
}

/** Every path to a value inside `v` (objects and arrays, to a depth of 4 array elements each). */
export function jsonPaths(v: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [];
  if (Array.isArray(v)) v.slice(0, 4).forEach((x, i) => out.push([...prefix, i], ...jsonPaths(x, [...prefix, i])));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push([...prefix, k], ...jsonPaths(x, [...prefix, k]));
  return out;
}

export function jsonEdits(base: unknown): fc.Arbitrary<JsonEdit> {
  const paths = jsonPaths(base);
  return fc.record({ path: fc.constantFrom(...paths), op: fc.constantFrom(...JSON_EDIT_OPS) });
}

function replacement(op: JsonEditOp, old: unknown): unknown {
  switch (op) {
    case 'string': return typeof old === 'string' ? `${old}\u0000x` : String(old);
    case 'bool': return typeof old === 'boolean' ? !old : true;
    case 'null': return null;
    case 'array': return Array.isArray(old) ? [] : [old];
    case 'object': return Array.isArray(old) || typeof old !== 'object' ? { value: old } : {};
    case 'zero': return 0;
    case 'negative': return typeof old === 'number' ? -Math.abs(old) - 1 : -1;
    case 'huge': return 1e300;
    case 'fraction': return typeof old === 'number' ? old + 0.5 : 0.5;
    case 'tiny': return 5e-324;
    case 'remove': return undefined;
  }
}

/** A deep copy of `base` with one edit applied. */
export function applyJsonEdit<T>(base: T, e: JsonEdit): T {
  const out = structuredClone(base) as unknown;
  let at = out as Record<string | number, unknown>;
  for (const k of e.path.slice(0, -1)) at = at[k] as Record<string | number, unknown>;
  const last = e.path[e.path.length - 1];
  if (e.op === 'remove') {
    if (Array.isArray(at)) at.splice(last as number, 1);
    else delete at[last];
  } else at[last] = replacement(e.op, at[last]);
  return out as T;
}

/** Read a value at a path (undefined when any step is missing). */
export function atPath(v: unknown, path: readonly (string | number)[]): unknown {
  let at = v as Record<string | number, unknown> | undefined;
  for (const k of path) {
    if (at === null || typeof at !== 'object') return undefined;
    at = at[k] as Record<string | number, unknown> | undefined;
  }
  return at;
}

/** JSON text `depth` arrays deep (a stack-exhaustion probe for parsers). */
export function deepJson(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth);
}
