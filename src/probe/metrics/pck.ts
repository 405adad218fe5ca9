// PCK@α for SPair-71k semantic correspondence, as DIFT's `eval_spair.py` computes it (protocols.md §1.5):
//   threshold = max(h, w) of the *target* bounding box [x1, y1, x2, y2] (w = x2 − x1, h = y2 − y1), original pixels
//   a keypoint is correct iff ‖pred − gt‖₂ / threshold ≤ α (inclusive), α = 0.1
//   per-point PCK = Σ correct / Σ keypoints over all pairs
//   per-image PCK = mean over pairs of (correct / keypoints of the pair), all pairs pooled across categories
//                   (DIFT extends one list over categories: not a mean of category means)
// kvscope's headline number ("PCK@0.1" in the tables) is the per-image PCK, the one DIFT's paper reports
// [paper: confirm which one VRLM's table uses]; the per-point number is always reported beside it.
// Values are fractions in [0, 1].

/** A keypoint in pixel coordinates [x, y]. */
export type Point = readonly [number, number];

/** Bounding box corners [x1, y1, x2, y2] in pixels (SPair `trg_bndbox`). */
export type BoundingBox = readonly [number, number, number, number];

/** The PCK threshold of a pair: max side of the target box. */
export function pckThreshold(trgBox: BoundingBox): number {
  const [x1, y1, x2, y2] = trgBox;
  const t = Math.max(y2 - y1, x2 - x1);
  if (!(t > 0)) throw new Error(`PCK: target bounding box [${trgBox.join(', ')}] has no positive side; its max side is the threshold`);
  return t;
}

export interface PairCorrespondence {
  /** Predicted target locations, index-aligned with `trgKps`. */
  predKps: readonly Point[];
  /** Ground-truth target keypoints. */
  trgKps: readonly Point[];
  trgBox: BoundingBox;
  category?: string;
  /** Optional per-keypoint validity; invalid keypoints are not counted (SPair pair files list only valid ones). */
  valid?: readonly boolean[];
}

/** Correct count and keypoint count of one pair at α. */
export function pairPck(pair: PairCorrespondence, alpha = 0.1, where = 'pair'): { correct: number; total: number } {
  if (pair.predKps.length !== pair.trgKps.length) throw new Error(`${where}: ${pair.predKps.length} predicted keypoints for ${pair.trgKps.length} ground-truth keypoints`);
  if (pair.valid && pair.valid.length !== pair.trgKps.length) throw new Error(`${where}: ${pair.valid.length} validity flags for ${pair.trgKps.length} keypoints`);
  const thr = pckThreshold(pair.trgBox);
  let correct = 0, total = 0;
  for (let k = 0; k < pair.trgKps.length; k++) {
    if (pair.valid && !pair.valid[k]) continue;
    const [px, py] = pair.predKps[k], [gx, gy] = pair.trgKps[k];
    total++;
    if (Math.hypot(px - gx, py - gy) / thr <= alpha) correct++;
  }
  return { correct, total };
}

export interface PckResult {
  /** mean over pairs of correct/total (the headline number). */
  perImage: number;
  /** Σ correct / Σ total. */
  perPoint: number;
  pairs: number;
  keypoints: number;
  perCategory: Map<string, { perImage: number; perPoint: number; pairs: number }>;
}

/** Accumulates pairs across categories. */
export class PckAccumulator {
  private readonly ratios: number[] = [];
  private correct = 0;
  private total = 0;
  private readonly cats = new Map<string, { ratios: number[]; correct: number; total: number }>();

  constructor(readonly alpha = 0.1) {
    if (!(alpha > 0)) throw new Error(`PCK: α must be positive, got ${alpha}`);
  }

  /** Add one pair; a pair without valid keypoints is refused (DIFT would divide by zero). */
  add(pair: PairCorrespondence, where = 'pair'): { correct: number; total: number } {
    const r = pairPck(pair, this.alpha, where);
    if (r.total === 0) throw new Error(`${where}: no valid keypoints; a pair needs at least one to enter per-image PCK`);
    this.ratios.push(r.correct / r.total);
    this.correct += r.correct;
    this.total += r.total;
    const key = pair.category ?? '';
    const c = this.cats.get(key) ?? { ratios: [], correct: 0, total: 0 };
    c.ratios.push(r.correct / r.total);
    c.correct += r.correct;
    c.total += r.total;
    this.cats.set(key, c);
    return r;
  }

  result(): PckResult {
    if (this.ratios.length === 0) throw new Error('PCK: no pairs were added');
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    const perCategory = new Map<string, { perImage: number; perPoint: number; pairs: number }>();
    for (const [k, c] of this.cats) perCategory.set(k, { perImage: mean(c.ratios), perPoint: c.correct / c.total, pairs: c.ratios.length });
    return { perImage: mean(this.ratios), perPoint: this.correct / this.total, pairs: this.ratios.length, keypoints: this.total, perCategory };
  }
}
