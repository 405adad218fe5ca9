// Image decoding: PNGs of every colour type and depth built here with fast-png (pixels checked exactly, alpha
// composited over white with Pillow's integer formula), tRNS colour keys, interlacing, label maps as raw indices,
// a JPEG round trip, the real fixtures (DAVIS 2016 JPEG frames and masks, VOC and MSRC PNGs), and every error.
import { encode as encodePngFile } from 'fast-png';
import jpeg from 'jpeg-js';
import { decodeImage, decodeLabelPng, encodePng, fetchImage, readImage, sniffImageFormat } from '../../src/io/image.ts';
import { assert, assertEquals, assertRejects, assertThrows } from '../gpu/assert.ts';
import { SHARED_FIXTURES } from '../fixtures/sharedFixtures.ts';

const FIXTURES = SHARED_FIXTURES;

type PngInput = Parameters<typeof encodePngFile>[0];
const png = (img: PngInput, interlace?: 'Adam7') => encodePngFile(img, interlace ? { interlace } : {});

/** CRC-32 (PNG's polynomial 0xEDB88320) of a chunk's type and data. */
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

/** The PNG with one more chunk inserted before its first IDAT. */
function withChunk(file: Uint8Array, type: string, data: Uint8Array): Uint8Array {
  let at = 8;
  while (String.fromCharCode(...file.subarray(at + 4, at + 8)) !== 'IDAT') at += 12 + new DataView(file.buffer, file.byteOffset).getUint32(at);
  const chunk = new Uint8Array(12 + data.length);
  const dv = new DataView(chunk.buffer);
  dv.setUint32(0, data.length);
  chunk.set(new TextEncoder().encode(type), 4);
  chunk.set(data, 8);
  dv.setUint32(8 + data.length, crc32(chunk.subarray(4, 8 + data.length)));
  const out = new Uint8Array(file.length + chunk.length);
  out.set(file.subarray(0, at));
  out.set(chunk, at);
  out.set(file.subarray(at), at + chunk.length);
  return out;
}

/** Pack one sample per entry into byte-aligned rows of `depth`-bit samples, MSB first. */
function packRows(values: number[], width: number, depth: number): Uint8Array {
  const height = values.length / width;
  const rowBytes = Math.ceil((width * depth) / 8);
  const out = new Uint8Array(rowBytes * height);
  values.forEach((v, i) => {
    const y = Math.floor(i / width), bit = (i % width) * depth;
    out[y * rowBytes + (bit >> 3)] |= v << (8 - depth - (bit & 7));
  });
  return out;
}

const rgbOf = (data: Uint8Array) => Array.from({ length: data.length / 3 }, (_, i) => [data[3 * i], data[3 * i + 1], data[3 * i + 2]]);

Deno.test('PNG RGB / grey / 16-bit / low-depth grey decode to exact RGB', () => {
  const rgb = new Uint8Array([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
  const a = decodeImage(png({ width: 3, height: 2, data: rgb, channels: 3, depth: 8 }), 'rgb.png');
  assertEquals([a.width, a.height, a.source], [3, 2, 'rgb.png'], 'size');
  assertEquals(Array.from(a.data), Array.from(rgb), 'RGB pixels');

  const grey = new Uint8Array([0, 17, 128, 255, 3, 200]);
  assertEquals(rgbOf(decodeImage(png({ width: 2, height: 3, data: grey, channels: 1, depth: 8 }), 'g.png').data), Array.from(grey, (g) => [g, g, g]), 'grey');

  // 16-bit keeps the high byte
  const wide = new Uint16Array([0x12ff, 0x3400, 0xffff, 0x0001, 0x8080, 0x7f7f]);
  assertEquals(Array.from(decodeImage(png({ width: 2, height: 1, data: wide, channels: 3, depth: 16 }), 'w.png').data), [0x12, 0x34, 0xff, 0x00, 0x80, 0x7f], '16-bit RGB');

  // 1/2/4-bit grey scaled to 0..255, width 5 so rows end mid-byte
  for (const depth of [1, 2, 4] as const) {
    const max = (1 << depth) - 1;
    const values = Array.from({ length: 15 }, (_, i) => (i * 7) % (max + 1));
    const img = decodeImage(png({ width: 5, height: 3, data: packRows(values, 5, depth), channels: 1, depth }), `g${depth}.png`);
    assertEquals(rgbOf(img.data), values.map((v) => { const g = Math.round((v * 255) / max); return [g, g, g]; }), `${depth}-bit grey`);
  }
});

Deno.test('PNG alpha (RGBA, grey+alpha, 16-bit) is composited over white with Pillow\'s integer formula', () => {
  // every (colour, alpha) pair: red channel = colour, green = 255 - colour, blue = 0
  const n = 256 * 256;
  const data = new Uint8Array(n * 4);
  for (let a = 0; a < 256; a++) for (let c = 0; c < 256; c++) data.set([c, 255 - c, 0, a], (a * 256 + c) * 4);
  const img = decodeImage(png({ width: 256, height: 256, data, channels: 4, depth: 8 }), 'rgba.png');
  let worst = 0;
  for (let a = 0; a < 256; a++) {
    for (let c = 0; c < 256; c++) {
      const i = (a * 256 + c) * 3;
      for (const [got, src] of [[img.data[i], c], [img.data[i + 1], 255 - c], [img.data[i + 2], 0]]) {
        const exact = (src * a + 255 * (255 - a)) / 255;
        worst = Math.max(worst, Math.abs(got - exact));
        if (a === 0) assertEquals(got, 255, `transparent (${c}) is white`);
        if (a === 255) assertEquals(got, src, `opaque (${c}) unchanged`);
      }
    }
  }
  assert(worst <= 1, `composite off the exact value by ${worst} (> 1 level)`);
  // hand-computed with Pillow's arithmetic (7 fractional bits, SHIFTFORDIV255)
  assertEquals(img.data[(128 * 256 + 0) * 3], 127, 'c=0, a=128');
  assertEquals(img.data[(100 * 256 + 200) * 3], 233, 'c=200, a=100');

  const ga = decodeImage(png({ width: 2, height: 1, data: new Uint8Array([0, 0, 50, 255]), channels: 2, depth: 8 }), 'ga.png');
  assertEquals(Array.from(ga.data), [255, 255, 255, 50, 50, 50], 'grey+alpha');
  const rgba16 = decodeImage(png({ width: 1, height: 1, data: new Uint16Array([0x0000, 0x0000, 0x0000, 0x80ff]), channels: 4, depth: 16 }), 'a16.png');
  assertEquals(Array.from(rgba16.data), [127, 127, 127], '16-bit alpha uses its high byte (0x80)');
});

Deno.test('PNG palettes (8-bit, 2-bit, with tRNS alpha), tRNS colour keys and Adam7 interlacing', () => {
  const palette = [[10, 20, 30], [200, 100, 0], [0, 0, 255]];
  const idx = [0, 1, 2, 2, 1, 0, 1, 1, 0, 2];
  const want = idx.map((i) => palette[i]);
  assertEquals(rgbOf(decodeImage(png({ width: 5, height: 2, data: new Uint8Array(idx), channels: 1, depth: 8, palette }), 'p8.png').data), want, '8-bit palette');
  const p2 = png({ width: 5, height: 2, data: packRows(idx, 5, 2), channels: 1, depth: 2, palette });
  assertEquals(rgbOf(decodeImage(p2, 'p2.png').data), want, '2-bit palette, rows ending mid-byte');
  // fast-png writes tRNS for the non-opaque entries only, so put them first: entry 0 clear, entry 1 half
  const alphaPalette = [[0, 0, 0, 0], [0, 0, 0, 128], [9, 9, 9, 255]];
  const pa = decodeImage(png({ width: 3, height: 1, data: new Uint8Array([0, 1, 2]), channels: 1, depth: 8, palette: alphaPalette }), 'pa.png');
  assertEquals(rgbOf(pa.data), [[255, 255, 255], [127, 127, 127], [9, 9, 9]], 'palette alpha over white');
  const bad = png({ width: 2, height: 1, data: packRows([0, 3], 2, 2), channels: 1, depth: 2, palette: palette.slice(0, 2) });
  assertThrows(() => decodeImage(bad, 'bad.png'), /bad\.png: palette index 3 at pixel \(1, 0\) is past the 2-colour palette/, 'index past the palette');

  // tRNS colour key: RGB (r, g, b as u16) and grey (k as u16); matching pixels become transparent -> white
  // (4 pixels: fast-png refuses an RGB tRNS whose 3 values outnumber the pixels)
  const keyed = withChunk(png({ width: 4, height: 1, data: new Uint8Array([1, 2, 3, 4, 5, 6, 1, 2, 4, 1, 2, 3]), channels: 3, depth: 8 }), 'tRNS', new Uint8Array([0, 1, 0, 2, 0, 3]));
  assertEquals(Array.from(decodeImage(keyed, 'key.png').data), [255, 255, 255, 4, 5, 6, 1, 2, 4, 255, 255, 255], 'RGB colour key');
  const greyKeyed = withChunk(png({ width: 3, height: 1, data: new Uint8Array([7, 8, 7]), channels: 1, depth: 8 }), 'tRNS', new Uint8Array([0, 7]));
  assertEquals(Array.from(decodeImage(greyKeyed, 'gkey.png').data), [255, 255, 255, 8, 8, 8, 255, 255, 255], 'grey colour key');

  // Adam7: same pixels as the plain file, on a size that leaves some passes nearly empty
  const w = 13, h = 7;
  const pix = new Uint8Array(w * h * 3).map((_, i) => (i * 37) % 256);
  const plain = decodeImage(png({ width: w, height: h, data: pix, channels: 3, depth: 8 }), 'plain.png');
  const interlaced = decodeImage(png({ width: w, height: h, data: pix, channels: 3, depth: 8 }, 'Adam7'), 'adam7.png');
  assertEquals(Array.from(interlaced.data), Array.from(plain.data), 'Adam7');
  assertEquals(Array.from(plain.data), Array.from(pix), 'plain');
});

Deno.test('decodeLabelPng returns stored indices, never colours; colour PNGs and JPEGs are refused', () => {
  const palette = [[0, 0, 0], [128, 0, 0], [0, 128, 0], [224, 224, 192]];
  const idx = [0, 1, 2, 3, 3, 2, 1];
  const label = decodeLabelPng(png({ width: 7, height: 1, data: packRows(idx, 7, 2), channels: 1, depth: 2, palette }), 'l.png');
  assertEquals(Array.from(label.data), idx, '2-bit palette indices');
  assertEquals(label.palette, palette, 'palette returned');
  const grey = decodeLabelPng(png({ width: 3, height: 1, data: new Uint8Array([0, 255, 21]), channels: 1, depth: 8 }), 'g.png');
  assertEquals([Array.from(grey.data), grey.palette], [[0, 255, 21], undefined], 'grey values');
  assertEquals(Array.from(decodeLabelPng(png({ width: 2, height: 1, data: new Uint16Array([5, 255]), channels: 1, depth: 16 }), 'g16.png').data), [5, 255], '16-bit grey <= 255');
  assertThrows(() => decodeLabelPng(png({ width: 2, height: 1, data: new Uint16Array([5, 256]), channels: 1, depth: 16 }), 'g16.png'), /g16\.png: 16-bit label value 256 at pixel \(1, 0\)/, '16-bit > 255');
  assertThrows(() => decodeLabelPng(png({ width: 1, height: 1, data: new Uint8Array([1, 2, 3]), channels: 3, depth: 8 }), 'c.png'), /c\.png: label PNG has 3 channels \(RGB\)/, 'RGB refused');
  const jpg = jpeg.encode({ width: 8, height: 8, data: new Uint8Array(8 * 8 * 4) }, 90).data;
  assertThrows(() => decodeLabelPng(new Uint8Array(jpg), 'm.jpg'), /m\.jpg: a label map must be a PNG, this is JPEG/, 'JPEG refused');
});

Deno.test('JPEG round trip and PNG encode round trip', () => {
  const w = 37, h = 23; // not multiples of the 8x8 / 16x16 blocks
  const rgba = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) rgba.set([(x * 255) / (w - 1), (y * 255) / (h - 1), 128, 255], (y * w + x) * 4);
  const file = new Uint8Array(jpeg.encode({ width: w, height: h, data: rgba }, 95).data);
  assertEquals(sniffImageFormat(file), 'jpeg', 'sniffed');
  const img = decodeImage(file, 'ramp.jpg');
  assertEquals([img.width, img.height, img.data.length], [w, h, w * h * 3], 'size');
  let worst = 0;
  for (let i = 0; i < w * h; i++) for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(img.data[3 * i + c] - rgba[4 * i + c]));
  assert(worst <= 12, `JPEG q95 of a smooth ramp off by ${worst} levels (> 12): channel order or orientation wrong?`);

  const src = { width: 4, height: 3, data: new Uint8Array(36).map((_, i) => (i * 29) % 256) };
  const back = decodeImage(encodePng(src), 'round.png');
  assertEquals([back.width, back.height, Array.from(back.data)], [4, 3, Array.from(src.data)], 'encodePng -> decodeImage');
  assertThrows(() => encodePng({ width: 2, height: 2, data: new Uint8Array(5), source: 'overlay' }), /overlay: 2×2 RGB needs 12 bytes, got 5/, 'bad image');
});

Deno.test('fixtures: DAVIS 2016 JPEG frames and 0/255 masks', async () => {
  for (const [seq, frames] of [['blackswan', ['00000', '00049']], ['car-shadow', ['00000', '00039']]] as const) {
    for (const f of frames) {
      const img = await readImage(`${FIXTURES}/davis2016/JPEGImages/480p/${seq}/${f}.jpg`);
      assertEquals([img.width, img.height], [854, 480], `${seq}/${f}.jpg size`);
      const maskBytes = await Deno.readFile(`${FIXTURES}/davis2016/Annotations/480p/${seq}/${f}.png`);
      const mask = decodeLabelPng(maskBytes, `${seq}/${f}.png`);
      assertEquals([mask.width, mask.height], [854, 480], 'mask size');
      const values = new Set(mask.data);
      assert([...values].every((v) => v === 0 || v === 255) && values.has(0) && values.has(255), `${seq}/${f}.png values ${[...values]} ⊄ {0, 255}`);
      const fg = mask.data.reduce((a, v) => a + (v ? 1 : 0), 0) / mask.data.length;
      assert(fg > 0.01 && fg < 0.5, `${seq}/${f}: object covers ${fg} of the frame`);
      // the same mask through decodeImage is grey: R = G = B = label
      const asRgb = decodeImage(maskBytes, `${seq}/${f}.png`);
      for (let i = 0; i < mask.data.length; i += 997) assertEquals([asRgb.data[3 * i], asRgb.data[3 * i + 1], asRgb.data[3 * i + 2]], [mask.data[i], mask.data[i], mask.data[i]], 'grey');
      if (seq === 'blackswan') {
        // the black swan is darker than the water around it
        let inSum = 0, inN = 0, outSum = 0, outN = 0;
        for (let i = 0; i < mask.data.length; i++) {
          const l = img.data[3 * i] + img.data[3 * i + 1] + img.data[3 * i + 2];
          if (mask.data[i]) (inSum += l, inN++);
          else (outSum += l, outN++);
        }
        assert(inSum / inN < outSum / outN - 20, `swan mean ${inSum / inN / 3} not darker than background ${outSum / outN / 3}`);
      }
    }
  }
});

Deno.test('fixtures: VOC class PNGs (RGB renderings of the palette) and MSRC palette label maps', async () => {
  // the VOC colour map: class k's bits interleaved into the high bits of R, G, B; void 255 = (224, 224, 192)
  const vocColour = (k: number) => {
    let r = 0, g = 0, b = 0;
    for (let j = 0, c = k; j < 8; j++, c >>= 3) {
      r |= ((c >> 0) & 1) << (7 - j);
      g |= ((c >> 1) & 1) << (7 - j);
      b |= ((c >> 2) & 1) << (7 - j);
    }
    return `${r},${g},${b}`;
  };
  const vocColours = new Set([...Array.from({ length: 21 }, (_, k) => vocColour(k)), vocColour(255)]);
  assert(vocColours.has('224,224,192') && vocColours.has('128,0,0'), 'colour map');
  for (const n of [1, 23, 114]) {
    const image = await readImage(`${FIXTURES}/voc/${n}_image.png`);
    const target = await readImage(`${FIXTURES}/voc/${n}_target.png`);
    assertEquals([target.width, target.height], [image.width, image.height], `voc ${n}: target matches image`);
    const seen = new Set(rgbOf(target.data).map((c) => c.join(',')));
    assert([...seen].every((c) => vocColours.has(c)), `voc ${n}: colours ${[...seen]} outside the VOC palette`);
    assert(seen.size >= 2, `voc ${n}: a class besides background`);
    assertThrows(() => decodeLabelPng(new Uint8Array(), `${n}_target.png`), /empty file/, 'empty');
  }
  for (const n of [1, 2, 3]) {
    const annoBytes = await Deno.readFile(`${FIXTURES}/msrc/anno${n}.png`);
    const labels = decodeLabelPng(annoBytes, `anno${n}.png`);
    const colours = decodeImage(annoBytes, `anno${n}.png`);
    const im = await readImage(`${FIXTURES}/msrc/im${n}.png`);
    assertEquals([labels.width, labels.height], [im.width, im.height], `msrc ${n}: label map matches image`);
    assert(Math.max(im.width, im.height) === 320, `MSRC ${n}: ${im.width}×${im.height}, long side 320`);
    assert(labels.palette !== undefined, 'palette');
    for (let i = 0; i < labels.data.length; i++) {
      const p = labels.palette![labels.data[i]];
      if (colours.data[3 * i] !== p[0] || colours.data[3 * i + 1] !== p[1] || colours.data[3 * i + 2] !== p[2]) throw new Error(`anno${n}.png pixel ${i}: colour ≠ palette[index]`);
    }
  }
});

Deno.test('image errors: empty, unknown format, truncated, bad CRC, missing file, HTTP-style fetch', async () => {
  assertThrows(() => decodeImage(new Uint8Array(), 'zero.png'), /zero\.png: empty file \(0 bytes\)/, 'zero bytes');
  assertThrows(() => decodeImage(new TextEncoder().encode('hello world'), 'notes.txt'), /notes\.txt: not a PNG, JPEG or BMP \(first bytes 68 65 6c/, 'garbage');
  assertThrows(() => decodeImage(new TextEncoder().encode('GIF89a....'), 'a.gif'), /a\.gif: GIF images are not supported/, 'GIF');
  const good = png({ width: 64, height: 64, data: new Uint8Array(64 * 64 * 3).map((_, i) => (i * 7919) % 251), channels: 3, depth: 8 });
  for (const cut of [20, Math.floor(good.length / 2), good.length - 13]) {
    assertThrows(() => decodeImage(good.subarray(0, cut), 'cut.png'), /cut\.png: (corrupt or truncated PNG|truncated or corrupt PNG)/, `PNG cut at ${cut}`);
  }
  const flipped = good.slice();
  flipped[60] ^= 0xff; // inside IDAT
  assertThrows(() => decodeImage(flipped, 'crc.png'), /crc\.png: corrupt or truncated PNG/, 'bad CRC');
  const jpg = await Deno.readFile(`${FIXTURES}/davis2016/JPEGImages/480p/blackswan/00000.jpg`);
  assertThrows(() => decodeImage(jpg.subarray(0, Math.floor(jpg.length * 0.6)), 'cut.jpg'), /cut\.jpg: truncated JPEG/, 'JPEG cut');
  assertThrows(() => decodeImage(jpg.subarray(0, 3), 'tiny.jpg'), /tiny\.jpg: truncated JPEG/, 'JPEG magic only');
  await assertRejects(() => readImage('/nonexistent/x.png'), /\/nonexistent\/x\.png: cannot read/, 'missing file');
  const url = new URL(`file://${FIXTURES}/msrc/im1.png`).href;
  assertEquals((await fetchImage(url)).width, 320, 'fetchImage (file URL)');
  await assertRejects(() => fetchImage(`file://${FIXTURES}/msrc/none.png`), /msrc\/none\.png: (fetch failed|HTTP)/, 'fetch of a missing file');
});
