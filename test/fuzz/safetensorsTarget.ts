// Fuzz target: safetensors files built valid (1–3 tensors, F32/F16/BF16/I64, shapes with zero dims) and then
// broken: bit flips and truncation anywhere, header fields removed / retyped / out of range (huge, negative and
// overlapping offsets, lying shapes), a lying header length, deep JSON, non-UTF-8 bytes in the header. Accepted
// files are checked against an independent reading of the bytes: every tensor in bounds, sized by its shape, not
// overlapping another, and read back as the exact bytes at its offset.
import fc from 'fast-check';
import { type ByteSource, SAFETENSORS_DTYPES, SafetensorsError, SafetensorsFile, writeSafetensors } from '../../src/io/safetensors.ts';
import type { FuzzTarget } from './fuzzOutcome.ts';
import { applyByteEdit, applyJsonEdit, byteEdits, deepJson, type JsonEdit, JSON_EDIT_OPS } from './mutations.ts';

export const SAFETENSORS_FILE = 'fuzz.safetensors';

/** A ByteSource over bytes in memory, strict about reads past the end as a file is. */
export function memorySource(bytes: Uint8Array, name: string): ByteSource {
  return {
    name,
    size: bytes.length,
    read(offset, length) {
      if (offset < 0 || length < 0 || offset + length > bytes.length) return Promise.reject(new SafetensorsError(name, `read of ${length} bytes at ${offset} is past the end (${bytes.length} bytes)`));
      return Promise.resolve(bytes.slice(offset, offset + length));
    },
  };
}

const tensorSpec = fc.record({
  dtype: fc.constantFrom('F32', 'F16', 'BF16', 'I64'),
  shape: fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 3 }),
  fill: fc.integer({ min: 0, max: 255 }),
});

type HeaderEdit =
  | { kind: 'field'; tensor: number; edit: JsonEdit }
  | { kind: 'overlap'; tensor: number }
  | { kind: 'length'; value: bigint }
  | { kind: 'deep'; depth: number }
  | { kind: 'nonUtf8'; at: number; byte: number };

type Edit = { kind: 'bytes'; edit: ReturnType<typeof byteEdits> extends fc.Arbitrary<infer E> ? E : never } | HeaderEdit;

const headerEdit: fc.Arbitrary<HeaderEdit> = fc.oneof(
  fc.record({
    kind: fc.constant('field' as const),
    tensor: fc.nat(2),
    edit: fc.record({ path: fc.constantFrom(['dtype'], ['shape'], ['shape', 0], ['data_offsets'], ['data_offsets', 0], ['data_offsets', 1]), op: fc.constantFrom(...JSON_EDIT_OPS) }),
  }),
  fc.record({ kind: fc.constant('overlap' as const), tensor: fc.nat(2) }),
  fc.record({ kind: fc.constant('length' as const), value: fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.constantFrom(0n, 1n, 2n ** 53n + 1n, 2n ** 63n, 100_000_001n)) }),
  fc.record({ kind: fc.constant('deep' as const), depth: fc.constantFrom(10, 1000, 100_000) }),
  fc.record({ kind: fc.constant('nonUtf8' as const), at: fc.nat(1000), byte: fc.constantFrom(0x80, 0xc0, 0xfe, 0xff, 0xed) }),
);

export interface SafetensorsInput {
  tensors: { dtype: string; shape: number[]; fill: number }[];
  edit: Edit;
}

function build(input: SafetensorsInput): Uint8Array {
  const tensors = input.tensors.map((t, i) => {
    const n = t.shape.reduce((a, b) => a * b, 1) * SAFETENSORS_DTYPES[t.dtype];
    return { name: `t${i}`, dtype: t.dtype, shape: t.shape, data: new Uint8Array(n).map((_, j) => (t.fill + j) & 255) };
  });
  const valid = writeSafetensors(tensors, { format: 'pt' });
  const e = input.edit;
  if (e.kind === 'bytes') return applyByteEdit(valid, e.edit);
  const dv = new DataView(valid.buffer);
  const n = Number(dv.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(valid.subarray(8, 8 + n)));
  const body = valid.subarray(8 + n);
  let headerBytes: Uint8Array;
  if (e.kind === 'length') {
    const out = valid.slice();
    new DataView(out.buffer).setBigUint64(0, e.value, true);
    return out;
  } else if (e.kind === 'deep') {
    headerBytes = new TextEncoder().encode(`{"t0": ${deepJson(e.depth)}}`);
  } else if (e.kind === 'nonUtf8') {
    headerBytes = new TextEncoder().encode(JSON.stringify(header));
    headerBytes = headerBytes.slice();
    headerBytes[e.at % headerBytes.length] = e.byte;
  } else {
    const name = `t${e.tensor % input.tensors.length}`;
    if (e.kind === 'overlap') {
      const other = `t${(e.tensor + 1) % input.tensors.length}`;
      header[name].data_offsets = [...header[other].data_offsets];
      if (name === other) header[name].data_offsets = [0, header[name].data_offsets[1] + 4];
    } else header[name] = applyJsonEdit(header[name], e.edit);
    headerBytes = new TextEncoder().encode(JSON.stringify(header));
  }
  const out = new Uint8Array(8 + headerBytes.length + body.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  out.set(body, 8 + headerBytes.length);
  return out;
}

interface Opened {
  bytes: Uint8Array;
  file: SafetensorsFile;
  reads: Map<string, Uint8Array>;
}

/** The independent reading: what an accepted file must satisfy. */
function checkOpened(r: Opened): string | null {
  const { bytes, file } = r;
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const dataStart = 8 + n;
  const spans: [number, number, string][] = [];
  for (const t of file.tensors.values()) {
    const size = SAFETENSORS_DTYPES[t.dtype];
    if (size !== undefined && t.shape.reduce((a, b) => a * b, 1) * size !== t.byteLength) return `${t.name}: shape ${t.shape} ${t.dtype} but ${t.byteLength} bytes`;
    if (!(t.offset >= dataStart && t.offset + t.byteLength <= bytes.length)) return `${t.name}: bytes ${t.offset}..${t.offset + t.byteLength} outside the data (${dataStart}..${bytes.length})`;
    if (t.byteLength > 0) spans.push([t.offset, t.offset + t.byteLength, t.name]); // empty tensors hold no bytes to share
    const got = r.reads.get(t.name);
    if (got) {
      const want = bytes.subarray(t.offset, t.offset + t.byteLength);
      if (got.length !== want.length || got.some((b, i) => b !== want[i])) return `${t.name}: read bytes differ from the file's`;
    }
  }
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) if (spans[i][0] < spans[i - 1][1]) return `${spans[i - 1][2]} and ${spans[i][2]} overlap`;
  return null;
}

export const safetensorsTarget: FuzzTarget<SafetensorsInput> = {
  name: 'safetensors (header + body)',
  file: SAFETENSORS_FILE,
  typed: ['SafetensorsError'],
  inputs: fc.record({
    tensors: fc.array(tensorSpec, { minLength: 1, maxLength: 3 }),
    edit: fc.oneof(byteEdits().map((edit) => ({ kind: 'bytes' as const, edit })), headerEdit) as fc.Arbitrary<Edit>,
  }),
  async run(input) {
    const bytes = build(input);
    const file = await SafetensorsFile.open(memorySource(bytes, SAFETENSORS_FILE));
    const reads = new Map<string, Uint8Array>();
    for (const t of file.tensors.values()) if (['F32', 'F16', 'BF16'].includes(t.dtype)) reads.set(t.name, await file.read(t.name));
    return { bytes, file, reads } satisfies Opened;
  },
  check: (r) => checkOpened(r as Opened),
  describe: (i) => JSON.stringify(i, (_, v) => (typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? `bytes[${v.length}]` : v)),
};
