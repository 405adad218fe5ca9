// Where each token of a sequence came from: the runs of image tokens (with, per token, its crop, grid cell and
// pixel rectangle in the original image) and the text ranges between them. The processor's token→pixel map fills
// the places; capture lays features back onto the grids through them.

/** Where one image token came from and which pixels of the original image it covers. */
export interface ImageTokenPlace {
  /** 'base': the base tile (LLaVA); 'grid': anyres crop grid (LLaVA) or the merged-patch grid (Qwen); 'newline'. */
  kind: 'base' | 'grid' | 'newline';
  /** Row and column on its grid: base tile patch grid, or the (unpadded, possibly downscaled) crop-grid map. */
  row: number;
  col: number;
  /** Crop index: 0 = base tile, 1.. = anyres crops in raster order; Qwen: 0. −1 for newline tokens. */
  crop: number;
  /** Pixel rectangle [x0, y0, x1, y1) in the original image (may be fractional; empty for newlines). */
  rect: readonly [number, number, number, number];
}

export interface PatchGrid {
  rows: number;
  cols: number;
}

/** One image's run of tokens in the sequence. */
export interface ImageSpan {
  image: number;
  /** First sequence position and number of tokens (including newline tokens). */
  start: number;
  length: number;
  /** One entry per token of the run, in sequence order. */
  tokens: ImageTokenPlace[];
  /** The grids the tokens lie on: base tile (LLaVA) and main grid (rows × cols, after unpadding / downscale). */
  baseGrid: PatchGrid | null;
  grid: PatchGrid;
  /** Original image size (HF image_sizes order: height, width). */
  imageSize: { height: number; width: number };
}

export interface SequenceSpans {
  length: number;
  images: ImageSpan[];
  /** Text ranges [start, end) before the first image, between images and after the last. */
  text: [number, number][];
  /** The text prefix placed before the image, when one was asked for. */
  prefix: [number, number] | null;
}

/** The spans of a sequence of `length` tokens holding these image runs (in order, not overlapping). */
export function sequenceSpans(length: number, images: ImageSpan[]): SequenceSpans {
  const text: [number, number][] = [];
  let from = 0;
  for (const s of images) {
    if (s.start < from || s.start + s.length > length) throw new Error(`spans: image ${s.image}'s tokens ${s.start}..${s.start + s.length - 1} overlap another run or pass the sequence end (${length})`);
    if (s.start > from) text.push([from, s.start]);
    from = s.start + s.length;
  }
  if (from < length) text.push([from, length]);
  return { length, images, text, prefix: null };
}

/** Which grid of an image: 'main' (anyres crop grid / Qwen merged grid) or 'base' (LLaVA's base tile). */
export type GridChoice = 'main' | 'base';

/**
 * The token kind that lies on a grid: 'base' for the base grid; for the main grid 'grid', except an image without
 * crop-grid tokens (a OneVision multi-image tile), whose main grid is its one tile's p×p grid of 'base' tokens.
 */
export function gridTokenKind(span: ImageSpan, grid: GridChoice): 'base' | 'grid' {
  if (grid === 'base') return 'base';
  return span.tokens.some((t) => t.kind === 'grid') ? 'grid' : 'base';
}
