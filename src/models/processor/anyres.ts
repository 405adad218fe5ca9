// anyres geometry shared by LLaVA-OneVision (`anyres_max_9`, tile 384, 27×27 patches) and LLaVA-NeXT (tile 336,
// 24×24 patches): which pinpoint an image gets, how it is resized and padded into tiles, how the feature grid is
// unpadded and (OneVision) downscaled, and how many image tokens result. As HF `select_best_resolution`,
// `get_patch_output_size`, `unpad_image` and the processors' `_get_number_of_features`.

/** (height, width) in pixels or patches. */
export interface Size { height: number; width: number }

/** HF `select_best_resolution`: the pinpoint keeping the most of the image, then wasting the least; ties keep the first. */
export function selectBestResolution(image: Size, pinpoints: readonly (readonly [number, number])[]): Size {
  if (!(image.height > 0 && image.width > 0)) throw new Error(`anyres: image of zero size (${image.height}×${image.width})`);
  if (!pinpoints.length) throw new Error('anyres: image_grid_pinpoints is empty');
  let best: Size | null = null;
  let bestEffective = -1, bestWasted = Infinity;
  for (const [ph, pw] of pinpoints) {
    const s = Math.min(pw / image.width, ph / image.height);
    const dw = Math.trunc(image.width * s), dh = Math.trunc(image.height * s);
    const effective = Math.min(dw * dh, image.width * image.height);
    const wasted = ph * pw - effective;
    if (effective > bestEffective || (effective === bestEffective && wasted < bestWasted)) {
      best = { height: ph, width: pw };
      bestEffective = effective;
      bestWasted = wasted;
    }
  }
  return best!;
}

/** HF `get_patch_output_size`: the size the image is resized to inside its pinpoint, aspect ratio kept. */
export function patchOutputSize(image: Size, target: Size): Size {
  const sw = target.width / image.width, sh = target.height / image.height;
  if (sw < sh) return { width: target.width, height: Math.min(Math.ceil(image.height * sw), target.height) };
  return { height: target.height, width: Math.min(Math.ceil(image.width * sh), target.width) };
}

/** Python's round(x, 7) for the unpad rule (values here are far from float edge cases). */
function round7(x: number): number {
  return Math.round(x * 1e7) / 1e7;
}

/** Rows/cols of the (gh·p × gw·p) feature grid that survive unpadding: [start, end) on each axis. */
export interface UnpadWindow { rowStart: number; rowEnd: number; colStart: number; colEnd: number }

/** HF `unpad_image` on a grid of `current` patches for an original image of `original` pixels. */
export function unpadWindow(current: Size, original: Size): UnpadWindow {
  const { height: ch, width: cw } = current;
  const { height: oh, width: ow } = original;
  if (ow / oh > cw / ch) {
    const newH = Math.trunc(round7(oh * (cw / ow)));
    const pad = Math.trunc((ch - newH) / 2);
    return { rowStart: pad, rowEnd: ch - pad, colStart: 0, colEnd: cw };
  }
  const newW = Math.trunc(round7(ow * (ch / oh)));
  const pad = Math.trunc((cw - newW) / 2);
  return { rowStart: 0, rowEnd: ch, colStart: pad, colEnd: cw - pad };
}

export interface AnyresLayout {
  best: Size;
  /** Crops per column and row of the pinpoint (tiles = 1 base + gridRows·gridCols). */
  gridRows: number;
  gridCols: number;
  tiles: number;
  /** The unpadded feature grid, in patches, before any downscale. */
  unpadded: Size;
  window: UnpadWindow;
  /** After the anyres_max downscale (equal to `unpadded` when none applies). */
  final: Size;
  baseTokens: number;
  /** base tokens + final.height·(final.width + 1) (one newline per row). */
  imageTokens: number;
}

export interface AnyresSpec {
  tile: number;
  patchesPerSide: number;
  pinpoints: readonly (readonly [number, number])[];
  /** anyres_max_N: downscale when sqrt(h·w/(N·p²)) > 1.1 (OneVision: 9); absent for LLaVA-NeXT. */
  maxTiles?: number;
}

/** Token layout of one image in anyres mode, as the processor counts it and the model packs it. */
export function anyresLayout(image: Size, spec: AnyresSpec): AnyresLayout {
  const best = selectBestResolution(image, spec.pinpoints);
  const gridRows = best.height / spec.tile, gridCols = best.width / spec.tile;
  if (!Number.isInteger(gridRows) || !Number.isInteger(gridCols)) {
    throw new Error(`anyres: pinpoint ${best.height}×${best.width} is not a multiple of the tile size ${spec.tile}`);
  }
  const p = spec.patchesPerSide;
  const window = unpadWindow({ height: gridRows * p, width: gridCols * p }, image);
  const unpadded = { height: window.rowEnd - window.rowStart, width: window.colEnd - window.colStart };
  let final = unpadded;
  if (spec.maxTiles !== undefined) {
    const ratio = Math.sqrt((unpadded.height * unpadded.width) / (spec.maxTiles * p * p));
    if (ratio > 1.1) final = { height: Math.floor(unpadded.height / ratio), width: Math.floor(unpadded.width / ratio) };
  }
  const baseTokens = p * p;
  return {
    best, gridRows, gridCols, tiles: 1 + gridRows * gridCols, unpadded, window, final, baseTokens,
    imageTokens: baseTokens + final.height * (final.width + 1),
  };
}

/** LLaVA-OneVision's 36 pinpoints: (h, w) with h, w ∈ {384, …, 2304}, h-major. */
export function oneVisionPinpoints(): [number, number][] {
  const s = [384, 768, 1152, 1536, 1920, 2304];
  return s.flatMap((h) => s.map((w) => [h, w] as [number, number]));
}

export const LLAVA_NEXT_PINPOINTS: [number, number][] = [[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]];
