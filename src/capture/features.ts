// Features of one image laid back onto its patch grid, on the GPU: a gather straight from the KV cache (or a
// tapped row tensor) to [rows, cols, dim], with a validity mask (cells that hold a token) and each cell's pixel
// rectangle in the original image. Newline tokens are dropped; anyres crops land where they belong because the
// token→pixel map already places every token on the unpadded grid. Nothing is read back to the CPU.
import { Stage } from '../gpu/stage.ts';
import { Tensor } from '../gpu/tensor.ts';
import { featureGather, NO_TOKEN } from '../ops/featureGather.ts';
import { type Capture, tapTensor } from './capture.ts';
import { type GridChoice, gridTokenKind, type ImageSpan } from './spans.ts';
import { parseTap, type TapName } from './taps.ts';

export interface FeatureRequest {
  tap: TapName;
  image?: number;
  /** KV heads to concatenate (cache taps only); default all. */
  heads?: readonly number[];
  grid?: GridChoice;
}

/**
 * Features of one image on a patch grid: [rows, cols, dim] f32 on the GPU, a validity mask and each cell's pixel
 * rectangle in the original image. `features()` produces it from a forward's capture; the standalone SigLIP encoder
 * produces it directly; the probes consume it.
 */
export interface FeatureMap {
  /** The tap it was read from, or what made it (probe tests: 'oracle', 'constant'). */
  tap: TapName | string;
  image: number;
  /** 'main' (anyres crop grid / Qwen merged grid / an encoder's own grid) or 'base' (LLaVA's base tile). */
  grid: GridChoice;
  rows: number;
  cols: number;
  dim: number;
  /** [rows, cols, dim] f32 on the GPU; zeros where `valid` is 0. */
  features: Tensor<'f32'>;
  /** 1 where the cell holds a token (host copy; small). */
  valid: Uint8Array;
  /** Per cell [x0, y0, x1, y1) in original-image pixels (NaN for cells without a token). */
  rects: Float32Array;
  imageSize: { height: number; width: number };
  /** Free the GPU storage of `features`. */
  dispose(): void;
}

/** Sequence positions (or ordinals within the image tokens) of each grid cell, and the cell rectangles. */
export function gridCells(span: ImageSpan, grid: GridChoice): { rows: number; cols: number; tokenIndex: Int32Array; rects: Float32Array } {
  // an image whose only grid is its base tile (OneVision's multi-image mode: one tile each): 'main' is that tile
  if (grid === 'main' && span.baseGrid && !span.tokens.some((t) => t.kind === 'grid')) grid = 'base';
  const g = grid === 'base' ? span.baseGrid : span.grid;
  if (!g) throw new Error(`image ${span.image} has no ${grid} grid (the base grid exists only for LLaVA models)`);
  const kind = gridTokenKind(span, grid);
  const tokenIndex = new Int32Array(g.rows * g.cols).fill(-1);
  const rects = new Float32Array(g.rows * g.cols * 4).fill(NaN);
  span.tokens.forEach((t, i) => {
    if (t.kind !== kind) return;
    if (t.row < 0 || t.row >= g.rows || t.col < 0 || t.col >= g.cols) {
      throw new Error(`image ${span.image}: token ${i} at (${t.row}, ${t.col}) is outside its ${g.rows}×${g.cols} ${grid} grid`);
    }
    const c = t.row * g.cols + t.col;
    tokenIndex[c] = i;
    rects.set(t.rect, c * 4);
  });
  if (!tokenIndex.some((t) => t >= 0)) throw new Error(`image ${span.image}: no token lies on its ${grid} grid`);
  return { rows: g.rows, cols: g.cols, tokenIndex, rects };
}

/** The features of `req.tap` for one image of a forward, on its patch grid. */
export async function features(result: Capture, req: FeatureRequest): Promise<FeatureMap> {
  const image = req.image ?? 0;
  const span = result.spans.images[image];
  if (!span) throw new Error(`features: the forward holds ${result.spans.images.length} image(s), no image ${image}`);
  const grid = req.grid ?? 'main';
  const tap = parseTap(req.tap);
  if (req.heads && tap.kind !== 'cache') throw new Error(`features: head selection applies to cache taps (lm.layers.{i}.attn.k|v), not ${req.tap}`);
  const cells = gridCells(span, grid);
  const src = tapTensor(result, req.tap);
  let rowOf: (tokenIndex: number) => number;
  if (tap.kind === 'cache' || tap.kind === 'preRope' || tap.kind === 'hidden') rowOf = (t) => span.start + t;
  else if (tap.kind === 'projector') {
    const before = result.spans.images.slice(0, image).reduce((a, s) => a + s.length, 0);
    rowOf = (i) => before + i;
  } else if (tap.kind === 'vision') {
    return await visionFeatures(result, span, image, grid, src, req.tap);
  } else throw new Error(`features: ${req.tap} is not an image-token tap of a forward (vision.layers.{i}.out and siglip.out have no sequence positions)`);
  if (tap.kind !== 'cache' && src.rank !== 2) throw new Error(`features: tap tensor ${req.tap} has shape [${src.shape.join(', ')}], expected [rows, dim]`);
  const positions = Array.from(cells.tokenIndex, (t) => (t < 0 ? NO_TOKEN : rowOf(t)));
  return await gather(src.gpu, src, positions, req.heads, { tap: req.tap, image, grid, rows: cells.rows, cols: cells.cols, rects: cells.rects, imageSize: span.imageSize });
}

async function gather(
  gpu: Tensor['gpu'], src: Tensor<'f32' | 'f16'>, positions: number[], heads: readonly number[] | undefined,
  meta: { tap: TapName; image: number; grid: GridChoice; rows: number; cols: number; rects: Float32Array; imageSize: { height: number; width: number } },
): Promise<FeatureMap> {
  const posT = Tensor.from(gpu, 'u32', [positions.length], positions, 'grid positions');
  const stage = new Stage(gpu, `features ${meta.tap} image ${meta.image}`);
  const flat = await featureGather(stage, src, posT, heads);
  await stage.submit();
  posT.dispose();
  const dim = flat.rowLength;
  const valid = Uint8Array.from(positions, (p) => (p === NO_TOKEN ? 0 : 1));
  return { ...meta, dim, features: flat.reshape([meta.rows, meta.cols, dim]), valid, dispose: () => flat.dispose() };
}

/**
 * `vision.out`: LLaVA keeps [tiles·tokens, Hv] per tile (the base tile is tile 0 of each image, so its patch grid is
 * the base grid); Qwen2.5-VL keeps [patches, Hv] in raster order of the patch grid (twice the merged grid's rows
 * and columns). The main grid of a LLaVA image is assembled from crops only after the projector, so `vision.out`
 * is offered on the base grid there.
 */
async function visionFeatures(result: Capture, span: ImageSpan, image: number, grid: GridChoice, src: Tensor<'f32' | 'f16'>, tap: TapName): Promise<FeatureMap> {
  const gpu = src.gpu;
  if (span.baseGrid) {
    if (grid !== 'base') throw new Error(`features: ${tap} of a LLaVA model lies on the base tile grid; ask for grid 'base'`);
    // tiles of earlier images: 1 + the highest crop index among their tokens
    const tilesBefore = result.spans.images.slice(0, image).reduce((a, s) => a + 1 + Math.max(0, ...s.tokens.map((t) => t.crop)), 0);
    const per = span.baseGrid.rows * span.baseGrid.cols;
    const cells = gridCells(span, 'base');
    const positions = Array.from(cells.tokenIndex, (t) => (t < 0 ? NO_TOKEN : tilesBefore * per + span.tokens[t].row * span.baseGrid!.cols + span.tokens[t].col));
    return await gather(gpu, src, positions, undefined, { tap, image, grid, rows: cells.rows, cols: cells.cols, rects: cells.rects, imageSize: span.imageSize });
  }
  // Qwen: patch grid = m× the merged grid (m = spatial merge size, read off the tap: rows = m² · merged tokens);
  // rects split each merged cell in m × m
  const merged = gridCells(span, 'main');
  const mergedTotal = result.spans.images.reduce((a, s) => a + s.grid.rows * s.grid.cols, 0);
  const m = Math.round(Math.sqrt(src.rows / mergedTotal));
  if (m < 1 || m * m * mergedTotal !== src.rows) {
    throw new Error(`features: ${tap} has ${src.rows} rows, not a square multiple of the ${mergedTotal} merged image tokens of the forward`);
  }
  const rows = merged.rows * m, cols = merged.cols * m;
  const patchesBefore = result.spans.images.slice(0, image).reduce((a, s) => a + m * m * s.grid.rows * s.grid.cols, 0);
  const positions: number[] = [];
  const rects = new Float32Array(rows * cols * 4).fill(NaN);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const cell = Math.floor(r / m) * merged.cols + Math.floor(c / m);
      const ok = merged.tokenIndex[cell] >= 0;
      positions.push(ok ? patchesBefore + r * cols + c : NO_TOKEN);
      if (ok) {
        const [x0, y0, x1, y1] = merged.rects.subarray(cell * 4, cell * 4 + 4);
        const hx = (x1 - x0) / m, hy = (y1 - y0) / m, i = c % m, j = r % m;
        rects.set([x0 + i * hx, y0 + j * hy, x0 + (i + 1) * hx, y0 + (j + 1) * hy], (r * cols + c) * 4);
      }
    }
  }
  return await gather(gpu, src, positions, undefined, { tap, image, grid, rows, cols, rects, imageSize: span.imageSize });
}
