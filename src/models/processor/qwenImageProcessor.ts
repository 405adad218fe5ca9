// The slow (PIL) Qwen2-VL / Qwen2.5-VL image processor: smart_resize, PIL bicubic, rescale + normalise, the image
// repeated to `temporal_patch_size` identical frames, and patches flattened in merge-block order into
// `pixel_values` [t·gh·gw, 3·T·P·P]. As HF `Qwen2VLImageProcessor._preprocess`; plus the inverse (row → patch
// position) that the vision rotary table and window partition need.
import type { RgbImage } from '../../io/rgbImage.ts';
import { checkRgbImage } from '../../io/rgbImage.ts';
import { pilResize } from './pilResize.ts';
import type { QwenImageProcessorConfig } from './preprocessorConfig.ts';
import { smartResize } from './smartResize.ts';

export interface QwenProcessedImage {
  /** [gh·gw, 3·T·P·P] float32 (1176 columns for P = 14, T = 2), rows in merge-block order. */
  pixelValues: { shape: [number, number]; data: Float32Array };
  /** HF `image_grid_thw`: (1, gh, gw) in patches. */
  gridThw: [number, number, number];
  /** The smart_resize target (height, width) in pixels. */
  resized: { height: number; width: number };
  /** Original (height, width). */
  imageSize: [number, number];
}

/**
 * Patch grid position of pixel row `index` (merge-block order): blocks of m×m patches in raster order over the
 * (gh/m × gw/m) block grid, inside a block the m² patches in raster order; frames (t) outermost.
 */
export function qwenPatchPosition(
  index: number,
  gridThw: readonly [number, number, number],
  mergeSize = 2,
): { t: number; row: number; col: number } {
  const [gt, gh, gw] = gridThw, m = mergeSize;
  if (!Number.isInteger(index) || index < 0 || index >= gt * gh * gw) {
    throw new Error(`qwenPatchPosition: row ${index} outside [0, ${gt * gh * gw}) for grid ${gt}×${gh}×${gw}`);
  }
  if (gh % m || gw % m) throw new Error(`qwenPatchPosition: grid ${gh}×${gw} is not a multiple of merge size ${m}`);
  const perFrame = gh * gw, t = Math.floor(index / perFrame), i = index % perFrame;
  const block = Math.floor(i / (m * m)), inner = i % (m * m), blocksPerRow = gw / m;
  return {
    t,
    row: Math.floor(block / blocksPerRow) * m + Math.floor(inner / m),
    col: (block % blocksPerRow) * m + (inner % m),
  };
}

/** (row, col) of every pixel row, interleaved [row0, col0, row1, col1, …]: the vision rotary position table. */
export function qwenPatchPositions(gridThw: readonly [number, number, number], mergeSize = 2): Int32Array {
  const n = gridThw[0] * gridThw[1] * gridThw[2];
  const out = new Int32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const p = qwenPatchPosition(i, gridThw, mergeSize);
    out[2 * i] = p.row;
    out[2 * i + 1] = p.col;
  }
  return out;
}

/** One image → `pixel_values` rows and `image_grid_thw`. */
export function qwenPreprocess(img: RgbImage, cfg: QwenImageProcessorConfig): QwenProcessedImage {
  checkRgbImage(img, `qwen processor: ${img.source ?? 'image'}`);
  const p = cfg.patchSize, m = cfg.mergeSize, tp = cfg.temporalPatchSize;
  const resized = cfg.doResize
    ? smartResize(img.height, img.width, { factor: p * m, minPixels: cfg.minPixels, maxPixels: cfg.maxPixels })
    : { height: img.height, width: img.width };
  if (resized.height % (p * m) || resized.width % (p * m)) {
    throw new Error(
      `${cfg.file}: image ${resized.height}×${resized.width} is not a multiple of patch_size·merge_size = ${p * m} (do_resize is off)`,
    );
  }
  const im = cfg.doResize ? pilResize(img, resized, { filter: cfg.resample }) : img;
  const H = resized.height, W = resized.width;

  // Rescale (float64 product stored f32), normalise in f32: one CHW frame.
  const frame = new Float32Array(3 * H * W);
  for (let c = 0; c < 3; c++) {
    const mean = Math.fround(cfg.imageMean[c]), std = Math.fround(cfg.imageStd[c]);
    for (let i = 0; i < H * W; i++) {
      const u = im.data[i * 3 + c];
      const x = cfg.doRescale ? Math.fround(u * cfg.rescaleFactor) : u;
      frame[c * H * W + i] = cfg.doNormalize ? Math.fround(Math.fround(x - mean) / std) : x;
    }
  }

  // A single image is `tp` identical frames (grid_t = 1). Row r = patch qwenPatchPosition(r); columns (c, tp, py, px).
  const gh = H / p, gw = W / p, rows = gh * gw, cols = 3 * tp * p * p;
  const gridThw: [number, number, number] = [1, gh, gw];
  const data = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const { row, col } = qwenPatchPosition(r, gridThw, m);
    for (let c = 0; c < 3; c++) {
      for (let t = 0; t < tp; t++) {
        const base = r * cols + (c * tp + t) * p * p;
        for (let py = 0; py < p; py++) {
          const src = c * H * W + (row * p + py) * W + col * p;
          data.set(frame.subarray(src, src + p), base + py * p);
        }
      }
    }
  }
  return { pixelValues: { shape: [rows, cols], data }, gridThw, resized, imageSize: [img.height, img.width] };
}
