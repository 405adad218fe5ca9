// Region selection for text-driven segmentation: per image cell score_c = cos(v_cell, t_c) over the candidates; the
// cell takes the best candidate when that score exceeds the image's threshold (Otsu's rule on the best-score map of
// the valid cells by default), else background; cells painted onto the pixels of their rectangles (nearest).
import type { FeatureMap } from '../capture/features.ts';
import { cellsToPixels } from '../capture/gridPixels.ts';
import { Stage } from '../gpu/stage.ts';
import { Tensor } from '../gpu/tensor.ts';
import { scoreLabels, textDotProduct } from '../probe/textDotProduct.ts';

/** Otsu's threshold of a set of scores: the cut maximising the between-group variance (fg = score > cut). */
export function otsuThreshold(values: ArrayLike<number>): number {
  const v = Float64Array.from(values).sort();
  const n = v.length;
  if (!n) return Infinity;
  let best = -1, cut = v[n - 1];
  let sumLow = 0;
  const total = v.reduce((a, b) => a + b, 0);
  for (let i = 0; i < n - 1; i++) {
    sumLow += v[i];
    if (v[i] === v[i + 1]) continue;
    const w0 = (i + 1) / n, w1 = 1 - w0;
    const m0 = sumLow / (i + 1), m1 = (total - sumLow) / (n - i - 1);
    const between = w0 * w1 * (m0 - m1) ** 2;
    if (between > best) { best = between; cut = (v[i] + v[i + 1]) / 2; }
  }
  return cut;
}

export type TextThreshold = 'otsu' | 'mean+std' | { fixed: number };

export interface TextProbeOptions {
  /** Cosine (both sides L2-normalised, as MaskCLIP) or the raw dot product. Default true. */
  cosine?: boolean;
  /** Per-image rule for the best-score threshold. Default 'otsu'. */
  threshold?: TextThreshold;
}

export interface TextCellResult {
  /** Per cell: index of the winning candidate, −1 for background. */
  cells: Int32Array;
  threshold: number;
}

/** Model-free core: score the cells of `map` against text vectors [C, d], pick the best candidate above the image's threshold. */
export async function textSegmentCells(map: FeatureMap, text: Tensor<'f32'>, opts: TextProbeOptions = {}): Promise<TextCellResult> {
  const gpu = map.features.gpu;
  const C = text.rank === 1 ? 1 : text.shape[0];
  const s1 = new Stage(gpu, 'text dot product');
  const scores = await textDotProduct(s1, map.features, text, { cosine: opts.cosine ?? true });
  await s1.submit();
  const host = (await scores.read()) as Float32Array;
  // the image's threshold on the best candidate score of its valid cells
  const best: number[] = [];
  for (let c = 0; c < map.valid.length; c++) {
    if (!map.valid[c]) continue;
    let m = -Infinity;
    for (let j = 0; j < C; j++) m = Math.max(m, host[c * C + j]);
    best.push(m);
  }
  const rule = opts.threshold ?? 'otsu';
  let threshold: number;
  if (rule === 'otsu') threshold = otsuThreshold(best);
  else if (rule === 'mean+std') {
    const mean = best.reduce((a, b) => a + b, 0) / Math.max(best.length, 1);
    threshold = mean + Math.sqrt(best.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(best.length, 1));
  } else threshold = rule.fixed;
  const s2 = new Stage(gpu, 'text score labels');
  const mask = Tensor.from(gpu, 'u32', [map.rows, map.cols], map.valid, 'valid cells');
  const labels = await scoreLabels(s2, scores.reshape([map.rows * map.cols, C]), { threshold: Number.isFinite(threshold) ? threshold : 3.4e38, mask: mask.reshape([map.rows * map.cols]) });
  await s2.submit();
  const l = (await labels.read()) as Uint32Array;
  [scores, mask, labels].forEach((t) => t.dispose());
  return { cells: Int32Array.from(l, (v) => v - 1), threshold };
}

/** Cell labels → a pixel label map at the image's size: candidate j → ids[j], background → 0. */
export function paintCells(map: FeatureMap, cells: Int32Array, ids: readonly number[]): Int32Array {
  const { width, height } = map.imageSize;
  return cellsToPixels(Int32Array.from(cells, (j) => (j < 0 ? 0 : ids[j])), map.rects, width, height, 0);
}
