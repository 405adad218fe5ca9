// Fuzz targets: PNG (every colour type, 8 and 16 bits, palette, interlaced), JPEG and BMP files built valid and then
// broken: bit flips, truncation, inserted / duplicated ranges, the header's size set to zero or huge (CRC kept
// right so the size itself is what is tested), and decompression bombs (a tiny file whose zlib stream inflates far
// past what its header needs, and headers over the pixel limit). A PNG accepted after an edit must decode to the
// very pixels of its base (PNG chunks carry CRCs; a changed pixel that passes is a silent wrong value). JPEG and
// BMP have no checksum, so a flipped bit in their pixel data can decode to other pixels: for them only the size
// and buffer length are checked.
import fc from 'fast-check';
import { zlibSync } from 'fflate';
import { encode as encodePng } from 'fast-png';
import jpeg from 'jpeg-js';
import { decodeImage, decodeLabelPng } from '../../src/io/image.ts';
import type { RgbImage } from '../../src/io/rgbImage.ts';
import type { FuzzTarget } from './fuzzOutcome.ts';
import { writeBmp } from '../io/bmpWriter.ts';
import { applyByteEdit, byteEdits, type ByteEdit } from './mutations.ts';

/** CRC-32 of a PNG chunk's type and data. */
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

function pattern(n: number, seed: number, max = 255): number[] {
  return Array.from({ length: n }, (_, i) => ((i * 37 + seed * 11) % (max + 1)));
}

type PngSpec = Parameters<typeof encodePng>[0];

const W = 7, H = 5;
const PNG_BASES: { label: string; png: Uint8Array }[] = ([
  ['grey 8', { width: W, height: H, channels: 1, depth: 8, data: new Uint8Array(pattern(W * H, 1)) }],
  ['grey 16', { width: W, height: H, channels: 1, depth: 16, data: new Uint16Array(pattern(W * H, 6, 65535)) }],
  ['grey+alpha 8', { width: W, height: H, channels: 2, depth: 8, data: new Uint8Array(pattern(W * H * 2, 2)) }],
  ['rgb 8', { width: W, height: H, channels: 3, depth: 8, data: new Uint8Array(pattern(W * H * 3, 3)) }],
  ['rgba 16', { width: W, height: H, channels: 4, depth: 16, data: new Uint16Array(pattern(W * H * 4, 4, 65535).map((x) => x * 257)) }],
  ['palette 8', { width: W, height: H, channels: 1, depth: 8, data: new Uint8Array(pattern(W * H, 5, 3)), palette: [[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255]] }],
] as [string, PngSpec][]).flatMap(([label, spec]) => [
  { label, png: encodePng(spec) },
  { label: `${label} interlaced`, png: encodePng(spec, { interlace: 'Adam7' }) },
]);

const triples = (v: number[]) => Array.from({ length: v.length / 3 }, (_, i) => v.slice(3 * i, 3 * i + 3));
const BMP_BASES: Uint8Array[] = [
  writeBmp(W, H, triples(pattern(W * H * 3, 7)), 24),
  writeBmp(W, H, pattern(W * H, 8, 3).map((i) => [i]), 8, { palette: [[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255]] }),
  writeBmp(W, H, triples(pattern(W * H * 3, 9)), 32, { topDown: true }),
];

const JPEG_BASES: { label: string; jpg: Uint8Array }[] = [[9, 6], [17, 16]].map(([w, h]) => {
  const rgba = new Uint8Array(w * h * 4).map((_, i) => (i % 4 === 3 ? 255 : (i * 29) & 255));
  return { label: `rgb ${w}×${h}`, jpg: new Uint8Array(jpeg.encode({ width: w, height: h, data: rgba }, 90).data) };
});

/** A PNG: signature, IHDR, IDAT of `compressed` (a zlib stream), IEND; CRCs right. */
function pngOf(width: number, height: number, depth: number, colourType: number, compressed: Uint8Array): Uint8Array {
  const chunk = (type: string, data: Uint8Array) => {
    const c = new Uint8Array(12 + data.length);
    const dv = new DataView(c.buffer);
    dv.setUint32(0, data.length);
    c.set(new TextEncoder().encode(type), 4);
    c.set(data, 8);
    dv.setUint32(8 + data.length, crc32(c.subarray(4, 8 + data.length)));
    return c;
  };
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, width);
  dv.setUint32(4, height);
  ihdr.set([depth, colourType, 0, 0, 0], 8);
  const parts = [new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', compressed), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** The base PNG with its IHDR size replaced and the CRC recomputed. */
function withSize(png: Uint8Array, width: number, height: number): Uint8Array {
  const out = png.slice();
  const dv = new DataView(out.buffer);
  dv.setUint32(16, width);
  dv.setUint32(20, height);
  dv.setUint32(29, crc32(out.subarray(12, 29)));
  return out;
}

/** The JPEG with its first SOF's height and width replaced. */
function jpegWithSize(jpg: Uint8Array, width: number, height: number): Uint8Array {
  const out = jpg.slice();
  for (let i = 2; i + 9 < out.length; i++) {
    if (out[i] === 0xff && out[i + 1] >= 0xc0 && out[i + 1] <= 0xc2) {
      const dv = new DataView(out.buffer);
      dv.setUint16(i + 5, height);
      dv.setUint16(i + 7, width);
      return out;
    }
  }
  return out;
}

export type ImageInput =
  | { kind: 'png'; base: number; edit: ByteEdit; label: boolean }
  | { kind: 'pngSize'; base: number; width: number; height: number }
  | { kind: 'bomb'; side: number; inflated: number }
  | { kind: 'jpeg'; base: number; edit: ByteEdit }
  | { kind: 'jpegSize'; base: number; width: number; height: number }
  | { kind: 'bmp'; base: number; edit: ByteEdit };

/** zlib streams of zeros, made once (outside the timed decode): 1 MiB, 32 MiB and 128 MiB inflated. */
const BOMB_SIZES = [1 << 20, 32 << 20, 128 << 20];
const ZEROS = BOMB_SIZES.map((n) => zlibSync(new Uint8Array(n), { level: 9 }));

const dim = fc.oneof(fc.constantFrom(0, 1, 65535, 65536, 100_000, 2 ** 31 - 1, 2 ** 32 - 1), fc.integer({ min: 0, max: 40 }));

export const imageInputs: fc.Arbitrary<ImageInput> = fc.oneof(
  fc.record({ kind: fc.constant('png' as const), base: fc.nat(PNG_BASES.length - 1), edit: byteEdits(), label: fc.boolean() }),
  fc.record({ kind: fc.constant('pngSize' as const), base: fc.nat(PNG_BASES.length - 1), width: dim, height: dim }),
  fc.record({ kind: fc.constant('bomb' as const), side: fc.constantFrom(1, 64, 1000, 20000, 50000), inflated: fc.nat(BOMB_SIZES.length - 1) }),
  fc.record({ kind: fc.constant('jpeg' as const), base: fc.nat(JPEG_BASES.length - 1), edit: byteEdits() }),
  fc.record({ kind: fc.constant('bmp' as const), base: fc.nat(BMP_BASES.length - 1), edit: byteEdits() }),
  fc.record({ kind: fc.constant('jpegSize' as const), base: fc.nat(JPEG_BASES.length - 1), width: fc.oneof(fc.constantFrom(0, 1, 65535), fc.integer({ min: 0, max: 40 })), height: fc.oneof(fc.constantFrom(0, 1, 65535), fc.integer({ min: 0, max: 40 })) }),
) as fc.Arbitrary<ImageInput>;

const BASE_PIXELS = PNG_BASES.map((b) => decodeImage(b.png, 'base.png'));

export function imageBytes(input: ImageInput): Uint8Array {
  switch (input.kind) {
    case 'png': return applyByteEdit(PNG_BASES[input.base].png, input.edit);
    case 'pngSize': return withSize(PNG_BASES[input.base].png, input.width, input.height);
    case 'bomb': return pngOf(input.side, input.side, 8, 0, ZEROS[input.inflated]);
    case 'jpeg': return applyByteEdit(JPEG_BASES[input.base].jpg, input.edit);
    case 'jpegSize': return jpegWithSize(JPEG_BASES[input.base].jpg, input.width, input.height);
    case 'bmp': return applyByteEdit(BMP_BASES[input.base], input.edit);
  }
}

export const imageTarget: FuzzTarget<ImageInput> = {
  name: 'PNG / JPEG / BMP decode',
  file: 'fuzz.img',
  typed: ['ImageError'],
  inputs: imageInputs,
  run(input) {
    const bytes = imageBytes(input);
    if (input.kind === 'png' && input.label) return decodeLabelPng(bytes, 'fuzz.img');
    return decodeImage(bytes, 'fuzz.img');
  },
  check(result, input) {
    const img = result as RgbImage & { palette?: unknown };
    if (!(img.width > 0 && img.height > 0)) return `size ${img.width}×${img.height}`;
    const channels = input.kind === 'png' && input.label ? 1 : 3;
    if (img.data.length !== img.width * img.height * channels) return `${img.width}×${img.height} with ${img.data.length} bytes`;
    if (input.kind === 'png' && !input.label) {
      const want = BASE_PIXELS[input.base];
      if (img.width !== want.width || img.height !== want.height || img.data.some((v, i) => v !== want.data[i])) return `PNG decoded to other pixels than its base (${PNG_BASES[input.base].label})`;
    }
    if (input.kind === 'bomb' || input.kind === 'pngSize') {
      if (input.kind === 'pngSize' && (img.width !== input.width || img.height !== input.height)) return `decoded ${img.width}×${img.height}, header says ${input.width}×${input.height}`;
    }
    return null;
  },
  describe: (i) => JSON.stringify(i, (_, v) => (v instanceof Uint8Array ? `bytes[${v.length}]` : v)),
};
