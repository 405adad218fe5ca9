// RefCOCO referring segmentation (refer API layout, UNC split), one sample per sentence:
//   images/mscoco/images/train2014/COCO_train2014_%012d.jpg
//   refcoco/instances.json   COCO format: images {id, file_name, height, width}, annotations {id, image_id,
//                            category_id, bbox [x,y,w,h], iscrowd, segmentation: polygons [[x1,y1,…]] or RLE}
//   refcoco/refs(unc).p      Python-2 pickle: list of {ref_id, ann_id, image_id, category_id, split, sent_ids,
//                            sentences [{raw, sent, tokens, sent_id}], file_name (ref-specific: ignored)}
// and the HF parquet copy jxu124/refcoco: data/{train,validation,test,testB}-00000-of-00001-<hash>.parquet,
// one row per ref with the same fields plus raw_anns / raw_image_info (JSON strings of the COCO records).
// Masks: COCO polygons rasterised exactly as pycocotools (rleFrPoly), RLE decoded (uncompressed counts or the
// compressed string); the parts of an annotation are summed as refer's getMask does and fg = sum > 0.

import { Parser } from 'pickleparser';
import type { RgbImage } from '../../io/rgbImage.ts';
import {
  type DatasetReader, DatasetError, FieldReader, type FileTree, type ImageCodec, joinPath, readJson, readParquetRows, expectLayout } from './dataset.ts';

// ---------------------------------------------------------------------------------------------------------------
// COCO run-length masks

/** Column-major run lengths (index = x·h + y), alternating 0-runs and 1-runs, starting with 0s. */
export interface Rle {
  readonly height: number;
  readonly width: number;
  readonly counts: Uint32Array;
}

/** pycocotools rleFrPoly: scale ×5, walk edges densely, keep y-crossings on pixel centres, toggle runs. */
export function rleFromPolygon(xy: readonly number[], height: number, width: number): Rle {
  const k = xy.length >> 1;
  const scale = 5;
  // Upsampled integer vertices, closed (C's (int) truncates toward zero).
  const x: number[] = [], y: number[] = [];
  for (let j = 0; j < k; j++) {
    x.push(Math.trunc(scale * xy[2 * j] + 0.5));
    y.push(Math.trunc(scale * xy[2 * j + 1] + 0.5));
  }
  x.push(x[0]);
  y.push(y[0]);
  // Every lattice point along every edge, stepping along the edge's major axis.
  const u: number[] = [], v: number[] = [];
  for (let j = 0; j < k; j++) {
    let xs = x[j], xe = x[j + 1], ys = y[j], ye = y[j + 1];
    const dx = Math.abs(xe - xs), dy = Math.abs(ys - ye);
    const flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
    if (flip) {
      [xs, xe] = [xe, xs];
      [ys, ye] = [ye, ys];
    }
    const s = dx >= dy ? (ye - ys) / dx : (xe - xs) / dy;
    if (dx >= dy) {
      for (let d = 0; d <= dx; d++) {
        const t = flip ? dx - d : d;
        u.push(t + xs);
        v.push(Math.trunc(ys + s * t + 0.5));
      }
    } else {
      for (let d = 0; d <= dy; d++) {
        const t = flip ? dy - d : d;
        v.push(t + ys);
        u.push(Math.trunc(xs + s * t + 0.5));
      }
    }
  }
  // Where x changes, the crossing column back at pixel scale; keep it only on an integer column inside the image.
  const bx: number[] = [], by: number[] = [];
  for (let j = 1; j < u.length; j++) {
    if (u[j] === u[j - 1]) continue;
    let xd = u[j] < u[j - 1] ? u[j] : u[j] - 1;
    xd = (xd + 0.5) / scale - 0.5;
    if (Math.floor(xd) !== xd || xd < 0 || xd > width - 1) continue;
    let yd = v[j] < v[j - 1] ? v[j] : v[j - 1];
    yd = (yd + 0.5) / scale - 0.5;
    yd = Math.ceil(yd < 0 ? 0 : yd > height ? height : yd);
    bx.push(xd);
    by.push(yd);
  }
  // Sorted boundary indices become toggle runs; a zero-length run merges its neighbours.
  const a = bx.map((xx, j) => xx * height + by[j]);
  a.push(height * width);
  a.sort((p, q) => p - q);
  let prev = 0;
  for (let j = 0; j < a.length; j++) {
    const t = a[j];
    a[j] -= prev;
    prev = t;
  }
  const b: number[] = [a[0]];
  for (let j = 1; j < a.length;) {
    if (a[j] > 0) b.push(a[j++]);
    else {
      j++;
      if (j < a.length) b[b.length - 1] += a[j++];
    }
  }
  return { height, width, counts: Uint32Array.from(b) };
}

/** COCO compressed RLE string → counts (5-bit groups + 48, continuation 0x20, sign 0x10, deltas from i−2). */
export function rleFromString(s: string, height: number, width: number): Rle {
  const counts: number[] = [];
  let p = 0;
  while (p < s.length) {
    let x = 0, k = 0, more = true;
    while (more) {
      if (p >= s.length) throw new Error(`RLE string ends inside a count at character ${p}`);
      const c = s.charCodeAt(p) - 48;
      x |= (c & 0x1f) << (5 * k);
      more = (c & 0x20) !== 0;
      p++;
      k++;
      if (!more && (c & 0x10) !== 0) x |= -1 << (5 * k);
    }
    if (counts.length > 2) x += counts[counts.length - 2];
    counts.push(x);
  }
  return { height, width, counts: Uint32Array.from(counts) };
}

/** counts → COCO compressed RLE string (inverse of rleFromString). */
export function rleToString(counts: ArrayLike<number>): string {
  let out = '';
  for (let i = 0; i < counts.length; i++) {
    let x = counts[i];
    if (i > 2) x -= counts[i - 2];
    let more = true;
    while (more) {
      let c = x & 0x1f;
      x >>= 5;
      more = (c & 0x10) !== 0 ? x !== -1 : x !== 0;
      if (more) c |= 0x20;
      out += String.fromCharCode(c + 48);
    }
  }
  return out;
}

/** Decode an RLE to a row-major 0/1 mask. */
export function rleDecode(rle: Rle): Uint8Array {
  const { height: h, width: w, counts } = rle;
  const out = new Uint8Array(h * w);
  let idx = 0, val = 0;
  for (const n of counts) {
    if (idx + n > h * w) throw new Error(`RLE counts sum past ${h}×${w} = ${h * w} pixels`);
    if (val) for (let i = idx; i < idx + n; i++) out[(i % h) * w + Math.floor(i / h)] = 1;
    idx += n;
    val ^= 1;
  }
  if (idx !== h * w) throw new Error(`RLE counts sum to ${idx}, expected ${h}×${w} = ${h * w}`);
  return out;
}

/**
 * Per-pixel count of an annotation's parts (refer getMask: decode every polygon, sum the channels), row-major.
 * `segmentation` is a list of polygons, or an RLE {size: [h, w], counts: number[] | string}.
 */
export function segmentationPartCount(seg: unknown, height: number, width: number, where: string): Uint8Array {
  const fail = (msg: string): never => {
    throw new DatasetError(where, msg, 'segmentation');
  };
  if (Array.isArray(seg)) {
    if (seg.length === 0) fail('empty polygon list');
    const sum = new Uint8Array(height * width);
    seg.forEach((poly, i) => {
      if (!Array.isArray(poly) || poly.length < 6 || poly.length % 2 !== 0 || !poly.every((c) => typeof c === 'number' && Number.isFinite(c))) {
        fail(`polygon ${i}: expected [x1, y1, x2, y2, …] with ≥ 3 points, found ${Array.isArray(poly) ? `${poly.length} values` : typeof poly}`);
      }
      // rasterising walks every edge at 5× resolution: a vertex far off the image would make that walk unbounded
      const far = (poly as number[]).findIndex((c, j) => (j % 2 === 0 ? c < -width || c > 2 * width : c < -height || c > 2 * height));
      if (far >= 0) fail(`polygon ${i}: ${far % 2 === 0 ? 'x' : 'y'} = ${(poly as number[])[far]} (value ${far}) is more than an image size outside the ${width}×${height} image`);
      const m = rleDecode(rleFromPolygon(poly as number[], height, width));
      for (let p = 0; p < m.length; p++) sum[p] += m[p];
    });
    return sum;
  }
  if (typeof seg === 'object' && seg !== null) {
    const f = new FieldReader(seg, where, 'segmentation');
    const [h, w] = f.numbers('size', 2);
    if (h !== height || w !== width) fail(`RLE size [${h}, ${w}] differs from the image's [${height}, ${width}]`);
    const c = f.raw('counts');
    let rle: Rle;
    try {
      if (typeof c === 'string') rle = rleFromString(c, h, w);
      else rle = { height: h, width: w, counts: Uint32Array.from(f.numbers('counts')) };
      return rleDecode(rle);
    } catch (e) {
      if (e instanceof DatasetError) throw e;
      return fail((e as Error).message);
    }
  }
  return fail(`expected polygons or an RLE object, found ${typeof seg}`);
}

/** ref_id is a sample's key: two refs with one id would make one of them unreachable (and ids lie). */
function uniqueRefIds(refs: readonly { refId: number }[], file: string): void {
  const seen = new Map<number, number>();
  refs.forEach((r, i) => {
    const j = seen.get(r.refId);
    if (j !== undefined) throw new DatasetError(file, `refs ${j} and ${i} both have ref_id ${r.refId}`, 'ref_id');
    seen.set(r.refId, i);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Samples

export interface RefSentence {
  readonly sentId: number;
  /** Original text (LAVT uses this). */
  readonly raw: string;
  /** Cleaned lower-case text. */
  readonly sent: string;
  readonly tokens: readonly string[];
}

/** One referring expression with its object's mask. */
export interface RefcocoSample {
  /** "<ref_id>:<sent_id>". */
  readonly id: string;
  readonly refId: number;
  readonly annId: number;
  readonly imageId: number;
  readonly categoryId: number;
  readonly split: string;
  readonly sentence: RefSentence;
  readonly fileName: string;
  readonly width: number;
  readonly height: number;
  /** COCO [x, y, w, h]. */
  readonly bbox: readonly [number, number, number, number];
  readonly image: RgbImage;
  /** 1 where the referred object is (any polygon part), row-major at (height, width). */
  readonly mask: Uint8Array;
}

interface RefRecord {
  readonly refId: number;
  readonly annId: number;
  readonly imageId: number;
  readonly categoryId: number;
  readonly split: string;
  readonly sentences: readonly RefSentence[];
}
interface AnnRecord {
  readonly segmentation: unknown;
  readonly bbox: readonly [number, number, number, number];
  readonly where: string;
}
interface ImageRecord {
  readonly fileName: string;
  readonly width: number;
  readonly height: number;
}

/** refer's getRefIds split rule: testA/testB/testC match refs whose split contains the last letter; else exact. */
export function refSplitMatches(query: string, refSplit: string): boolean {
  return ['testA', 'testB', 'testC'].includes(query) ? refSplit.includes(query.slice(-1)) : refSplit === query;
}

function parseSentences(value: unknown, where: string, field: string): RefSentence[] {
  if (!Array.isArray(value)) throw new DatasetError(where, `expected a list of sentences, found ${typeof value}`, field);
  return value.map((s, i) => {
    const f = new FieldReader(s, where, `${field}[${i}]`);
    return { sentId: f.int('sent_id'), raw: f.string('raw'), sent: f.string('sent'), tokens: f.strings('tokens') };
  });
}

function parseBbox(f: FieldReader, key: string): [number, number, number, number] {
  const [x, y, w, h] = f.numbers(key, 4);
  return [x, y, w, h];
}

/** Shared sample assembly for both storage forms. */
abstract class RefSamples implements DatasetReader<RefcocoSample> {
  abstract readonly name: string;
  constructor(readonly files: FileTree, readonly codec: ImageCodec, readonly imageDir: string) {}
  protected abstract refs(): Promise<RefRecord[]>;
  protected abstract annotation(ref: RefRecord): Promise<AnnRecord>;
  protected abstract imageInfo(ref: RefRecord): Promise<ImageRecord>;
  private byId?: Map<number, RefRecord>;

  async ids(): Promise<readonly string[]> {
    return (await this.refs()).flatMap((r) => r.sentences.map((s) => `${r.refId}:${s.sentId}`));
  }

  async read(id: string): Promise<RefcocoSample> {
    const m = /^(\d+):(\d+)$/.exec(id);
    if (!m) throw new Error(`${this.name}: sample id "${id}" is not "<ref_id>:<sent_id>"`);
    this.byId ??= new Map((await this.refs()).map((r) => [r.refId, r]));
    const ref = this.byId.get(Number(m[1]));
    if (!ref) throw new Error(`${this.name}: ref_id ${m[1]} not in this split`);
    const sentence = ref.sentences.find((s) => s.sentId === Number(m[2]));
    if (!sentence) throw new Error(`${this.name}: ref ${ref.refId} has no sentence ${m[2]}`);
    const info = await this.imageInfo(ref);
    const ann = await this.annotation(ref);
    const rel = joinPath(this.imageDir, info.fileName);
    const image = this.codec.decodeImage(await this.files.read(rel), joinPath(this.files.root, rel));
    if (image.width !== info.width || image.height !== info.height) {
      throw new DatasetError(joinPath(this.files.root, rel), `image is ${image.width}×${image.height}, its COCO record says ${info.width}×${info.height}`);
    }
    const parts = segmentationPartCount(ann.segmentation, info.height, info.width, ann.where);
    const mask = new Uint8Array(parts.length);
    for (let p = 0; p < parts.length; p++) mask[p] = parts[p] > 0 ? 1 : 0;
    return {
      id, refId: ref.refId, annId: ref.annId, imageId: ref.imageId, categoryId: ref.categoryId, split: ref.split,
      sentence, fileName: info.fileName, width: info.width, height: info.height, bbox: ann.bbox, image, mask,
    };
  }
}

export interface RefcocoOptions {
  split: string;
  /** 'refcoco' (default), 'refcoco+', 'refcocog'. */
  dataset?: string;
  /** 'unc' (default) or 'google' / 'umd'. */
  splitBy?: string;
  /** Folder of the COCO train2014 images (default images/mscoco/images/train2014). */
  imageDir?: string;
}

/** The refer API layout: refs(<splitBy>).p + instances.json. */
export class RefcocoReader extends RefSamples {
  readonly name: string;
  private loaded?: Promise<{ refs: RefRecord[]; anns: Map<number, AnnRecord>; images: Map<number, ImageRecord> }>;
  constructor(files: FileTree, codec: ImageCodec, readonly options: RefcocoOptions) {
    super(files, codec, options.imageDir ?? 'images/mscoco/images/train2014');
    this.name = `${options.dataset ?? 'refcoco'}(${options.splitBy ?? 'unc'})/${options.split}`;
  }

  protected async refs() {
    return (await this.load()).refs;
  }
  protected async annotation(ref: RefRecord) {
    const a = (await this.load()).anns.get(ref.annId);
    if (!a) throw new DatasetError(joinPath(this.files.root, this.dir(), 'instances.json'), `no annotation with id ${ref.annId} (ref ${ref.refId})`, 'annotations');
    return a;
  }
  protected async imageInfo(ref: RefRecord) {
    const i = (await this.load()).images.get(ref.imageId);
    if (!i) throw new DatasetError(joinPath(this.files.root, this.dir(), 'instances.json'), `no image with id ${ref.imageId} (ref ${ref.refId})`, 'images');
    return i;
  }
  private dir(): string {
    return this.options.dataset ?? 'refcoco';
  }

  private load() {
    return this.loaded ??= (async () => {
      await expectLayout(this.files, 'RefCOCO (refer layout)', [this.dir()], `${this.dir()}/refs(<splitBy>).p, ${this.dir()}/instances.json, images/mscoco/images/train2014/<file>.jpg (or the jxu124 parquet copy: data/<split>-*.parquet)`);
      const refsRel = `${this.dir()}/refs(${this.options.splitBy ?? 'unc'}).p`;
      const refsPath = joinPath(this.files.root, refsRel);
      let list: unknown;
      try {
        list = new Parser().parse(await this.files.read(refsRel));
      } catch (e) {
        if (e instanceof DatasetError) throw e;
        throw new DatasetError(refsPath, `not a readable pickle (${(e as Error).message})`);
      }
      if (!Array.isArray(list)) throw new DatasetError(refsPath, `expected a pickled list of refs, found ${typeof list}`);
      const refs: RefRecord[] = [];
      list.forEach((r, i) => {
        const f = new FieldReader(r, refsPath, `[${i}]`);
        const split = f.string('split');
        if (!refSplitMatches(this.options.split, split)) return;
        refs.push({
          refId: f.int('ref_id'), annId: f.int('ann_id'), imageId: f.int('image_id'), categoryId: f.int('category_id'),
          split, sentences: parseSentences(f.raw('sentences'), refsPath, `[${i}].sentences`),
        });
      });
      const instRel = `${this.dir()}/instances.json`;
      const instPath = joinPath(this.files.root, instRel);
      const inst = new FieldReader(await readJson(this.files, instRel), instPath);
      const images = new Map<number, ImageRecord>();
      inst.array('images').forEach((im, i) => {
        const f = new FieldReader(im, instPath, `images[${i}]`);
        images.set(f.int('id'), { fileName: f.string('file_name'), width: f.int('width'), height: f.int('height') });
      });
      const anns = new Map<number, AnnRecord>();
      inst.array('annotations').forEach((an, i) => {
        const f = new FieldReader(an, instPath, `annotations[${i}]`);
        const where = `${instPath} (annotations[${i}], id ${f.int('id')})`;
        anns.set(f.int('id'), { segmentation: f.raw('segmentation'), bbox: parseBbox(f, 'bbox'), where });
      });
      uniqueRefIds(refs, refsPath);
      return { refs, anns, images };
    })();
  }
}

export interface RefcocoParquetOptions {
  /** HF split name: 'train' | 'validation' | 'test' (= UNC testA) | 'testB'. */
  split: string;
  /** Folder holding the parquet files (default 'data'). */
  dataDir?: string;
  imageDir?: string;
}

/** The jxu124/refcoco parquet copy (no pixels; images from the COCO folder). */
export class RefcocoParquetReader extends RefSamples {
  readonly name: string;
  private loaded?: Promise<{ refs: RefRecord[]; anns: Map<number, AnnRecord>; images: Map<number, ImageRecord> }>;
  constructor(files: FileTree, codec: ImageCodec, readonly options: RefcocoParquetOptions) {
    super(files, codec, options.imageDir ?? 'images/mscoco/images/train2014');
    this.name = `refcoco-parquet/${options.split}`;
  }
  protected async refs() {
    return (await this.load()).refs;
  }
  protected async annotation(ref: RefRecord) {
    return (await this.load()).anns.get(ref.refId)!;
  }
  protected async imageInfo(ref: RefRecord) {
    return (await this.load()).images.get(ref.refId)!;
  }

  /** The split's parquet file: <dataDir>/<split>-NNNNN-of-NNNNN[-hash].parquet (exactly one). */
  async file(): Promise<string> {
    const dir = this.options.dataDir ?? 'data';
    const re = new RegExp(`^${this.options.split.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-\\d{5}-of-\\d{5}(-[0-9a-f]+)?\\.parquet$`);
    const found = (await this.files.list(dir)).filter((n) => re.test(n));
    if (found.length !== 1) {
      throw new DatasetError(joinPath(this.files.root, dir), `expected one ${this.options.split}-*.parquet, found ${found.length}${found.length ? ': ' + found.join(', ') : ''}`);
    }
    return `${dir}/${found[0]}`;
  }

  private load() {
    return this.loaded ??= (async () => {
      const rel = await this.file();
      const path = joinPath(this.files.root, rel);
      const rows = await readParquetRows(this.files, rel, ['ref_id', 'ann_id', 'image_id', 'category_id', 'split', 'sentences', 'raw_anns', 'raw_image_info']);
      const refs: RefRecord[] = [];
      const anns = new Map<number, AnnRecord>();
      const images = new Map<number, ImageRecord>();
      rows.forEach((row, i) => {
        const f = new FieldReader(row, path, `row ${i}`);
        const refId = f.int('ref_id');
        refs.push({
          refId, annId: f.int('ann_id'), imageId: f.int('image_id'), categoryId: f.int('category_id'),
          split: f.string('split'), sentences: parseSentences(f.raw('sentences'), path, `row ${i}.sentences`),
        });
        const ann = new FieldReader(parseJsonField(f, 'raw_anns'), path, `row ${i}.raw_anns`);
        anns.set(refId, { segmentation: ann.raw('segmentation'), bbox: parseBbox(ann, 'bbox'), where: `${path} (row ${i}.raw_anns)` });
        const info = new FieldReader(parseJsonField(f, 'raw_image_info'), path, `row ${i}.raw_image_info`);
        images.set(refId, { fileName: info.string('file_name'), width: info.int('width'), height: info.int('height') });
      });
      uniqueRefIds(refs, path);
      return { refs, anns, images };
    })();
  }
}

function parseJsonField(f: FieldReader, key: string): unknown {
  const text = f.string(key);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new DatasetError(f.file, `invalid JSON (${(e as Error).message})`, f.prefix ? `${f.prefix}.${key}` : key);
  }
}
