// BLINK task: the prompt as BLINK builds it; probe answers from oracle features (Art_Style by mean-pooled cosine,
// correspondence by the marked points' cells), with the pooled cosine checked against a host computation; the
// per-question statistics and rows (model / probe accuracy, surfacing gap); a points file; end to end on a tiny
// BLINK parquet layout with a tiny OneVision, resumed.
import type { FeatureMap } from '../../src/capture/features.ts';
import { acquireGpu } from '../../src/gpu/device.ts';
import { Tensor } from '../../src/gpu/tensor.ts';
import { loadLlava } from '../../src/models/llava.ts';
import { writeTinyLlavaOnevision } from '../../src/models/tiny/tinyLlava.ts';
import {
  aggregateBlink, BLINK_DISCLAIMER, blinkPrompt, blinkTask, imageSimilarityAnswer, pointMatchAnswer, probeAnswer, type QuestionPoints,
  questionStats, readQuestionPoints,
} from '../../src/tasks/blink.ts';
import type { BlinkQuestion } from '../../src/tasks/datasets/blink.ts';
import { sumStats } from '../../src/tasks/resultsLog.ts';
import { runProbe } from '../../src/analysis/runProbe.ts';
import { SeededRandom } from '../../src/tasks/synthetic/seededRandom.ts';
import { syntheticSegmentationSet } from '../../src/tasks/synthetic/segmentationSet.ts';
import type { ProbeContext } from '../../src/tasks/task.ts';
import { assert, assertEquals, assertRejects } from '../gpu/assert.ts';
import { rgbPng, writeParquet, writeTree } from './fixtureWriters.ts';

const gpu = await acquireGpu();
const opts = { sanitizeResources: false, sanitizeOps: false };

function mapOf(rows: number, cols: number, dim: number, f: (r: number, c: number) => number[], size = { width: cols * 4, height: rows * 4 }): FeatureMap {
  const values = new Float32Array(rows * cols * dim), rects = new Float32Array(rows * cols * 4);
  const cw = size.width / cols, ch = size.height / rows;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      values.set(f(r, c), (r * cols + c) * dim);
      rects.set([c * cw, r * ch, (c + 1) * cw, (r + 1) * ch], (r * cols + c) * 4);
    }
  }
  const features = Tensor.from(gpu, 'f32', [rows, cols, dim], values, 'oracle') as Tensor<'f32'>;
  return {
    tap: 'oracle', image: 0, grid: 'main', rows, cols, dim, features, valid: new Uint8Array(rows * cols).fill(1), rects,
    imageSize: { height: size.height, width: size.width }, dispose: () => features.dispose(),
  };
}

const question = (over: Partial<BlinkQuestion>): BlinkQuestion => ({
  idx: 'val_Art_Style_1', subtask: 'Art_Style', question: 'Which image shares the style of the first?', choices: ['the second image', 'the third image'],
  answer: '(B)', answerIndex: 1, prompt: '', explanation: '', images: [], ...over,
});

Deno.test('prompt: the dataset prompt after the disclaimer for Art_Style; formatted from the fields without one', () => {
  const q = question({ prompt: 'Q?\nSelect from the following choices.\n(A) x\n(B) y' });
  assertEquals(blinkPrompt(q, 'Art_Style'), BLINK_DISCLAIMER + q.prompt);
  assertEquals(blinkPrompt(q, 'Counting'), q.prompt, 'no disclaimer');
  assertEquals(blinkPrompt(question({}), 'Visual_Correspondence'), 'Which image shares the style of the first?\nSelect from the following choices.\n(A) the second image\n(B) the third image');
});

Deno.test({ name: 'Art_Style probe: mean-pooled cosine picks the image of the same style; it equals the host cosine of means', ...opts, async fn() {
  const rng = new SeededRandom(4);
  const style = (k: number) => Array.from({ length: 6 }, (_, e) => (e === k ? 3 : 0.2));
  const noisy = (k: number) => () => style(k).map((v) => v + rng.range(-1, 1));
  const maps = [mapOf(3, 5, 6, noisy(0)), mapOf(4, 4, 6, noisy(2)), mapOf(2, 3, 6, noisy(0))];
  const mean = (m: FeatureMap) => m.features.read().then((v) => Array.from({ length: 6 }, (_, e) => { let s = 0; for (let c = 0; c < m.rows * m.cols; c++) s += v[c * 6 + e]; return s; }));
  const [a, b, c] = await Promise.all(maps.map(mean));
  const cos = (x: number[], y: number[]) => x.reduce((s, v, i) => s + v * y[i], 0) / Math.hypot(...x) / Math.hypot(...y);
  const r = await imageSimilarityAnswer(maps[0], [maps[1], maps[2]]);
  assertEquals(r.choice, 1, 'the third image shares the style');
  assert(Math.abs(r.scores[0] - cos(a, b)) < 1e-5 && Math.abs(r.scores[1] - cos(a, c)) < 1e-5, `pooled cosines ${r.scores} vs ${cos(a, b)}, ${cos(a, c)}`);
  const q = question({});
  assertEquals(await probeAnswer(q, 'Art_Style', new Map([[1, maps[0]], [2, maps[2]], [3, maps[1]]]), undefined), '(A)', 'choice i is image i+2');
  await assertRejects(() => probeAnswer(q, 'Art_Style', new Map([[1, maps[0]], [2, maps[1]]]), undefined), /image_2 … image_3/, 'a missing candidate image');
  assertEquals(await probeAnswer(q, 'Counting', new Map([[1, maps[0]]]), undefined), null, 'no probe for Counting');
  maps.forEach((m) => m.dispose());
} });

Deno.test({ name: 'correspondence probe: the candidate whose cell matches the REF point wins; no points, no probe', ...opts, async fn() {
  // oracle: a cell's feature codes its position on the object; image 2 shows the object shifted by (2, 1) cells
  const code = (r: number, c: number) => [Math.cos(r), Math.sin(r), Math.cos(c), Math.sin(c), Math.cos(r / 3), Math.sin(c / 3)];
  const ref = mapOf(6, 7, 6, code), trg = mapOf(6, 7, 6, (r, c) => code(r - 1, c - 2));
  const maps = new Map([[1, ref], [2, trg]]);
  const at = (r: number, c: number, image = 2) => ({ image, x: c * 4 + 1.5, y: r * 4 + 2 });
  for (const right of [0, 1, 2, 3]) {
    const candidates = [at(0, 0), at(5, 1), at(2, 6), at(4, 3)];
    candidates[right] = at(3 + 1, 2 + 2);
    const points: QuestionPoints = { ref: at(3, 2, 1), candidates };
    const r = await pointMatchAnswer(maps, points);
    assertEquals(r.choice, right, `right answer at ${right}`);
    assertEquals(r.scores[right] > 0.9999, true, 'identical cell codes');
  }
  const q = question({ idx: 'val_Visual_Correspondence_3', choices: ['A', 'B', 'C', 'D'], answer: '(C)', answerIndex: 2 });
  assertEquals(await probeAnswer(q, 'Visual_Correspondence', maps, undefined), null, 'no points given');
  await assertRejects(() => probeAnswer(q, 'Visual_Correspondence', maps, { ref: at(3, 2, 1), candidates: [at(1, 1)] }), /1 candidate points for 4 choices/, 'count check');
  await assertRejects(() => pointMatchAnswer(maps, { ref: at(3, 2, 1), candidates: [at(1, 1, 3)] }, 'q7'), /q7: no feature map for image slot 3/, 'unknown slot');
  ref.dispose(); trg.dispose();
} });

Deno.test('statistics and rows: model / probe accuracy and the surfacing gap per subtask', () => {
  const q1 = question({ idx: 'val_Art_Style_1', answer: '(B)' }), q2 = question({ idx: 'val_Art_Style_2', answer: '(A)', answerIndex: 0 });
  const q3 = question({ idx: 'val_Counting_1', answer: '(A)', answerIndex: 0 });
  const s = sumStats([
    questionStats(q1, 'Art_Style', 'val', '(A)', new Map([['lm.value@3', '(B)']])), // probe right, model wrong
    questionStats(q2, 'Art_Style', 'val', '(A)', new Map([['lm.value@3', '(B)']])), // model right, probe wrong
    questionStats(q3, 'Counting', 'val', '(Z)', new Map()),
  ]);
  const rows = aggregateBlink('blink-val', s, ['Art_Style', 'Counting']);
  assertEquals(rows.map((r) => [r.tap, r.layer, r.metric, r.value, r.n]), [
    ['model', null, 'accuracy (model) [Art_Style]', 50, 2],
    ['model', null, 'accuracy (model) [Counting]', 0, 1],
    ['model', null, 'accuracy (model) [task-macro]', 25, 2],
    ['lm.value', 3, 'accuracy (probe) [Art_Style]', 50, 2],
    ['lm.value', 3, 'surfacing gap [Art_Style]', 50, 2],
  ]);
});

Deno.test('points file: read, and a missing field is named', async () => {
  const dir = await writeTree({
    'ok.json': JSON.stringify({ val_Visual_Correspondence_1: { ref: { image: 1, x: 3, y: 4 }, candidates: [{ image: 2, x: 1, y: 2 }] } }),
    'bad.json': JSON.stringify({ val_Visual_Correspondence_1: { ref: { image: 1, x: 3 }, candidates: [] } }),
  });
  const p = await readQuestionPoints(`${dir}/ok.json`);
  assertEquals(p.get('val_Visual_Correspondence_1'), { ref: { image: 1, x: 3, y: 4 }, candidates: [{ image: 2, x: 1, y: 2 }] });
  await assertRejects(() => readQuestionPoints(`${dir}/bad.json`), /bad\.json: field 'val_Visual_Correspondence_1\.ref\.y': missing/, 'located error');
});

// ---------------------------------------------------------------------------------------------------------------
// End to end on the HF parquet layout

const IMAGE = { struct: { bytes: { type: 'binary', optional: true }, path: { type: 'string', optional: true } }, optional: true } as const;
const SCHEMA = {
  idx: { type: 'string', optional: true }, question: { type: 'string', optional: true }, sub_task: { type: 'string', optional: true },
  image_1: IMAGE, image_2: IMAGE, image_3: IMAGE, image_4: IMAGE,
  choices: { list: { type: 'string', optional: true }, optional: true }, answer: { type: 'string', optional: true },
  prompt: { type: 'string', optional: true }, explanation: { type: 'string', optional: true },
} as const;

const scenes = syntheticSegmentationSet({ n: 6, size: { width: 30, height: 26 }, classes: 3, seed: 12 }).images;
const png = (i: number) => ({ bytes: rgbPng(scenes[i].width, scenes[i].height, scenes[i].data), path: `${i}.png` });

function row(subtask: string, i: number, images: number[], choices: string[], answer: string) {
  const slots = Object.fromEntries([1, 2, 3, 4].map((k) => [`image_${k}`, images[k - 1] === undefined ? null : png(images[k - 1])]));
  const question = `Question ${i} of ${subtask}?`;
  return {
    idx: `val_${subtask}_${i}`, question, sub_task: subtask, ...slots, choices, answer,
    prompt: `${question}\nSelect from the following choices.\n${choices.map((c, k) => `(${'ABCD'[k]}) ${c}`).join('\n')}`, explanation: '',
  };
}

Deno.test({ name: 'end to end: tiny BLINK parquet layout with a tiny OneVision; rows, resume', ...opts, async fn() {
  const root = await writeTree({
    'Art_Style/val-00000-of-00001.parquet': writeParquet(SCHEMA, [
      row('Art_Style', 1, [0, 1, 2], ['the second image', 'the third image'], '(A)'),
      row('Art_Style', 2, [3, 4, 5], ['the second image', 'the third image'], '(B)'),
    ]),
    'Visual_Correspondence/val-00000-of-00001.parquet': writeParquet(SCHEMA, [
      row('Visual_Correspondence', 1, [0, 1], ['Point A', 'Point B', 'Point C', 'Point D'], '(C)'),
      row('Visual_Correspondence', 2, [2, 3], ['Point A', 'Point B', 'Point C', 'Point D'], '(D)'),
    ]),
    'Counting/val-00000-of-00001.parquet': writeParquet(SCHEMA, [row('Counting', 1, [4], ['1', '2', '3', '4'], '(B)')]),
    'points.json': JSON.stringify({
      val_Visual_Correspondence_1: { ref: { image: 1, x: 5, y: 6 }, candidates: [[2, 3], [20, 20], [10, 5], [28, 24]].map(([x, y]) => ({ image: 2, x, y })) },
    }),
  });
  const dir = await Deno.makeTempDir({ prefix: 'kvscope-blink-' });
  await writeTinyLlavaOnevision(`${dir}/model`, { seed: 7 });
  const model = await loadLlava(gpu, `${dir}/model`);
  try {
    const ctx: ProbeContext = { model, siglip: null, taps: ['lm.value', 'projector'], layers: [1], agnostic: null, grid: 'main', overlays: null, overlaysLeft: 0 };
    const task = blinkTask(root, { subtasks: ['Art_Style', 'Visual_Correspondence', 'Counting'], split: 'val', pointsFile: `${root}/points.json`, maxNewTokens: 3 });
    assertEquals((await task.samples()).map((s) => s.id), ['val_Art_Style_1', 'val_Art_Style_2', 'val_Visual_Correspondence_1', 'val_Visual_Correspondence_2', 'val_Counting_1']);
    const first = await runProbe(task, ctx, `${dir}/run`, {});
    assertEquals(first.rows.map((r) => `${r.tap}@${r.layer}:${r.metric}:${r.n}`), [
      'model@null:accuracy (model) [Art_Style]:2', 'model@null:accuracy (model) [Visual_Correspondence]:2', 'model@null:accuracy (model) [Counting]:1',
      'model@null:accuracy (model) [task-macro]:3',
      'lm.value@1:accuracy (probe) [Art_Style]:2', 'lm.value@1:surfacing gap [Art_Style]:2',
      'lm.value@1:accuracy (probe) [Visual_Correspondence]:1', 'lm.value@1:surfacing gap [Visual_Correspondence]:1',
      'projector@null:accuracy (probe) [Art_Style]:2', 'projector@null:surfacing gap [Art_Style]:2',
      'projector@null:accuracy (probe) [Visual_Correspondence]:1', 'projector@null:surfacing gap [Visual_Correspondence]:1',
    ]);
    for (const r of first.rows) assert(r.value >= 0 && r.value <= 100, `${r.metric} ${r.value}`);
    const again = await runProbe(task, ctx, `${dir}/run`, {});
    assertEquals([again.computed, again.resumed], [0, 5]);
    assertEquals(again.rows, first.rows);
    assert(first.markdown.includes('no points file') === false && first.markdown.includes('points file'), 'notes printed');
    // a fixed reply: the model rows are the share of gold answers equal to (B); the gap never exceeds the probe's accuracy
    const fixed = blinkTask(root, { subtasks: ['Art_Style', 'Visual_Correspondence', 'Counting'], split: 'val', pointsFile: `${root}/points.json`, maxNewTokens: 2, decode: () => 'The answer is (B)\n' });
    const b = await runProbe(fixed, ctx, `${dir}/run-fixed`, {});
    assertEquals(b.rows.filter((r) => r.tap === 'model').map((r) => r.value), [50, 0, 100, 50]);
    for (const sub of ['Art_Style', 'Visual_Correspondence']) {
      for (const tap of ['lm.value', 'projector']) {
        const acc = b.rows.find((r) => r.tap === tap && r.metric === `accuracy (probe) [${sub}]`)!.value;
        const gap = b.rows.find((r) => r.tap === tap && r.metric === `surfacing gap [${sub}]`)!.value;
        assert(gap <= acc, `${tap} ${sub}: gap ${gap} ≤ probe accuracy ${acc}`);
        assertEquals(acc, first.rows.find((r) => r.tap === tap && r.metric === `accuracy (probe) [${sub}]`)!.value, 'the probe does not depend on the reply');
      }
    }
  } finally {
    model.dispose();
  }
} });

Deno.test('test split and unknown subtasks are refused', () => {
  let msg = '';
  try { blinkTask('/nowhere', { subtasks: ['Art_Style'], split: 'test' }); } catch (e) { msg = (e as Error).message; }
  assert(/hidden answers/.test(msg), msg);
  try { blinkTask('/nowhere', { subtasks: ['Colour' as 'Art_Style'], split: 'val' }); } catch (e) { msg = (e as Error).message; }
  assert(/unknown subtask "Colour"/.test(msg), msg);
});
