// Co-segmentation metrics (MSRC; Rubinstein et al. 2013 lineage, protocols.md §1.2), at GT resolution:
//   Jaccard   J = |P ∩ G| / |P ∪ G| on the binary foreground
//   precision P = fraction of all pixels (fg and bg) labelled correctly (pixel accuracy)
// aggregated as the mean over the images of a set, then the mean over sets [unverified: some papers average all
// images directly — `result()` gives both]. Masks are fg where non-zero; pixels whose GT is 255 (void) are left out
// when `ignoreVoid` is set (MSRC's black "void" colour), otherwise every pixel counts.
import { checkSameSize, type LabelMap, VOID_LABEL } from './iou.ts';

/** J when prediction and GT are both empty: 1 (DAVIS convention, the default) or skip the image from the J mean. */
export type EmptyJaccard = 'one' | 'skip';

export interface CosegImageScore {
  /** null when both masks are empty and emptyJaccard = 'skip'. */
  jaccard: number | null;
  precision: number;
}

/** Jaccard and precision of one image. */
export function cosegImageScore(pred: LabelMap, gt: LabelMap, opts: { ignoreVoid?: boolean; emptyJaccard?: EmptyJaccard; where?: string } = {}): CosegImageScore {
  const where = opts.where ?? 'image';
  checkSameSize(pred, gt, where);
  let inter = 0, union = 0, correct = 0, counted = 0;
  for (let i = 0; i < gt.data.length; i++) {
    if (opts.ignoreVoid && gt.data[i] === VOID_LABEL) continue;
    const p = pred.data[i] !== 0, g = gt.data[i] !== 0;
    counted++;
    if (p && g) inter++;
    if (p || g) union++;
    if (p === g) correct++;
  }
  if (counted === 0) throw new Error(`${where}: every pixel is void; nothing to score`);
  const jaccard = union > 0 ? inter / union : (opts.emptyJaccard ?? 'one') === 'one' ? 1 : null;
  return { jaccard, precision: correct / counted };
}

export interface CosegResult {
  /** mean over sets of the per-set mean Jaccard (the default aggregation). */
  jaccard: number;
  precision: number;
  /** mean over all images pooled (the alternative aggregation). */
  jaccardPooled: number;
  precisionPooled: number;
  perSet: Map<string, { jaccard: number; precision: number; images: number }>;
}

/** Accumulates image scores per co-segmentation set (MSRC class folder). */
export class CosegAccumulator {
  private readonly sets = new Map<string, CosegImageScore[]>();

  constructor(readonly opts: { ignoreVoid?: boolean; emptyJaccard?: EmptyJaccard } = {}) {}

  add(set: string, pred: LabelMap, gt: LabelMap, where = `${set} image`): CosegImageScore {
    const s = cosegImageScore(pred, gt, { ...this.opts, where });
    const list = this.sets.get(set) ?? [];
    list.push(s);
    this.sets.set(set, list);
    return s;
  }

  result(): CosegResult {
    if (this.sets.size === 0) throw new Error('co-segmentation: no images were added');
    const mean = (v: number[]) => v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN;
    const perSet = new Map<string, { jaccard: number; precision: number; images: number }>();
    const allJ: number[] = [], allP: number[] = [];
    for (const [name, scores] of this.sets) {
      const js = scores.flatMap((s) => s.jaccard === null ? [] : [s.jaccard]), ps = scores.map((s) => s.precision);
      allJ.push(...js);
      allP.push(...ps);
      perSet.set(name, { jaccard: mean(js), precision: mean(ps), images: scores.length });
    }
    // sets whose every image was skipped have no J; they drop out of the J mean
    const setJ = [...perSet.values()].map((s) => s.jaccard).filter((j) => !Number.isNaN(j));
    return {
      jaccard: mean(setJ),
      precision: mean([...perSet.values()].map((s) => s.precision)),
      jaccardPooled: mean(allJ),
      precisionPooled: mean(allP),
      perSet,
    };
  }
}
