// Image files to 8-bit RGB (what the processors take) and label PNGs to their raw class indices; PNG via fast-png,
// JPEG via jpeg-js (EXIF orientation via exifr, for the images a person gives), BMP via bmp-js; the format is sniffed
// from the magic bytes, not the name. RGB conversion follows PIL as
// transformers uses it (`convert_rgb`): every mode goes to RGBA, is alpha-composited over opaque white with
// Pillow's integer `alpha_composite`, then RGB — so transparent pixels come out white, not black.
// decodeImage applies no EXIF orientation (PIL's Image.open neither); readImage / fetchImage / decodeImageOriented do,
// as transformers' load_image does. No ICC colour management (PIL applies none unless asked).
// Every error is an ImageError naming the file. Sizes are bounded before anything is inflated: at most
// MAX_IMAGE_PIXELS pixels (Pillow's DecompressionBombError threshold), and a PNG's zlib stream may not inflate to
// more than its header's size needs (a small file that inflates without end is refused, not decoded).
import bmp from 'bmp-js';
import exifr from 'exifr';
import { Unzlib } from 'fflate';
import { decode as decodePngFile, encode as encodePngFile } from 'fast-png';
import jpeg from 'jpeg-js';
import { checkRgbImage, type RgbImage } from './rgbImage.ts';

/** An image file kvscope cannot decode: the message starts with the file's name. */
export class ImageError extends Error {
  constructor(readonly file: string, detail: string) {
    super(`${file}: ${detail}`);
    this.name = 'ImageError';
  }
}

/** Pillow's DecompressionBombError threshold (2 × Image.MAX_IMAGE_PIXELS). */
export const MAX_IMAGE_PIXELS = 2 * 89_478_485;

/** A label map: one stored index per pixel (palette indices or grey values, never colours). */
export interface LabelImage {
  readonly width: number;
  readonly height: number;
  /** width·height indices, rows top to bottom. */
  readonly data: Uint8Array;
  /** The PNG's palette (RGB per index) when it has one, for rendering overlays in the dataset's colours. */
  readonly palette?: readonly (readonly number[])[];
  readonly source?: string;
}

export type ImageFormat = 'png' | 'jpeg' | 'bmp';

/** Formats recognised only to say so in the error. */
const UNSUPPORTED_MAGIC: [string, number[]][] = [
  ['GIF', [0x47, 0x49, 0x46, 0x38]],
  ['TIFF', [0x49, 0x49, 0x2a, 0x00]],
  ['TIFF', [0x4d, 0x4d, 0x00, 0x2a]],
  ['WebP (RIFF)', [0x52, 0x49, 0x46, 0x46]],
];

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const JPEG_MAGIC = [0xff, 0xd8, 0xff];
const BMP_MAGIC = [0x42, 0x4d];

function startsWith(bytes: Uint8Array, magic: readonly number[]): boolean {
  return bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);
}

/** PNG, JPEG or BMP from the first bytes; null when none. */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | null {
  if (startsWith(bytes, PNG_MAGIC)) return 'png';
  if (startsWith(bytes, JPEG_MAGIC)) return 'jpeg';
  if (startsWith(bytes, BMP_MAGIC)) return 'bmp';
  return null;
}

/** Decode a PNG, JPEG or BMP to 8-bit RGB, pixels as stored (no EXIF orientation: see decodeImageOriented). `name` is used in errors and kept as the image's source. */
export function decodeImage(bytes: Uint8Array, name: string): RgbImage {
  const format = checkedFormat(bytes, name);
  const img = format === 'png' ? pngToRgb(bytes, name) : format === 'bmp' ? bmpToRgb(bytes, name) : jpegToRgb(bytes, name);
  checkRgbImage(img, name);
  return img;
}

/** Read and decode an image file (Deno). */
export async function readImage(path: string): Promise<RgbImage> {
  if (typeof Deno === 'undefined') throw new ImageError(path, `readImage reads files with Deno; in a browser use fetchImage or decodeImage`);
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new ImageError(path, `cannot read: ${(e as Error).message}`);
  }
  return await decodeImageOriented(bytes, path);
}

/** Fetch and decode an image by URL (browser or Deno). */
export async function fetchImage(url: string): Promise<RgbImage> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new ImageError(url, `fetch failed: ${(e as Error).message}`);
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new ImageError(url, `HTTP ${res.status}`);
  }
  return await decodeImageOriented(new Uint8Array(await res.arrayBuffer()), url);
}

/**
 * Decode, then turn a JPEG upright by its EXIF Orientation tag (read with exifr), as transformers' `load_image`
 * does (`ImageOps.exif_transpose`). For images a person gives (--image, a URL); dataset readers keep the stored
 * pixels, since their annotations are in that frame.
 */
export async function decodeImageOriented(bytes: Uint8Array, name: string): Promise<RgbImage> {
  const img = decodeImage(bytes, name);
  if (sniffImageFormat(bytes) !== 'jpeg') return img;
  let orientation: number | undefined;
  try {
    orientation = await exifr.orientation(bytes);
  } catch {
    orientation = undefined; // unreadable EXIF: PIL's exif_transpose leaves the image as it is too
  }
  return orientation ? orientImage(img, orientation) : img;
}

/** EXIF orientation 1..8 applied: 2 mirror, 3 rotate 180°, 4 flip, 5 transpose, 6 rotate 90° CW, 7 transverse, 8 rotate 90° CCW. */
export function orientImage(img: RgbImage, orientation: number): RgbImage {
  if (!Number.isInteger(orientation) || orientation < 1 || orientation > 8) throw new ImageError(img.source ?? 'image', `EXIF orientation ${orientation} is not 1..8`);
  if (orientation === 1) return img;
  const { width: w, height: h } = img;
  const swap = orientation >= 5;
  const W = swap ? h : w, H = swap ? w : h;
  const out = new Uint8Array(W * H * 3);
  // for each output pixel (X, Y), the stored pixel (x, y) it shows
  const source: Record<number, (X: number, Y: number) => [number, number]> = {
    2: (X, Y) => [w - 1 - X, Y],
    3: (X, Y) => [w - 1 - X, h - 1 - Y],
    4: (X, Y) => [X, h - 1 - Y],
    5: (X, Y) => [Y, X],
    6: (X, Y) => [Y, h - 1 - X],
    7: (X, Y) => [w - 1 - Y, h - 1 - X],
    8: (X, Y) => [w - 1 - Y, X],
  };
  const at = source[orientation];
  for (let Y = 0; Y < H; Y++) {
    for (let X = 0; X < W; X++) {
      const [x, y] = at(X, Y);
      out.set(img.data.subarray(3 * (y * w + x), 3 * (y * w + x) + 3), 3 * (Y * W + X));
    }
  }
  return { width: W, height: H, data: out, source: img.source };
}

/** An RGB image as an 8-bit RGB PNG (overlays, previews). */
export function encodePng(img: RgbImage): Uint8Array {
  checkRgbImage(img, img.source ?? 'encodePng');
  return encodePngFile({ width: img.width, height: img.height, data: img.data, channels: 3, depth: 8 });
}

/**
 * The stored indices of a palette or greyscale PNG (DAVIS 2017 palette masks, VOC/SBD class PNGs): palette
 * indices as stored (not their colours), grey samples unscaled (a 2-bit grey stores 0..3 and gives 0..3; 16-bit
 * grey must hold values ≤ 255). Colour PNGs are refused: decode them with decodeImage and map colours to ids.
 */
export function decodeLabelPng(bytes: Uint8Array, name: string): LabelImage {
  const format = checkedFormat(bytes, name);
  if (format !== 'png') throw new ImageError(name, `a label map must be a PNG, this is ${format.toUpperCase()} (lossy compression would change the labels)`);
  const png = readPng(bytes, name);
  const { width, height, channels } = png;
  const indexed = png.palette !== undefined;
  if (channels !== 1) {
    throw new ImageError(name, `label PNG has ${channels} channels (${channels === 2 ? 'grey+alpha' : channels === 3 ? 'RGB' : 'RGBA'}); a label map must be palette or greyscale — decode it with decodeImage and map colours to class ids`);
  }
  const samples = unpackSamples(png, name);
  const out = new Uint8Array(width * height);
  for (let i = 0; i < out.length; i++) {
    const v = samples[i];
    if (v > 255) throw new ImageError(name, `16-bit label value ${v} at pixel (${i % width}, ${Math.floor(i / width)}) does not fit 8 bits`);
    out[i] = v;
  }
  return indexed ? { width, height, data: out, palette: png.palette!.map((c) => c.slice(0, 3)), source: name } : { width, height, data: out, source: name };
}

function checkedFormat(bytes: Uint8Array, name: string): ImageFormat {
  if (bytes.length === 0) throw new ImageError(name, `empty file (0 bytes)`);
  const format = sniffImageFormat(bytes);
  if (format) return format;
  const other = UNSUPPORTED_MAGIC.find(([, magic]) => startsWith(bytes, magic));
  const head = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
  if (other) throw new ImageError(name, `${other[0]} images are not supported (kvscope decodes PNG, JPEG and BMP)`);
  throw new ImageError(name, `not a PNG, JPEG or BMP (first bytes ${head})`);
}

interface Png {
  width: number;
  height: number;
  channels: number;
  depth: number;
  data: Uint8Array | Uint16Array;
  palette?: number[][];
  transparency?: Uint16Array;
}

/** fast-png decode with CRC checks, its data size checked against the header (a short IDAT is truncation). */
function readPng(bytes: Uint8Array, name: string): Png {
  checkPngBounds(bytes, name);
  let png: ReturnType<typeof decodePngFile>;
  try {
    png = decodePngFile(bytes, { checkCrc: true });
  } catch (e) {
    const cause = (e as Error & { cause?: Error }).cause;
    throw new ImageError(name, `corrupt or truncated PNG (${bytes.length} bytes): ${(e as Error).message}${cause ? `: ${cause.message}` : ''}`);
  }
  const { width, height, channels, depth } = png;
  if (!(width > 0 && height > 0)) throw new ImageError(name, `PNG of size ${width}×${height}; images must be at least 1×1`);
  const rowBytes = depth < 8 ? Math.ceil((width * channels * depth) / 8) : width * channels;
  const want = rowBytes * height;
  if (!png.data || png.data.length !== want) {
    throw new ImageError(name, `truncated or corrupt PNG: ${width}×${height}, ${channels} channel(s) at ${depth} bits needs ${want} samples, the image data held ${png.data?.length ?? 0}`);
  }
  if (png.palette !== undefined && depth === 16) throw new ImageError(name, `16-bit palette PNG is invalid`);
  return { width, height, channels, depth, data: png.data as Uint8Array | Uint16Array, palette: png.palette, transparency: png.transparency };
}

const PNG_CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/**
 * Before decoding: the IHDR's size within MAX_IMAGE_PIXELS, and the IDAT stream inflating (counted, streamed, not
 * kept) to no more than the filtered scanlines that size needs (+ 64 KiB slack) — a decompression bomb is refused
 * here. Files whose chunks do not parse are left to the decoder, which names the corruption.
 */
function checkPngBounds(bytes: Uint8Array, name: string): void {
  if (bytes.length < 33) return;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR' || dv.getUint32(8) !== 13) return;
  const width = dv.getUint32(16), height = dv.getUint32(20), depth = bytes[24], colourType = bytes[25], interlace = bytes[28];
  if (width === 0 || height === 0) throw new ImageError(name, `PNG of size ${width}×${height}; images must be at least 1×1`);
  if (width * height > MAX_IMAGE_PIXELS) {
    throw new ImageError(name, `PNG of ${width}×${height} = ${width * height} pixels is over the ${MAX_IMAGE_PIXELS}-pixel limit (a decompression bomb, as Pillow calls it)`);
  }
  const channels = PNG_CHANNELS[colourType];
  if (channels === undefined || ![1, 2, 4, 8, 16].includes(depth)) return;
  const bitsPerPixel = channels * depth;
  const scanlines = (w: number, h: number) => (w && h ? h * (1 + Math.ceil((w * bitsPerPixel) / 8)) : 0);
  let need = 0;
  if (interlace === 1) {
    // Adam7 passes: (x0, y0, dx, dy)
    for (const [x0, y0, dx, dy] of [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]]) {
      need += scanlines(Math.ceil((width - x0) / dx), Math.ceil((height - y0) / dy));
    }
  } else need = scanlines(width, height);
  const limit = need + 65536;
  let inflated = 0;
  const stream = new Unzlib((chunk) => {
    inflated += chunk.length;
    if (inflated > limit) throw new ImageError(name, `PNG image data inflates past ${limit} bytes, more than a ${width}×${height} ${depth}-bit image needs (${need}): corrupt or a decompression bomb`);
  });
  let at = 8;
  try {
    while (at + 12 <= bytes.length) {
      const length = dv.getUint32(at);
      const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
      if (at + 12 + length > bytes.length) return;
      if (type === 'IDAT') {
        const data = bytes.subarray(at + 8, at + 8 + length);
        // push in 4 KiB pieces: one piece inflates to at most ~4 MiB (deflate tops out near 1032:1)
        for (let p = 0; p < data.length; p += 4096) stream.push(data.subarray(p, Math.min(p + 4096, data.length)));
      }
      if (type === 'IEND') break;
      at += 12 + length;
    }
  } catch (e) {
    if (e instanceof ImageError) throw e;
    // a zlib error: the decoder below reports it with the file's context
  }
}

/** One sample per channel per pixel as stored (sub-byte depths unpacked from their byte-aligned rows). */
function unpackSamples(png: Png, name: string): Uint8Array | Uint16Array {
  const { width, height, channels, depth, data } = png;
  if (depth >= 8) return data;
  const perRow = width * channels;
  const rowBytes = Math.ceil((perRow * depth) / 8);
  const out = new Uint8Array(perRow * height);
  const mask = (1 << depth) - 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < perRow; x++) {
      const bit = x * depth;
      const byte = data[y * rowBytes + (bit >> 3)];
      out[y * perRow + x] = (byte >> (8 - depth - (bit & 7))) & mask;
    }
  }
  if (out.length !== width * height * channels) throw new ImageError(name, `internal: unpacked ${out.length} samples`);
  return out;
}

/** Pillow's `alpha_composite` of (r, g, b, a) over opaque white, one channel: integer, 7 fractional bits. */
function overWhite(c: number, a: number): number {
  if (a === 0) return 255; // Pillow copies the destination pixel
  // outa255 = a·255 + 255·(255 − a); coef1 = a·255²·128 / outa255 (= 128a here); coef2 = 255·128 − coef1
  const outa255 = a * 255 + 255 * (255 - a);
  const coef1 = Math.floor((a * 255 * 255 * 128) / outa255);
  const coef2 = 255 * 128 - coef1;
  const t = c * coef1 + 255 * coef2 + (0x80 << 7);
  // SHIFTFORDIV255(t) = ((t >> 8) + t) >> 8, then drop the 7 extra bits
  return (((t >> 8) + t) >> 8) >> 7;
}

/** PNG to RGB as PIL's convert('RGBA') then composite over white then convert('RGB'). */
function pngToRgb(bytes: Uint8Array, name: string): RgbImage {
  const png = readPng(bytes, name);
  const { width, height, channels, depth } = png;
  const samples = unpackSamples(png, name);
  const n = width * height;
  const rgb = new Uint8Array(n * 3);
  // sample -> 8 bits: 16-bit keeps the high byte (PIL's ";16B" unpackers); 1/2/4-bit grey scales to 0..255
  const to8 = depth === 16 ? (v: number) => v >> 8 : depth < 8 ? (v: number) => Math.round((v * 255) / ((1 << depth) - 1)) : (v: number) => v;
  const put = (i: number, r: number, g: number, b: number, a: number) => {
    rgb[3 * i] = overWhite(r, a);
    rgb[3 * i + 1] = overWhite(g, a);
    rgb[3 * i + 2] = overWhite(b, a);
  };
  const key = png.transparency; // tRNS colour key (grey: [k], RGB: [r, g, b]) in sample units
  if (png.palette) {
    const palette = png.palette;
    for (let i = 0; i < n; i++) {
      const c = palette[samples[i]];
      if (!c) throw new ImageError(name, `palette index ${samples[i]} at pixel (${i % width}, ${Math.floor(i / width)}) is past the ${palette.length}-colour palette`);
      put(i, c[0], c[1], c[2], c.length > 3 ? c[3] : 255);
    }
  } else if (channels === 1) {
    for (let i = 0; i < n; i++) {
      const v = samples[i];
      const g = to8(v);
      put(i, g, g, g, key && key.length >= 1 && v === key[0] ? 0 : 255);
    }
  } else if (channels === 2) {
    for (let i = 0; i < n; i++) {
      const g = to8(samples[2 * i]);
      put(i, g, g, g, to8(samples[2 * i + 1]));
    }
  } else if (channels === 3) {
    for (let i = 0; i < n; i++) {
      const r = samples[3 * i], g = samples[3 * i + 1], b = samples[3 * i + 2];
      const clear = key && key.length >= 3 && r === key[0] && g === key[1] && b === key[2];
      put(i, to8(r), to8(g), to8(b), clear ? 0 : 255);
    }
  } else if (channels === 4) {
    for (let i = 0; i < n; i++) put(i, to8(samples[4 * i]), to8(samples[4 * i + 1]), to8(samples[4 * i + 2]), to8(samples[4 * i + 3]));
  } else {
    throw new ImageError(name, `PNG with ${channels} channels`);
  }
  return { width, height, data: rgb, source: name };
}

/**
 * BMP (MSRC-v2's images and ground truth) with bmp-js: 1/4/8-bit palette, 16/24/32-bit, RLE; bottom-up or top-down.
 * The header's size is bounded before bmp-js allocates; the 4th byte of 32-bit pixels is ignored, as PIL reads
 * BI_RGB BMPs as RGB.
 */
function bmpToRgb(bytes: Uint8Array, name: string): RgbImage {
  if (bytes.length < 30) throw new ImageError(name, `truncated BMP (${bytes.length} bytes, the headers need 30)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dataOffset = dv.getUint32(10, true), headerSize = dv.getUint32(14, true);
  if (headerSize < 40) throw new ImageError(name, `BMP with a ${headerSize}-byte info header (OS/2 BMPs are not supported; kvscope reads BITMAPINFOHEADER and later)`);
  const width = dv.getInt32(18, true), height = Math.abs(dv.getInt32(22, true)), bits = dv.getUint16(28, true);
  const compression = bytes.length >= 34 ? dv.getUint32(30, true) : 0;
  if (!(width > 0 && height > 0)) throw new ImageError(name, `BMP of size ${width}×${height}; images must be at least 1×1`);
  if (width * height > MAX_IMAGE_PIXELS) throw new ImageError(name, `BMP of ${width}×${height} = ${width * height} pixels is over the ${MAX_IMAGE_PIXELS}-pixel limit (a decompression bomb, as Pillow calls it)`);
  if (![1, 4, 8, 16, 24, 32].includes(bits)) throw new ImageError(name, `BMP with ${bits} bits per pixel (BMPs have 1, 4, 8, 16, 24 or 32)`);
  if (compression === 0) {
    const rowBytes = Math.ceil((width * bits) / 32) * 4;
    if (dataOffset + rowBytes * height > bytes.length) throw new ImageError(name, `truncated BMP: ${width}×${height} at ${bits} bits needs ${rowBytes * height} pixel bytes from byte ${dataOffset}, the file has ${bytes.length} bytes`);
  } else if (![1, 2, 3].includes(compression)) {
    throw new ImageError(name, `BMP compression ${compression} (kvscope reads uncompressed, RLE8, RLE4 and bit-field BMPs)`);
  }
  const NodeBuffer = (globalThis as { Buffer?: { from(b: Uint8Array): Uint8Array } }).Buffer;
  if (!NodeBuffer) throw new ImageError(name, 'BMP decoding (bmp-js) needs Node\'s Buffer: decode BMPs in Deno or Node, or convert them to PNG');
  let dec: { width: number; height: number; data: Uint8Array };
  try {
    dec = bmp.decode(NodeBuffer.from(bytes));
  } catch (e) {
    throw new ImageError(name, `corrupt BMP: ${(e as Error).message}`);
  }
  if (dec.width !== width || dec.height !== height || dec.data.length !== width * height * 4) {
    throw new ImageError(name, `corrupt BMP: decoded ${dec.width}×${dec.height} with ${dec.data.length} bytes, the header says ${width}×${height}`);
  }
  // bmp-js writes A B G R per pixel
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    rgb[3 * i] = dec.data[4 * i + 3];
    rgb[3 * i + 1] = dec.data[4 * i + 2];
    rgb[3 * i + 2] = dec.data[4 * i + 1];
  }
  return { width, height, data: rgb, source: name };
}

/** JPEG (baseline or progressive; grey, YCbCr, Adobe CMYK/YCCK) to RGB with jpeg-js, strict about corruption. */
function jpegToRgb(bytes: Uint8Array, name: string): RgbImage {
  if (!hasJpegEnd(bytes)) throw new ImageError(name, `truncated JPEG (${bytes.length} bytes, no end-of-image marker FFD9)`);
  let img: { width: number; height: number; data: Uint8Array };
  try {
    img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, tolerantDecoding: false, maxResolutionInMP: MAX_IMAGE_PIXELS / 1e6, maxMemoryUsageInMB: 2048 });
  } catch (e) {
    throw new ImageError(name, `corrupt JPEG: ${(e as Error).message}`);
  }
  if (!(img.width > 0 && img.height > 0)) throw new ImageError(name, `JPEG of size ${img.width}×${img.height}; images must be at least 1×1`);
  return { width: img.width, height: img.height, data: img.data, source: name };
}

/** An EOI marker (FF D9) at the end, allowing a little trailing padding as some writers leave. */
function hasJpegEnd(bytes: Uint8Array): boolean {
  const from = Math.max(2, bytes.length - 64);
  for (let i = bytes.length - 2; i >= from; i--) if (bytes[i] === 0xff && bytes[i + 1] === 0xd9) return true;
  return false;
}
