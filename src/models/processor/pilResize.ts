// Pillow's `Image.resize(size, BICUBIC | BILINEAR)` on 8-bit RGB, bit-exact: as Pillow's `ImagingResample` for 8 bpc
// images. Separable: a horizontal pass (only when the width changes) stored as uint8, then a vertical pass (only when the
// height changes). Per output pixel the filter is centred at (i + 0.5)·scale, its support widened by the downscale
// factor (antialias), weights normalised to sum 1, then quantised to PRECISION_BITS = 32 − 8 − 2 = 22 fractional bits;
// each output is (2^21 + Σ v·k) >> 22 clamped to 0–255. Pillow ≥ 12.2 runs the vertical pass first for images taller
// than 100× their width that shrink in height. Same size returns a copy, as PIL does.
import type { RgbImage } from '../../io/rgbImage.ts';
import { checkRgbImage } from '../../io/rgbImage.ts';

export type PilFilter = 'bicubic' | 'bilinear';

export interface PilResizeOptions {
  /** Default 'bicubic' (PIL Resampling.BICUBIC = 3, what the HF slow processors use); 'bilinear' = 2. */
  filter?: PilFilter;
  /** Pillow ≥ 12.2: vertical pass first when height > 100·width and the height shrinks. Default true. */
  tallVerticalFirst?: boolean;
}

/** (height, width) of a resize target. */
export interface ResizeTarget { height: number; width: number }

/** PIL's filter kernels and their support (in source pixels at scale 1). */
const FILTERS: Record<PilFilter, { kernel: (x: number) => number; support: number }> = {
  // Keys' cubic convolution with a = −0.5, evaluated in Pillow's operation order.
  bicubic: {
    support: 2,
    kernel: (x) => {
      const a = -0.5;
      if (x < 0) x = -x;
      if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
      if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
      return 0;
    },
  },
  // Triangle filter.
  bilinear: {
    support: 1,
    kernel: (x) => {
      if (x < 0) x = -x;
      return x < 1 ? 1 - x : 0;
    },
  },
};

export const PRECISION_BITS = 32 - 8 - 2;

/** One axis of a resample: for output i, source taps [start[i], start[i] + count[i]) with weights row i of `weights`. */
export interface ResampleAxis {
  outSize: number;
  /** Taps per output (the row stride of `weights`). */
  ksize: number;
  start: Int32Array;
  count: Int32Array;
  /** Normalised float64 weights, outSize × ksize (unused taps 0). */
  weights: Float64Array;
  /** The same weights in 22-bit fixed point, rounded half away from zero. */
  fixed: Int32Array;
}

/** Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc` for a full-image box (in0 = 0, in1 = inSize). */
export function resampleAxis(inSize: number, outSize: number, filter: PilFilter): ResampleAxis {
  const { kernel, support: baseSupport } = FILTERS[filter];
  const scale = inSize / outSize;
  const filterScale = scale < 1 ? 1 : scale;
  const support = baseSupport * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize), count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * ksize), fixed = new Int32Array(outSize * ksize);
  const invFilterScale = 1 / filterScale;
  const one = 2 ** PRECISION_BITS;
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    // C's (int) truncates toward zero; bounds clamp to the image.
    const lo = Math.max(Math.trunc(center - support + 0.5), 0);
    const hi = Math.min(Math.trunc(center + support + 0.5), inSize);
    const n = hi - lo;
    let sum = 0;
    for (let t = 0; t < n; t++) {
      const w = kernel((t + lo - center + 0.5) * invFilterScale);
      weights[i * ksize + t] = w;
      sum += w;
    }
    for (let t = 0; t < n; t++) {
      if (sum !== 0) weights[i * ksize + t] /= sum;
      const w = weights[i * ksize + t];
      fixed[i * ksize + t] = w < 0 ? Math.trunc(-0.5 + w * one) : Math.trunc(0.5 + w * one);
    }
    start[i] = lo;
    count[i] = n;
  }
  return { outSize, ksize, start, count, weights, fixed };
}

/** (2^21 + acc) >> 22, clamped to a byte: Pillow's `clip8`. `acc` is an exact integer (< 2^31 in magnitude). */
function clip8(acc: number): number {
  const v = Math.floor((acc + 2 ** (PRECISION_BITS - 1)) / 2 ** PRECISION_BITS);
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** Horizontal pass over rows [row0, row0 + rows) of `src` (w × h RGB) into a new (axis.outSize × rows) RGB buffer. */
function horizontalPass(src: Uint8Array, w: number, row0: number, rows: number, axis: ResampleAxis): Uint8Array {
  const ow = axis.outSize, k = axis.fixed, ks = axis.ksize;
  const out = new Uint8Array(ow * rows * 3);
  for (let y = 0; y < rows; y++) {
    const inBase = (y + row0) * w * 3, outBase = y * ow * 3;
    for (let x = 0; x < ow; x++) {
      const lo = axis.start[x], n = axis.count[x], kb = x * ks;
      let r = 0, g = 0, b = 0;
      for (let t = 0; t < n; t++) {
        const c = k[kb + t], p = inBase + (lo + t) * 3;
        r += src[p] * c;
        g += src[p + 1] * c;
        b += src[p + 2] * c;
      }
      const o = outBase + x * 3;
      out[o] = clip8(r);
      out[o + 1] = clip8(g);
      out[o + 2] = clip8(b);
    }
  }
  return out;
}

/** Vertical pass of `src` (w × h RGB) into a new (w × axis.outSize) buffer; `axis.start` is relative to `src`'s row 0. */
function verticalPass(src: Uint8Array, w: number, axis: ResampleAxis, rowOffset = 0): Uint8Array {
  const oh = axis.outSize, k = axis.fixed, ks = axis.ksize, stride = w * 3;
  const out = new Uint8Array(w * oh * 3);
  for (let y = 0; y < oh; y++) {
    const lo = axis.start[y] - rowOffset, n = axis.count[y], kb = y * ks;
    for (let x = 0; x < w; x++) {
      let r = 0, g = 0, b = 0;
      for (let t = 0; t < n; t++) {
        const c = k[kb + t], p = (lo + t) * stride + x * 3;
        r += src[p] * c;
        g += src[p + 1] * c;
        b += src[p + 2] * c;
      }
      const o = (y * w + x) * 3;
      out[o] = clip8(r);
      out[o + 1] = clip8(g);
      out[o + 2] = clip8(b);
    }
  }
  return out;
}

function checkTarget(img: RgbImage, size: ResizeTarget, where: string): void {
  checkRgbImage(img, where);
  if (!(Number.isInteger(size.width) && Number.isInteger(size.height) && size.width > 0 && size.height > 0)) {
    throw new Error(`${where}: resize target must be positive integers (height×width), got ${size.height}×${size.width}`);
  }
}

/** `PIL.Image.resize((width, height), filter)` for an 8-bit RGB image, bit-exact with Pillow's fixed-point path. */
export function pilResize(img: RgbImage, size: ResizeTarget, opts: PilResizeOptions = {}): RgbImage {
  const where = `pilResize(${img.source ?? 'image'})`;
  checkTarget(img, size, where);
  const filter = opts.filter ?? 'bicubic';
  const { width: w, height: h } = img, { width: ow, height: oh } = size;
  if (ow === w && oh === h) return { width: w, height: h, data: img.data.slice(), source: img.source };
  // Pillow ≥ 12.2: very tall images shrink vertically first, then horizontally.
  if ((opts.tallVerticalFirst ?? true) && h > w * 100 && oh < h) {
    const tall = { width: w, height: oh, data: verticalPass(img.data, w, resampleAxis(h, oh, filter)) };
    if (ow === w) return { ...tall, source: img.source };
    return { width: ow, height: oh, data: horizontalPass(tall.data, w, 0, oh, resampleAxis(w, ow, filter)), source: img.source };
  }
  const vert = oh !== h ? resampleAxis(h, oh, filter) : null;
  let data = img.data, rowOffset = 0;
  if (ow !== w) {
    // Only the source rows the vertical pass reads are resampled horizontally (as Pillow's ybox_first/last).
    const first = vert ? vert.start[0] : 0;
    const last = vert ? vert.start[oh - 1] + vert.count[oh - 1] : h;
    data = horizontalPass(img.data, w, first, last - first, resampleAxis(w, ow, filter));
    rowOffset = first;
  }
  if (vert) data = verticalPass(data, ow, vert, rowOffset);
  return { width: ow, height: oh, data, source: img.source };
}

/**
 * Float64 reference of the same resample: weights computed directly from the kernel (same support, same
 * per-output normalisation), no fixed point; each pass rounds half up and clamps to a byte, as the uint8 passes
 * do. Agrees with `pilResize` to ±1 level (fixed-point weights move a sum across a .5 boundary now and then).
 */
export function pilResizeReference(img: RgbImage, size: ResizeTarget, opts: PilResizeOptions = {}): RgbImage {
  const where = `pilResizeReference(${img.source ?? 'image'})`;
  checkTarget(img, size, where);
  const { kernel, support: baseSupport } = FILTERS[opts.filter ?? 'bicubic'];
  // One axis in float64: out[i] = round(Σ_j v[j]·w_ij / Σ_j w_ij) over the taps j of output i.
  const resample1d = (get: (j: number) => number, inSize: number, outSize: number, put: (i: number, v: number) => void) => {
    const scale = inSize / outSize, fs = Math.max(scale, 1), support = baseSupport * fs;
    for (let i = 0; i < outSize; i++) {
      const center = (i + 0.5) * scale;
      const lo = Math.max(Math.trunc(center - support + 0.5), 0), hi = Math.min(Math.trunc(center + support + 0.5), inSize);
      let acc = 0, sum = 0;
      for (let j = lo; j < hi; j++) {
        const wgt = kernel((j - center + 0.5) / fs);
        acc += get(j) * wgt;
        sum += wgt;
      }
      put(i, Math.min(255, Math.max(0, Math.floor((sum !== 0 ? acc / sum : acc) + 0.5))));
    }
  };
  const { width: w, height: h } = img, { width: ow, height: oh } = size;
  if (ow === w && oh === h) return { width: w, height: h, data: img.data.slice(), source: img.source };
  const tallFirst = (opts.tallVerticalFirst ?? true) && h > w * 100 && oh < h;
  const horizontal = (src: Uint8Array, sw: number, rows: number) => {
    const out = new Uint8Array(ow * rows * 3);
    for (let y = 0; y < rows; y++) {
      for (let c = 0; c < 3; c++) {
        resample1d((j) => src[(y * sw + j) * 3 + c], sw, ow, (i, v) => (out[(y * ow + i) * 3 + c] = v));
      }
    }
    return out;
  };
  const vertical = (src: Uint8Array, sw: number, sh: number) => {
    const out = new Uint8Array(sw * oh * 3);
    for (let x = 0; x < sw; x++) {
      for (let c = 0; c < 3; c++) {
        resample1d((j) => src[(j * sw + x) * 3 + c], sh, oh, (i, v) => (out[(i * sw + x) * 3 + c] = v));
      }
    }
    return out;
  };
  let data = img.data;
  if (tallFirst) {
    data = vertical(data, w, h);
    if (ow !== w) data = horizontal(data, w, oh);
  } else {
    if (ow !== w) data = horizontal(data, w, h);
    if (oh !== h) data = vertical(data, ow, h);
  }
  return { width: ow, height: oh, data, source: img.source };
}
