// Test-only BMP files written byte by byte (so the decoder under test is not also the writer).

/** A BMP (BITMAPINFOHEADER, BI_RGB): `bits` 24 or 32 from RGB pixels, or 8 with a palette of RGB entries. */
export function writeBmp(w: number, h: number, pixels: number[][], bits: 8 | 24 | 32, opts: { topDown?: boolean; palette?: number[][] } = {}): Uint8Array {
  const rowBytes = Math.ceil((w * bits) / 32) * 4;
  const paletteBytes = bits === 8 ? 4 * opts.palette!.length : 0;
  const offset = 14 + 40 + paletteBytes;
  const out = new Uint8Array(offset + rowBytes * h);
  const dv = new DataView(out.buffer);
  out.set([0x42, 0x4d]);
  dv.setUint32(2, out.length, true);
  dv.setUint32(10, offset, true);
  dv.setUint32(14, 40, true);
  dv.setInt32(18, w, true);
  dv.setInt32(22, opts.topDown ? -h : h, true);
  dv.setUint16(26, 1, true);
  dv.setUint16(28, bits, true);
  dv.setUint32(34, rowBytes * h, true);
  if (bits === 8) {
    dv.setUint32(46, opts.palette!.length, true);
    opts.palette!.forEach(([r, g, b], i) => out.set([b, g, r, 0], 54 + 4 * i));
  }
  for (let y = 0; y < h; y++) {
    const row = offset + (opts.topDown ? y : h - 1 - y) * rowBytes;
    for (let x = 0; x < w; x++) {
      const p = pixels[y * w + x];
      if (bits === 8) out[row + x] = p[0];
      else out.set(bits === 24 ? [p[2], p[1], p[0]] : [p[2], p[1], p[0], 7], row + x * (bits / 8));
    }
  }
  return out;
}
