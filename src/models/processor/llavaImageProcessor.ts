// The slow (PIL) image processors of LLaVA-OneVision and LLaVA-NeXT: anyres tiling of one image into
// [base, crop_0, crop_1, …] tiles, or (OneVision, several images in one prompt) one square-padded tile per image;
// then rescale and normalise to `pixel_values` [tiles, 3, S, S]. As HF `LlavaOnevisionImageProcessor` /
// `LlavaNextImageProcessor` `get_image_patches` + `_preprocess`.
import type { RgbImage } from '../../io/rgbImage.ts';
import { checkRgbImage } from '../../io/rgbImage.ts';
import { type AnyresLayout, type AnyresSpec, anyresLayout, patchOutputSize, type Size } from './anyres.ts';
import { pilResize } from './pilResize.ts';
import type { LlavaImageProcessorConfig } from './preprocessorConfig.ts';

export interface LlavaProcessedImage {
  /** [tiles, 3, S, S] float32, CHW per tile, base tile first. */
  pixelValues: { shape: [number, number, number, number]; data: Float32Array };
  /** HF `image_sizes` entry: (height, width) of the original image. */
  imageSize: [number, number];
  /** Anyres layout (pinpoint, grid, unpad window, token count); null for a OneVision multi-image tile. */
  layout: AnyresLayout | null;
}

export interface LlavaPreprocessOptions {
  /** OneVision with several images in one prompt (HF nested-list input): square pad, one tile, no anyres. */
  multiImage?: boolean;
  /** Vision tower patch size, for the token layout (SigLIP and CLIP here: 14). */
  visionPatchSize?: number;
}

/** The anyres token geometry a processor config implies (tile side, patches per tile side, pinpoints, max tiles). */
export function llavaAnyresSpec(cfg: LlavaImageProcessorConfig, visionPatchSize = 14): AnyresSpec {
  return {
    tile: cfg.tile,
    patchesPerSide: Math.floor(cfg.tile / visionPatchSize),
    pinpoints: cfg.imageGridPinpoints,
    ...(cfg.kind === 'llava_onevision' ? { maxTiles: 9 } : {}),
  };
}

/** Image tokens one image expands to: anyres (base + unpadded grid + newlines), or OneVision multi-image p² + 1. */
export function llavaImageTokenCount(imageSize: Size, spec: AnyresSpec, multiImage = false): number {
  if (multiImage) {
    if (!(imageSize.height > 0 && imageSize.width > 0)) {
      throw new Error(`llava: image of zero size (${imageSize.height}×${imageSize.width})`);
    }
    return spec.patchesPerSide * spec.patchesPerSide + 1;
  }
  return anyresLayout(imageSize, spec).imageTokens;
}

/** A rectangle of `img` at (top, left) of size (h, w); pixels outside the image take `fill` (per channel). */
function cropWithFill(img: RgbImage, top: number, left: number, h: number, w: number, fill: readonly number[]): RgbImage {
  const data = new Uint8Array(h * w * 3);
  for (let y = 0; y < h; y++) {
    const sy = top + y;
    for (let x = 0; x < w; x++) {
      const sx = left + x, o = (y * w + x) * 3;
      if (sy >= 0 && sy < img.height && sx >= 0 && sx < img.width) {
        const i = (sy * img.width + sx) * 3;
        data[o] = img.data[i];
        data[o + 1] = img.data[i + 1];
        data[o + 2] = img.data[i + 2];
      } else {
        data[o] = fill[0];
        data[o + 1] = fill[1];
        data[o + 2] = fill[2];
      }
    }
  }
  return { width: w, height: h, data, source: img.source };
}

/** HF `_preprocess` geometry for one tile: OneVision resize to (height, width); NeXT shortest-edge resize + centre crop. */
function tileGeometry(tile: RgbImage, cfg: LlavaImageProcessorConfig): RgbImage {
  let img = tile;
  if (cfg.doResize) {
    if ('shortestEdge' in cfg.size) {
      // get_resize_output_image_size(default_to_square=False): short side → shortest_edge, long side int(se·long/short).
      const se = cfg.size.shortestEdge, short = Math.min(img.width, img.height), long = Math.max(img.width, img.height);
      const newLong = Math.trunc((se * long) / short);
      const target = img.width <= img.height ? { width: se, height: newLong } : { width: newLong, height: se };
      img = pilResize(img, target, { filter: cfg.resample });
    } else {
      img = pilResize(img, cfg.size, { filter: cfg.resample });
    }
  }
  if (cfg.doCenterCrop && cfg.cropSize) {
    const { height: ch, width: cw } = cfg.cropSize;
    if (ch > img.height || cw > img.width) {
      throw new Error(`${cfg.file}: crop_size ${ch}×${cw} is larger than the resized tile ${img.height}×${img.width}`);
    }
    img = cropWithFill(img, Math.floor((img.height - ch) / 2), Math.floor((img.width - cw) / 2), ch, cw, [0, 0, 0]);
  }
  return img;
}

/** Rescale (float64 product stored f32) then normalise in f32, HWC uint8 → CHW float32 at `out[offset…]`. */
function writeNormalisedChw(img: RgbImage, cfg: LlavaImageProcessorConfig, out: Float32Array, offset: number): void {
  const plane = img.width * img.height;
  for (let c = 0; c < 3; c++) {
    const mean = Math.fround(cfg.imageMean[c]), std = Math.fround(cfg.imageStd[c]);
    const base = offset + c * plane;
    for (let i = 0; i < plane; i++) {
      const u = img.data[i * 3 + c];
      const x = cfg.doRescale ? Math.fround(u * cfg.rescaleFactor) : u;
      out[base + i] = cfg.doNormalize ? Math.fround(Math.fround(x - mean) / std) : x;
    }
  }
}

/** HF `pad_to_square`: centre on a square of the longer side, offset (max − min)//2, filled with `fill`. */
function padToSquare(img: RgbImage, fill: readonly number[]): RgbImage {
  const side = Math.max(img.width, img.height);
  if (img.width === img.height) return img;
  const top = img.width > img.height ? -Math.floor((side - img.height) / 2) : 0;
  const left = img.height > img.width ? -Math.floor((side - img.width) / 2) : 0;
  return cropWithFill(img, top, left, side, side, fill);
}

/** The (unnormalised, uint8) tiles of one image in HF order: base first, then crops in raster order. */
export function llavaTiles(img: RgbImage, cfg: LlavaImageProcessorConfig, opts: LlavaPreprocessOptions = {}): {
  tiles: RgbImage[];
  layout: AnyresLayout | null;
} {
  checkRgbImage(img, `llava processor: ${img.source ?? 'image'}`);
  if (opts.multiImage) {
    if (cfg.kind !== 'llava_onevision') throw new Error(`${cfg.file}: multi-image mode exists only for LlavaOnevisionImageProcessor`);
    // Background colour int(mean·255) per channel (127 for mean 0.5).
    return { tiles: [padToSquare(img, cfg.imageMean.map((m) => Math.trunc(m * 255)))], layout: null };
  }
  const layout = anyresLayout({ height: img.height, width: img.width }, llavaAnyresSpec(cfg, opts.visionPatchSize));
  const { best } = layout;
  // Resize inside the pinpoint keeping the aspect ratio, then letterbox with 0, centred (floor top/left).
  const inner = patchOutputSize({ height: img.height, width: img.width }, best);
  const resized = pilResize(img, inner, { filter: cfg.resample });
  const top = Math.floor((best.height - inner.height) / 2), left = Math.floor((best.width - inner.width) / 2);
  const tiles: RgbImage[] = [pilResize(img, cfg.baseSize, { filter: cfg.resample })];
  const t = cfg.tile;
  for (let r = 0; r < layout.gridRows; r++) {
    for (let c = 0; c < layout.gridCols; c++) tiles.push(cropWithFill(resized, r * t - top, c * t - left, t, t, [0, 0, 0]));
  }
  return { tiles, layout };
}

/** One image → `pixel_values` [tiles, 3, S, S] with its `image_sizes` entry and anyres layout. */
export function llavaPreprocess(img: RgbImage, cfg: LlavaImageProcessorConfig, opts: LlavaPreprocessOptions = {}): LlavaProcessedImage {
  const { tiles, layout } = llavaTiles(img, cfg, opts);
  const ready = tiles.map((tile) => tileGeometry(tile, cfg));
  const { width: sw, height: sh } = ready[0];
  for (const [i, tile] of ready.entries()) {
    if (tile.width !== sw || tile.height !== sh) {
      throw new Error(`${cfg.file}: tile ${i} is ${tile.height}×${tile.width} after _preprocess, tile 0 is ${sh}×${sw}`);
    }
  }
  const data = new Float32Array(ready.length * 3 * sh * sw);
  ready.forEach((tile, i) => writeNormalisedChw(tile, cfg, data, i * 3 * sh * sw));
  return { pixelValues: { shape: [ready.length, 3, sh, sw], data }, imageSize: [img.height, img.width], layout };
}
