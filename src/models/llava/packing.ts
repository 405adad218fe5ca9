// LLaVA image packing on the GPU (HF `pack_image_features`, spec §1.5 / §2.5): per image, in sequence order,
//   base tile tokens (raster) ++ rows of the crop grid, each row followed by `image_newline`,
// where the crop grid is the crops' patch maps assembled into one (gh·p × gw·p) map, unpadded (the letterbox
// removed, int(round(x, 7)) rule), and for OneVision's anyres_max_N bilinearly downscaled (align_corners=False) when
// sqrt(h·w / (N·p²)) > 1.1. A single-tile image (OneVision multi-image) is its p² tokens + one newline.
// The geometry is computed on the host (token indices); the features never leave the GPU.
import { Stage } from '../../gpu/stage.ts';
import { Tensor } from '../../gpu/tensor.ts';
import { interpolateBilinear } from '../../ops/interpolate.ts';
import { concatRows, gatherRows } from '../../ops/rows.ts';
import { type AnyresLayout, anyresLayout, type AnyresSpec } from '../processor/anyres.ts';

/** How one image's tiles become its run of image tokens. */
export interface ImagePacking {
  /** Original image (height, width) as HF image_sizes. */
  imageSize: { height: number; width: number };
  /** Index of the image's first tile (its base tile) among all tiles, and its tile count. */
  tileOffset: number;
  tiles: number;
  /** The anyres layout, or null for a single-tile image. */
  layout: AnyresLayout | null;
  /** Image tokens it occupies in the sequence. */
  tokens: number;
}

export interface PackingSpec extends AnyresSpec {
  /** Every image is one tile (OneVision with several images in one prompt: HF `batch_num_images` > 1). */
  singleTile: boolean;
}

/** The packing of each image, tiles laid out image after image ([base, crops…] each). */
export function imagePackings(imageSizes: readonly (readonly [number, number])[], spec: PackingSpec): ImagePacking[] {
  let tileOffset = 0;
  const p = spec.patchesPerSide;
  return imageSizes.map(([height, width], i) => {
    if (!(Number.isInteger(height) && Number.isInteger(width) && height > 0 && width > 0)) {
      throw new Error(`image_sizes[${i}]: (${height}, ${width}) is not a positive (height, width)`);
    }
    const layout = spec.singleTile ? null : anyresLayout({ height, width }, spec);
    const tiles = layout ? layout.tiles : 1;
    const tokens = layout ? layout.imageTokens : p * p + 1;
    const out = { imageSize: { height, width }, tileOffset, tiles, layout, tokens };
    tileOffset += tiles;
    return out;
  });
}

/**
 * Rows of the tile features (tile-major, p² tokens per tile) that make up the unpadded crop-grid map of `img`, in
 * raster order of that map: map cell (r, c) lies in crop (r / p, c / p) at patch (r % p, c % p).
 */
export function unpaddedMapRows(img: ImagePacking, p: number): number[] {
  const l = img.layout!;
  const rows: number[] = [];
  for (let r = l.window.rowStart; r < l.window.rowEnd; r++) {
    for (let c = l.window.colStart; c < l.window.colEnd; c++) {
      const crop = Math.floor(r / p) * l.gridCols + Math.floor(c / p);
      rows.push((img.tileOffset + 1 + crop) * p * p + (r % p) * p + (c % p));
    }
  }
  return rows;
}

/**
 * All images' packed features in sequence order: [Σ tokens, H]. `features` are the projected tile tokens
 * [tiles·p², H]; `newline` is image_newline as [1, H].
 */
export function packImageFeatures(stage: Stage, features: Tensor<'f32'>, newline: Tensor<'f32'>, images: readonly ImagePacking[], p: number): Tensor<'f32'> {
  const t = p * p;
  const tiles = images.reduce((a, im) => a + im.tiles, 0);
  if (features.rows !== tiles * t) {
    throw new Error(`packImageFeatures: ${features.rows} feature rows for ${tiles} tiles × ${t} tokens (${tiles * t}) of ${images.length} image(s)`);
  }
  if (newline.numel !== features.rowLength) throw new Error(`packImageFeatures: image_newline has ${newline.numel} values, features have ${features.rowLength}`);
  // sources of the final gather: [features; newline; downscaled maps…]
  const sources: Tensor<'f32'>[] = [features, newline];
  const temps: Tensor<'f32'>[] = [];
  let nextRow = features.rows + 1;
  const newlineRow = features.rows;
  const index: number[] = [];
  for (const img of images) {
    const base = img.tileOffset * t;
    for (let i = 0; i < t; i++) index.push(base + i);
    const l = img.layout;
    if (!l) {
      index.push(newlineRow);
      continue;
    }
    const map = unpaddedMapRows(img, p);
    let at: (r: number, c: number) => number = (r, c) => map[r * l.unpadded.width + c];
    if (l.final.height !== l.unpadded.height || l.final.width !== l.unpadded.width) {
      // anyres_max downscale of the [h', w', H] map
      const mapIdx = Tensor.from(stage.gpu, 'u32', [map.length], map, 'unpadded map rows');
      const full = gatherRows(stage, features, mapIdx);
      const small = interpolateBilinear(stage, full.reshape([l.unpadded.height, l.unpadded.width, features.rowLength]), l.final.height, l.final.width);
      const start = nextRow;
      nextRow += small.rows;
      sources.push(small.reshape([l.final.height * l.final.width, features.rowLength]));
      temps.push(full, small);
      stage.onDone(() => mapIdx.dispose());
      at = (r, c) => start + r * l.final.width + c;
    }
    for (let r = 0; r < l.final.height; r++) {
      for (let c = 0; c < l.final.width; c++) index.push(at(r, c));
      index.push(newlineRow);
    }
  }
  const src = concatRows(stage, sources);
  const idx = Tensor.from(stage.gpu, 'u32', [index.length], index, 'packing index');
  const packed = gatherRows(stage, src, idx);
  stage.onDone(() => { for (const x of [src, idx, ...temps]) x.dispose(); });
  return packed;
}
