// DAVIS 2017 semi-supervised J&F, as the official `davis2017-evaluation` computes it (protocols.md §1.6):
//   objects    n = max id of the sequence's first GT frame (GT 255 is set to 0 first); object k = (mask == k)
//   frames     every GT frame except the first and the last
//   J          |R ∩ G| / |R ∪ G|, 1 when the union is empty
//   F          boundary F-measure: seg2bmap boundaries, tolerance r = ceil(0.008·√(H² + W²)) px, disk(r) dilation,
//              P = matched result-boundary share, R = matched GT-boundary share, F = 2PR/(P+R) (0 if P+R = 0)
//   per object M = mean over frames, Recall = share of frames > 0.5, Decay = mean(first quarter) − mean(last quarter)
//   J-Mean / F-Mean = mean over all objects of all sequences; J&F = (J-Mean + F-Mean)/2
// One divergence, deliberate: when a result sequence uses fewer ids than the GT has objects, the official script
// exits (its object-count check is `!=`); here the missing objects get empty masks and are scored (J = F = 0 where
// the GT object is present). Ids above n are an error, as there.
import { checkSameSize, type LabelMap } from './iou.ts';

/** The official boundary tolerance as a fraction of the image diagonal. */
export const DAVIS_BOUND_TH = 0.008;

/**
 * seg2bmap: 1-px boundary map of a binary mask (non-zero = fg), offset half a pixel toward the origin.
 * A pixel is boundary if it differs from its right, bottom or bottom-right neighbour; on the last row only the
 * right neighbour is compared, on the last column only the bottom one; the bottom-right corner is never boundary.
 */
export function maskBoundary(mask: LabelMap): Uint8Array {
  const { width: W, height: H, data } = mask;
  const b = new Uint8Array(W * H);
  const s = (y: number, x: number) => data[y * W + x] !== 0;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const v = s(y, x);
      let edge: boolean;
      if (y < H - 1 && x < W - 1) edge = v !== s(y, x + 1) || v !== s(y + 1, x) || v !== s(y + 1, x + 1);
      else if (y === H - 1 && x < W - 1) edge = v !== s(y, x + 1);
      else if (x === W - 1 && y < H - 1) edge = v !== s(y + 1, x);
      else edge = false;
      b[y * W + x] = edge ? 1 : 0;
    }
  }
  return b;
}

/** Tolerance radius in pixels: bound_th itself when ≥ 1, else ceil(bound_th · ‖(H, W)‖₂). */
export function boundaryRadius(height: number, width: number, boundTh = DAVIS_BOUND_TH): number {
  return boundTh >= 1 ? boundTh : Math.ceil(boundTh * Math.sqrt(height * height + width * width));
}

/** Half-widths of skimage `disk(r)` per row offset: the offsets with dx² + dy² ≤ r². */
function diskHalfWidths(r: number): Int32Array {
  const R = Math.floor(r);
  const w = new Int32Array(R + 1);
  for (let dy = 0; dy <= R; dy++) w[dy] = Math.floor(Math.sqrt(r * r - dy * dy) + 1e-9);
  return w;
}

/** Per row, the distance to the nearest set pixel of the same row (W + 1 when the row has none). */
function rowDistances(map: Uint8Array, W: number, H: number): Int32Array {
  const d = new Int32Array(W * H);
  for (let y = 0; y < H; y++) {
    const o = y * W;
    let last = -Infinity;
    for (let x = 0; x < W; x++) {
      if (map[o + x]) last = x;
      d[o + x] = Math.min(W + 1, x - last);
    }
    last = Infinity;
    for (let x = W - 1; x >= 0; x--) {
      if (map[o + x]) last = x;
      d[o + x] = Math.min(d[o + x], last - x);
    }
  }
  return d;
}

/** Binary dilation by disk(r) (OpenCV `dilate`: pixels outside the image contribute nothing). */
export function dilateDisk(map: Uint8Array, width: number, height: number, r: number): Uint8Array {
  const hw = diskHalfWidths(r), d = rowDistances(map, width, height), R = hw.length - 1;
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let dy = -R; dy <= R; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= height) continue;
        if (d[yy * width + x] <= hw[Math.abs(dy)]) { out[y * width + x] = 1; break; }
      }
    }
  }
  return out;
}

/** #pixels of boundary `a` that lie inside disk(r)-dilated boundary `b` (evaluated only at a's pixels). */
function matchedBoundary(a: Uint8Array, b: Uint8Array, W: number, H: number, r: number): number {
  const hw = diskHalfWidths(r), d = rowDistances(b, W, H), R = hw.length - 1;
  let n = 0;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      if (!a[y * W + x]) continue;
      for (let dy = -R; dy <= R; dy++) {
        const yy = y + dy;
        if (yy >= 0 && yy < H && d[yy * W + x] <= hw[Math.abs(dy)]) { n++; break; }
      }
    }
  }
  return n;
}

/** J of one binary object mask pair (non-zero = fg): |R ∩ G| / |R ∪ G|, 1 when both are empty. */
export function regionSimilarity(gt: LabelMap, pred: LabelMap, where = 'frame'): number {
  checkSameSize(pred, gt, where);
  let inter = 0, union = 0;
  for (let i = 0; i < gt.data.length; i++) {
    const g = gt.data[i] !== 0, p = pred.data[i] !== 0;
    if (g && p) inter++;
    if (g || p) union++;
  }
  return union === 0 ? 1 : inter / union;
}

/** Boundary precision, recall and F of one binary object mask pair, with the official empty-boundary rules. */
export function contourAccuracy(gt: LabelMap, pred: LabelMap, boundTh = DAVIS_BOUND_TH, where = 'frame'): { precision: number; recall: number; f: number } {
  checkSameSize(pred, gt, where);
  const { width: W, height: H } = gt;
  const r = boundaryRadius(H, W, boundTh);
  const fgB = maskBoundary(pred), gtB = maskBoundary(gt);
  let nFg = 0, nGt = 0;
  for (let i = 0; i < fgB.length; i++) { nFg += fgB[i]; nGt += gtB[i]; }
  let precision: number, recall: number;
  if (nFg === 0 && nGt > 0) { precision = 1; recall = 0; }
  else if (nFg > 0 && nGt === 0) { precision = 0; recall = 1; }
  else if (nFg === 0 && nGt === 0) { precision = 1; recall = 1; }
  else {
    precision = matchedBoundary(fgB, gtB, W, H, r) / nFg;
    recall = matchedBoundary(gtB, fgB, W, H, r) / nGt;
  }
  const f = precision + recall === 0 ? 0 : 2 * precision * recall / (precision + recall);
  return { precision, recall, f };
}

export interface DavisStatistics {
  /** mean over frames. */
  mean: number;
  /** share of frames with value > 0.5. */
  recall: number;
  /** mean of the first quarter minus mean of the last quarter (4 overlapping bins, `db_statistics`). */
  decay: number;
}

/** `db_statistics` of one object's per-frame values. */
export function davisStatistics(values: readonly number[]): DavisStatistics {
  const L = values.length;
  if (L === 0) throw new Error('DAVIS statistics: no evaluated frames (a sequence needs at least 3 frames)');
  const mean = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  // ids = round(linspace(1, L, 5) + 1e-10) − 1; bin i = values[ids[i] .. ids[i+1]] inclusive
  const ids = Array.from({ length: 5 }, (_, i) => Math.round(1 + i * (L - 1) / 4 + 1e-10) - 1);
  const bin = (i: number) => values.slice(ids[i], ids[i + 1] + 1);
  return { mean: mean(values), recall: values.filter((v) => v > 0.5).length / L, decay: mean(bin(0)) - mean(bin(3)) };
}

export interface DavisObjectResult {
  /** `<sequence>_<k>`, as in per-sequence_results-val.csv. */
  name: string;
  /** per evaluated frame (frames 1 … T−2). */
  j: number[];
  f: number[];
  jStats: DavisStatistics;
  fStats: DavisStatistics;
}

/** Binary map of object k (ids equal to k). */
function objectMask(labels: LabelMap, k: number, voidToBackground: boolean): LabelMap {
  const out = new Uint8Array(labels.data.length);
  for (let i = 0; i < out.length; i++) {
    const v = labels.data[i];
    out[i] = v === k && !(voidToBackground && v === 255) ? 1 : 0;
  }
  return { width: labels.width, height: labels.height, data: out };
}

/**
 * Score one sequence: `gt` and `pred` are the per-frame id maps of all T frames (frame 0 of `pred` is not read).
 */
export function evaluateDavisSequence(name: string, gt: readonly LabelMap[], pred: readonly LabelMap[], boundTh = DAVIS_BOUND_TH): DavisObjectResult[] {
  const T = gt.length;
  if (T < 3) throw new Error(`${name}: ${T} GT frames; DAVIS scores frames 1 … T−2, so a sequence needs at least 3`);
  if (pred.length !== T) throw new Error(`${name}: ${pred.length} result frames for ${T} GT frames`);
  // object count from the first GT frame, with void (255) read as background
  let n = 0;
  for (const v of gt[0].data) if (v !== 255 && v > n) n = v;
  let predMax = 0;
  for (let t = 1; t < T - 1; t++) {
    checkSameSize(pred[t], gt[t], `${name} frame ${t}`);
    for (const v of pred[t].data) if (v > predMax) predMax = v;
  }
  if (predMax > n) throw new Error(`${name}: a result frame holds id ${predMax}, higher than the ${n} object(s) of the first GT frame`);
  const out: DavisObjectResult[] = [];
  for (let k = 1; k <= n; k++) {
    const j: number[] = [], f: number[] = [];
    for (let t = 1; t < T - 1; t++) {
      const g = objectMask(gt[t], k, true), p = objectMask(pred[t], k, false);
      j.push(regionSimilarity(g, p, `${name} frame ${t}`));
      f.push(contourAccuracy(g, p, boundTh, `${name} frame ${t}`).f);
    }
    out.push({ name: `${name}_${k}`, j, f, jStats: davisStatistics(j), fStats: davisStatistics(f) });
  }
  return out;
}

export interface DavisResult {
  jfMean: number;
  jMean: number;
  jRecall: number;
  jDecay: number;
  fMean: number;
  fRecall: number;
  fDecay: number;
  objects: DavisObjectResult[];
}

/** Objects of all sequences, averaged as `evaluation_method.py` does (over objects, not sequences). */
export class DavisAccumulator {
  readonly objects: DavisObjectResult[] = [];

  constructor(readonly boundTh = DAVIS_BOUND_TH) {}

  addSequence(name: string, gt: readonly LabelMap[], pred: readonly LabelMap[]): DavisObjectResult[] {
    const r = evaluateDavisSequence(name, gt, pred, this.boundTh);
    this.objects.push(...r);
    return r;
  }

  result(): DavisResult {
    const o = this.objects;
    if (o.length === 0) throw new Error('DAVIS: no objects were scored (no sequences added, or no object in their first frames)');
    const mean = (f: (x: DavisObjectResult) => number) => o.reduce((a, x) => a + f(x), 0) / o.length;
    const jMean = mean((x) => x.jStats.mean), fMean = mean((x) => x.fStats.mean);
    return {
      jfMean: (jMean + fMean) / 2,
      jMean,
      jRecall: mean((x) => x.jStats.recall),
      jDecay: mean((x) => x.jStats.decay),
      fMean,
      fRecall: mean((x) => x.fStats.recall),
      fDecay: mean((x) => x.fStats.decay),
      objects: o,
    };
  }
}
