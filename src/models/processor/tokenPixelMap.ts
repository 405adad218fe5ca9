// Token → pixel map: for every image token, in the order the model packs them, where it sits (base tile / crop grid /
// newline, row, col, crop) and the rectangle of the original image it covers. Built from 2D homogeneous transforms
// (gl-matrix mat3) that undo each processor step: downscale, unpad offset, tile placement, letterbox offset, resize.
// A token's cell is tile/p pixels on its tile (the feature-grid convention HF's unpad uses; the stride-14 conv itself
// ignores the last tile − 14p pixels). Rects are clipped to the image.
import { mat3, vec2 } from 'gl-matrix';
import type { ImageTokenPlace } from '../../capture/spans.ts';
import { type AnyresLayout, type AnyresSpec, patchOutputSize, type Size } from './anyres.ts';

type Mat = Float64Array;

function identity(): Mat {
  return mat3.identity(new Float64Array(9)) as Mat;
}
function scaling(sx: number, sy: number): Mat {
  return mat3.fromScaling(new Float64Array(9), [sx, sy]) as Mat;
}
function translation(tx: number, ty: number): Mat {
  return mat3.fromTranslation(new Float64Array(9), [tx, ty]) as Mat;
}
/** The transform applying `steps` first to last (M = steps[n−1] ··· steps[0]). */
function chain(...steps: Mat[]): Mat {
  const out = identity();
  for (const s of steps) mat3.multiply(out, s, out);
  return out;
}
function inverse(m: Mat): Mat {
  const out = new Float64Array(9);
  if (!mat3.invert(out, m)) throw new Error('tokenPixelMap: singular transform');
  return out;
}
function apply(m: Mat, x: number, y: number): [number, number] {
  const v = vec2.transformMat3(new Float64Array(2), [x, y], m);
  return [v[0], v[1]];
}

type Rect = readonly [number, number, number, number];
const EMPTY: Rect = [0, 0, 0, 0];

/** Cell (col, row) of a grid mapped through `m`, clipped to the image [0, W] × [0, H]. */
function cellRect(m: Mat, col: number, row: number, image: Size): Rect {
  const [ax, ay] = apply(m, col, row), [bx, by] = apply(m, col + 1, row + 1);
  const clamp = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
  const x0 = clamp(Math.min(ax, bx), image.width), x1 = clamp(Math.max(ax, bx), image.width);
  const y0 = clamp(Math.min(ay, by), image.height), y1 = clamp(Math.max(ay, by), image.height);
  return [x0, y0, x1, y1];
}

function checkImage(image: Size, where: string): void {
  if (!(image.height > 0 && image.width > 0)) throw new Error(`${where}: image of zero size (${image.height}×${image.width})`);
}

/** The letterbox inside the pinpoint: resized size (nh, nw) and its top/left offset (floor of half the slack). */
export function letterbox(image: Size, best: Size): { inner: Size; top: number; left: number } {
  const inner = patchOutputSize(image, best);
  return { inner, top: Math.floor((best.height - inner.height) / 2), left: Math.floor((best.width - inner.width) / 2) };
}

/**
 * LLaVA image tokens in sequence order. Anyres (`layout` given): base tile p×p raster, then the unpadded (and
 * OneVision-downscaled) grid row by row, each row followed by one newline. `layout = null`: OneVision multi-image,
 * p×p raster of the square-padded tile then one newline.
 */
export function llavaTokenPlaces(imageSize: Size, layout: AnyresLayout | null, spec: AnyresSpec): ImageTokenPlace[] {
  checkImage(imageSize, 'llavaTokenPlaces');
  const p = spec.patchesPerSide, T = spec.tile, { height: H, width: W } = imageSize;
  const out: ImageTokenPlace[] = [];

  if (layout === null) {
    // Square pad (side max(H, W), centred, floor offset), squash-resized to the T×T tile.
    const side = Math.max(H, W);
    const top = W > H ? Math.floor((side - H) / 2) : 0, left = H > W ? Math.floor((side - W) / 2) : 0;
    const m = chain(scaling(T / p, T / p), scaling(side / T, side / T), translation(-left, -top));
    for (let r = 0; r < p; r++) {
      for (let c = 0; c < p; c++) out.push({ kind: 'base', row: r, col: c, crop: 0, rect: cellRect(m, c, r, imageSize) });
    }
    out.push({ kind: 'newline', row: p - 1, col: p, crop: -1, rect: EMPTY });
    return out;
  }

  // Base tile: the whole image squash-resized to T×T.
  const base = chain(scaling(T / p, T / p), scaling(W / T, H / T));
  for (let r = 0; r < p; r++) {
    for (let c = 0; c < p; c++) out.push({ kind: 'base', row: r, col: c, crop: 0, rect: cellRect(base, c, r, imageSize) });
  }

  const { unpadded, final, window, gridCols, gridRows, best } = layout;
  const { inner, top, left } = letterbox(imageSize, best);
  // final cell → unpadded cell (bilinear downscale, align_corners=False: uniform cells) → full crop-grid cell →
  // canvas pixel (T/p per cell) → resized-image pixel (letterbox) → original pixel.
  const canvasFromCell = chain(
    scaling(unpadded.width / final.width, unpadded.height / final.height),
    translation(window.colStart, window.rowStart),
    scaling(T / p, T / p),
  );
  const imageFromCanvas = chain(translation(-left, -top), scaling(W / inner.width, H / inner.height));
  const imageFromCell = chain(canvasFromCell, imageFromCanvas);
  const canvasFromImage = inverse(imageFromCanvas);
  for (let r = 0; r < final.height; r++) {
    for (let c = 0; c < final.width; c++) {
      const rect = cellRect(imageFromCell, c, r, imageSize);
      // Crop = the canvas tile holding the rect centre (the unclipped cell centre when the rect is empty).
      const [cx, cy] = rect[2] > rect[0] && rect[3] > rect[1]
        ? apply(canvasFromImage, (rect[0] + rect[2]) / 2, (rect[1] + rect[3]) / 2)
        : apply(canvasFromCell, c + 0.5, r + 0.5);
      const tr = Math.min(Math.max(Math.floor(cy / T), 0), gridRows - 1), tc = Math.min(Math.max(Math.floor(cx / T), 0), gridCols - 1);
      out.push({ kind: 'grid', row: r, col: c, crop: 1 + tr * gridCols + tc, rect });
    }
    out.push({ kind: 'newline', row: r, col: final.width, crop: -1, rect: EMPTY });
  }
  return out;
}

/** Qwen2.5-VL merged tokens, raster over (gh/m × gw/m); each covers m×m patches of the resized image. */
export function qwenTokenPlaces(
  imageSize: Size,
  resized: Size,
  gridThw: readonly [number, number, number],
  mergeSize = 2,
): ImageTokenPlace[] {
  checkImage(imageSize, 'qwenTokenPlaces');
  const [t, gh, gw] = gridThw;
  if (t !== 1) throw new Error(`qwenTokenPlaces: images have grid_t = 1, got ${t} (videos are not mapped)`);
  if (gh % mergeSize || gw % mergeSize) throw new Error(`qwenTokenPlaces: grid ${gh}×${gw} is not a multiple of merge size ${mergeSize}`);
  const cellH = (resized.height / gh) * mergeSize, cellW = (resized.width / gw) * mergeSize;
  const m = chain(scaling(cellW, cellH), scaling(imageSize.width / resized.width, imageSize.height / resized.height));
  const out: ImageTokenPlace[] = [];
  for (let r = 0; r < gh / mergeSize; r++) {
    for (let c = 0; c < gw / mergeSize; c++) out.push({ kind: 'grid', row: r, col: c, crop: 0, rect: cellRect(m, c, r, imageSize) });
  }
  return out;
}

/** One grid the tokens lie on: for each sequence index its (row, col) there, or −1 and valid = 0. */
export interface TokenGrid {
  rows: number;
  cols: number;
  row: Int32Array;
  col: Int32Array;
  valid: Uint8Array;
  /** Cell (row·cols + col) → sequence index (within the image's run). */
  cellToken: Int32Array;
}

/**
 * Lay an image's tokens back on their grids. `main`: the crop grid (LLaVA anyres, unpadded/downscaled, every cell
 * valid) or Qwen's merged grid; for a OneVision multi-image tile, which has no crop grid, the tile's p×p grid.
 * `base`: LLaVA's base tile grid (null for Qwen and multi-image). Newlines are on neither.
 */
export function placesToGrid(tokens: readonly ImageTokenPlace[]): { main: TokenGrid; base: TokenGrid | null } {
  const hasGrid = tokens.some((t) => t.kind === 'grid');
  const gridOf = (kind: 'base' | 'grid'): TokenGrid => {
    let rows = 0, cols = 0;
    for (const t of tokens) if (t.kind === kind) rows = Math.max(rows, t.row + 1), cols = Math.max(cols, t.col + 1);
    const row = new Int32Array(tokens.length).fill(-1), col = new Int32Array(tokens.length).fill(-1);
    const valid = new Uint8Array(tokens.length), cellToken = new Int32Array(rows * cols).fill(-1);
    tokens.forEach((t, i) => {
      if (t.kind !== kind) return;
      const cell = t.row * cols + t.col;
      if (cellToken[cell] !== -1) throw new Error(`placesToGrid: two ${kind} tokens (${cellToken[cell]}, ${i}) on cell (${t.row}, ${t.col})`);
      cellToken[cell] = i;
      row[i] = t.row;
      col[i] = t.col;
      valid[i] = 1;
    });
    const missing = cellToken.indexOf(-1);
    if (missing !== -1) throw new Error(`placesToGrid: ${kind} cell (${Math.floor(missing / cols)}, ${missing % cols}) has no token`);
    return { rows, cols, row, col, valid, cellToken };
  };
  if (!hasGrid) return { main: gridOf('base'), base: null };
  const hasBase = tokens.some((t) => t.kind === 'base');
  return { main: gridOf('grid'), base: hasBase ? gridOf('base') : null };
}
