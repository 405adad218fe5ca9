// Moving between a feature grid and the original image's pixels through each cell's pixel rectangle (the
// token→pixel map): per-cell values painted onto pixels, and pixel labels summarised per cell.

/** Pixel (x, y) → the cell whose rectangle holds the pixel centre (−1 if none), for an image of width × height. */
export function pixelCells(rects: Float32Array, width: number, height: number): Int32Array {
  const out = new Int32Array(width * height).fill(-1);
  const cells = rects.length / 4;
  for (let c = 0; c < cells; c++) {
    const x0 = rects[c * 4], y0 = rects[c * 4 + 1], x1 = rects[c * 4 + 2], y1 = rects[c * 4 + 3];
    if (!(x1 > x0 && y1 > y0)) continue;
    // pixels whose centre (x + 0.5, y + 0.5) lies in [x0, x1) × [y0, y1)
    const xs = Math.max(0, Math.ceil(x0 - 0.5)), xe = Math.min(width, Math.ceil(x1 - 0.5));
    const ys = Math.max(0, Math.ceil(y0 - 0.5)), ye = Math.min(height, Math.ceil(y1 - 0.5));
    for (let y = ys; y < ye; y++) for (let x = xs; x < xe; x++) out[y * width + x] = c;
  }
  return out;
}

/** Paint per-cell labels (or scores) onto the image's pixels; pixels outside every cell get `fill`. */
export function cellsToPixels<T extends Float32Array | Uint8Array | Int32Array>(values: T, rects: Float32Array, width: number, height: number, fill = 0): T {
  const map = pixelCells(rects, width, height);
  const out = new (values.constructor as new (n: number) => T)(width * height);
  for (let i = 0; i < map.length; i++) out[i] = map[i] < 0 ? fill : values[map[i]];
  return out;
}

/**
 * Per cell, the share of its pixels carrying each label of interest: `fraction[c]` = pixels with label `positive`
 * / pixels not `ignore`. NaN where a cell holds no counted pixel.
 */
export function pixelsToCells(labels: ArrayLike<number>, rects: Float32Array, width: number, height: number, positive: (label: number) => boolean, ignore = 255): Float32Array {
  if (labels.length !== width * height) throw new Error(`pixelsToCells: ${labels.length} labels for a ${width}×${height} image`);
  const map = pixelCells(rects, width, height);
  const cells = rects.length / 4;
  const pos = new Float64Array(cells), all = new Float64Array(cells);
  for (let i = 0; i < map.length; i++) {
    const c = map[i];
    if (c < 0 || labels[i] === ignore) continue;
    all[c]++;
    if (positive(labels[i])) pos[c]++;
  }
  return Float32Array.from(pos, (p, c) => (all[c] ? p / all[c] : NaN));
}
