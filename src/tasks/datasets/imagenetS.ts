// ImageNet-S (LUSSeg) semantic segmentation, validation split:
//   ImageNetS{50,300,919}/validation/<wnid>/ILSVRC2012_val_xxxxxxxx.JPEG
//   ImageNetS{50,300,919}/validation-segmentation/<wnid>/ILSVRC2012_val_xxxxxxxx.png   RGB, id = R + 256·G
// Ids: 0 = background ("other"), 1..N = classes, 1000 = ignore. Class i (1-based) = i-th wnid of
// ImageNetS_categories_im{N}.txt (sorted wnids); the evaluator's list ImageNetS_im{N}_validation.txt has lines
// "<wnid>/<name>.JPEG <wnid>/<name>.png".

import type { RgbImage } from '../../io/rgbImage.ts';
import {
  type DatasetReader, DatasetError, type FileTree, type ImageCodec, joinPath, readLines, expectLayout } from './dataset.ts';

export const IMAGENET_S_IGNORE = 1000;
export const IMAGENET_S_BACKGROUND = 0;

export interface ImagenetSOptions {
  /** 50, 300 or 919 classes. */
  classes: 50 | 300 | 919;
  /** Class order: a categories file (one wnid per line); default: the sorted wnid folders, which must number N. */
  categoriesFile?: string;
  /** Sample list in the evaluator's format; default: every PNG under validation-segmentation/. */
  namesFile?: string;
  /** Human-readable names of classes 1..N in category order (ImageNet-S `data.py`), used as text prompts. */
  classNames?: readonly string[];
}

export interface ImagenetSSample {
  /** "<wnid>/<name>" without extension. */
  readonly id: string;
  readonly wnid: string;
  /** The class of the image's folder (1-based). */
  readonly classId: number;
  readonly image: RgbImage;
  /** Per-pixel id 0..N or 1000, row-major. */
  readonly labels: Uint16Array;
  /** Ids present in the mask, ascending, ignore excluded. */
  readonly present: readonly number[];
}

export class ImagenetSReader implements DatasetReader<ImagenetSSample> {
  readonly name: string;
  private wnidsCache?: Promise<string[]>;
  constructor(readonly files: FileTree, readonly codec: ImageCodec, readonly options: ImagenetSOptions) {
    this.name = `imagenet-s${options.classes}`;
    if (options.classNames && options.classNames.length !== options.classes) {
      throw new Error(`ImageNet-S${options.classes}: classNames has ${options.classNames.length} names, expected ${options.classes}`);
    }
  }

  /** wnids in class order: index i ↔ class id i+1. */
  wnids(): Promise<string[]> {
    return this.wnidsCache ??= (async () => {
      const n = this.options.classes;
      const file = this.options.categoriesFile;
      const list = file ? await readLines(this.files, file) : await this.files.list('validation-segmentation');
      const where = joinPath(this.files.root, file ?? 'validation-segmentation');
      if (list.length !== n) {
        throw new DatasetError(where, `expected ${n} class wnids, found ${list.length}${file ? '' : ' folders (give categoriesFile for a partial copy)'}`);
      }
      list.forEach((w, i) => {
        if (!/^n\d{8}$/.test(w)) throw new DatasetError(where, `entry ${i + 1}: "${w}" is not a wnid (n + 8 digits)`);
      });
      return list;
    })();
  }

  /** Prompt names by class id: 0 = 'background', then the given names (or the wnids). */
  async classNames(): Promise<string[]> {
    return ['background', ...(this.options.classNames ?? await this.wnids())];
  }

  async ids(): Promise<readonly string[]> {
    await expectLayout(this.files, 'ImageNet-S', ['validation', 'validation-segmentation'], 'validation/<wnid>/<name>.JPEG, validation-segmentation/<wnid>/<name>.png — point --data at ImageNetS50 (or 300, 919)');
    if (this.options.namesFile) {
      const path = joinPath(this.files.root, this.options.namesFile);
      return (await readLines(this.files, this.options.namesFile)).map((line, i) => {
        const m = /^(n\d{8}\/[^\s/]+)\.JPEG\s+(n\d{8}\/[^\s/]+)\.png$/.exec(line);
        if (!m || m[1] !== m[2]) throw new DatasetError(path, `line ${i + 1}: expected "<wnid>/<name>.JPEG <wnid>/<name>.png", found "${line}"`);
        return m[1];
      });
    }
    const out: string[] = [];
    for (const wnid of await this.files.list('validation-segmentation')) {
      for (const f of await this.files.list(`validation-segmentation/${wnid}`)) {
        if (f.endsWith('.png')) out.push(`${wnid}/${f.slice(0, -4)}`);
      }
    }
    return out;
  }

  async read(id: string): Promise<ImagenetSSample> {
    const wnids = await this.wnids();
    const wnid = id.split('/')[0];
    const classId = wnids.indexOf(wnid) + 1;
    if (classId === 0) throw new Error(`ImageNet-S${this.options.classes}: sample "${id}" is in folder ${wnid}, which is not a class wnid`);
    const imgRel = `validation/${id}.JPEG`;
    const image = this.codec.decodeImage(await this.files.read(imgRel), joinPath(this.files.root, imgRel));
    const segRel = `validation-segmentation/${id}.png`;
    const segPath = joinPath(this.files.root, segRel);
    const seg = this.codec.decodeImage(await this.files.read(segRel), segPath);
    if (seg.width !== image.width || seg.height !== image.height) {
      throw new DatasetError(segPath, `mask is ${seg.width}×${seg.height}, its image is ${image.width}×${image.height}`);
    }
    const n = this.options.classes;
    const labels = new Uint16Array(seg.width * seg.height);
    const seen = new Set<number>();
    for (let p = 0; p < labels.length; p++) {
      // id = R + 256·G (B unused)
      const v = seg.data[3 * p] + 256 * seg.data[3 * p + 1];
      if (v > n && v !== IMAGENET_S_IGNORE) {
        throw new DatasetError(segPath, `class id ${v} (R + 256·G) at pixel (${p % seg.width}, ${Math.floor(p / seg.width)}) is outside 0..${n} and not ${IMAGENET_S_IGNORE} (ignore)`);
      }
      labels[p] = v;
      if (v !== IMAGENET_S_IGNORE) seen.add(v);
    }
    return { id, wnid, classId, image, labels, present: [...seen].sort((a, b) => a - b) };
  }
}
