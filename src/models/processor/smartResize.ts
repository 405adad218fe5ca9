// Qwen2-VL / Qwen2.5-VL `smart_resize`: the size an image is resized to (multiples of 28 = patch 14 × merge 2),
// within [min_pixels, max_pixels], and the resulting patch grid and token count.

/** Python's round(): halves go to the even integer (banker's rounding). */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

export interface SmartResizeOptions { factor?: number; minPixels?: number; maxPixels?: number }

export function smartResize(height: number, width: number, opts: SmartResizeOptions = {}): { height: number; width: number } {
  const factor = opts.factor ?? 28, minPixels = opts.minPixels ?? 3136, maxPixels = opts.maxPixels ?? 12845056;
  if (!(height > 0 && width > 0)) throw new Error(`smart_resize: image of zero size (${height}×${width})`);
  if (Math.max(height, width) / Math.min(height, width) > 200) {
    throw new Error(`smart_resize: absolute aspect ratio must be smaller than 200, got ${Math.max(height, width) / Math.min(height, width)}`);
  }
  let h = roundHalfEven(height / factor) * factor;
  let w = roundHalfEven(width / factor) * factor;
  if (h * w > maxPixels) {
    const beta = Math.sqrt((height * width) / maxPixels);
    h = Math.max(factor, Math.floor(height / beta / factor) * factor);
    w = Math.max(factor, Math.floor(width / beta / factor) * factor);
  } else if (h * w < minPixels) {
    const beta = Math.sqrt(minPixels / (height * width));
    h = Math.ceil((height * beta) / factor) * factor;
    w = Math.ceil((width * beta) / factor) * factor;
  }
  return { height: h, width: w };
}

/** `image_grid_thw` for one image (t = 1) and its merged-token count. */
export function qwenImageGrid(height: number, width: number, opts: SmartResizeOptions & { patchSize?: number; mergeSize?: number } = {}) {
  const patch = opts.patchSize ?? 14, merge = opts.mergeSize ?? 2;
  const r = smartResize(height, width, { ...opts, factor: patch * merge });
  const gridH = r.height / patch, gridW = r.width / patch;
  return { resized: r, gridThw: [1, gridH, gridW] as [number, number, number], tokens: (gridH * gridW) / (merge * merge) };
}
