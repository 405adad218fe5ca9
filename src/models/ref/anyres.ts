// HF LLaVA-NeXT / OneVision anyres geometry for the float64 reference, written from transformers'
// `select_best_resolution`, `get_anyres_image_grid_shape`, `image_size_to_num_patches` and `unpad_image`
// (independent of src/models/processor/anyres.ts, so a bug there fails the parity tests).

/**
 * The pinpoint (height, width) that keeps the most of the image when it is scaled to fit, ties broken by the least
 * wasted area, first in list order: scale = min(w/W, h/H), effective = min(⌊W·s⌋·⌊H·s⌋, W·H), wasted = h·w − effective.
 */
export function selectBestResolution(originalSize: readonly [number, number], possibleResolutions: readonly (readonly [number, number])[]): [number, number] {
  const [oh, ow] = originalSize;
  let bestFit: [number, number] | null = null;
  let maxEffective = 0, minWasted = Infinity;
  for (const [height, width] of possibleResolutions) {
    const scale = Math.min(width / ow, height / oh);
    const dw = Math.trunc(ow * scale), dh = Math.trunc(oh * scale);
    const effective = Math.min(dw * dh, ow * oh);
    const wasted = width * height - effective;
    if (effective > maxEffective || (effective === maxEffective && wasted < minWasted)) {
      maxEffective = effective;
      minWasted = wasted;
      bestFit = [height, width];
    }
  }
  if (!bestFit) throw new Error(`reference anyres: no pinpoint fits an image of ${oh}×${ow} (image_grid_pinpoints ${JSON.stringify(possibleResolutions)})`);
  return bestFit;
}

/** (rows, cols) of crops: the best pinpoint // the tile size (vision_config.image_size). */
export function anyresGridShape(imageSize: readonly [number, number], pinpoints: readonly (readonly [number, number])[], tile: number): [number, number] {
  const [h, w] = selectBestResolution(imageSize, pinpoints);
  return [Math.floor(h / tile), Math.floor(w / tile)];
}

/** Tiles of one anyres image: one per tile-sized step over the best pinpoint (⌈h/tile⌉·⌈w/tile⌉), plus the base. */
export function imageSizeToNumPatches(imageSize: readonly [number, number], pinpoints: readonly (readonly [number, number])[], tile: number): number {
  const [h, w] = selectBestResolution(imageSize, pinpoints);
  return Math.ceil(h / tile) * Math.ceil(w / tile) + 1;
}

/** Python's round(x, 7). */
const round7 = (x: number) => Math.round(x * 1e7) / 1e7;

/** `unpad_image` on a [rows, cols, ·] map: trim the letterbox the processor added around an (oh, ow) image. */
export function unpadImage<T>(map: T[][], originalSize: readonly [number, number]): T[][] {
  const [oh, ow] = originalSize;
  const ch = map.length, cw = map[0].length;
  if (ow / oh > cw / ch) {
    const newH = Math.trunc(round7(oh * (cw / ow)));
    const pad = Math.floor((ch - newH) / 2);
    return map.slice(pad, ch - pad);
  }
  const newW = Math.trunc(round7(ow * (ch / oh)));
  const pad = Math.floor((cw - newW) / 2);
  return map.map((row) => row.slice(pad, cw - pad));
}
