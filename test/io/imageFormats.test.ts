// BMP through bmp-js (MSRC-v2's format) and EXIF orientation through exifr, on files written here byte by byte:
// 24-bit bottom-up and top-down, 32-bit, 8-bit palette BMPs decode to their exact pixels; truncated, zero-size and
// huge BMPs are ImageErrors; a JPEG with an APP1 Exif Orientation tag comes out upright for each of the 8 values
// (readImage / decodeImageOriented), decodeImage keeps the stored pixels; decompression bombs are refused early.
import jpeg from 'jpeg-js';
import { zlibSync } from 'fflate';
import { decodeImage, decodeImageOriented, ImageError, orientImage, readImage } from '../../src/io/image.ts';
import { assert, assertEquals, assertThrows } from '../gpu/assert.ts';
import { writeBmp } from './bmpWriter.ts';

const W = 5, H = 3;
const PIXELS = Array.from({ length: W * H }, (_, i) => [(i * 17) & 255, (i * 53 + 9) & 255, (255 - i * 11) & 255]);
const rgbOf = (data: Uint8Array) => Array.from({ length: data.length / 3 }, (_, i) => [data[3 * i], data[3 * i + 1], data[3 * i + 2]]);

Deno.test('BMP (bmp-js): 24-bit bottom-up and top-down, 32-bit, 8-bit palette → exact RGB', () => {
  for (const [label, file] of [
    ['24-bit', writeBmp(W, H, PIXELS, 24)],
    ['24-bit top-down', writeBmp(W, H, PIXELS, 24, { topDown: true })],
    ['32-bit', writeBmp(W, H, PIXELS, 32)],
  ] as const) {
    const img = decodeImage(file, `${label}.bmp`);
    assertEquals([img.width, img.height], [W, H], `${label} size`);
    assertEquals(rgbOf(img.data), PIXELS, `${label} pixels`);
  }
  const palette = [[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0]];
  const idx = Array.from({ length: W * H }, (_, i) => [i % 4]);
  const img = decodeImage(writeBmp(W, H, idx, 8, { palette }), 'p.bmp');
  assertEquals(rgbOf(img.data), idx.map(([i]) => palette[i]), '8-bit palette colours');
});

Deno.test('BMP errors: truncated, zero size, over the pixel limit, OS/2 header — each an ImageError naming the file', () => {
  const good = writeBmp(W, H, PIXELS, 24);
  const e = assertThrows(() => decodeImage(good.subarray(0, good.length - 5), 'cut.bmp'), /cut\.bmp: truncated BMP: 5×3 at 24 bits needs 48 pixel bytes/, 'truncated');
  assert(e instanceof ImageError, 'typed');
  assertThrows(() => decodeImage(good.subarray(0, 20), 'head.bmp'), /head\.bmp: truncated BMP \(20 bytes/, 'header cut');
  const zero = good.slice();
  new DataView(zero.buffer).setInt32(18, 0, true);
  assertThrows(() => decodeImage(zero, 'zero.bmp'), /zero\.bmp: BMP of size 0×3; images must be at least 1×1/, 'zero width');
  const huge = good.slice();
  new DataView(huge.buffer).setInt32(18, 100_000, true);
  new DataView(huge.buffer).setInt32(22, 100_000, true);
  assertThrows(() => decodeImage(huge, 'huge.bmp'), /huge\.bmp: BMP of 100000×100000 = 10000000000 pixels is over the 178956970-pixel limit/, 'bomb');
  const os2 = good.slice();
  new DataView(os2.buffer).setUint32(14, 12, true);
  assertThrows(() => decodeImage(os2, 'os2.bmp'), /os2\.bmp: BMP with a 12-byte info header/, 'OS/2');
});

/** The JPEG with an APP1 "Exif" segment (little-endian TIFF, IFD0 holding Orientation = o) after SOI. */
function withOrientation(jpg: Uint8Array, o: number): Uint8Array {
  const tiff = new Uint8Array(8 + 2 + 12 + 4);
  const dv = new DataView(tiff.buffer);
  tiff.set([0x49, 0x49, 0x2a, 0x00]);
  dv.setUint32(4, 8, true);
  dv.setUint16(8, 1, true);
  dv.setUint16(10, 0x0112, true); // Orientation
  dv.setUint16(12, 3, true); // SHORT
  dv.setUint32(14, 1, true);
  dv.setUint16(18, o, true);
  const body = new Uint8Array([...new TextEncoder().encode('Exif'), 0, 0, ...tiff]);
  const seg = new Uint8Array(4 + body.length);
  seg.set([0xff, 0xe1, (body.length + 2) >> 8, (body.length + 2) & 255]);
  seg.set(body, 4);
  return new Uint8Array([...jpg.subarray(0, 2), ...seg, ...jpg.subarray(2)]);
}

// 16×8 in four 8×4 quadrants: TL red, TR green, BL blue, BR white (big blocks survive JPEG's loss)
const QW = 16, QH = 8;
const QUAD = [[230, 20, 20], [20, 230, 20], [20, 20, 230], [240, 240, 240]];
function quadrantJpeg(): Uint8Array {
  const rgba = new Uint8Array(QW * QH * 4);
  for (let y = 0; y < QH; y++) for (let x = 0; x < QW; x++) rgba.set([...QUAD[(y < QH / 2 ? 0 : 2) + (x < QW / 2 ? 0 : 1)], 255], 4 * (y * QW + x));
  return new Uint8Array(jpeg.encode({ width: QW, height: QH, data: rgba }, 95).data);
}
/** Which quadrant colour is at (x, y): the index of the nearest of QUAD. */
function colourAt(img: { width: number; data: Uint8Array }, x: number, y: number): number {
  const p = img.data.subarray(3 * (y * img.width + x), 3 * (y * img.width + x) + 3);
  let best = 0, bestD = Infinity;
  QUAD.forEach((c, i) => {
    const d = c.reduce((a, v, k) => a + (v - p[k]) ** 2, 0);
    if (d < bestD) [best, bestD] = [i, d];
  });
  return best;
}

Deno.test('EXIF orientation (exifr): each of 1..8 comes out upright; decodeImage keeps the stored pixels', async () => {
  const base = quadrantJpeg();
  // corners (TL, TR, BL, BR) of the upright image, as quadrant indices (0 red, 1 green, 2 blue, 3 white), per EXIF value
  const want: Record<number, [number, number, number, number, number, number]> = {
    1: [QW, QH, 0, 1, 2, 3], 2: [QW, QH, 1, 0, 3, 2], 3: [QW, QH, 3, 2, 1, 0], 4: [QW, QH, 2, 3, 0, 1],
    5: [QH, QW, 0, 2, 1, 3], 6: [QH, QW, 2, 0, 3, 1], 7: [QH, QW, 3, 1, 2, 0], 8: [QH, QW, 1, 3, 0, 2],
  };
  const dir = await Deno.makeTempDir({ prefix: 'kvscope-exif-' });
  try {
    for (let o = 1; o <= 8; o++) {
      const file = withOrientation(base, o);
      const stored = decodeImage(file, `o${o}.jpg`);
      assertEquals([stored.width, stored.height, colourAt(stored, 0, 0), colourAt(stored, QW - 1, 0)], [QW, QH, 0, 1], `orientation ${o}: decodeImage keeps the stored frame`);
      await Deno.writeFile(`${dir}/o${o}.jpg`, file);
      for (const img of [await decodeImageOriented(file, `o${o}.jpg`), await readImage(`${dir}/o${o}.jpg`)]) {
        const [w, h, ...corners] = want[o];
        assertEquals([img.width, img.height], [w, h], `orientation ${o} size`);
        assertEquals([colourAt(img, 0, 0), colourAt(img, w - 1, 0), colourAt(img, 0, h - 1), colourAt(img, w - 1, h - 1)], corners, `orientation ${o} corners`);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  // orientImage on exact pixels: 6 (rotate 90° CW) of a 3×2 image
  const img = { width: 3, height: 2, data: Uint8Array.from([1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5, 6, 6, 6]) };
  const r = orientImage(img, 6);
  assertEquals([r.width, r.height, Array.from(r.data).filter((_, i) => i % 3 === 0)], [2, 3, [4, 1, 5, 2, 6, 3]], 'rotate 90° CW exactly');
  assertThrows(() => orientImage(img, 9), /EXIF orientation 9 is not 1\.\.8/, 'bad value');
});

Deno.test('decompression bombs and zero sizes are refused before decoding', () => {
  // a 1×1 PNG whose zlib stream inflates to 32 MiB; a 20000×20000 PNG header; a zero-height PNG
  const png = (w: number, h: number, raw: Uint8Array) => {
    const crc = (b: Uint8Array) => { let c = 0xffffffff; for (const x of b) { c ^= x; for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1; } return (c ^ 0xffffffff) >>> 0; };
    const chunk = (t: string, d: Uint8Array) => { const c = new Uint8Array(12 + d.length); const v = new DataView(c.buffer); v.setUint32(0, d.length); c.set(new TextEncoder().encode(t), 4); c.set(d, 8); v.setUint32(8 + d.length, crc(c.subarray(4, 8 + d.length))); return c; };
    const ihdr = new Uint8Array(13); const v = new DataView(ihdr.buffer); v.setUint32(0, w); v.setUint32(4, h); ihdr.set([8, 0, 0, 0, 0], 8);
    return new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...chunk('IHDR', ihdr), ...chunk('IDAT', zlibSync(raw)), ...chunk('IEND', new Uint8Array(0))]);
  };
  assertThrows(() => decodeImage(png(1, 1, new Uint8Array(32 << 20)), 'bomb.png'), /bomb\.png: PNG image data inflates past 65538 bytes, more than a 1×1 8-bit image needs \(2\): corrupt or a decompression bomb/, 'inflate bomb');
  assertThrows(() => decodeImage(png(20000, 20000, new Uint8Array(10)), 'big.png'), /big\.png: PNG of 20000×20000 = 400000000 pixels is over the 178956970-pixel limit/, 'pixel limit');
  assertThrows(() => decodeImage(png(4, 0, new Uint8Array(0)), 'flat.png'), /flat\.png: PNG of size 4×0; images must be at least 1×1/, 'zero height');
});
