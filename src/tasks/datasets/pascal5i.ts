// Pascal-5i few-shot segmentation episodes over PASCAL VOC 2012 (+ SBD via SegmentationClassAug):
//   JPEGImages/<id>.jpg
//   SegmentationClassAug/<id>.png  (or SegmentationClass/)   raw pixel value = class 0..20, 255 = void
//   ImageSets/Segmentation/{train,val}.txt
//   HSNet lists data/splits/pascal/{trn,val}/fold{f}.txt: lines "<id>__<cc>" (class 1-based, 2 digits)
// Fold f holds the VOC classes 5f+1 … 5f+5 (PFENet / HSNet). An episode is a query (image, class) and K support
// images of the same class, drawn deterministically from (seed, episode index): query i = pair (i mod #pairs),
// supports uniformly without replacement from the other images listing that class (HSNet's rule).
// Masks are binary for the episode class: 1 = class, 0 = other, 255 = void (ignored by the metric).

import type { RgbImage } from '../../io/rgbImage.ts';
import {
  type DatasetReader, DatasetError, type FileTree, type ImageCodec, joinPath, readLines, seededRandom, expectLayout } from './dataset.ts';

/** VOC class names by id (0 = background). */
export const VOC_CLASSES = [
  'background', 'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair', 'cow',
  'diningtable', 'dog', 'horse', 'motorbike', 'person', 'pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor',
] as const;

export const VOC_VOID = 255;
/** Colour of the void / boundary label in VOC's RGB renderings. */
export const VOC_VOID_COLOUR: readonly [number, number, number] = [224, 224, 192];

/** The VOC colour map: the bits of index i spread over the high bits of R, G, B (also MSRC-21's colours). */
export function vocPaletteColour(i: number): [number, number, number] {
  let r = 0, g = 0, b = 0;
  for (let bit = 0, c = i; bit < 8; bit++, c >>= 3) {
    r |= ((c >> 0) & 1) << (7 - bit);
    g |= ((c >> 1) & 1) << (7 - bit);
    b |= ((c >> 2) & 1) << (7 - bit);
  }
  return [r, g, b];
}

/** Map an RGB label rendering back to ids through a colour table; an unlisted colour is an error. */
export function labelsFromColours(
  img: RgbImage, table: ReadonlyMap<number, number>, file: string,
): Uint8Array {
  const out = new Uint8Array(img.width * img.height);
  for (let p = 0; p < out.length; p++) {
    const key = (img.data[3 * p] << 16) | (img.data[3 * p + 1] << 8) | img.data[3 * p + 2];
    const id = table.get(key);
    if (id === undefined) {
      throw new DatasetError(file, `colour (${img.data[3 * p]}, ${img.data[3 * p + 1]}, ${img.data[3 * p + 2]}) at pixel (${p % img.width}, ${Math.floor(p / img.width)}) is not a label colour`);
    }
    out[p] = id;
  }
  return out;
}

/** colour key (R<<16 | G<<8 | B) → VOC id, with the void colour → 255. */
export const VOC_COLOUR_TABLE: ReadonlyMap<number, number> = new Map([
  ...VOC_CLASSES.map((_, i) => {
    const [r, g, b] = vocPaletteColour(i);
    return [(r << 16) | (g << 8) | b, i] as [number, number];
  }),
  [(VOC_VOID_COLOUR[0] << 16) | (VOC_VOID_COLOUR[1] << 8) | VOC_VOID_COLOUR[2], VOC_VOID],
]);

/** 1-based VOC class ids of fold f: 5f+1 … 5f+5. */
export function pascal5iFoldClasses(fold: number): number[] {
  if (!(Number.isInteger(fold) && fold >= 0 && fold <= 3)) throw new Error(`Pascal-5i fold must be 0..3, got ${fold}`);
  return [1, 2, 3, 4, 5].map((k) => 5 * fold + k);
}

/** Where images and labels live and how label pixels encode classes. */
export interface VocLayout {
  image(id: string): string;
  label(id: string): string;
  /** 'index': raw PNG value = class id (palette or grey); 'rgb': VOC colour rendering. */
  encoding: 'index' | 'rgb';
}

export const VOC_AUG_LAYOUT: VocLayout = {
  image: (id) => `JPEGImages/${id}.jpg`, label: (id) => `SegmentationClassAug/${id}.png`, encoding: 'index',
};
export const VOC_CLASS_LAYOUT: VocLayout = {
  image: (id) => `JPEGImages/${id}.jpg`, label: (id) => `SegmentationClass/${id}.png`, encoding: 'index',
};

/** One image with its full class-label map (0..20, 255). */
export interface VocLabelledImage {
  readonly id: string;
  readonly image: RgbImage;
  readonly width: number;
  readonly height: number;
  readonly labels: Uint8Array;
}

/** Read one VOC image and its label map in the given layout. */
export async function readVocImage(
  files: FileTree, codec: ImageCodec, layout: VocLayout, id: string,
): Promise<VocLabelledImage> {
  const imgRel = layout.image(id);
  const image = codec.decodeImage(await files.read(imgRel), joinPath(files.root, imgRel));
  const labels = await readVocLabels(files, codec, layout, id, image);
  return { id, image, width: image.width, height: image.height, labels };
}

async function readVocLabels(
  files: FileTree, codec: ImageCodec, layout: VocLayout, id: string, size?: { width: number; height: number },
): Promise<Uint8Array> {
  const rel = layout.label(id);
  const path = joinPath(files.root, rel);
  const bytes = await files.read(rel);
  let width: number, height: number, labels: Uint8Array;
  if (layout.encoding === 'rgb') {
    const img = codec.decodeImage(bytes, path);
    ({ width, height } = img);
    labels = labelsFromColours(img, VOC_COLOUR_TABLE, path);
  } else {
    const lab = codec.decodeLabelPng(bytes, path);
    ({ width, height } = lab);
    labels = new Uint8Array(lab.data.length);
    for (let p = 0; p < labels.length; p++) {
      const v = lab.data[p];
      if (v > 20 && v !== VOC_VOID) throw new DatasetError(path, `class ids are 0..20 or 255, found ${v} at pixel (${p % width}, ${Math.floor(p / width)})`);
      labels[p] = v;
    }
  }
  if (size && (width !== size.width || height !== size.height)) {
    throw new DatasetError(path, `label is ${width}×${height}, its image is ${size.width}×${size.height}`);
  }
  return labels;
}

/** 1 where label == c, 255 where void, 0 elsewhere. */
export function binaryClassMask(labels: Uint8Array, classId: number): Uint8Array {
  const out = new Uint8Array(labels.length);
  for (let p = 0; p < labels.length; p++) out[p] = labels[p] === VOC_VOID ? VOC_VOID : labels[p] === classId ? 1 : 0;
  return out;
}

export interface Pascal5iShot {
  readonly id: string;
  readonly image: RgbImage;
  /** Binary mask for the episode class: 1 fg, 0 bg, 255 ignore. */
  readonly mask: Uint8Array;
}

export interface Pascal5iEpisode {
  readonly id: string;
  readonly fold: number;
  /** 1-based VOC class id. */
  readonly classId: number;
  readonly className: string;
  readonly query: Pascal5iShot;
  readonly supports: readonly Pascal5iShot[];
}

/** Where the (image, class) pairs come from. */
export type Pascal5iPairs =
  | { kind: 'hsnet'; list: string }
  | { kind: 'imageset'; list: string; minPixels?: number }
  | { kind: 'ids'; ids: readonly string[]; minPixels?: number };

export interface Pascal5iOptions {
  fold: number;
  pairs: Pascal5iPairs;
  shots?: number;
  episodes?: number;
  seed?: number;
  layout?: VocLayout;
}

interface QueryPair { readonly image: string; readonly classId: number }

export class Pascal5iReader implements DatasetReader<Pascal5iEpisode> {
  readonly name = 'pascal5i';
  readonly classes: readonly number[];
  readonly shots: number;
  readonly episodes: number;
  readonly seed: number;
  readonly layout: VocLayout;
  private pairsCache?: Promise<QueryPair[]>;

  constructor(readonly files: FileTree, readonly codec: ImageCodec, readonly options: Pascal5iOptions) {
    this.classes = pascal5iFoldClasses(options.fold);
    this.shots = options.shots ?? 5;
    this.episodes = options.episodes ?? 1000;
    this.seed = options.seed ?? 0;
    this.layout = options.layout ?? VOC_AUG_LAYOUT;
  }

  /** The fold's (image, class) pairs, in list order. */
  pairs(): Promise<QueryPair[]> {
    return this.pairsCache ??= this.loadPairs();
  }

  async ids(): Promise<readonly string[]> {
    await expectLayout(this.files, 'PASCAL VOC 2012 (Pascal-5i)', ['JPEGImages', 'ImageSets'], 'JPEGImages/<id>.jpg, SegmentationClassAug/<id>.png (or SegmentationClass/), ImageSets/Segmentation/{train,val}.txt — point --data at VOCdevkit/VOC2012');
    await this.pairs();
    return Array.from({ length: this.episodes }, (_, i) => String(i));
  }

  async read(id: string): Promise<Pascal5iEpisode> {
    const e = Number(id);
    if (!/^\d+$/.test(id) || e >= this.episodes) throw new Error(`Pascal-5i fold ${this.options.fold}: episode id "${id}" not in 0..${this.episodes - 1}`);
    const pairs = await this.pairs();
    const q = pairs[e % pairs.length];
    const candidates = [...new Set(pairs.filter((p) => p.classId === q.classId && p.image !== q.image).map((p) => p.image))];
    if (candidates.length < this.shots) {
      throw new Error(`Pascal-5i fold ${this.options.fold}: class ${q.classId} (${VOC_CLASSES[q.classId]}) has ${candidates.length} support images besides query ${q.image}, ${this.shots} needed`);
    }
    // Partial Fisher–Yates with a PRNG seeded by (seed, episode): same episode, same supports, in any read order.
    const rand = seededRandom((Math.imul(this.seed + 1, 0x9e3779b1) ^ Math.imul(e + 1, 0x85ebca6b)) >>> 0);
    for (let k = 0; k < this.shots; k++) {
      const j = k + Math.floor(rand() * (candidates.length - k));
      [candidates[k], candidates[j]] = [candidates[j], candidates[k]];
    }
    const shot = async (imageId: string): Promise<Pascal5iShot> => {
      const img = await readVocImage(this.files, this.codec, this.layout, imageId);
      return { id: imageId, image: img.image, mask: binaryClassMask(img.labels, q.classId) };
    };
    const query = await shot(q.image);
    const supports: Pascal5iShot[] = [];
    for (const s of candidates.slice(0, this.shots)) supports.push(await shot(s));
    return { id, fold: this.options.fold, classId: q.classId, className: VOC_CLASSES[q.classId], query, supports };
  }

  private async loadPairs(): Promise<QueryPair[]> {
    const src = this.options.pairs;
    let pairs: QueryPair[];
    if (src.kind === 'hsnet') {
      const path = joinPath(this.files.root, src.list);
      pairs = (await readLines(this.files, src.list)).map((line, i) => {
        const m = /^(\S+)__(\d{2})$/.exec(line);
        if (!m) throw new DatasetError(path, `line ${i + 1}: expected "<id>__<cc>", found "${line}"`);
        const classId = Number(m[2]);
        if (!this.classes.includes(classId)) throw new DatasetError(path, `line ${i + 1}: class ${classId} is not in fold ${this.options.fold} (${this.classes.join(', ')})`);
        return { image: m[1], classId };
      });
    } else {
      // List images, then every fold class present with at least minPixels pixels is one pair.
      const ids = src.kind === 'ids' ? src.ids : await readLines(this.files, src.list);
      const min = src.minPixels ?? 1;
      pairs = [];
      for (const image of ids) {
        const labels = await readVocLabels(this.files, this.codec, this.layout, image);
        const counts = new Uint32Array(256);
        for (const v of labels) counts[v]++;
        for (const c of this.classes) if (counts[c] >= min) pairs.push({ image, classId: c });
      }
    }
    if (pairs.length === 0) throw new Error(`Pascal-5i fold ${this.options.fold}: no (image, class) pairs found`);
    return pairs;
  }
}
