// Fuzz targets: the dataset readers' annotation files, in memory (a FileTree over a map): SPair-71k pair JSON,
// RefCOCO instances.json (fields edited) and refs(unc).p pickles (bytes edited), BLINK parquet (bytes edited)
// and DAVIS palette masks (bytes edited). A typed DatasetError (or an ImageError for a broken image) naming the
// file, or a sample whose numbers are finite and inside its image.
import fc from 'fast-check';
import { DatasetError, type FileTree, IMAGE_CODEC, joinPath } from '../../src/tasks/datasets/dataset.ts';
import { SpairReader } from '../../src/tasks/datasets/spair.ts';
import { RefcocoReader, rleToString } from '../../src/tasks/datasets/refcoco.ts';
import { BlinkReader } from '../../src/tasks/datasets/blink.ts';
import { DavisReader } from '../../src/tasks/datasets/davis.ts';
import { vocPaletteColour } from '../../src/tasks/datasets/pascal5i.ts';
import type { ByteSource } from '../../src/io/safetensors.ts';
import type { FuzzTarget } from './fuzzOutcome.ts';
import { applyByteEdit, applyJsonEdit, byteEdits, type ByteEdit, type JsonEdit, jsonEdits } from './mutations.ts';
import { palettePng, pickleProtocol2, rgbJpeg, rgbPng, solid, writeParquet } from '../tasks/fixtureWriters.ts';

export const DATASET_ROOT = 'fuzz-ds';

/** A read-only FileTree over bytes in memory (directories are the paths' prefixes). */
export function memoryTree(files: Record<string, Uint8Array | string>, root = DATASET_ROOT): FileTree {
  const bytes = new Map(Object.entries(files).map(([k, v]) => [k, typeof v === 'string' ? new TextEncoder().encode(v) : v]));
  const missing = (p: string) => new DatasetError(joinPath(root, p), 'cannot read (missing)');
  return {
    root,
    read: (p) => (bytes.has(p) ? Promise.resolve(bytes.get(p)!) : Promise.reject(missing(p))),
    open(p) {
      const b = bytes.get(p);
      if (!b) return Promise.reject(missing(p));
      const src: ByteSource = {
        name: joinPath(root, p),
        size: b.length,
        read: (offset, length) => offset + length <= b.length ? Promise.resolve(b.slice(offset, offset + length)) : Promise.reject(new DatasetError(joinPath(root, p), `short read: wanted ${length} bytes at ${offset}, file has ${b.length}`)),
      };
      return Promise.resolve(src);
    },
    list(dir) {
      const prefix = dir ? `${dir.replace(/\/$/, '')}/` : '';
      const names = new Set<string>();
      for (const k of bytes.keys()) if (k.startsWith(prefix)) names.add(k.slice(prefix.length).split('/')[0]);
      if (!names.size) return Promise.reject(missing(dir));
      return Promise.resolve([...names].sort());
    },
    exists: (p) => Promise.resolve(bytes.has(p) || [...bytes.keys()].some((k) => k.startsWith(`${p}/`))),
  };
}

// --- SPair-71k -------------------------------------------------------------------------------------------------
const PAIR = '000001-2008_002719-2008_004100:aeroplane';
const SPAIR_PAIR = {
  pair_id: 1, filename: PAIR, src_imname: '2008_002719.jpg', trg_imname: '2008_004100.jpg',
  src_imsize: [12, 8, 3], trg_imsize: [10, 9, 3], src_bndbox: [1, 1, 11, 7], trg_bndbox: [0, 2, 9, 8],
  category: 'aeroplane', src_pose: 'Left', trg_pose: 'Frontal', src_kps: [[1, 2], [10, 7], [5, 5]],
  trg_kps: [[0, 3], [9, 8], [4, 4]], kps_ids: ['0', '3', '7'], mirror: 0, viewpoint_variation: 1,
  scale_variation: 2, truncation: 0, occlusion: 1,
};
const SPAIR_IMAGES = {
  'JPEGImages/aeroplane/2008_002719.jpg': rgbJpeg(12, 8, solid(12, 8, [200, 40, 40])),
  'JPEGImages/aeroplane/2008_004100.jpg': rgbJpeg(10, 9, solid(10, 9, [40, 200, 40])),
};

// --- RefCOCO ---------------------------------------------------------------------------------------------------
const sent = (id: number, raw: string) => ({ tokens: raw.split(' '), raw, sent_id: id, sent: raw });
const REF_RECORDS = [
  { image_id: 11, split: 'val', sentences: [sent(100, 'left box')], file_name: 'COCO_train2014_000000000011_1.jpg', category_id: 1, ann_id: 501, sent_ids: [100], ref_id: 1 },
  { image_id: 12, split: 'val', sentences: [sent(103, 'crowd')], file_name: 'y.jpg', category_id: 3, ann_id: 503, sent_ids: [103], ref_id: 3 },
];
const REF_INSTANCES = {
  images: [{ id: 11, file_name: 'COCO_train2014_000000000011.jpg', height: 7, width: 9 }, { id: 12, file_name: 'COCO_train2014_000000000012.jpg', height: 7, width: 9 }],
  annotations: [
    { id: 501, image_id: 11, category_id: 1, bbox: [1, 1, 5, 4], area: 14, iscrowd: 0, segmentation: [[1, 1, 4, 1, 4, 5, 1, 5]] },
    { id: 503, image_id: 12, category_id: 3, bbox: [1, 1, 2, 2], area: 9, iscrowd: 1, segmentation: { size: [7, 9], counts: rleToString([10, 5, 9, 4, 35]) } },
  ],
  categories: [{ id: 1, name: 'person' }, { id: 3, name: 'car' }],
};
const REF_IMAGES = {
  'images/mscoco/images/train2014/COCO_train2014_000000000011.jpg': rgbJpeg(9, 7, solid(9, 7, [120, 60, 30])),
  'images/mscoco/images/train2014/COCO_train2014_000000000012.jpg': rgbJpeg(9, 7, solid(9, 7, [30, 60, 120])),
};
const REF_PICKLE = pickleProtocol2(REF_RECORDS);

// --- BLINK -----------------------------------------------------------------------------------------------------
const IMG = { struct: { bytes: { type: 'binary', optional: true }, path: { type: 'string', optional: true } }, optional: true } as const;
const BLINK_SCHEMA = {
  idx: { type: 'string', optional: true }, question: { type: 'string', optional: true }, sub_task: { type: 'string', optional: true },
  image_1: IMG, image_2: IMG, image_3: IMG, image_4: IMG, choices: { list: { type: 'string', optional: true }, optional: true },
  answer: { type: 'string', optional: true }, prompt: { type: 'string', optional: true }, explanation: { type: 'string', optional: true },
} as const;
const blinkRow = (i: number, answer: string) => ({
  idx: `val_Art_Style_${i}`, question: 'Which image shares the style?', sub_task: 'Art_Style',
  image_1: { bytes: rgbPng(3, 2, solid(3, 2, [10, 20, i])), path: `${i}_1.png` }, image_2: { bytes: rgbPng(3, 2, solid(3, 2, [30, 20, i])), path: `${i}_2.png` },
  image_3: null, image_4: null, choices: ['the second image', 'the first image'], answer, prompt: `Q${i}`, explanation: '',
});
// deno-lint-ignore no-explicit-any
const BLINK_PARQUET = writeParquet(BLINK_SCHEMA as any, [blinkRow(1, '(A)'), blinkRow(2, '(B)')]);

// --- DAVIS -----------------------------------------------------------------------------------------------------
const PALETTE = Array.from({ length: 256 }, (_, i) => vocPaletteColour(i));
const DAVIS_MASK = palettePng(7, 5, new Uint8Array(35).map((_, i) => (i % 7 < 2 ? 0 : i % 7 < 4 ? 1 : 2)), PALETTE);
const DAVIS_FILES = {
  'ImageSets/2017/val.txt': 'dogs\n',
  'JPEGImages/480p/dogs/00000.jpg': rgbJpeg(7, 5, solid(7, 5, [10, 20, 30])),
  'JPEGImages/480p/dogs/00001.jpg': rgbJpeg(7, 5, solid(7, 5, [90, 20, 30])),
};

export type DatasetInput =
  | { reader: 'spair'; edit: JsonEdit }
  | { reader: 'refcocoInstances'; edit: JsonEdit }
  | { reader: 'refcocoPickle'; edit: ByteEdit }
  | { reader: 'blink'; edit: ByteEdit }
  | { reader: 'davis'; edit: ByteEdit };

const finite = (...xs: unknown[]) => xs.every((x) => typeof x === 'number' && Number.isFinite(x));

async function readOne(input: DatasetInput): Promise<string | null> {
  const codec = IMAGE_CODEC;
  switch (input.reader) {
    case 'spair': {
      const files = memoryTree({ ...SPAIR_IMAGES, [`PairAnnotation/test/${PAIR}.json`]: JSON.stringify(applyJsonEdit(SPAIR_PAIR, input.edit)) });
      const p = await new SpairReader(files, codec, { split: 'test' }).read(PAIR);
      for (const v of [p.src, p.trg]) {
        if (!(Number.isInteger(v.width) && v.width > 0 && Number.isInteger(v.height) && v.height > 0)) return `image size ${v.width}×${v.height}`;
        if (!v.bbox.every((x) => finite(x))) return `bbox ${v.bbox}`;
      }
      for (const k of p.keypoints) if (!finite(k.src.x, k.src.y, k.trg.x, k.trg.y)) return `keypoint ${JSON.stringify(k)}`;
      return null;
    }
    case 'refcocoInstances':
    case 'refcocoPickle': {
      const instances = input.reader === 'refcocoInstances' ? JSON.stringify(applyJsonEdit(REF_INSTANCES, input.edit)) : JSON.stringify(REF_INSTANCES);
      const pickle = input.reader === 'refcocoPickle' ? applyByteEdit(REF_PICKLE, input.edit) : REF_PICKLE;
      const reader = new RefcocoReader(memoryTree({ ...REF_IMAGES, 'refcoco/refs(unc).p': pickle, 'refcoco/instances.json': instances }), codec, { split: 'val' });
      for (const id of await reader.ids()) {
        const s = await reader.read(id);
        if (s.mask.length !== s.width * s.height || s.image.width !== s.width || s.image.height !== s.height) return `${id}: mask ${s.mask.length} for ${s.width}×${s.height}, image ${s.image.width}×${s.image.height}`;
        if (s.mask.some((v) => v !== 0 && v !== 1)) return `${id}: mask values other than 0/1`;
      }
      return null;
    }
    case 'blink': {
      const reader = new BlinkReader(memoryTree({ 'Art_Style/val-00000-of-00001.parquet': applyByteEdit(BLINK_PARQUET, input.edit) }), codec, { subtask: 'Art_Style', split: 'val' });
      for (const id of await reader.ids()) {
        const q = await reader.read(id);
        if (q.answerIndex !== null && !(Number.isInteger(q.answerIndex) && q.answerIndex >= 0 && q.answerIndex < q.choices.length)) return `${id}: answer index ${q.answerIndex} of ${q.choices.length} choices`;
      }
      return null;
    }
    case 'davis': {
      const reader = new DavisReader(memoryTree({ ...DAVIS_FILES, 'Annotations/480p/dogs/00000.png': applyByteEdit(DAVIS_MASK, input.edit) }), codec, { format: '2017', split: 'val' });
      const seq = await reader.read('dogs');
      const m = await seq.mask(0);
      if (m.ids.length !== seq.width * seq.height) return `mask of ${m.ids.length} ids for ${seq.width}×${seq.height}`;
      return null;
    }
  }
}

export const datasetTarget: FuzzTarget<DatasetInput> = {
  name: 'dataset annotations (SPair JSON, RefCOCO instances.json + pickle, BLINK parquet, DAVIS masks)',
  file: DATASET_ROOT,
  typed: ['DatasetError', 'ImageError'],
  inputs: fc.oneof(
    jsonEdits(SPAIR_PAIR).map((edit) => ({ reader: 'spair' as const, edit })),
    jsonEdits(REF_INSTANCES).map((edit) => ({ reader: 'refcocoInstances' as const, edit })),
    byteEdits().map((edit) => ({ reader: 'refcocoPickle' as const, edit })),
    byteEdits().map((edit) => ({ reader: 'blink' as const, edit })),
    byteEdits().map((edit) => ({ reader: 'davis' as const, edit })),
  ) as fc.Arbitrary<DatasetInput>,
  run: (input) => readOne(input),
  check: (wrong) => wrong as string | null,
  describe: (i) => JSON.stringify(i, (_, v) => (v instanceof Uint8Array ? `bytes[${v.length}]` : v)),
};
