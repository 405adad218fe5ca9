// Evaluation metrics against hand-computed cases (derivations in the comments), edge cases and the properties of
// each benchmark's official code. CPU only. Exact rational answers are compared to 1e-12.
import { blinkAccuracy, blinkSubtask, choiceLetter, extractChoice, NO_CHOICE, optionTextMatcher, surfacingGap } from '../../src/probe/metrics/accuracy.ts';
import { boundaryRadius, contourAccuracy, DavisAccumulator, davisStatistics, dilateDisk, evaluateDavisSequence, maskBoundary, regionSimilarity } from '../../src/probe/metrics/davis.ts';
import { episodeIou, episodeMask, FewShotIouAccumulator, imagenetsClassIds, type LabelMap, meanOverFolds, ReferringIouAccumulator, SemanticIouAccumulator } from '../../src/probe/metrics/iou.ts';
import { CosegAccumulator, cosegImageScore } from '../../src/probe/metrics/jaccard.ts';
import { PckAccumulator, pckThreshold } from '../../src/probe/metrics/pck.ts';
import { assert, assertEquals, assertThrows } from '../gpu/assert.ts';

const map = (width: number, height: number, v: number[]): LabelMap => {
  if (v.length !== width * height) throw new Error(`test map: ${v.length} values for ${width}×${height}`);
  return { width, height, data: Uint8Array.from(v) };
};
const close = (got: number, want: number, what: string, tol = 1e-12) => {
  if (!(Math.abs(got - want) <= tol)) throw new Error(`${what}: got ${got}, want ${want} (±${tol})`);
};
/** An H×W map with a filled axis-aligned rectangle [x0, x1) × [y0, y1) of value v. */
const rect = (W: number, H: number, x0: number, y0: number, x1: number, y1: number, v = 1): LabelMap => {
  const d = new Uint8Array(W * H);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) d[y * W + x] = v;
  return { width: W, height: H, data: d };
};

// ------------------------------------------------------------------------------------------------- Pascal-5i

Deno.test('episode IoU: 255 pixels leave intersection, prediction area and GT area', () => {
  // gt   = 1 1 0 0 | 255 1 0 0     pred = 1 0 1 0 | 1 1 0 1     (pixel 4 is void: its pred 1 does not count)
  // fg: gt {0,1,5}, pred {0,2,5,7} → I = |{0,5}| = 2, U = 3 + 4 − 2 = 5
  // bg: gt {2,3,6,7}, pred {1,3,6} → I = |{3,6}| = 2, U = 4 + 3 − 2 = 5
  const c = episodeIou(map(4, 2, [1, 0, 1, 0, 1, 1, 0, 1]), map(4, 2, [1, 1, 0, 0, 255, 1, 0, 0]));
  assertEquals(c, { intersection: [2, 2], union: [5, 5] }, 'counts');
  assertThrows(() => episodeIou(map(2, 1, [0, 1]), map(2, 1, [0, 3])), /0, 1 or 255.*episodeMask/, 'non-binary GT');
  assertThrows(() => episodeIou(map(2, 1, [0, 1]), map(1, 2, [0, 1])), /2×1 but ground truth is 1×2/, 'size mismatch');
});

Deno.test('episodeMask binarises a VOC label map for one class and keeps void', () => {
  assertEquals([...episodeMask(map(5, 1, [0, 3, 7, 255, 3]), 3).data], [0, 1, 0, 255, 1], 'class 3');
});

Deno.test('few-shot mIoU is class-wise accumulated, FB-IoU averages fg and bg over all episodes', () => {
  const acc = new FewShotIouAccumulator();
  // class 1, episode A: the case above (fg 2/5, bg 2/5)
  acc.add(map(4, 2, [1, 0, 1, 0, 1, 1, 0, 1]), map(4, 2, [1, 1, 0, 0, 255, 1, 0, 0]), 1);
  // class 1, episode B: gt all fg, pred half → fg I 2, U 4; bg I 0, U 2
  acc.add(map(4, 1, [1, 1, 0, 0]), map(4, 1, [1, 1, 1, 1]), 1);
  // class 2, episode C: perfect → fg 2/2, bg 2/2
  acc.add(map(4, 1, [0, 0, 1, 1]), map(4, 1, [0, 0, 1, 1]), 2);
  const r = acc.result();
  // IoU_1 = (2+2)/(5+4) = 4/9, IoU_2 = 1 → mIoU = 13/18 (the mean of episode IoUs would be (0.4+0.5+1)/3 = 0.633)
  close(r.perClass.get(1)!, 4 / 9, 'class 1');
  close(r.mIoU, 13 / 18, 'mIoU');
  // fg: ΣI = 6, ΣU = 11; bg: ΣI = 4, ΣU = 9
  close(r.fbIoU, (6 / 11 + 4 / 9) / 2, 'FB-IoU');
  assertEquals([...r.episodes.entries()], [[1, 2], [2, 1]], 'episodes per class');
  // HSNet scores the fold's listed classes; one without episodes counts 0
  close(acc.result([1, 2, 3]).mIoU, (4 / 9 + 1 + 0) / 3, 'with an unseen fold class');
  close(meanOverFolds([0.5, 0.6, 0.7, 0.8]), 0.65, 'fold mean');
  assertThrows(() => new FewShotIouAccumulator().result(), /no episodes/, 'empty accumulator');
});

Deno.test('few-shot edge cases: empty prediction, all-background GT, all-void', () => {
  const acc = new FewShotIouAccumulator();
  // empty prediction on GT 0 1 1 0: bins [bg, fg]: bg pred 4 px, gt 2 px → I 2, U 4; fg pred 0, gt 2 → I 0, U 2
  const c = acc.add(map(4, 1, [0, 0, 0, 0]), map(4, 1, [0, 1, 1, 0]), 5);
  assertEquals(c, { intersection: [2, 0], union: [4, 2] }, 'empty prediction');
  // all background GT and prediction: fg U = 0 → class IoU 0/max(0,1) = 0, bg perfect
  const bg = new FewShotIouAccumulator();
  bg.add(map(3, 1, [0, 0, 0]), map(3, 1, [0, 0, 0]), 7);
  const r = bg.result();
  assertEquals(r.mIoU, 0, 'fg IoU of an empty class');
  close(r.fbIoU, (1 + 0) / 2, 'FB-IoU: bg 1, fg 0/0 → 0');
  // all void: nothing counts
  assertEquals(episodeIou(map(2, 1, [1, 0]), map(2, 1, [255, 255])), { intersection: [0, 0], union: [0, 0] }, 'all void');
});

// ------------------------------------------------------------------------------------------------- ImageNet-S

Deno.test('ImageNet-S mIoU: background included, id 1000 ignored, out-of-range predictions dropped', () => {
  const gt: LabelMap = { width: 4, height: 2, data: Uint16Array.from([0, 1, 1, 1000, 2, 2, 0, 0]) };
  const pred: LabelMap = { width: 4, height: 2, data: Uint16Array.from([0, 1, 2, 3, 2, 5, 1, 0]) };
  const acc = new SemanticIouAccumulator(3);
  acc.add(pred, gt);
  // pixel 3 is ignored (its pred 3 is dropped too); pred 5 at pixel 5 is outside 0..3 and counts nowhere
  // T: [3, 2, 2, 0]; P: [2, 2, 2, 0]; TP: [2, 1, 1, 0]
  // IoU = [2/3, 1/3, 1/3, 0] → mIoU over the 4 classes = 1/3; over the GT-present classes 0..2 = 4/9
  const r = acc.result();
  assertEquals([...acc.gtArea], [3, 2, 2, 0], 'GT areas');
  assertEquals([...acc.predArea], [2, 2, 2, 0], 'prediction areas');
  close(r.perClass[0], 2 / 3, 'IoU bg', 1e-9);
  close(r.mIoU, 1 / 3, 'official mIoU', 1e-9);
  close(r.mIoUPresent, 4 / 9, 'present-class mIoU', 1e-9);
  assertThrows(() => acc.add(pred, { width: 4, height: 2, data: Uint16Array.from([0, 0, 0, 0, 0, 0, 0, 4]) }), /id 4 at pixel 7 is outside 0\.\.3/, 'bad GT id');
});

Deno.test('ImageNet-S ids decode as R + 256·G', () => {
  const ids = imagenetsClassIds({ width: 3, height: 1, data: Uint8Array.from([7, 0, 9, 232, 3, 0, 0, 1, 0]) });
  assertEquals([...ids.data], [7, 1000, 256], 'ids');
});

// ------------------------------------------------------------------------------------------------- RefCOCO

Deno.test('RefCOCO mIoU averages per-sentence IoU, oIoU accumulates; empty union → IoU 0', () => {
  const acc = new ReferringIouAccumulator();
  close(acc.add(map(4, 1, [1, 0, 0, 0]), map(4, 1, [1, 1, 0, 0])), 0.5, 'sample A');   // I 1, U 2
  close(acc.add(map(4, 1, [1, 1, 1, 1]), map(4, 1, [1, 1, 1, 1])), 1, 'sample B');     // I 4, U 4
  close(acc.add(map(4, 1, [0, 0, 0, 0]), map(4, 1, [0, 0, 0, 0])), 0, 'sample C');     // U 0 → 0 (LAVT)
  const r = acc.result();
  close(r.mIoU, 1.5 / 3, 'mIoU');
  close(r.oIoU, 5 / 6, 'oIoU');
  close(r.precAt.get(0.5)!, 2 / 3, 'Prec@0.5 (inclusive)');
  close(r.precAt.get(0.9)!, 1 / 3, 'Prec@0.9');
  // GT with refer's summed polygon channels (value 2 where parts overlap) counts as foreground
  close(new ReferringIouAccumulator().add(map(2, 1, [1, 1]), map(2, 1, [2, 1])), 1, 'value 2 is fg');
});

// ------------------------------------------------------------------------------------------------- MSRC

Deno.test('co-segmentation Jaccard and precision per image, mean per set then over sets', () => {
  const acc = new CosegAccumulator();
  acc.add('a', map(4, 1, [1, 0, 0, 1]), map(4, 1, [1, 1, 0, 0])); // J = 1/3, P = 2/4
  acc.add('a', map(4, 1, [0, 0, 0, 0]), map(4, 1, [0, 0, 0, 0])); // empty both: J = 1, P = 1
  acc.add('b', map(4, 1, [1, 1, 1, 0]), map(4, 1, [1, 1, 1, 0])); // J = 1, P = 1
  const r = acc.result();
  // set a: J 2/3, P 3/4; set b: 1, 1 → J (2/3+1)/2 = 5/6, P 7/8; pooled J 7/9, P 5/6
  close(r.jaccard, 5 / 6, 'J');
  close(r.precision, 7 / 8, 'P');
  close(r.jaccardPooled, 7 / 9, 'pooled J');
  close(r.precisionPooled, 5 / 6, 'pooled P');
  const skip = new CosegAccumulator({ emptyJaccard: 'skip' });
  skip.add('a', map(4, 1, [1, 0, 0, 1]), map(4, 1, [1, 1, 0, 0]));
  skip.add('a', map(4, 1, [0, 0, 0, 0]), map(4, 1, [0, 0, 0, 0]));
  skip.add('b', map(4, 1, [1, 1, 1, 0]), map(4, 1, [1, 1, 1, 0]));
  close(skip.result().jaccard, (1 / 3 + 1) / 2, 'J with empty images skipped');
});

Deno.test('co-segmentation void handling and empty prediction', () => {
  // gt 1 255 0 0, pred 1 1 1 0: ignoring void → pixels {0,2,3}: I 1, U 2, correct {0,3}
  const v = cosegImageScore(map(4, 1, [1, 1, 1, 0]), map(4, 1, [1, 255, 0, 0]), { ignoreVoid: true });
  close(v.jaccard!, 0.5, 'J ignoring void');
  close(v.precision, 2 / 3, 'P ignoring void');
  // without the ignore rule 255 is just foreground: gt {0,1}, pred {0,1,2} → J 2/3
  close(cosegImageScore(map(4, 1, [1, 1, 1, 0]), map(4, 1, [1, 255, 0, 0])).jaccard!, 2 / 3, 'J with void as fg');
  const e = cosegImageScore(map(4, 1, [0, 0, 0, 0]), map(4, 1, [0, 1, 1, 0]));
  assertEquals(e, { jaccard: 0, precision: 0.5 }, 'empty prediction');
  assertThrows(() => cosegImageScore(map(2, 1, [0, 0]), map(2, 1, [255, 255]), { ignoreVoid: true }), /every pixel is void/, 'all void');
});

// ------------------------------------------------------------------------------------------------- SPair PCK

Deno.test('PCK@0.1: target-box threshold, inclusive, per-image pooled over categories vs per-point', () => {
  // box [10,20,110,70]: w 100, h 50 → threshold 100 → correct iff distance ≤ 10
  assertEquals(pckThreshold([10, 20, 110, 70]), 100, 'max side');
  assertEquals(pckThreshold([0, 0, 20, 40]), 40, 'height is the max side');
  const acc = new PckAccumulator(0.1);
  // distances 10 (correct: 6-8-10 triangle), 10.0001 (wrong), 0 (correct) → 2/3
  const a = acc.add({ category: 'a', trgBox: [10, 20, 110, 70], trgKps: [[50, 50], [50, 50], [5, 5]], predKps: [[58, 56], [50, 60.0001], [5, 5]] });
  assertEquals(a, { correct: 2, total: 3 }, 'pair 1');
  // box [0,0,20,40] → threshold 40 → radius 4: distance 3 correct, distance 5 wrong
  acc.add({ category: 'b', trgBox: [0, 0, 20, 40], trgKps: [[10, 10]], predKps: [[13, 10]] });
  acc.add({ category: 'b', trgBox: [0, 0, 20, 40], trgKps: [[10, 10]], predKps: [[10, 15]] });
  const r = acc.result();
  // per-image pooled (2/3 + 1 + 0)/3 = 5/9 (mean of category means would be (2/3 + 1/2)/2 = 7/12); per-point 3/5
  close(r.perImage, 5 / 9, 'per-image');
  close(r.perPoint, 3 / 5, 'per-point');
  close(r.perCategory.get('b')!.perImage, 0.5, 'category b');
  assertEquals(r.keypoints, 5, 'keypoints');
});

Deno.test('PCK edge cases: invalid keypoints are skipped, bad inputs are named', () => {
  const acc = new PckAccumulator();
  const r = acc.add({ trgBox: [0, 0, 10, 10], trgKps: [[1, 1], [5, 5]], predKps: [[9, 9], [5, 5]], valid: [false, true] });
  assertEquals(r, { correct: 1, total: 1 }, 'invalid keypoint skipped');
  assertThrows(() => acc.add({ trgBox: [0, 0, 10, 10], trgKps: [[1, 1]], predKps: [[1, 1]], valid: [false] }, 'pair 7'), /pair 7: no valid keypoints/, 'no valid keypoints');
  assertThrows(() => acc.add({ trgBox: [0, 0, 10, 10], trgKps: [[1, 1]], predKps: [] }), /0 predicted keypoints for 1/, 'count mismatch');
  assertThrows(() => pckThreshold([5, 5, 5, 5]), /no positive side/, 'degenerate box');
  assertThrows(() => new PckAccumulator().result(), /no pairs/, 'empty');
});

// ------------------------------------------------------------------------------------------------- DAVIS

Deno.test('seg2bmap boundary of a 2×2 square and of a full mask', () => {
  // differs from right, bottom or bottom-right neighbour; last row: right only; last column: bottom only; corner 0
  const b = maskBoundary(map(4, 4, [0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0]));
  assertEquals([...b], [1, 1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 0, 0, 0, 0, 0], 'square');
  // the image border is not a boundary: an all-fg mask has none
  assertEquals([...maskBoundary(map(3, 3, Array(9).fill(1)))], Array(9).fill(0), 'full mask');
  // single fg pixel in the bottom-right corner: only its left and upper neighbours are marked
  assertEquals([...maskBoundary(map(2, 2, [0, 0, 0, 1]))], [1, 1, 1, 0], 'corner pixel');
});

Deno.test('tolerance radius = ceil(0.008·diagonal): 8, 9, 10 px on DAVIS frame sizes', () => {
  assertEquals(boundaryRadius(480, 854), 8, '854');
  assertEquals(boundaryRadius(480, 910), 9, '910 (bike-packing)');
  assertEquals(boundaryRadius(480, 1152), 10, '1152 (shooting)');
  assertEquals(boundaryRadius(64, 64), 1, '64×64');
  assertEquals(boundaryRadius(64, 64, 3), 3, 'bound_th ≥ 1 is a pixel radius');
});

Deno.test('disk dilation equals the brute-force dx²+dy² ≤ r² dilation, border clipped', () => {
  const one = new Uint8Array(49); one[24] = 1;
  assertEquals(dilateDisk(one, 7, 7, 2).reduce((a, b) => a + b, 0), 13, 'disk(2) has 13 pixels');
  let s = 12345;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (const [W, H, r] of [[13, 9, 3], [20, 7, 4], [5, 11, 1]]) {
    const m = Uint8Array.from({ length: W * H }, () => rnd() < 0.05 ? 1 : 0);
    const brute = new Uint8Array(W * H);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
      for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) {
        const yy = y + dy, xx = x + dx;
        if (dx * dx + dy * dy <= r * r && yy >= 0 && yy < H && xx >= 0 && xx < W && m[yy * W + xx]) brute[y * W + x] = 1;
      }
    }
    assertEquals([...dilateDisk(m, W, H, r)], [...brute], `${W}×${H} r=${r}`);
  }
});

Deno.test('DAVIS F: hand case, perfect mask 1, shift within tolerance 1, shift beyond < 1, empty rules', () => {
  // 8×8, r = 1 (bound_th 1): GT square cols 2-3 rows 2-3, result shifted right by 3 (cols 5-6). Each boundary has
  // 8 px (rows 1-3, three columns, minus the centre). Only the result's column-4 pixels touch GT column 3 within
  // the plus-shaped disk(1), and vice versa → P = R = 3/8 → F = 3/8; J = 0.
  const gt = rect(8, 8, 2, 2, 4, 4), shifted = rect(8, 8, 5, 2, 7, 4);
  const c = contourAccuracy(gt, shifted, 1);
  close(c.precision, 3 / 8, 'P');
  close(c.recall, 3 / 8, 'R');
  close(c.f, 3 / 8, 'F');
  assertEquals(regionSimilarity(gt, shifted), 0, 'J');
  // 64×64 → r = 1: a 20×20 square
  const sq = rect(64, 64, 20, 20, 40, 40);
  assertEquals(contourAccuracy(sq, sq).f, 1, 'perfect');
  assertEquals(contourAccuracy(sq, rect(64, 64, 21, 20, 41, 40)).f, 1, '1-px shift is within tolerance');
  close(regionSimilarity(sq, rect(64, 64, 21, 20, 41, 40)), 380 / 420, 'J of the 1-px shift');
  assert(contourAccuracy(sq, rect(64, 64, 23, 20, 43, 40)).f < 0.6, '3-px shift is beyond it');
  const empty = rect(64, 64, 0, 0, 0, 0);
  assertEquals(contourAccuracy(sq, empty), { precision: 1, recall: 0, f: 0 }, 'empty result');
  assertEquals(contourAccuracy(empty, sq), { precision: 0, recall: 1, f: 0 }, 'empty GT');
  assertEquals(contourAccuracy(empty, empty), { precision: 1, recall: 1, f: 1 }, 'both empty');
  assertEquals(regionSimilarity(empty, empty), 1, 'J of two empty masks');
});

Deno.test('db_statistics: mean, recall (> 0.5) and decay over 4 overlapping bins', () => {
  // L = 5: ids = round(linspace(1,5,5)) − 1 = [0,1,2,3,4]; first bin [1, .8], last bin [.4, .2] → D = .9 − .3
  const s = davisStatistics([1, 0.8, 0.6, 0.4, 0.2]);
  close(s.mean, 0.6, 'mean');
  close(s.recall, 3 / 5, 'recall');
  close(s.decay, 0.6, 'decay');
  // L = 3: linspace = [1, 1.5, 2, 2.5, 3] → round(+1e-10) − 1 = [0,1,1,2,2]; bins [1,.5], [.5], [.5,0], [0] → D = .75
  close(davisStatistics([1, 0.5, 0]).decay, 0.75, 'decay L=3');
  assertEquals(davisStatistics([0.5]).recall, 0, '0.5 is not > 0.5');
});

Deno.test('DAVIS sequence: first and last frames excluded, objects from frame 0, void as background, missing object', () => {
  const W = 16, H = 16;
  const frame = (withVoid: boolean) => {
    const d = new Uint8Array(W * H);
    for (let y = 2; y < 7; y++) for (let x = 2; x < 7; x++) d[y * W + x] = 1;
    for (let y = 9; y < 14; y++) for (let x = 9; x < 14; x++) d[y * W + x] = 2;
    if (withVoid) for (let x = 0; x < W; x++) d[15 * W + x] = 255;
    return { width: W, height: H, data: d };
  };
  const gt = [frame(false), frame(true), frame(true), frame(false)];
  // result: object 1 exact, object 2 never predicted; frames 0 and 3 hold garbage ids that are never read
  const only1 = (f: LabelMap) => ({ width: W, height: H, data: f.data.map((v) => v === 1 ? 1 : 0) });
  const junk = { width: W, height: H, data: new Uint8Array(W * H).fill(9) };
  const r = evaluateDavisSequence('seq', gt, [junk, only1(gt[1]), only1(gt[2]), junk]);
  assertEquals(r.map((o) => o.name), ['seq_1', 'seq_2'], 'objects');
  assertEquals(r[0].j, [1, 1], 'object 1 J on frames 1, 2 (void row read as background, result 0 there)');
  assertEquals(r[0].f, [1, 1], 'object 1 F');
  assertEquals(r[1].j, [0, 0], 'missing object J');
  assertEquals(r[1].f, [0, 0], 'missing object F (P 1, R 0)');
  const acc = new DavisAccumulator();
  acc.addSequence('seq', gt, [junk, only1(gt[1]), only1(gt[2]), junk]);
  const g = acc.result();
  assertEquals([g.jMean, g.fMean, g.jfMean, g.jRecall], [0.5, 0.5, 0.5, 0.5], 'means over objects');
  const bad = { width: W, height: H, data: gt[1].data.map((v) => v === 2 ? 3 : v) };
  assertThrows(() => evaluateDavisSequence('seq', gt, [junk, bad, gt[2], junk]), /id 255|id 3/, 'id above n');
  assertThrows(() => evaluateDavisSequence('short', gt.slice(0, 2), gt.slice(0, 2)), /short: 2 GT frames/, 'too short');
  // a result holding the GT's void id 255 exceeds n, as in the official script
  assertThrows(() => evaluateDavisSequence('seq', gt, gt), /seq: a result frame holds id 255, higher than the 2/, 'void in a result');
  // an object that first appears after frame 0 is not scored
  const empty = rect(W, H, 0, 0, 0, 0), late = [empty, gt[0], gt[3], gt[0]];
  assertEquals(evaluateDavisSequence('late', late, [empty, empty, empty, empty]).length, 0, 'n = 0 from the first frame');
});

Deno.test('J&F is averaged over objects, not sequences', () => {
  const W = 16, H = 16, sq = rect(W, H, 3, 3, 10, 10), empty = rect(W, H, 0, 0, 0, 0);
  const acc = new DavisAccumulator();
  // sequence A, one object, perfect: J = F = 1
  acc.addSequence('a', [sq, sq, sq], [sq, sq, sq]);
  // sequence B, two objects, both missed: J = F = 0 for each
  const two = { width: W, height: H, data: sq.data.map((v, i) => v ? 1 : (i % W > 12 ? 2 : 0)) };
  acc.addSequence('b', [two, two, two], [empty, empty, empty]);
  // over objects: 1/3 (over sequences it would be 1/2)
  close(acc.result().jfMean, 1 / 3, 'J&F');
});

// ------------------------------------------------------------------------------------------------- BLINK

Deno.test('BLINK answer extraction follows analyze_answer', () => {
  const two = ['the second image', 'the third image'];
  assertEquals(extractChoice('B', two), '(B)', 'bare letter');
  assertEquals(extractChoice('(A)', two), '(A)', 'letter in parentheses');
  assertEquals(extractChoice('(D)', two), '(D)', 'exact letters pass even beyond the choices, as the official code');
  assertEquals(extractChoice('The correct choice is:\n(B) the third image', two), '(B)', 'one token');
  // both letters in the reply, exactly one in the last paragraph → that one
  assertEquals(extractChoice('(A) looks close, (B) too.\n\nSo the answer is (B)', two), '(B)', 'last paragraph');
  // a token must be exactly "(A)": "(A)." is not one → option-text fallback
  assertEquals(extractChoice('I pick (A).', two, () => 'fallback'), 'fallback', 'punctuation defeats the token match');
  // letters beyond the choice count are not tokens: "(C)" with 2 choices → fallback
  assertEquals(extractChoice('(C) is right', two, () => 'fallback'), 'fallback', 'out-of-range token');
  // "(B)?" is no token, so only (A) is found and wins
  assertEquals(extractChoice('(A) or (B)? I would say the third image.', two), '(A)', 'token match before text');
  // two letters everywhere → fallback; the deterministic matcher picks the option text mentioned last
  assertEquals(extractChoice('(A) or (B) ? I would say the third image.', two), '(B)', 'option text');
  assertEquals(extractChoice('I cannot tell.', two), NO_CHOICE, 'no match');
  assertEquals(optionTextMatcher('it is dark red', ['red', 'dark red']), '(B)', 'a text inside a longer option is one mention');
  assertEquals(optionTextMatcher('the thirds image', two), NO_CHOICE, 'whole words only');
  assertEquals(choiceLetter(2), '(C)', 'letters');
  assertThrows(() => choiceLetter(5), /no letter/, 'sixth choice');
});

Deno.test('BLINK accuracy is task-macro; missing predictions are wrong', () => {
  const gold = { val_Art_Style_1: '(A)', val_Art_Style_2: '(B)', val_Art_Style_3: '(A)', 'val_Multi-view_Reasoning_1': '(C)' };
  const pred = { val_Art_Style_1: '(A)', val_Art_Style_2: '(A)', 'val_Multi-view_Reasoning_1': '(C)' };
  const r = blinkAccuracy(gold, pred);
  // Art_Style 1/3, Multi-view_Reasoning 1/1 → overall (1/3 + 1)/2 = 2/3; micro 2/4
  close(r.overall, 2 / 3, 'overall');
  close(r.micro, 0.5, 'micro');
  close(r.perSubtask.get('Art_Style')!.accuracy, 1 / 3, 'Art_Style');
  assertEquals(r.errors, ['val_Art_Style_2', 'val_Art_Style_3'], 'errors');
  assertEquals(blinkSubtask('val_Multi-view_Reasoning_12', 'val'), 'Multi-view_Reasoning', 'idx parse');
  assertEquals(blinkSubtask('test_IQ_Test_3', 'test'), 'IQ_Test', 'idx parse (test)');
  assertThrows(() => blinkAccuracy(gold, pred, 'val', ['Art_Style', 'Counting', 'Multi-view_Reasoning']), /'Counting' has no gold answers/, 'listed subtask without questions');
  assertThrows(() => blinkAccuracy(gold, pred, 'val', ['Art_Style']), /not among the 1 subtasks/, 'unlisted subtask');
  const gap = surfacingGap(new Map(Object.entries(gold)), new Map(Object.entries(pred)), new Map([['val_Art_Style_2', '(B)'], ['val_Art_Style_1', '(B)']]));
  // Art_Style: probe right & model wrong only on #2 → 1/3
  close(gap.perSubtask.get('Art_Style')!.probeRightModelWrong, 1 / 3, 'surfacing gap');
});
