// SPair-71k (Min et al. 2019) semantic-correspondence pairs, as laid out in the official release:
//   JPEGImages/<category>/<name>.jpg
//   ImageAnnotation/<category>/<name-without-ext>.json     per image: kps {id: [x, y] | null}, bndbox, size
//   PairAnnotation/{trn,val,test}/<pairid>-<src>-<trg>:<category>.json
//   Layout/{large,small}/{trn,val,test}.txt               one pair basename per line
// Pair JSON: *_imsize is [width, height, depth]; *_bndbox is [x1, y1, x2, y2]; src_kps/trg_kps are index-aligned
// N×[x, y] integer pixels of the keypoints visible in both images, named by kps_ids.

import type { RgbImage } from '../../io/rgbImage.ts';
import {
  type DatasetReader, DatasetError, FieldReader, type FileTree, type ImageCodec, joinPath, readJson, readLines, expectLayout } from './dataset.ts';

export const SPAIR_CATEGORIES = [
  'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair', 'cow', 'dog', 'horse',
  'motorbike', 'person', 'pottedplant', 'sheep', 'train', 'tvmonitor',
] as const;
export type SpairCategory = typeof SPAIR_CATEGORIES[number];
export type SpairSplit = 'trn' | 'val' | 'test';

/** [x1, y1, x2, y2] in pixels. */
export type BoundingBox = readonly [number, number, number, number];

export interface SpairPairKeypoint {
  /** Semantic keypoint id (kps_ids entry). */
  readonly id: string;
  readonly src: { readonly x: number; readonly y: number };
  readonly trg: { readonly x: number; readonly y: number };
}

export interface SpairView {
  readonly name: string;
  readonly width: number;
  readonly height: number;
  readonly bbox: BoundingBox;
  readonly pose: string;
  readonly image: RgbImage;
}

export interface SpairPair {
  readonly id: string;
  readonly pairId: number;
  readonly category: SpairCategory;
  readonly src: SpairView;
  readonly trg: SpairView;
  /** Keypoints annotated (visible) in both images, index-aligned. */
  readonly keypoints: readonly SpairPairKeypoint[];
  readonly mirror: number;
  readonly viewpointVariation: number;
  readonly scaleVariation: number;
  readonly truncation: number;
  readonly occlusion: number;
}

/** Per-image annotation (ImageAnnotation/<cat>/<name>.json): every keypoint slot, with visibility. */
export interface SpairImageAnnotation {
  readonly name: string;
  readonly category: string;
  readonly width: number;
  readonly height: number;
  readonly bbox: BoundingBox;
  readonly pose: string;
  readonly keypoints: readonly { readonly id: string; readonly visible: boolean; readonly x: number; readonly y: number }[];
}

export interface SpairOptions {
  split: SpairSplit;
  /** Take the pair list from Layout/<layout>/<split>.txt (dhpf style); default: list PairAnnotation/<split> (DIFT). */
  layout?: 'large' | 'small';
  /** Decode the two images (default true); false gives 0×0 placeholders (annotation-only runs). */
  decodeImages?: boolean;
}

export class SpairReader implements DatasetReader<SpairPair> {
  readonly name = 'spair71k';
  constructor(readonly files: FileTree, readonly codec: ImageCodec, readonly options: SpairOptions) {}

  async ids(): Promise<readonly string[]> {
    const { split, layout } = this.options;
    await expectLayout(this.files, 'SPair-71k', ['PairAnnotation', 'JPEGImages'], 'PairAnnotation/<split>/<pair>.json, JPEGImages/<category>/<image>.jpg, ImageAnnotation/, Layout/');
    if (layout) return await readLines(this.files, `Layout/${layout}/${split}.txt`);
    const dir = `PairAnnotation/${split}`;
    return (await this.files.list(dir)).filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -5));
  }

  async read(id: string): Promise<SpairPair> {
    const rel = `PairAnnotation/${this.options.split}/${id}.json`;
    const file = joinPath(this.files.root, rel);
    const f = new FieldReader(await readJson(this.files, rel), file);
    const category = f.string('category');
    if (!(SPAIR_CATEGORIES as readonly string[]).includes(category)) f.fail('category', `one of ${SPAIR_CATEGORIES.join(', ')}`);
    const srcKps = pointList(f, 'src_kps');
    const trgKps = pointList(f, 'trg_kps');
    const kpsIds = f.array('kps_ids');
    if (trgKps.length !== srcKps.length || kpsIds.length !== srcKps.length) {
      throw new DatasetError(file, `src_kps, trg_kps and kps_ids must be index-aligned; lengths ${srcKps.length}, ${trgKps.length}, ${kpsIds.length}`, 'trg_kps');
    }
    const keypoints = srcKps.map((s, i) => ({ id: String(kpsIds[i]), src: s, trg: trgKps[i] }));
    const src = await this.view(f, 'src', category);
    const trg = await this.view(f, 'trg', category);
    for (const [side, view, kps] of [['src', src, srcKps], ['trg', trg, trgKps]] as const) {
      kps.forEach((p, i) => {
        if (p.x < 0 || p.y < 0 || p.x > view.width || p.y > view.height) {
          throw new DatasetError(file, `keypoint ${i} (${p.x}, ${p.y}) outside the ${view.width}×${view.height} image`, `${side}_kps`);
        }
      });
    }
    return {
      id, pairId: f.int('pair_id'), category: category as SpairCategory, src, trg, keypoints,
      mirror: optionalInt(f, 'mirror'), viewpointVariation: optionalInt(f, 'viewpoint_variation'),
      scaleVariation: optionalInt(f, 'scale_variation'), truncation: optionalInt(f, 'truncation'),
      occlusion: optionalInt(f, 'occlusion'),
    };
  }

  /** ImageAnnotation/<category>/<image name without .jpg>.json. */
  async readImageAnnotation(category: string, imageName: string): Promise<SpairImageAnnotation> {
    const rel = `ImageAnnotation/${category}/${imageName.replace(/\.jpg$/i, '')}.json`;
    const file = joinPath(this.files.root, rel);
    const f = new FieldReader(await readJson(this.files, rel), file);
    const kpsObj = f.object('kps');
    const keypoints = Object.keys(kpsObj.obj).sort((a, b) => Number(a) - Number(b) || (a < b ? -1 : 1)).map((k) => {
      const v = kpsObj.obj[k];
      if (v === null) return { id: k, visible: false, x: NaN, y: NaN };
      const [x, y] = kpsObj.numbers(k, 2);
      return { id: k, visible: true, x, y };
    });
    return {
      name: f.string('filename'), category: f.string('category'), width: f.int('image_width'),
      height: f.int('image_height'), bbox: bbox(f, 'bndbox'), pose: f.has('pose') ? f.string('pose') : '', keypoints,
    };
  }

  private async view(f: FieldReader, side: 'src' | 'trg', category: string): Promise<SpairView> {
    const name = f.string(`${side}_imname`);
    const [width, height] = f.numbers(`${side}_imsize`, 3);
    const box = bbox(f, `${side}_bndbox`);
    const pose = f.has(`${side}_pose`) ? f.string(`${side}_pose`) : '';
    let image: RgbImage = { width: 0, height: 0, data: new Uint8Array(0), source: name };
    if (this.options.decodeImages ?? true) {
      const rel = `JPEGImages/${category}/${name}`;
      const path = joinPath(this.files.root, rel);
      image = this.codec.decodeImage(await this.files.read(rel), path);
      if (image.width !== width || image.height !== height) {
        throw new DatasetError(f.file, `${path} is ${image.width}×${image.height}, the pair says [${width}, ${height}] (width, height)`, `${side}_imsize`);
      }
    }
    return { name, width, height, bbox: box, pose, image };
  }
}

function pointList(f: FieldReader, key: string): { x: number; y: number }[] {
  return f.array(key).map((p, i) => {
    if (!Array.isArray(p) || p.length !== 2 || !p.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      throw new DatasetError(f.file, `entry ${i}: expected [x, y], found ${JSON.stringify(p)}`, key);
    }
    return { x: p[0], y: p[1] };
  });
}

function bbox(f: FieldReader, key: string): BoundingBox {
  const [x1, y1, x2, y2] = f.numbers(key, 4);
  if (!(x2 >= x1 && y2 >= y1)) f.fail(key, '[x1, y1, x2, y2] with x2 ≥ x1 and y2 ≥ y1');
  return [x1, y1, x2, y2];
}

function optionalInt(f: FieldReader, key: string): number {
  return f.has(key) ? f.int(key) : 0;
}

/** PCK threshold base of a pair: max side of the target bbox (DIFT eval_spair). */
export function pckThresholdBase(pair: SpairPair): number {
  const [x1, y1, x2, y2] = pair.trg.bbox;
  return Math.max(x2 - x1, y2 - y1);
}
