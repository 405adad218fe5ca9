// Qwen2.5-VL's window partition of the vision tower (HF `get_window_index`) and its attention segments.
// Units: a merged token is one m×m block of patches (m = spatial_merge_size), whose m² pixel rows are contiguous
// in the processor's merge-block order. Per image frame the (gh × gw) merged grid (gh = h/m, gw = w/m) is padded
// to whole windows of side `s = window_size / m / patch_size` merged tokens (HF pads by `s − g mod s`, a whole
// empty window when g is divisible: harmless, its length is 0), windows are visited in raster order, tokens
// inside a window in raster order. cu_window_seqlens counts pixel rows (m² per merged token), duplicate
// boundaries (empty windows) removed as HF's `unique_consecutive`; cu_seqlens has one segment per image frame.

export type GridThw = readonly [number, number, number];

export interface WindowGeometry {
  patchSize: number;
  spatialMergeSize: number;
  windowSize: number;
}

export interface WindowLayout {
  /** Permutation of merged tokens: window-order slot i holds merged token windowIndex[i] (all images). */
  windowIndex: number[];
  /** Window boundaries in pixel rows of the window-ordered sequence, starting at 0 (empty windows removed). */
  cuWindowSeqlens: number[];
  /** Image-frame boundaries in pixel rows, starting at 0 (full-attention blocks). */
  cuSeqlens: number[];
  /** Merged tokens over all images (= windowIndex.length). */
  mergedTokens: number;
}

/** Window side in merged tokens: HF `window_size // spatial_merge_size // patch_size`. */
export function mergedWindowSide(g: WindowGeometry): number {
  const s = Math.floor(Math.floor(g.windowSize / g.spatialMergeSize) / g.patchSize);
  if (s < 1) throw new Error(`window partition: window_size ${g.windowSize} px is smaller than one merged token (${g.patchSize}×${g.spatialMergeSize} px)`);
  return s;
}

export function windowLayout(grids: readonly GridThw[], g: WindowGeometry): WindowLayout {
  const m = g.spatialMergeSize, unit = m * m, s = mergedWindowSide(g);
  const windowIndex: number[] = [];
  const cuWindow: number[] = [0];
  const cuSeqlens: number[] = [0];
  let offset = 0;
  grids.forEach(([t, h, w], img) => {
    if (![t, h, w].every((x) => Number.isInteger(x) && x > 0)) throw new Error(`image_grid_thw[${img}]: (${t}, ${h}, ${w}) must be positive integers`);
    if (h % m || w % m) throw new Error(`image_grid_thw[${img}]: ${h}×${w} patches is not a multiple of spatial_merge_size ${m}`);
    const gh = h / m, gw = w / m;
    // HF pads by s − g mod s (a full extra window when divisible)
    const nh = (gh + s - (gh % s)) / s, nw = (gw + s - (gw % s)) / s;
    for (let f = 0; f < t; f++) {
      for (let wr = 0; wr < nh; wr++) {
        for (let wc = 0; wc < nw; wc++) {
          let count = 0;
          for (let r = wr * s; r < Math.min((wr + 1) * s, gh); r++) {
            for (let c = wc * s; c < Math.min((wc + 1) * s, gw); c++) {
              windowIndex.push(offset + (f * gh + r) * gw + c);
              count++;
            }
          }
          // cumulative pixel rows; an empty window repeats the last boundary and is dropped
          const end = cuWindow[cuWindow.length - 1] + count * unit;
          if (end !== cuWindow[cuWindow.length - 1]) cuWindow.push(end);
        }
      }
      cuSeqlens.push(cuSeqlens[cuSeqlens.length - 1] + h * w);
    }
    offset += t * gh * gw;
  });
  return { windowIndex, cuWindowSeqlens: cuWindow, cuSeqlens, mergedTokens: offset };
}

/** Pixel-row gather for the window order: row i of the reordered sequence is input row perm[i] (m² rows per token). */
export function windowRowPermutation(layout: WindowLayout, spatialMergeSize: number): Uint32Array {
  const unit = spatialMergeSize * spatialMergeSize;
  const perm = new Uint32Array(layout.windowIndex.length * unit);
  layout.windowIndex.forEach((tok, i) => {
    for (let j = 0; j < unit; j++) perm[i * unit + j] = tok * unit + j;
  });
  return perm;
}

/** HF `argsort(window_index)`: the window-order slot of each merged token (un-permutes the merger output). */
export function inverseWindowIndex(layout: WindowLayout): Uint32Array {
  const inv = new Uint32Array(layout.windowIndex.length);
  layout.windowIndex.forEach((tok, i) => { inv[tok] = i; });
  return inv;
}
