// Synthetic segmentation sets: textured objects (ellipses, star polygons) of C classes on textured scenes, class-id
// masks (0 = background, optional 255 void band) — Pascal-5i episodes, MSRC-like co-segmentation sets, ImageNet-S-like names.
import type { RgbImage } from '../../io/rgbImage.ts';
import type { LabelMap } from '../../probe/metrics/iou.ts';
import { invertAffine, similarity } from './affine.ts';
import { checkCount, dims, type ImageSize, type Layer, render, sceneBackground, textured, voidBand } from './scene.ts';
import { SeededRandom } from './seededRandom.ts';
import { randomShape, type Shape } from './shape.ts';
import { classTexture, jitterTexture, type Texture, textureName } from './texture.ts';

export interface SegmentationObject {
  classId: number;
  shape: Shape;
  texture: Texture;
}

export interface SyntheticSegmentationSet {
  images: RgbImage[];
  /** class ids: 0 background, 1..classes, 255 void band (when voidBorder > 0). */
  masks: LabelMap[];
  /** index = class id; [0] = "background". */
  classNames: string[];
  /** index = class id; [0] is unused (backgrounds vary per image). */
  classTextures: Texture[];
  /** objects of each image, bottom to top. */
  objects: SegmentationObject[][];
}

export interface SegmentationSetOptions {
  n: number;
  size: ImageSize;
  /** number of object classes (ids 1..classes). */
  classes: number;
  seed: number;
  /** objects per image, [min, max] (default [1, 2]); the classes within one image are distinct. */
  objectsPerImage?: readonly [number, number];
  /** every image holds an object of this class (drawn first, so others may overlap it): co-segmentation sets. */
  commonClass?: number;
  /** width (px) of a void (255) band on each side of every label change; 0 (default) = none. */
  voidBorder?: number;
  /** per-pixel noise amplitude in 8-bit levels (default 6). */
  grain?: number;
}

/** Images of textured objects of `classes` classes on textured scenes, with exact class-id masks. */
export function syntheticSegmentationSet(opts: SegmentationSetOptions): SyntheticSegmentationSet {
  const where = 'syntheticSegmentationSet';
  const { W, H } = dims(opts.size, where);
  checkCount(opts.n, 'n', where);
  checkCount(opts.classes, 'classes', where);
  if (opts.classes > 254) throw new Error(`${where}: at most 254 classes fit an 8-bit mask with 255 = void, got ${opts.classes}`);
  const [minObj, maxObj] = opts.objectsPerImage ?? [1, 2];
  if (!(Number.isInteger(minObj) && Number.isInteger(maxObj) && minObj >= 1 && maxObj >= minObj)) throw new Error(`${where}: objectsPerImage must be [min, max] with 1 ≤ min ≤ max, got [${minObj}, ${maxObj}]`);
  if (maxObj > opts.classes) throw new Error(`${where}: objectsPerImage max ${maxObj} exceeds the ${opts.classes} classes (classes within an image are distinct)`);
  const common = opts.commonClass;
  if (common !== undefined && !(Number.isInteger(common) && common >= 1 && common <= opts.classes)) throw new Error(`${where}: commonClass must be one of 1..${opts.classes}, got ${common}`);
  const voidW = opts.voidBorder ?? 0;
  checkCount(voidW, 'voidBorder', where, 0);
  const grain = opts.grain ?? 6;

  const rng = new SeededRandom(opts.seed);
  const hueOffset = rng.next();
  const classTextures: Texture[] = [classTexture(1, rng, hueOffset)];
  for (let c = 1; c <= opts.classes; c++) classTextures[c] = classTexture(c, rng, hueOffset);
  const names = classTextures.map(textureName);
  const classNames = ['background'];
  for (let c = 1; c <= opts.classes; c++) {
    let name = names[c], k = 2;
    while (classNames.includes(name)) name = `${names[c]} ${k++}`;
    classNames.push(name);
  }

  const images: RgbImage[] = [], masks: LabelMap[] = [], objects: SegmentationObject[][] = [];
  const S = Math.min(W, H);
  for (let i = 0; i < opts.n; i++) {
    const background = sceneBackground(rng, W, H);
    const count = rng.int(minObj, maxObj);
    const ids: number[] = common !== undefined ? [common] : [];
    while (ids.length < count) {
      const c = rng.int(1, opts.classes);
      if (!ids.includes(c)) ids.push(c);
    }
    const layers: Layer[] = [], objs: SegmentationObject[] = [];
    for (const c of ids) {
      const r = rng.range(0.16, 0.3) * S;
      const cx = rng.range(r, W - r), cy = rng.range(r, H - r);
      const { shape, angle } = randomShape(rng, cx, cy, r);
      const texture = jitterTexture(classTextures[c], rng);
      // texture fixed to the object: rotate with it about its centre
      layers.push({ label: c, shape, colour: textured(texture), toTexture: invertAffine(similarity(1, angle, cx, cy)) });
      objs.push({ classId: c, shape, texture });
    }
    const { image, labels } = render(W, H, background, layers, grain, rng.int(1, 1 << 30), `synthetic:segmentation#${opts.seed}/${i}`);
    images.push(image);
    masks.push({ width: W, height: H, data: voidW > 0 ? voidBand(labels, W, H, voidW, 255) : labels });
    objects.push(objs);
  }
  return { images, masks, classNames, classTextures, objects };
}

/** Indices of the images of a set that contain class c (in their mask): support/query pools of few-shot episodes. */
export function imagesContaining(set: SyntheticSegmentationSet, classId: number): number[] {
  return set.masks.flatMap((m, i) => m.data.includes(classId) ? [i] : []);
}
