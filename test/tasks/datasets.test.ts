// Dataset readers: a tiny copy of every on-disk layout is written to a temp dir and read back exactly, with one
// malformed/missing-file case each; the real fixtures (DAVIS 2016 sequences, VOC and MSRC samples) are read too.
import { decode as decodePngFile } from 'fast-png';
import type { RgbImage } from '../../src/io/rgbImage.ts';
import { DatasetError, denoFileTree, IMAGE_CODEC, readAll } from '../../src/tasks/datasets/dataset.ts';
import { pckThresholdBase, SpairReader } from '../../src/tasks/datasets/spair.ts';
import { DavisReader } from '../../src/tasks/datasets/davis.ts';
import {
  binaryClassMask, Pascal5iReader, pascal5iFoldClasses, readVocImage, VOC_COLOUR_TABLE, vocPaletteColour, type VocLayout,
} from '../../src/tasks/datasets/pascal5i.ts';
import { CosegReader, MSRC_CLASSES, MSRC_COLOUR_TABLE, MSRC_VOID, MSRC_PAIRED_PNG_LAYOUT, MSRC_V2_LAYOUT, MsrcLabelReader } from '../../src/tasks/datasets/msrc.ts';
import { ImagenetSReader } from '../../src/tasks/datasets/imagenetS.ts';
import {
  RefcocoParquetReader, RefcocoReader, refSplitMatches, rleDecode, rleFromPolygon, rleFromString, rleToString,
} from '../../src/tasks/datasets/refcoco.ts';
import { BLINK_SUBTASKS, BlinkReader } from '../../src/tasks/datasets/blink.ts';
import { assert, assertEquals, assertRejects, assertThrows } from '../gpu/assert.ts';
import { SHARED_FIXTURES } from '../fixtures/sharedFixtures.ts';
import { writeBmp } from '../io/bmpWriter.ts';
import {
  greyPng, palettePng, pickleProtocol2, type PickleValue, rgbJpeg, rgbPng, solid, writeParquet, writeTree,
} from './fixtureWriters.ts';

const FIXTURES = `${SHARED_FIXTURES}/`;
const codec = IMAGE_CODEC;
const PALETTE = Array.from({ length: 256 }, (_, i) => vocPaletteColour(i));

/** JPEG of a solid colour decodes within ±4 per channel (q95). */
function assertSolid(img: RgbImage, w: number, h: number, rgb: number[], what: string) {
  assertEquals([img.width, img.height], [w, h], `${what} size`);
  let worst = 0;
  for (let i = 0; i < img.data.length; i++) worst = Math.max(worst, Math.abs(img.data[i] - rgb[i % 3]));
  assert(worst <= 4, `${what}: JPEG pixels off by ${worst} from ${rgb}`);
}

/** A deterministic pattern of label values. */
function pattern(w: number, h: number, f: (x: number, y: number) => number): Uint8Array {
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[y * w + x] = f(x, y);
  return out;
}

function count(a: ArrayLike<number>, v: number): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === v) n++;
  return n;
}

// ---------------------------------------------------------------------------------------------------------------
// SPair-71k

const PAIR = '000001-2008_002719-2008_004100:aeroplane';
function spairPairJson(over: Record<string, unknown> = {}) {
  return JSON.stringify({
    pair_id: 1, filename: PAIR, src_imname: '2008_002719.jpg', trg_imname: '2008_004100.jpg',
    src_imsize: [12, 8, 3], trg_imsize: [10, 9, 3], src_bndbox: [1, 1, 11, 7], trg_bndbox: [0, 2, 9, 8],
    category: 'aeroplane', src_pose: 'Left', trg_pose: 'Frontal', src_kps: [[1, 2], [10, 7], [5, 5]],
    trg_kps: [[0, 3], [9, 8], [4, 4]], kps_ids: ['0', '3', '7'], mirror: 0, viewpoint_variation: 1,
    scale_variation: 2, truncation: 0, occlusion: 1, ...over,
  });
}
async function spairTree(pairJson = spairPairJson()) {
  return denoFileTree(await writeTree({
    'JPEGImages/aeroplane/2008_002719.jpg': rgbJpeg(12, 8, solid(12, 8, [200, 40, 40])),
    'JPEGImages/aeroplane/2008_004100.jpg': rgbJpeg(10, 9, solid(10, 9, [40, 200, 40])),
    [`PairAnnotation/test/${PAIR}.json`]: pairJson,
    'PairAnnotation/test/notes.txt': 'not a pair',
    'Layout/large/test.txt': `${PAIR}\n`,
    'ImageAnnotation/aeroplane/2008_002719.json': JSON.stringify({
      filename: '2008_002719.jpg', src_database: 'PASCAL', image_width: 12, image_height: 8, image_depth: 3,
      category: 'aeroplane', pose: 'Left', truncated: 0, occluded: 0, difficult: 0, bndbox: [1, 1, 11, 7],
      kps: { '0': [1, 2], '1': null, '3': [10, 7], '7': [5, 5], '10': null }, azimuth_id: 3,
    }),
  }));
}

Deno.test('SPair-71k: pair JSON, images, keypoints and layout list read back exactly', async () => {
  const files = await spairTree();
  const reader = new SpairReader(files, codec, { split: 'test' });
  assertEquals(await reader.ids(), [PAIR], 'ids from PairAnnotation/test');
  assertEquals(await new SpairReader(files, codec, { split: 'test', layout: 'large' }).ids(), [PAIR], 'ids from Layout/large');
  const [p] = await Array.fromAsync(readAll(reader));
  assertEquals([p.pairId, p.category, p.src.name, p.trg.name], [1, 'aeroplane', '2008_002719.jpg', '2008_004100.jpg'], 'names');
  assertEquals([p.src.width, p.src.height, p.trg.width, p.trg.height], [12, 8, 10, 9], 'sizes from [w, h, 3]');
  assertEquals([p.src.bbox, p.trg.bbox], [[1, 1, 11, 7], [0, 2, 9, 8]], 'bboxes');
  assertEquals([p.src.pose, p.trg.pose], ['Left', 'Frontal'], 'poses');
  assertEquals(p.keypoints, [
    { id: '0', src: { x: 1, y: 2 }, trg: { x: 0, y: 3 } },
    { id: '3', src: { x: 10, y: 7 }, trg: { x: 9, y: 8 } },
    { id: '7', src: { x: 5, y: 5 }, trg: { x: 4, y: 4 } },
  ], 'keypoints');
  assertEquals([p.mirror, p.viewpointVariation, p.scaleVariation, p.truncation, p.occlusion], [0, 1, 2, 0, 1], 'flags');
  assertSolid(p.src.image, 12, 8, [200, 40, 40], 'src image');
  assertSolid(p.trg.image, 10, 9, [40, 200, 40], 'trg image');
  assertEquals(pckThresholdBase(p), 9, 'max side of the target bbox');
  const ann = await reader.readImageAnnotation('aeroplane', '2008_002719.jpg');
  assertEquals(ann.keypoints.map((k) => [k.id, k.visible]), [['0', true], ['1', false], ['3', true], ['7', true], ['10', false]], 'visibility');
  assertEquals([ann.keypoints[2].x, ann.keypoints[2].y, ann.width, ann.height], [10, 7, 12, 8], 'image annotation');
});

Deno.test('SPair-71k: missing field, misaligned keypoints and wrong image size name file and field', async () => {
  const noTrg = JSON.parse(spairPairJson());
  delete noTrg.trg_kps;
  let err = await assertRejects(async () => new SpairReader(await spairTree(JSON.stringify(noTrg)), codec, { split: 'test' }).read(PAIR), /trg_kps.*missing/, 'no trg_kps');
  assert(err instanceof DatasetError && err.file.endsWith(`${PAIR}.json`) && err.field === 'trg_kps', 'error carries file and field');
  err = await assertRejects(async () => new SpairReader(await spairTree(spairPairJson({ kps_ids: ['0'] })), codec, { split: 'test' }).read(PAIR), /index-aligned/, 'misaligned');
  await assertRejects(async () => new SpairReader(await spairTree(spairPairJson({ src_imsize: [13, 8, 3] })), codec, { split: 'test' }).read(PAIR), /field 'src_imsize': .*2008_002719\.jpg is 12×8, the pair says \[13, 8\]/, 'imsize');
  await assertRejects(async () => new SpairReader(await spairTree(), codec, { split: 'val' }).ids(), /PairAnnotation\/val: cannot read \(missing\)/, 'missing split dir');
});

// ---------------------------------------------------------------------------------------------------------------
// DAVIS

Deno.test('DAVIS 2017: palette ids (not colours), void kept, objects from the first frame, split list', async () => {
  const w = 7, h = 5;
  const a0 = pattern(w, h, (x, y) => (x < 2 ? 0 : x < 4 ? 1 : y === 0 ? 255 : 2));
  const a1 = pattern(w, h, (x) => (x < 3 ? 1 : 0));
  const root = await writeTree({
    'ImageSets/2017/val.txt': 'dogs\nbmx\n',
    'JPEGImages/480p/dogs/00000.jpg': rgbJpeg(w, h, solid(w, h, [10, 20, 30])),
    'JPEGImages/480p/dogs/00001.jpg': rgbJpeg(w, h, solid(w, h, [90, 20, 30])),
    'JPEGImages/480p/dogs/00002.jpg': rgbJpeg(w, h, solid(w, h, [170, 20, 30])),
    'Annotations/480p/dogs/00000.png': palettePng(w, h, a0, PALETTE),
    'Annotations/480p/dogs/00001.png': palettePng(w, h, a1, PALETTE),
    'JPEGImages/480p/bmx/00000.jpg': rgbJpeg(w, h, solid(w, h, [0, 0, 0])),
  });
  const reader = new DavisReader(denoFileTree(root), codec, { format: '2017', split: 'val' });
  assertEquals(await reader.ids(), ['dogs', 'bmx'], 'val.txt order');
  const seq = await reader.read('dogs');
  assertEquals([seq.frames, seq.annotated, seq.width, seq.height, seq.numObjects], [['00000', '00001', '00002'], ['00000', '00001'], w, h, 2], 'sequence');
  assertEquals(Array.from((await seq.mask(0)).ids), Array.from(a0), 'frame 0 ids');
  assertEquals(Array.from((await seq.mask(1)).ids), Array.from(a1), 'frame 1 ids');
  assertSolid(await seq.frame(2), w, h, [170, 20, 30], 'frame 2');
  await assertRejects(() => seq.mask(2), /dogs\/00002\.png: no annotation/, 'unannotated frame');
  await assertRejects(() => reader.read('bmx'), /Annotations\/480p\/bmx: cannot read \(missing\)/, 'missing annotation dir');
  await assertRejects(() => new DavisReader(denoFileTree(root), codec, { format: '2017', split: 'train' }).ids(), /ImageSets\/2017\/train\.txt: cannot read/, 'missing list');
});

Deno.test('DAVIS 2016: grey 0/255 masks become ids 0/1, frame lists give sequences, other values rejected', async () => {
  const w = 6, h = 4;
  const m0 = pattern(w, h, (x, y) => (x + y > 4 ? 255 : 0));
  const root = await writeTree({
    'ImageSets/480p/val.txt': '/JPEGImages/480p/cow/00000.jpg /Annotations/480p/cow/00000.png\n/JPEGImages/480p/cow/00001.jpg /Annotations/480p/cow/00001.png\n',
    'JPEGImages/480p/cow/00000.jpg': rgbJpeg(w, h, solid(w, h, [50, 60, 70])),
    'JPEGImages/480p/cow/00001.jpg': rgbJpeg(w, h, solid(w, h, [50, 60, 70])),
    'Annotations/480p/cow/00000.png': greyPng(w, h, m0),
    'Annotations/480p/cow/00001.png': greyPng(w, h, pattern(w, h, (x) => (x === 3 ? 128 : 0))),
  });
  const reader = new DavisReader(denoFileTree(root), codec, { format: '2016', split: 'val' });
  assertEquals(await reader.ids(), ['cow'], 'sequences from frame lines');
  const seq = await reader.read('cow');
  assertEquals(seq.numObjects, 1, 'single object');
  assertEquals(Array.from((await seq.mask(0)).ids), Array.from(m0, (v) => (v ? 1 : 0)), '255 → 1');
  await assertRejects(() => seq.mask(1), /cow\/00001\.png: DAVIS 2016 masks hold 0 or 255, found 128 at pixel \(3, 0\)/, 'grey 128');
});

Deno.test('DAVIS 2016 fixture: blackswan and car-shadow read with sizes, frame counts and object pixels', async () => {
  const reader = new DavisReader(denoFileTree(`${FIXTURES}davis2016`), codec, { format: '2016' });
  assertEquals(await reader.ids(), ['blackswan', 'car-shadow'], 'sequences');
  for (const [name, frames] of [['blackswan', 50], ['car-shadow', 40]] as const) {
    const seq = await reader.read(name);
    assertEquals([seq.frames.length, seq.annotated.length, seq.width, seq.height, seq.numObjects], [frames, frames, 854, 480, 1], name);
    const last = frames - 1;
    const img = await seq.frame(last);
    assertEquals([img.width, img.height], [854, 480], `${name} last frame`);
    // Object pixel count equals the count of 255 in the raw PNG (decoded independently with fast-png).
    for (const i of [0, last]) {
      const raw = decodePngFile(await Deno.readFile(`${FIXTURES}davis2016/Annotations/480p/${name}/${seq.frames[i]}.png`));
      const fg = count((await seq.mask(i)).ids, 1);
      assertEquals(fg, count(raw.data, 255), `${name} frame ${i} fg pixels`);
      assert(fg > 1000 && fg < 854 * 480 / 2, `${name} frame ${i}: ${fg} object pixels is implausible`);
    }
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Pascal-5i

const VOC_IDS = ['2007_000032', '2007_000033', '2007_000039', '2007_000042', '2007_000061', '2007_000063', '2007_000068'];
/** Image k: class (k % 2 ? 1 : 3) in a block, a void band, and class 7 (fold 1) in a corner. */
function vocLabels(k: number, w: number, h: number) {
  return pattern(w, h, (x, y) => (y === 0 ? 255 : x < 3 + (k % 3) ? (k % 2 ? 1 : 3) : x === w - 1 && y === h - 1 ? 7 : 0));
}
async function vocTree(hsnet = '') {
  const w = 8, h = 5;
  const files: Record<string, Uint8Array | string> = { 'ImageSets/Segmentation/val.txt': VOC_IDS.join('\n') + '\n' };
  VOC_IDS.forEach((id, k) => {
    files[`JPEGImages/${id}.jpg`] = rgbJpeg(w, h, solid(w, h, [k * 30, 100, 100]));
    files[`SegmentationClassAug/${id}.png`] = palettePng(w, h, vocLabels(k, w, h), PALETTE);
  });
  files['splits/pascal/val/fold0.txt'] = hsnet || VOC_IDS.map((id, k) => `${id}__0${k % 2 ? 1 : 3}`).join('\n');
  return denoFileTree(await writeTree(files));
}

Deno.test('Pascal-5i: fold classes, HSNet list, deterministic K-shot episodes, binary masks with 255 kept', async () => {
  assertEquals(pascal5iFoldClasses(2), [11, 12, 13, 14, 15], 'fold 2');
  assertEquals([vocPaletteColour(1), vocPaletteColour(15), vocPaletteColour(20)], [[128, 0, 0], [192, 128, 128], [0, 64, 128]], 'VOC colours');
  const files = await vocTree();
  const reader = new Pascal5iReader(files, codec, { fold: 0, pairs: { kind: 'hsnet', list: 'splits/pascal/val/fold0.txt' }, shots: 2, episodes: 21, seed: 0 });
  assertEquals((await reader.ids()).length, 21, 'episode count');
  const pairs = await reader.pairs();
  assertEquals(pairs.map((p) => p.classId), [3, 1, 3, 1, 3, 1, 3], 'pair classes');
  const seen = new Set<string>();
  for (const id of await reader.ids()) {
    const e = await reader.read(id);
    const q = pairs[Number(id) % pairs.length];
    assertEquals([e.query.id, e.classId, e.className], [q.image, q.classId, q.classId === 1 ? 'aeroplane' : 'bird'], `episode ${id} query`);
    const ids = e.supports.map((s) => s.id);
    assert(ids.length === 2 && new Set(ids).size === 2 && !ids.includes(e.query.id), `episode ${id}: supports ${ids} must be 2 distinct non-query images`);
    for (const s of [e.query, ...e.supports]) {
      const k = VOC_IDS.indexOf(s.id);
      assertEquals(Array.from(s.mask), Array.from(binaryClassMask(vocLabels(k, 8, 5), e.classId)), `episode ${id} mask of ${s.id}`);
      assert(pairs.some((p) => p.image === s.id && p.classId === e.classId), `${s.id} lists class ${e.classId}`);
      assertEquals([count(s.mask, 255), s.image.width], [8, 8], 'void row kept');
    }
    seen.add(`${e.query.id}/${ids.join()}`);
  }
  assert(seen.size > 7, `supports vary between episodes of the same query (${seen.size} distinct of 21)`);
  const other = new Pascal5iReader(files, codec, { fold: 0, pairs: { kind: 'hsnet', list: 'splits/pascal/val/fold0.txt' }, shots: 2, episodes: 21, seed: 1 });
  const bySeed = async (r: Pascal5iReader) => (await Promise.all((await r.ids()).map((id) => r.read(id)))).map((e) => e.supports.map((s) => s.id).join()).join(';');
  assert(await bySeed(reader) !== await bySeed(other), 'seed changes the supports');
  const again = await new Pascal5iReader(files, codec, { fold: 0, pairs: { kind: 'hsnet', list: 'splits/pascal/val/fold0.txt' }, shots: 2, episodes: 21, seed: 0 }).read('5');
  assertEquals(again.supports.map((s) => s.id), (await reader.read('5')).supports.map((s) => s.id), 'same seed, same supports');
  // ImageSets list: pairs are the fold classes present with ≥ minPixels pixels (class 7 is fold 1 only).
  const fromSet = new Pascal5iReader(files, codec, { fold: 1, pairs: { kind: 'imageset', list: 'ImageSets/Segmentation/val.txt' }, shots: 1 });
  assertEquals((await fromSet.pairs()).map((p) => `${p.image}/${p.classId}`), VOC_IDS.map((id) => `${id}/7`), 'fold 1 pairs');
  const big = new Pascal5iReader(files, codec, { fold: 0, pairs: { kind: 'imageset', list: 'ImageSets/Segmentation/val.txt', minPixels: 18 }, shots: 1 });
  assertEquals((await big.pairs()).map((p) => p.image), [VOC_IDS[2], VOC_IDS[5]], 'minPixels: only 5-column blocks (4 rows × 5 ≥ 18)');
});

Deno.test('Pascal-5i: bad list line, out-of-fold class, too few supports, bad label value', async () => {
  await assertRejects(async () => new Pascal5iReader(await vocTree('2007_000032_01'), codec, { fold: 0, pairs: { kind: 'hsnet', list: 'splits/pascal/val/fold0.txt' } }).ids(), /fold0\.txt: line 1: expected "<id>__<cc>"/, 'bad line');
  await assertRejects(async () => new Pascal5iReader(await vocTree('2007_000032__07'), codec, { fold: 0, pairs: { kind: 'hsnet', list: 'splits/pascal/val/fold0.txt' } }).ids(), /class 7 is not in fold 0/, 'wrong fold');
  await assertRejects(async () => new Pascal5iReader(await vocTree(), codec, { fold: 0, pairs: { kind: 'hsnet', list: 'splits/pascal/val/fold0.txt' }, shots: 5 }).read('0'), /class 3 \(bird\) has 3 support images.*5 needed/, 'few supports');
  const files = denoFileTree(await writeTree({ 'SegmentationClassAug/x.png': palettePng(2, 1, Uint8Array.of(0, 42), PALETTE), 'JPEGImages/x.jpg': rgbJpeg(2, 1, solid(2, 1, [0, 0, 0])) }));
  await assertRejects(() => readVocImage(files, codec, { image: (id) => `JPEGImages/${id}.jpg`, label: (id) => `SegmentationClassAug/${id}.png`, encoding: 'index' }, 'x'), /x\.png: class ids are 0\.\.20 or 255, found 42 at pixel \(1, 0\)/, 'label 42');
});

Deno.test('VOC fixture: RGB colour targets map back to class ids (void colour → 255)', async () => {
  const layout: VocLayout = { image: (id) => `${id}_image.png`, label: (id) => `${id}_target.png`, encoding: 'rgb' };
  const files = denoFileTree(`${FIXTURES}voc`);
  for (const [id, cls] of [['1', 1], ['23', 17], ['114', 3]] as const) {
    const s = await readVocImage(files, codec, layout, id);
    assertEquals([s.width, s.height], [513, 513], `${id} size`);
    const present = [...new Set(s.labels)].sort((a, b) => a - b);
    assertEquals(present, [0, cls, 255], `${id} classes`);
    // Each class id covers exactly the pixels of its colour in the raw PNG.
    const raw = decodePngFile(await Deno.readFile(`${FIXTURES}voc/${id}_target.png`));
    const [r, g, b] = vocPaletteColour(cls);
    let colourPixels = 0;
    for (let p = 0; p < 513 * 513; p++) if (raw.data[3 * p] === r && raw.data[3 * p + 1] === g && raw.data[3 * p + 2] === b) colourPixels++;
    assertEquals(count(s.labels, cls), colourPixels, `${id} class pixels`);
    assert(colourPixels > 10000, `${id}: object covers ${colourPixels} px`);
  }
  assertEquals(VOC_COLOUR_TABLE.get((224 << 16) | (224 << 8) | 192), 255, 'void colour');
  const bad = denoFileTree(await writeTree({ 'a_image.png': rgbPng(1, 1, Uint8Array.of(1, 2, 3)), 'a_target.png': rgbPng(1, 1, Uint8Array.of(1, 2, 3)) }));
  await assertRejects(() => readVocImage(bad, codec, layout, 'a'), /a_target\.png: colour \(1, 2, 3\) at pixel \(0, 0\) is not a label colour/, 'unknown colour');
});

// ---------------------------------------------------------------------------------------------------------------
// MSRC

Deno.test('MSRC co-segmentation sets: images with binary GroundTruth masks; missing mask named', async () => {
  const w = 5, h = 4;
  const mA = pattern(w, h, (x) => (x > 1 ? 255 : 0)), mB = pattern(w, h, (_, y) => (y > 2 ? 1 : 0));
  const root = await writeTree({
    'cow/a.jpg': rgbJpeg(w, h, solid(w, h, [0, 0, 128])),
    'cow/b.png': rgbPng(w, h, solid(w, h, [9, 8, 7])),
    'cow/GroundTruth/a.png': greyPng(w, h, mA),
    'cow/GroundTruth/b.png': greyPng(w, h, mB),
    'sheep/c.jpg': rgbJpeg(w, h, solid(w, h, [0, 128, 128])),
    'sheep/GroundTruth/c.png': greyPng(w, h, mA),
    'readme.png': rgbPng(1, 1, Uint8Array.of(0, 0, 0)),
    'notes/x.txt': '',
  });
  const reader = new CosegReader(denoFileTree(root), codec);
  assertEquals(await reader.ids(), ['cow', 'sheep'], 'sets');
  const cow = await reader.read('cow');
  assertEquals(cow.images.map((i) => i.name), ['a.jpg', 'b.png'], 'images');
  assertEquals(Array.from(cow.images[0].mask), Array.from(mA, (v) => (v ? 1 : 0)), 'mask a');
  assertEquals(Array.from(cow.images[1].mask), Array.from(mB), 'mask b');
  assertEquals(Array.from(cow.images[1].image.data.subarray(0, 3)), [9, 8, 7], 'png pixel');
  await Deno.remove(`${root}/sheep/GroundTruth/c.png`);
  await assertRejects(() => reader.read('sheep'), /sheep\/GroundTruth\/c\.png: cannot read \(missing\)/, 'missing mask');
});

Deno.test('MSRC fixture: colour label maps → MSRC class ids; MSRC-v2 layout: BMP images and ground truth read (bmp-js)', async () => {
  const reader = new MsrcLabelReader(denoFileTree(`${FIXTURES}msrc`), codec, MSRC_PAIRED_PNG_LAYOUT);
  assertEquals(await reader.ids(), ['1', '2', '3'], 'ids');
  const want: Record<string, [number, number, string[]]> = {
    '1': [320, 240, ['water', 'bird']], '2': [320, 213, ['grass', 'chair']], '3': [240, 320, ['grass', 'face', 'body']],
  };
  for (const id of ['1', '2', '3']) {
    const s = await reader.read(id);
    assertEquals([s.image.width, s.image.height], want[id].slice(0, 2), `${id} size`);
    assertEquals(s.classes.map((c) => MSRC_CLASSES[c]), want[id][2], `${id} classes`);
    assert(count(s.labels, 0) < s.labels.length / 2, `${id}: mostly labelled`);
  }
  // MSRC-v2 as shipped: BMP images and BMP colour ground truth (bmp-js); left column void (black), the rest the class of VOC colour 6
  const [cr, cg, cb] = vocPaletteColour(6);
  const cowId = MSRC_COLOUR_TABLE.get((cr << 16) | (cg << 8) | cb)!;
  const gt = Array.from({ length: 12 }, (_, i) => (i % 4 === 0 ? [0, 0, 0] : [cr, cg, cb]));
  const v2 = denoFileTree(await writeTree({
    'Images/1_1_s.bmp': writeBmp(4, 3, Array.from({ length: 12 }, (_, i) => [i * 20, 100, 200 - i * 10]), 24),
    'Images/Thumbs.db': '',
    'GroundTruth/1_1_s_GT.bmp': writeBmp(4, 3, gt, 24),
  }));
  const v2reader = new MsrcLabelReader(v2, codec, MSRC_V2_LAYOUT);
  assertEquals(await v2reader.ids(), ['1_1_s'], 'v2 ids');
  // The colour list follows the VOC map up to chair, then skips two entries.
  for (const [name, voc] of [['building', 1], ['chair', 18], ['road', 21], ['boat', 25]] as const) {
    const [r, g, b] = vocPaletteColour(voc);
    assertEquals(MSRC_CLASSES[MSRC_COLOUR_TABLE.get((r << 16) | (g << 8) | b)!], name, `${name} colour`);
  }
  const v2s = await v2reader.read('1_1_s');
  assertEquals([v2s.image.width, v2s.image.height, Array.from(v2s.image.data.subarray(3, 6))], [4, 3, [20, 100, 190]], 'v2 BMP image pixels');
  assertEquals(Array.from(v2s.labels), gt.map((_, i) => (i % 4 === 0 ? MSRC_VOID : cowId)), 'v2 BMP ground truth → ids (black = void)');
  assertEquals(v2s.classes.map((c) => MSRC_CLASSES[c]), [MSRC_CLASSES[cowId]], 'v2 classes');
});

// ---------------------------------------------------------------------------------------------------------------
// ImageNet-S

const WNIDS = Array.from({ length: 50 }, (_, i) => `n0${String(1440000 + 37 * i).padStart(7, '0')}`);
async function imagenetSTree(ids: number[][]) {
  const w = 4, h = 3;
  const seg = new Uint8Array(w * h * 3);
  ids.flat().forEach((v, p) => seg.set([v % 256, Math.floor(v / 256), 7], 3 * p));
  return await writeTree({
    [`validation/${WNIDS[4]}/ILSVRC2012_val_00000011.JPEG`]: rgbJpeg(w, h, solid(w, h, [1, 2, 3])),
    [`validation-segmentation/${WNIDS[4]}/ILSVRC2012_val_00000011.png`]: rgbPng(w, h, seg),
    'ImageNetS_categories_im50.txt': WNIDS.join('\n') + '\n',
    'ImageNetS_im50_validation.txt': `${WNIDS[4]}/ILSVRC2012_val_00000011.JPEG ${WNIDS[4]}/ILSVRC2012_val_00000011.png\n`,
  });
}

Deno.test('ImageNet-S: id = R + 256·G (ignore 1000 kept), class order from the categories file, names list', async () => {
  const ids = [[0, 5, 5, 1000], [5, 5, 0, 1000], [0, 50, 0, 0]];
  const root = await imagenetSTree(ids);
  const reader = new ImagenetSReader(denoFileTree(root), codec, { classes: 50, categoriesFile: 'ImageNetS_categories_im50.txt', namesFile: 'ImageNetS_im50_validation.txt' });
  assertEquals(await reader.ids(), [`${WNIDS[4]}/ILSVRC2012_val_00000011`], 'ids from names file');
  const listed = new ImagenetSReader(denoFileTree(root), codec, { classes: 50, categoriesFile: 'ImageNetS_categories_im50.txt' });
  assertEquals(await listed.ids(), await reader.ids(), 'ids from folders');
  const s = await reader.read((await reader.ids())[0]);
  assertEquals([s.wnid, s.classId, s.image.width, s.image.height], [WNIDS[4], 5, 4, 3], 'sample');
  assertEquals(Array.from(s.labels), ids.flat(), 'labels');
  assertEquals(s.present, [0, 5, 50], 'present ids');
  assertEquals((await reader.classNames()).slice(0, 2), ['background', WNIDS[0]], 'names default to wnids');
});

Deno.test('ImageNet-S: out-of-range id, partial copy without categories file, bad names line', async () => {
  const root = await imagenetSTree([[0, 51, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]);
  const reader = new ImagenetSReader(denoFileTree(root), codec, { classes: 50, categoriesFile: 'ImageNetS_categories_im50.txt' });
  await assertRejects(async () => reader.read((await reader.ids())[0]), /ILSVRC2012_val_00000011\.png: class id 51 \(R \+ 256·G\) at pixel \(1, 0\)/, 'id 51');
  await assertRejects(() => new ImagenetSReader(denoFileTree(root), codec, { classes: 50 }).wnids(), /validation-segmentation: expected 50 class wnids, found 1 folders/, 'partial copy');
  await Deno.writeTextFile(`${root}/bad.txt`, 'n01440000/x.JPEG\n');
  await assertRejects(() => new ImagenetSReader(denoFileTree(root), codec, { classes: 50, namesFile: 'bad.txt' }).ids(), /bad\.txt: line 1: expected/, 'bad names');
});

// ---------------------------------------------------------------------------------------------------------------
// RefCOCO

Deno.test('COCO masks: polygon rasterisation as rleFrPoly, RLE string round trip, column-major decode', () => {
  // Integer-corner box (x1, y1)–(x2, y2) covers columns x1..x2−1 and rows y1..y2−1 (pixel centres inside).
  const box = rleDecode(rleFromPolygon([1, 1, 5, 1, 5, 4, 1, 4], 6, 7));
  assertEquals(Array.from(box), Array.from(pattern(7, 6, (x, y) => (x >= 1 && x < 5 && y >= 1 && y < 4 ? 1 : 0))), 'box');
  // rleFrPoly snaps vertices to the 1/5-px grid (round half up) and samples edges at 1/5 px, and no pixel centre
  // (k + 0.5) lies on that grid: so a pixel is set iff its centre is inside the snapped polygon, exactly for
  // axis-aligned boxes, and for triangles wherever the centre is ≥ 0.15 px from every snapped edge.
  const rand = (() => {
    let s = 12345;
    return () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  })();
  const snap = (v: number) => Math.trunc(5 * v + 0.5) / 5;
  const H = 13, W = 17;
  for (let t = 0; t < 20; t++) {
    const xs = [rand() * W, rand() * W].map((v) => Math.round(v * 100) / 100).sort((a, b) => a - b);
    const ys = [rand() * H, rand() * H].map((v) => Math.round(v * 100) / 100).sort((a, b) => a - b);
    const m = rleDecode(rleFromPolygon([xs[0], ys[0], xs[1], ys[0], xs[1], ys[1], xs[0], ys[1]], H, W));
    const want = pattern(W, H, (x, y) => (x + 0.5 > snap(xs[0]) && x + 0.5 < snap(xs[1]) && y + 0.5 > snap(ys[0]) && y + 0.5 < snap(ys[1]) ? 1 : 0));
    assertEquals(Array.from(m), Array.from(want), `box x ${xs} y ${ys}`);
  }
  let checked = 0;
  for (let t = 0; t < 20; t++) {
    const xy = Array.from({ length: 6 }, (_, i) => Math.round((i % 2 ? H : W) * rand() * 100) / 100);
    const sxy = xy.map(snap);
    const m = rleDecode(rleFromPolygon(xy, H, W));
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const [cx, cy] = [x + 0.5, y + 0.5];
        let inside = false, near = false;
        for (let e = 0; e < 3; e++) {
          const [ax, ay, bx, by] = [sxy[2 * e], sxy[2 * e + 1], sxy[(2 * e + 2) % 6], sxy[(2 * e + 3) % 6]];
          if ((ay > cy) !== (by > cy) && cx < ax + ((cy - ay) * (bx - ax)) / (by - ay)) inside = !inside;
          const len = Math.hypot(bx - ax, by - ay) || 1;
          const u = Math.max(0, Math.min(1, ((cx - ax) * (bx - ax) + (cy - ay) * (by - ay)) / (len * len)));
          if (Math.hypot(cx - ax - u * (bx - ax), cy - ay - u * (by - ay)) < 0.15) near = true;
        }
        if (near) continue;
        checked++;
        if (m[y * W + x] !== (inside ? 1 : 0)) throw new Error(`triangle ${xy}: pixel (${x}, ${y}) is ${m[y * W + x]}, centre inside = ${inside}`);
      }
    }
  }
  assert(checked > 3000, `only ${checked} pixels checked`);
  // Compressed RLE: deltas from i−2 with sign bits; round trip and decode in column-major order.
  const counts = [3, 40, 1, 2, 100, 0, 33, 1];
  const s = rleToString(counts);
  assertEquals(Array.from(rleFromString(s, 12, 15).counts), counts, 'string round trip');
  assertEquals(rleToString([0, 5]), '05', 'small counts are one char each (48 + n)');
  const m = rleDecode({ height: 3, width: 2, counts: Uint32Array.of(1, 3, 2) });
  assertEquals(Array.from(m), [0, 1, 1, 0, 1, 0], 'column-major: (x=0,y=1),(0,2),(1,0)');
  assertThrows(() => rleDecode({ height: 2, width: 2, counts: Uint32Array.of(1, 2) }), /sum to 3, expected 2×2 = 4/, 'short counts');
  assert(refSplitMatches('testA', 'testA') && !refSplitMatches('testA', 'testB') && refSplitMatches('testB', 'testAB') && !refSplitMatches('val', 'valx'), 'split rule');
});

const REF_W = 9, REF_H = 7;
function refRecords(): PickleValue {
  const sent = (id: number, raw: string) => ({ tokens: raw.toLowerCase().split(' '), raw, sent_id: id, sent: raw.toLowerCase() });
  return [
    { image_id: 11, split: 'val', sentences: [sent(100, 'Left Box'), sent(101, 'the box — left')], file_name: 'COCO_train2014_000000000011_1.jpg', category_id: 1, ann_id: 501, sent_ids: [100, 101], ref_id: 1 },
    { image_id: 11, split: 'testA', sentences: [sent(102, 'man')], file_name: 'x.jpg', category_id: 1, ann_id: 502, sent_ids: [102], ref_id: 2 },
    { image_id: 12, split: 'val', sentences: [sent(103, 'crowd')], file_name: 'y.jpg', category_id: 3, ann_id: 503, sent_ids: [103], ref_id: 3 },
    { image_id: 12, split: 'val', sentences: [sent(104, 'blob')], file_name: 'z.jpg', category_id: 3, ann_id: 504, sent_ids: [104], ref_id: 4 },
  ];
}
// Column-major runs of the crowd RLE (image 12, 9×7): 10 zeros, 5 ones, …
const CROWD_COUNTS = [10, 5, 9, 4, 35];
function refInstances(seg501: unknown = [[1, 1, 4, 1, 4, 5, 1, 5], [3, 2, 6, 2, 6, 3, 3, 3]]) {
  return JSON.stringify({
    images: [
      { id: 11, file_name: 'COCO_train2014_000000000011.jpg', height: REF_H, width: REF_W },
      { id: 12, file_name: 'COCO_train2014_000000000012.jpg', height: REF_H, width: REF_W },
    ],
    annotations: [
      { id: 501, image_id: 11, category_id: 1, bbox: [1, 1, 5, 4], area: 14, iscrowd: 0, segmentation: seg501 },
      { id: 502, image_id: 11, category_id: 1, bbox: [0, 0, 2, 2], area: 4, iscrowd: 0, segmentation: [[0, 0, 2, 0, 2, 2, 0, 2]] },
      { id: 503, image_id: 12, category_id: 3, bbox: [1, 1, 2, 2], area: 9, iscrowd: 1, segmentation: { size: [REF_H, REF_W], counts: rleToString(CROWD_COUNTS) } },
      { id: 504, image_id: 12, category_id: 3, bbox: [1, 1, 2, 2], area: 9, iscrowd: 1, segmentation: { size: [REF_H, REF_W], counts: CROWD_COUNTS } },
    ],
    categories: [{ id: 1, name: 'person' }, { id: 3, name: 'car' }],
  });
}
function refImages(): Record<string, Uint8Array> {
  return {
    'images/mscoco/images/train2014/COCO_train2014_000000000011.jpg': rgbJpeg(REF_W, REF_H, solid(REF_W, REF_H, [120, 60, 30])),
    'images/mscoco/images/train2014/COCO_train2014_000000000012.jpg': rgbJpeg(REF_W, REF_H, solid(REF_W, REF_H, [30, 60, 120])),
  };
}
const MASK_501 = pattern(REF_W, REF_H, (x, y) => ((x >= 1 && x < 4 && y >= 1 && y < 5) || (x >= 3 && x < 6 && y === 2) ? 1 : 0));
const MASK_CROWD = rleDecode({ height: REF_H, width: REF_W, counts: Uint32Array.from(CROWD_COUNTS) });

Deno.test('RefCOCO (refer layout): pickle refs + instances.json → one sample per sentence with its mask', async () => {
  const root = await writeTree({ 'refcoco/refs(unc).p': pickleProtocol2(refRecords()), 'refcoco/instances.json': refInstances(), ...refImages() });
  const reader = new RefcocoReader(denoFileTree(root), codec, { split: 'val' });
  assertEquals(await reader.ids(), ['1:100', '1:101', '3:103', '4:104'], 'val sentences');
  assertEquals(await new RefcocoReader(denoFileTree(root), codec, { split: 'testA' }).ids(), ['2:102'], 'testA');
  const s = await reader.read('1:101');
  assertEquals([s.refId, s.annId, s.imageId, s.categoryId, s.split, s.fileName], [1, 501, 11, 1, 'val', 'COCO_train2014_000000000011.jpg'], 'ref fields (image file from instances.json)');
  assertEquals(s.sentence, { sentId: 101, raw: 'the box — left', sent: 'the box — left', tokens: ['the', 'box', '—', 'left'] }, 'sentence (unicode raw)');
  assertEquals([s.width, s.height, s.bbox], [REF_W, REF_H, [1, 1, 5, 4]], 'size, bbox');
  assertSolid(s.image, REF_W, REF_H, [120, 60, 30], 'image');
  assertEquals(Array.from(s.mask), Array.from(MASK_501), 'two overlapping polygons → union');
  assertEquals(Array.from((await reader.read('3:103')).mask), Array.from(MASK_CROWD), 'compressed RLE');
  assertEquals(Array.from((await reader.read('4:104')).mask), Array.from(MASK_CROWD), 'uncompressed RLE');
  assertEquals(count(MASK_CROWD, 1), 9, 'crowd pixels');
});

Deno.test('RefCOCO (refer layout): malformed pickle ref, bad polygon, missing instances name file and field', async () => {
  const refs = refRecords() as Record<string, PickleValue>[];
  delete refs[0].ann_id;
  let root = await writeTree({ 'refcoco/refs(unc).p': pickleProtocol2(refs), 'refcoco/instances.json': refInstances(), ...refImages() });
  await assertRejects(() => new RefcocoReader(denoFileTree(root), codec, { split: 'val' }).ids(), /refs\(unc\)\.p: field '\[0\]\.ann_id': missing/, 'no ann_id');
  root = await writeTree({ 'refcoco/refs(unc).p': pickleProtocol2(refRecords()), 'refcoco/instances.json': refInstances([[1, 1, 4, 1, 4]]), ...refImages() });
  await assertRejects(() => new RefcocoReader(denoFileTree(root), codec, { split: 'val' }).read('1:100'), /instances\.json \(annotations\[0\], id 501\): field 'segmentation': polygon 0/, 'odd polygon');
  root = await writeTree({ 'refcoco/refs(unc).p': Uint8Array.of(0x80, 2, 0x5d, 0x28) });
  await assertRejects(() => new RefcocoReader(denoFileTree(root), codec, { split: 'val' }).ids(), /refs\(unc\)\.p: not a readable pickle/, 'truncated pickle');
  root = await writeTree({ 'refcoco/refs(unc).p': pickleProtocol2(refRecords()) });
  await assertRejects(() => new RefcocoReader(denoFileTree(root), codec, { split: 'val' }).ids(), /refcoco\/instances\.json: cannot read \(missing\)/, 'no instances');
});

const REFCOCO_PARQUET_SCHEMA = {
  sent_ids: { list: { type: 'int64', optional: true }, optional: true },
  file_name: { type: 'string', optional: true },
  ann_id: { type: 'int64', optional: true },
  ref_id: { type: 'int64', optional: true },
  image_id: { type: 'int64', optional: true },
  split: { type: 'string', optional: true },
  sentences: {
    list: { struct: { raw: { type: 'string', optional: true }, sent: { type: 'string', optional: true }, sent_id: { type: 'int64', optional: true }, tokens: { list: { type: 'string', optional: true }, optional: true } }, optional: true },
    optional: true,
  },
  category_id: { type: 'int64', optional: true },
  raw_anns: { type: 'string', optional: true },
  raw_image_info: { type: 'string', optional: true },
  raw_sentences: { type: 'string', optional: true },
  image_path: { type: 'string', optional: true },
  bbox: { list: { type: 'double', optional: true }, optional: true },
  captions: { list: { type: 'string', optional: true }, optional: true },
  global_image_id: { type: 'string', optional: true },
  anns_id: { type: 'string', optional: true },
} as const;

function refcocoParquetRows(drop?: string) {
  const inst = JSON.parse(refInstances());
  return (refRecords() as Record<string, PickleValue>[]).filter((r) => r.split === 'val').map((r) => {
    const ann = inst.annotations.find((a: { id: number }) => a.id === r.ann_id);
    const img = inst.images.find((i: { id: number }) => i.id === r.image_id);
    const row: Record<string, unknown> = {
      ...r, raw_anns: JSON.stringify(ann), raw_image_info: JSON.stringify(img), raw_sentences: JSON.stringify(r.sentences),
      image_path: `coco/train2014/${img.file_name}`, bbox: ann.bbox, captions: (r.sentences as { raw: string }[]).map((s) => s.raw),
      global_image_id: `coco.${r.image_id}`, anns_id: String(r.ann_id),
    };
    if (drop) delete row[drop];
    return row;
  });
}

Deno.test('RefCOCO (jxu124 parquet): same samples and masks as the refer layout; missing column named', async () => {
  const root = await writeTree({
    'data/validation-00000-of-00001-db1f654bae6b38ca.parquet': writeParquet(REFCOCO_PARQUET_SCHEMA, refcocoParquetRows()),
    'data/train-00000-of-00001-94431d5f4bd5b93f.parquet': writeParquet(REFCOCO_PARQUET_SCHEMA, []),
    'refcoco/refs(unc).p': pickleProtocol2(refRecords()), 'refcoco/instances.json': refInstances(), ...refImages(),
  });
  const pq = new RefcocoParquetReader(denoFileTree(root), codec, { split: 'validation' });
  const ref = new RefcocoReader(denoFileTree(root), codec, { split: 'val' });
  assertEquals(await pq.ids(), await ref.ids(), 'ids');
  for (const id of await ref.ids()) {
    const [a, b] = [await pq.read(id), await ref.read(id)];
    assertEquals([a.refId, a.annId, a.imageId, a.categoryId, a.split, a.sentence, a.fileName, a.bbox], [b.refId, b.annId, b.imageId, b.categoryId, b.split, b.sentence, b.fileName, b.bbox], `${id} fields`);
    assertEquals(Array.from(a.mask), Array.from(b.mask), `${id} mask`);
  }
  await assertRejects(() => new RefcocoParquetReader(denoFileTree(root), codec, { split: 'testB' }).ids(), /data: expected one testB-\*\.parquet, found 0/, 'no file');
  const { raw_anns: _drop, ...schema } = REFCOCO_PARQUET_SCHEMA;
  const bad = await writeTree({ 'data/validation-00000-of-00001.parquet': writeParquet(schema, refcocoParquetRows('raw_anns')) });
  await assertRejects(() => new RefcocoParquetReader(denoFileTree(bad), codec, { split: 'validation' }).ids(), /validation-00000-of-00001\.parquet: field 'raw_anns': column missing/, 'no raw_anns');
});

// ---------------------------------------------------------------------------------------------------------------
// BLINK

const BLINK_SCHEMA = {
  idx: { type: 'string', optional: true },
  question: { type: 'string', optional: true },
  sub_task: { type: 'string', optional: true },
  image_1: { struct: { bytes: { type: 'binary', optional: true }, path: { type: 'string', optional: true } }, optional: true },
  image_2: { struct: { bytes: { type: 'binary', optional: true }, path: { type: 'string', optional: true } }, optional: true },
  image_3: { struct: { bytes: { type: 'binary', optional: true }, path: { type: 'string', optional: true } }, optional: true },
  image_4: { struct: { bytes: { type: 'binary', optional: true }, path: { type: 'string', optional: true } }, optional: true },
  choices: { list: { type: 'string', optional: true }, optional: true },
  answer: { type: 'string', optional: true },
  prompt: { type: 'string', optional: true },
  explanation: { type: 'string', optional: true },
} as const;
function blinkRow(i: number, answer: string) {
  const img = (c: number) => ({ bytes: rgbPng(3, 2, solid(3, 2, [c, 255 - c, i])), path: `${i}_${c}.png` });
  return {
    idx: `val_Art_Style_${i}`, question: 'Which image shares the style of the first?', sub_task: 'Art_Style',
    image_1: img(10), image_2: img(20), image_3: img(30), image_4: null, choices: ['the second image', 'the third image'],
    answer, prompt: `Q${i}\nSelect from the following choices.\n(A) the second image\n(B) the third image`, explanation: '',
  };
}

Deno.test('BLINK: parquet rows with struct images, list choices, answer letter; hidden test answers', async () => {
  assertEquals(BLINK_SUBTASKS.length, 14, 'subtasks');
  const root = await writeTree({
    'Art_Style/val-00000-of-00001.parquet': writeParquet(BLINK_SCHEMA, [blinkRow(1, '(A)'), blinkRow(2, '(B)')]),
    'Art_Style/test-00000-of-00001.parquet': writeParquet(BLINK_SCHEMA, [{ ...blinkRow(3, 'hidden'), idx: 'test_Art_Style_1' }]),
  });
  const reader = new BlinkReader(denoFileTree(root), codec, { subtask: 'Art_Style', split: 'val' });
  assertEquals(await reader.ids(), ['val_Art_Style_1', 'val_Art_Style_2'], 'idx column');
  const q = await reader.read('val_Art_Style_2');
  assertEquals([q.subtask, q.question, q.choices, q.answer, q.answerIndex], ['Art_Style', 'Which image shares the style of the first?', ['the second image', 'the third image'], '(B)', 1], 'fields');
  assertEquals(q.prompt, blinkRow(2, '(B)').prompt, 'prompt');
  assertEquals(q.images.map((i) => [i.slot, i.path, i.image.width, i.image.height]), [[1, '2_10.png', 3, 2], [2, '2_20.png', 3, 2], [3, '2_30.png', 3, 2]], 'images (null slot 4 skipped)');
  assertEquals(Array.from(q.images[2].image.data.subarray(0, 3)), [30, 225, 2], 'image pixels');
  const t = await new BlinkReader(denoFileTree(root), codec, { subtask: 'Art_Style', split: 'test' }).read('test_Art_Style_1');
  assertEquals([t.answer, t.answerIndex], ['hidden', null], 'hidden');
});

Deno.test('BLINK: answer outside the choices, missing file and unknown subtask are named', async () => {
  const root = await writeTree({ 'Jigsaw/val-00000-of-00001.parquet': writeParquet(BLINK_SCHEMA, [{ ...blinkRow(1, '(C)'), sub_task: 'Jigsaw' }]) });
  const reader = new BlinkReader(denoFileTree(root), codec, { subtask: 'Jigsaw', split: 'val' });
  await assertRejects(() => reader.read('val_Art_Style_1'), /Jigsaw\/val-00000-of-00001\.parquet: field 'row 0\.answer': expected "\(A\)"…"\(B\)" or "hidden", found "\(C\)"/, 'answer (C)');
  await assertRejects(() => new BlinkReader(denoFileTree(root), codec, { subtask: 'Counting', split: 'val' }).ids(), /not a BLINK folder: no Counting; .*this folder holds Jigsaw/, 'missing subtask folder');
  assertThrows(() => new BlinkReader(denoFileTree(root), codec, { subtask: 'Art-Style' as 'Art_Style', split: 'val' }), /unknown subtask "Art-Style"/, 'unknown');
  await Deno.writeFile(`${root}/Jigsaw/val-00000-of-00001.parquet`, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9));
  await assertRejects(() => new BlinkReader(denoFileTree(root), codec, { subtask: 'Jigsaw', split: 'val' }).ids(), /Jigsaw\/val-00000-of-00001\.parquet: not a readable parquet file/, 'garbage');
});
