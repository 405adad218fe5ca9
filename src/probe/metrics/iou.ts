// Intersection-over-union metrics of the segmentation probes, each accumulated the way its benchmark's official
// code does (protocols.md §1.1, §1.3, §1.4):
//   Pascal-5i      class-wise accumulated fg IoU (mIoU) and globally accumulated fg/bg IoU (FB-IoU), HSNet/PFENet
//   ImageNet-S     per-class TP/P/T over the split, mIoU over all N+1 classes (background included), id 1000 ignored
//   RefCOCO        per-sentence IoU averaged (mIoU) and cumulative ΣI/ΣU (oIoU), LAVT
// All values are fractions in [0, 1]; reports multiply by 100.

/** A per-pixel label map: row-major, `width·height` entries (class ids, object ids, 0/1 masks, 255 = void). */
export interface LabelMap {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array | Uint16Array | Int32Array;
}

/** Check two label maps cover the same pixel grid; `where` names the sample in the error. */
export function checkSameSize(pred: LabelMap, gt: LabelMap, where: string): void {
  for (const [name, m] of [['prediction', pred], ['ground truth', gt]] as const) {
    if (m.data.length !== m.width * m.height) {
      throw new Error(`${where}: ${name} label map of ${m.width}×${m.height} needs ${m.width * m.height} entries, has ${m.data.length}`);
    }
  }
  if (pred.width !== gt.width || pred.height !== gt.height) {
    throw new Error(`${where}: prediction is ${pred.width}×${pred.height} but ground truth is ${gt.width}×${gt.height} (width×height); score at GT resolution`);
  }
}

/** Pascal's void label: pixels on object boundaries and "difficult" regions, excluded from every count. */
export const VOID_LABEL = 255;

// ---------------------------------------------------------------------------------------------------------------
// Pascal-5i few-shot segmentation (HSNet `AverageMeter`, PFENet `intersectionAndUnion` with ignore_index 255)

/** Binary episode GT for class c: 1 where label == c, 255 where void, 0 elsewhere (VOC ids, 0 = background). */
export function episodeMask(labels: LabelMap, classId: number): LabelMap {
  const out = new Uint8Array(labels.data.length);
  for (let i = 0; i < out.length; i++) {
    const v = labels.data[i];
    out[i] = v === VOID_LABEL ? VOID_LABEL : v === classId ? 1 : 0;
  }
  return { width: labels.width, height: labels.height, data: out };
}

/** Per-bin counts of one episode: index 0 = background, 1 = foreground. */
export interface BinaryIouCounts {
  intersection: [number, number];
  union: [number, number];
}

/**
 * I_b and U_b for b ∈ {bg, fg} of one episode. `pred` is 0/1 (anything non-zero is fg); `gt` is 0/1/255.
 * As in HSNet, pixels where gt is 255 are removed from intersection, prediction area and GT area alike.
 */
export function episodeIou(pred: LabelMap, gt: LabelMap, where = 'episode'): BinaryIouCounts {
  checkSameSize(pred, gt, where);
  const inter: [number, number] = [0, 0], areaP: [number, number] = [0, 0], areaG: [number, number] = [0, 0];
  for (let i = 0; i < gt.data.length; i++) {
    const g = gt.data[i];
    if (g === VOID_LABEL) continue;
    if (g !== 0 && g !== 1) throw new Error(`${where}: episode ground truth must be 0, 1 or ${VOID_LABEL}; pixel ${i} is ${g} (binarise with episodeMask)`);
    const p = pred.data[i] !== 0 ? 1 : 0;
    areaP[p]++;
    areaG[g]++;
    if (p === g) inter[g]++;
  }
  return { intersection: inter, union: [areaP[0] + areaG[0] - inter[0], areaP[1] + areaG[1] - inter[1]] };
}

export interface FewShotIouResult {
  /** mean over the scored classes of ΣI_fg/ΣU_fg (per class, over that class's episodes). */
  mIoU: number;
  /** (ΣI_fg/ΣU_fg + ΣI_bg/ΣU_bg)/2 over all episodes of the scored classes. */
  fbIoU: number;
  /** fg IoU per scored class id. */
  perClass: Map<number, number>;
  /** episodes per scored class id. */
  episodes: Map<number, number>;
}

/** Class-wise accumulation of fg/bg intersections and unions over the episodes of one fold. */
export class FewShotIouAccumulator {
  private readonly inter = new Map<number, [number, number]>();
  private readonly union = new Map<number, [number, number]>();
  private readonly count = new Map<number, number>();

  /** Add one episode of target class `classId` (its binary GT built with episodeMask). */
  add(pred: LabelMap, gt: LabelMap, classId: number, where = `episode of class ${classId}`): BinaryIouCounts {
    const c = episodeIou(pred, gt, where);
    this.addCounts(c, classId);
    return c;
  }

  /** Add precomputed counts (e.g. summed on the GPU). */
  addCounts(c: BinaryIouCounts, classId: number): void {
    const i = this.inter.get(classId) ?? [0, 0], u = this.union.get(classId) ?? [0, 0];
    for (const b of [0, 1]) { i[b] += c.intersection[b]; u[b] += c.union[b]; }
    this.inter.set(classId, i);
    this.union.set(classId, u);
    this.count.set(classId, (this.count.get(classId) ?? 0) + 1);
  }

  /**
   * The fold's numbers. `classes` = the fold's test classes (HSNet's class_ids_interest); a listed class without
   * episodes scores 0 as in HSNet. Default: the classes that had at least one episode.
   */
  result(classes?: readonly number[]): FewShotIouResult {
    const ids = classes ?? [...this.count.keys()].sort((a, b) => a - b);
    if (ids.length === 0) throw new Error('few-shot IoU: no episodes were added and no classes given');
    const perClass = new Map<number, number>(), episodes = new Map<number, number>();
    const totI = [0, 0], totU = [0, 0];
    let sum = 0;
    for (const c of ids) {
      const i = this.inter.get(c) ?? [0, 0], u = this.union.get(c) ?? [0, 0];
      // HSNet: I / max(U, 1)
      const iou = i[1] / Math.max(u[1], 1);
      perClass.set(c, iou);
      episodes.set(c, this.count.get(c) ?? 0);
      sum += iou;
      for (const b of [0, 1]) { totI[b] += i[b]; totU[b] += u[b]; }
    }
    // FB-IoU: per bin ΣI/ΣU over the scored classes' episodes (HSNet sums the buffers; no max(U,1) there: 0/0 → 0 here)
    const bin = (b: number) => totU[b] > 0 ? totI[b] / totU[b] : 0;
    return { mIoU: sum / ids.length, fbIoU: (bin(0) + bin(1)) / 2, perClass, episodes };
  }
}

/** Pascal-5i "mean" column: the plain mean of the four fold mIoUs (or FB-IoUs). */
export function meanOverFolds(values: readonly number[]): number {
  if (values.length === 0) throw new Error('meanOverFolds: no folds');
  return values.reduce((a, b) => a + b, 0) / values.length;
}

// ---------------------------------------------------------------------------------------------------------------
// ImageNet-S semantic segmentation (LUSSeg `evaluator.py` + `EvalDataset`)

/** ImageNet-S GT id of ignored pixels (removed from GT and prediction before counting). */
export const IMAGENETS_IGNORE = 1000;

/** Class ids of an ImageNet-S RGB PNG: id = R + 256·G (0 = background/other, 1000 = ignore). */
export function imagenetsClassIds(rgb: { width: number; height: number; data: Uint8Array }): LabelMap {
  const n = rgb.width * rgb.height;
  if (rgb.data.length !== n * 3) throw new Error(`ImageNet-S label image ${rgb.width}×${rgb.height}: expected ${n * 3} RGB bytes, got ${rgb.data.length}`);
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) out[i] = rgb.data[3 * i] + 256 * rgb.data[3 * i + 1];
  return { width: rgb.width, height: rgb.height, data: out };
}

export interface SemanticIouResult {
  /** Official: mean over all N+1 classes (background included; classes absent from GT and prediction give 0). */
  mIoU: number;
  /** Mean over the classes that occur in the accumulated GT only (for subsets and fixtures; not the official number). */
  mIoUPresent: number;
  /** IoU_k = TP_k / (P_k + T_k − TP_k + 1e-10), k = 0..N. */
  perClass: Float64Array;
  /** GT pixel count per class (after the ignore rule). */
  gtPixels: Float64Array;
}

/** Per-class TP / prediction area / GT area accumulated over a split, N object classes + background. */
export class SemanticIouAccumulator {
  readonly tp: Float64Array;
  readonly predArea: Float64Array;
  readonly gtArea: Float64Array;

  constructor(readonly numClasses: number) {
    if (!(Number.isInteger(numClasses) && numClasses >= 1)) throw new Error(`ImageNet-S IoU: numClasses must be a positive integer, got ${numClasses}`);
    this.tp = new Float64Array(numClasses + 1);
    this.predArea = new Float64Array(numClasses + 1);
    this.gtArea = new Float64Array(numClasses + 1);
  }

  /**
   * Add one image. Pixels with GT 1000 are dropped. As torch.histc over [0, N] does, prediction ids outside
   * 0..N count nowhere (not in P, never a TP); a GT id outside 0..N (other than 1000) is a data error.
   */
  add(pred: LabelMap, gt: LabelMap, where = 'image'): void {
    checkSameSize(pred, gt, where);
    const K = this.numClasses;
    for (let i = 0; i < gt.data.length; i++) {
      const g = gt.data[i];
      if (g === IMAGENETS_IGNORE) continue;
      if (g < 0 || g > K) throw new Error(`${where}: ground-truth id ${g} at pixel ${i} is outside 0..${K} (and not the ignore id ${IMAGENETS_IGNORE})`);
      this.gtArea[g]++;
      const p = pred.data[i];
      if (p >= 0 && p <= K) {
        this.predArea[p]++;
        if (p === g) this.tp[g]++;
      }
    }
  }

  result(): SemanticIouResult {
    const K = this.numClasses + 1;
    const perClass = new Float64Array(K);
    let sum = 0, sumPresent = 0, present = 0;
    for (let k = 0; k < K; k++) {
      perClass[k] = this.tp[k] / (this.predArea[k] + this.gtArea[k] - this.tp[k] + 1e-10);
      sum += perClass[k];
      if (this.gtArea[k] > 0) { sumPresent += perClass[k]; present++; }
    }
    return { mIoU: sum / K, mIoUPresent: present > 0 ? sumPresent / present : 0, perClass, gtPixels: Float64Array.from(this.gtArea) };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// RefCOCO referring segmentation (LAVT `test.py`: one sample per sentence)

/** Prec@X thresholds LAVT reports. */
export const REFERRING_PREC_THRESHOLDS = [0.5, 0.6, 0.7, 0.8, 0.9] as const;

export interface ReferringIouResult {
  /** mean over samples of I/U (U = 0 → IoU 0, as LAVT). */
  mIoU: number;
  /** ΣI / ΣU over all samples. */
  oIoU: number;
  /** fraction of samples with IoU ≥ threshold, for each of REFERRING_PREC_THRESHOLDS. */
  precAt: Map<number, number>;
  samples: number;
}

/** Per-sentence binary IoU accumulation; masks are fg where non-zero (refer's summed polygon channels > 0). */
export class ReferringIouAccumulator {
  private sumIoU = 0;
  private cumI = 0;
  private cumU = 0;
  private readonly ious: number[] = [];

  /** Add one sentence's prediction against its referred object's mask; returns that sample's IoU. */
  add(pred: LabelMap, gt: LabelMap, where = 'sentence'): number {
    checkSameSize(pred, gt, where);
    let inter = 0, union = 0;
    for (let i = 0; i < gt.data.length; i++) {
      const p = pred.data[i] !== 0, g = gt.data[i] !== 0;
      if (p && g) inter++;
      if (p || g) union++;
    }
    const iou = union === 0 ? 0 : inter / union;
    this.sumIoU += iou;
    this.cumI += inter;
    this.cumU += union;
    this.ious.push(iou);
    return iou;
  }

  result(): ReferringIouResult {
    const n = this.ious.length;
    if (n === 0) throw new Error('RefCOCO IoU: no samples were added');
    const precAt = new Map<number, number>();
    for (const t of REFERRING_PREC_THRESHOLDS) precAt.set(t, this.ious.filter((v) => v >= t).length / n);
    return { mIoU: this.sumIoU / n, oIoU: this.cumU > 0 ? this.cumI / this.cumU : 0, precAt, samples: n };
  }
}
