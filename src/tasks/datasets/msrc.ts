// MSRC for co-segmentation.
// Co-segmentation subsets are packaged one folder per set (Rubinstein et al.'s ObjectDiscovery layout):
//   <root>/<set>/<name>.{jpg,jpeg,png,bmp}          images
//   <root>/<set>/GroundTruth/<name>.png              binary foreground masks (0 = bg, non-zero = fg)
// The base MSRC-v2 release has colour-coded class maps:
//   Images/<n>_<m>_s.bmp, GroundTruth/<n>_<m>_s_GT.bmp   colour = VOC colour-map entry of the class, black = void
// (the same colour coding is used by the pydensecrf example label maps im<n>.png / anno<n>.png).

import type { RgbImage } from '../../io/rgbImage.ts';
import {
  type DatasetReader, DatasetError, type FileTree, type ImageCodec, joinPath,
} from './dataset.ts';
import { labelsFromColours } from './pascal5i.ts';

/** MSRC-v2 classes with their label colours (the release's colour list; black = void = id 0). */
const MSRC_COLOURS: readonly [string, number, number, number][] = [
  ['void', 0, 0, 0], ['building', 128, 0, 0], ['grass', 0, 128, 0], ['tree', 128, 128, 0], ['cow', 0, 0, 128],
  ['horse', 128, 0, 128], ['sheep', 0, 128, 128], ['sky', 128, 128, 128], ['mountain', 64, 0, 0],
  ['aeroplane', 192, 0, 0], ['water', 64, 128, 0], ['face', 192, 128, 0], ['car', 64, 0, 128],
  ['bicycle', 192, 0, 128], ['flower', 64, 128, 128], ['sign', 192, 128, 128], ['bird', 0, 64, 0],
  ['book', 128, 64, 0], ['chair', 0, 192, 0], ['road', 128, 64, 128], ['cat', 0, 192, 128], ['dog', 128, 192, 128],
  ['body', 64, 64, 0], ['boat', 192, 64, 0],
];

/** MSRC-v2 class names by id (0 = void). The colours follow the VOC colour map up to 'chair' (18), then skip
 * two of its entries ('road' = VOC map entry 21, …, 'boat' = 25). */
export const MSRC_CLASSES: readonly string[] = MSRC_COLOURS.map((c) => c[0]);
export const MSRC_VOID = 0;

/** colour key (R<<16 | G<<8 | B) → MSRC class id. */
export const MSRC_COLOUR_TABLE: ReadonlyMap<number, number> = new Map(
  MSRC_COLOURS.map(([, r, g, b], i) => [(r << 16) | (g << 8) | b, i] as [number, number]),
);

const IMAGE_EXT = /\.(jpe?g|png|bmp)$/i;

export interface CosegImage {
  readonly name: string;
  readonly image: RgbImage;
  /** 1 = foreground, 0 = background, row-major at image size. */
  readonly mask: Uint8Array;
}

export interface CosegSet {
  readonly name: string;
  readonly images: readonly CosegImage[];
}

export interface CosegOptions {
  /** Folder of the masks inside each set folder (default 'GroundTruth'). */
  maskDir?: string;
  /** Mask file name from the image base name (default `<base>.png`). */
  maskName?: (base: string) => string;
}

/** Co-segmentation sets: one sample = all images of one set folder with their fg masks. */
export class CosegReader implements DatasetReader<CosegSet> {
  readonly name = 'msrc-coseg';
  constructor(readonly files: FileTree, readonly codec: ImageCodec, readonly options: CosegOptions = {}) {}

  async ids(): Promise<readonly string[]> {
    const out: string[] = [];
    for (const e of await this.files.list('')) {
      if (IMAGE_EXT.test(e) || e.startsWith('.')) continue;
      if (await this.files.exists(`${e}/${this.options.maskDir ?? 'GroundTruth'}`)) out.push(e);
    }
    if (!out.length) {
      throw new DatasetError(this.files.root, `not an MSRC co-segmentation folder: no <set>/${this.options.maskDir ?? 'GroundTruth'}/ inside; the layout is <set>/<image>.{bmp,jpg,png} with <set>/${this.options.maskDir ?? 'GroundTruth'}/<image>.{bmp,png} masks, one folder per image set`);
    }
    return out;
  }

  async read(set: string): Promise<CosegSet> {
    const maskDir = this.options.maskDir ?? 'GroundTruth';
    const maskName = this.options.maskName ?? ((b: string) => `${b}.png`);
    const names = (await this.files.list(set)).filter((n) => IMAGE_EXT.test(n));
    if (names.length === 0) throw new DatasetError(joinPath(this.files.root, set), 'no images (.jpg/.jpeg/.png/.bmp) in this set');
    const images: CosegImage[] = [];
    for (const name of names) {
      const imgRel = `${set}/${name}`;
      const image = this.codec.decodeImage(await this.files.read(imgRel), joinPath(this.files.root, imgRel));
      const maskRel = `${set}/${maskDir}/${maskName(name.replace(IMAGE_EXT, ''))}`;
      const maskPath = joinPath(this.files.root, maskRel);
      const lab = this.codec.decodeLabelPng(await this.files.read(maskRel), maskPath);
      if (lab.width !== image.width || lab.height !== image.height) {
        throw new DatasetError(maskPath, `mask is ${lab.width}×${lab.height}, its image is ${image.width}×${image.height}`);
      }
      const mask = new Uint8Array(lab.data.length);
      for (let p = 0; p < mask.length; p++) mask[p] = lab.data[p] > 0 ? 1 : 0;
      images.push({ name, image, mask });
    }
    return { name: set, images };
  }
}

/** Where class-labelled images live: the id pattern of image files and the label file of an id. */
export interface MsrcLabelLayout {
  imageDir: string;
  /** Image file name → id, or null for files that are not images of the set. */
  idOf(fileName: string): string | null;
  image(id: string): string;
  label(id: string): string;
}

/** MSRC_ObjCategImageDatabase_v2. */
export const MSRC_V2_LAYOUT: MsrcLabelLayout = {
  imageDir: 'Images',
  idOf: (f) => /^(\d+_\d+_s)\.bmp$/.exec(f)?.[1] ?? null,
  image: (id) => `Images/${id}.bmp`,
  label: (id) => `GroundTruth/${id}_GT.bmp`,
};

/** im<n>.png with anno<n>.png side by side (pydensecrf examples, the project fixture). */
export const MSRC_PAIRED_PNG_LAYOUT: MsrcLabelLayout = {
  imageDir: '',
  idOf: (f) => /^im(\d+)\.png$/.exec(f)?.[1] ?? null,
  image: (id) => `im${id}.png`,
  label: (id) => `anno${id}.png`,
};

export interface MsrcLabelledImage {
  readonly id: string;
  readonly image: RgbImage;
  /** MSRC class id per pixel (0 = void). */
  readonly labels: Uint8Array;
  /** Class ids present, ascending, void excluded. */
  readonly classes: readonly number[];
}

/** Images with colour-coded class maps mapped back to MSRC class ids. */
export class MsrcLabelReader implements DatasetReader<MsrcLabelledImage> {
  readonly name = 'msrc';
  constructor(readonly files: FileTree, readonly codec: ImageCodec, readonly layout: MsrcLabelLayout = MSRC_V2_LAYOUT) {}

  async ids(): Promise<readonly string[]> {
    const ids = (await this.files.list(this.layout.imageDir)).map((f) => this.layout.idOf(f)).filter((x): x is string => x !== null);
    return ids.sort((a, b) => (/^\d+$/.test(a) && /^\d+$/.test(b) ? Number(a) - Number(b) : a < b ? -1 : a > b ? 1 : 0));
  }

  async read(id: string): Promise<MsrcLabelledImage> {
    const imgRel = this.layout.image(id);
    const image = this.codec.decodeImage(await this.files.read(imgRel), joinPath(this.files.root, imgRel));
    const labRel = this.layout.label(id);
    const labPath = joinPath(this.files.root, labRel);
    const rendering = this.codec.decodeImage(await this.files.read(labRel), labPath);
    if (rendering.width !== image.width || rendering.height !== image.height) {
      throw new DatasetError(labPath, `label map is ${rendering.width}×${rendering.height}, its image is ${image.width}×${image.height}`);
    }
    const labels = labelsFromColours(rendering, MSRC_COLOUR_TABLE, labPath);
    const seen = new Uint8Array(256);
    for (const v of labels) seen[v] = 1;
    const classes = [...seen.keys()].filter((c) => seen[c] && c !== MSRC_VOID);
    return { id, image, labels, classes };
  }
}
