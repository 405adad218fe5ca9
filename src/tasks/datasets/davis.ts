// DAVIS video object segmentation, 480p:
//   JPEGImages/480p/<seq>/%05d.jpg
//   Annotations/480p/<seq>/%05d.png
//   ImageSets/2017/{train,val}.txt        one sequence per line                         (DAVIS 2017)
//   ImageSets/480p/{train,val}.txt        "/JPEGImages/480p/<seq>/%05d.jpg /Annotations/480p/<seq>/%05d.png"  (DAVIS 2016)
// 2017 annotations are palette PNGs whose raw index is the object id (0 = bg, 255 = void); 2016 annotations are
// single-object grey PNGs with values 0 / 255, read here as ids 0 / 1.

import type { RgbImage } from '../../io/rgbImage.ts';
import {
  type DatasetReader, DatasetError, type FileTree, type ImageCodec, joinPath, readLines, expectLayout } from './dataset.ts';

export const DAVIS_VOID = 255;

export type DavisFormat = '2017' | '2016';

export interface DavisOptions {
  /** '2017': palette ids; '2016': grey 0/255 single-object masks. */
  format: DavisFormat;
  /** Sequence list to read ('val', 'train'); omitted: every folder under JPEGImages/480p. */
  split?: string;
  resolution?: '480p' | 'Full-Resolution';
}

/** Per-pixel object ids, row-major; 0 = background, 1..n = objects, 255 = void. */
export interface ObjectMask {
  readonly width: number;
  readonly height: number;
  readonly ids: Uint8Array;
}

export interface DavisSequence {
  readonly name: string;
  /** Frame names without extension ('00000', …), in order. */
  readonly frames: readonly string[];
  /** Frames that have an annotation PNG (all of them for val GT). */
  readonly annotated: readonly string[];
  readonly width: number;
  readonly height: number;
  /** Objects to track: the largest id (void excluded) in the first frame's annotation. */
  readonly numObjects: number;
  /** Frame i (index into `frames`) as RGB. */
  frame(i: number): Promise<RgbImage>;
  /** Ground truth of frame i; throws if that frame has no annotation. */
  mask(i: number): Promise<ObjectMask>;
}

export class DavisReader implements DatasetReader<DavisSequence> {
  readonly name: string;
  private readonly res: string;
  constructor(readonly files: FileTree, readonly codec: ImageCodec, readonly options: DavisOptions) {
    this.name = `davis${options.format}`;
    this.res = options.resolution ?? '480p';
  }

  async ids(): Promise<readonly string[]> {
    const { split, format } = this.options;
    await expectLayout(this.files, 'DAVIS', ['JPEGImages', 'Annotations'], 'JPEGImages/480p/<sequence>/<frame>.jpg, Annotations/480p/<sequence>/<frame>.png, ImageSets/2017/<split>.txt (2016: ImageSets/480p/<split>.txt)');
    if (split === undefined) return await this.files.list(`JPEGImages/${this.res}`);
    if (format === '2017') return await readLines(this.files, `ImageSets/2017/${split}.txt`);
    // 2016 lists name frames; the sequences are the distinct folder names, in order of appearance.
    const rel = `ImageSets/${this.res}/${split}.txt`;
    const seqs: string[] = [];
    for (const [i, line] of (await readLines(this.files, rel)).entries()) {
      const m = /^\/?JPEGImages\/[^/]+\/([^/]+)\/[^/\s]+\.jpg(\s|$)/.exec(line);
      if (!m) throw new DatasetError(joinPath(this.files.root, rel), `line ${i + 1}: expected "/JPEGImages/<res>/<seq>/<frame>.jpg /Annotations/…", found "${line}"`);
      if (!seqs.includes(m[1])) seqs.push(m[1]);
    }
    return seqs;
  }

  async read(name: string): Promise<DavisSequence> {
    const imgDir = `JPEGImages/${this.res}/${name}`;
    const annDir = `Annotations/${this.res}/${name}`;
    const frames = (await this.files.list(imgDir)).filter((n) => /\.jpe?g$/i.test(n));
    if (frames.length === 0) throw new DatasetError(joinPath(this.files.root, imgDir), 'no .jpg frames');
    const frameFiles = new Map(frames.map((n) => [n.replace(/\.[^.]+$/, ''), n]));
    const annotated = (await this.files.list(annDir)).filter((n) => n.endsWith('.png')).map((n) => n.slice(0, -4));
    const first = [...frameFiles.keys()][0];
    if (!annotated.includes(first)) throw new DatasetError(joinPath(this.files.root, annDir, `${first}.png`), 'first-frame annotation missing');
    const format = this.options.format;
    const files = this.files;
    const codec = this.codec;
    const frameNames = [...frameFiles.keys()];
    const readMask = async (frame: string): Promise<ObjectMask> => {
      const rel = `${annDir}/${frame}.png`;
      const path = joinPath(files.root, rel);
      const lab = codec.decodeLabelPng(await files.read(rel), path);
      const ids = new Uint8Array(lab.width * lab.height);
      for (let p = 0; p < ids.length; p++) {
        const v = lab.data[p];
        if (format === '2016') {
          if (v !== 0 && v !== 255) throw new DatasetError(path, `DAVIS 2016 masks hold 0 or 255, found ${v} at pixel (${p % lab.width}, ${Math.floor(p / lab.width)})`);
          ids[p] = v === 255 ? 1 : 0;
        } else {
          if (v > 255) throw new DatasetError(path, `object ids are 8-bit palette indices, found ${v}`);
          ids[p] = v;
        }
      }
      return { width: lab.width, height: lab.height, ids };
    };
    const firstMask = await readMask(first);
    let numObjects = 0;
    for (const v of firstMask.ids) if (v !== DAVIS_VOID && v > numObjects) numObjects = v;
    return {
      name, frames: frameNames, annotated, width: firstMask.width, height: firstMask.height, numObjects,
      async frame(i) {
        const f = frameNames[i];
        if (f === undefined) throw new DatasetError(joinPath(files.root, imgDir), `frame index ${i} out of range 0..${frameNames.length - 1}`);
        const rel = `${imgDir}/${frameFiles.get(f)}`;
        const img = codec.decodeImage(await files.read(rel), joinPath(files.root, rel));
        if (img.width !== firstMask.width || img.height !== firstMask.height) {
          throw new DatasetError(joinPath(files.root, rel), `frame is ${img.width}×${img.height}, the first annotation is ${firstMask.width}×${firstMask.height}`);
        }
        return img;
      },
      async mask(i) {
        const f = frameNames[i];
        if (f === undefined || !annotated.includes(f)) {
          throw new DatasetError(joinPath(files.root, annDir, `${f ?? i}.png`), 'no annotation for this frame');
        }
        const m = i === 0 ? firstMask : await readMask(f);
        if (m.width !== firstMask.width || m.height !== firstMask.height) {
          throw new DatasetError(joinPath(files.root, annDir, `${f}.png`), `mask is ${m.width}×${m.height}, the first is ${firstMask.width}×${firstMask.height}`);
        }
        return m;
      },
    };
  }
}
