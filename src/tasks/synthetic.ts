// Synthetic datasets with exact ground truth, for the end-to-end tests and the default demo:
//   syntheticSegmentationSet     textured objects (ellipses, star polygons) of C classes on textured backgrounds,
//                                class-id masks (0 = background, optional 255 void band) — Pascal-5i episodes,
//                                MSRC-like co-segmentation sets (a common class), ImageNet-S-like class names
//   syntheticCorrespondencePairs one object seen in two images under a known similarity/affine map, keypoints in
//                                both with visibility flags, masks and boxes — SPair-like
//   syntheticVideo               objects translating and scaling over a textured background, per-frame instance
//                                masks (0 = background, 1..n) — DAVIS-like
// Everything is a function of the seed. Ground truth is exact by construction: a pixel's label is the topmost shape
// containing its centre, and its colour is that shape's texture at the same point, so masks and pixels never
// disagree. Classes differ in hue and pattern, backgrounds are desaturated: local colour statistics solve the tasks.
// Coordinates are continuous pixels: pixel (x, y) covers [x, x+1) × [y, y+1), its centre is (x + 0.5, y + 0.5).
import type { RgbImage } from '../io/rgbImage.ts';
import type { LabelMap } from '../probe/metrics/iou.ts';
import type { BoundingBox, Point } from '../probe/metrics/pck.ts';

/** mulberry32: a small, fast, seedable PRNG; uniform floats in [0, 1). */
export class SeededRandom {
  private s: number;
  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new Error(`SeededRandom: seed must be a finite number, got ${seed}`);
    this.s = (Math.floor(seed) ^ 0x9e3779b9) >>> 0;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** uniform in [a, b). */
  range(a: number, b: number): number {
    return a + (b - a) * this.next();
  }
  /** integer in [a, b] inclusive. */
  int(a: number, b: number): number {
    return a + Math.floor(this.next() * (b - a + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)];
  }
}

/** Integer hash of (x, y, seed) to [0, 1): per-cell noise and per-pixel grain without state. */
function hash01(x: number, y: number, seed: number): number {
  let h = Math.imul(x | 0, 0x27d4eb2d) ^ Math.imul(y | 0, 0x165667b1) ^ Math.imul(seed | 0, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}

export type Rgb = readonly [number, number, number];

/** HSV (all in [0, 1], hue wraps) → 8-bit RGB. */
export function hsvToRgb(h: number, s: number, v: number): Rgb {
  h = ((h % 1) + 1) % 1;
  const i = Math.floor(h * 6), f = h * 6 - i;
  const p = v * (1 - s), q = v * (1 - f * s), t = v * (1 - (1 - f) * s);
  const [r, g, b] = [[v, t, p], [q, v, p], [p, v, t], [p, q, v], [t, p, v], [v, p, q]][i % 6];
  return [Math.round(r * 255), Math.round(g * 255), Math.round(b * 255)];
}

export type TextureKind = 'stripes' | 'checkers' | 'dots' | 'noise';

/** A two-colour pattern in its own (u, v) plane. */
export interface Texture {
  kind: TextureKind;
  colors: readonly [Rgb, Rgb];
  /** pattern period in texture units (pixels for unscaled shapes). */
  period: number;
  /** pattern rotation (radians). */
  angle: number;
  /** noise cells and phase come from it. */
  seed: number;
}

/** Texture colour at (u, v) (before grain). */
export function sampleTexture(t: Texture, u: number, v: number): Rgb {
  const c = Math.cos(t.angle), s = Math.sin(t.angle);
  const a = (c * u + s * v) / t.period + hash01(t.seed, 1, 7), b = (-s * u + c * v) / t.period + hash01(t.seed, 2, 7);
  let w: number;
  switch (t.kind) {
    case 'stripes':
      w = Math.floor(2 * a) & 1;
      break;
    case 'checkers':
      w = (Math.floor(a) + Math.floor(b)) & 1;
      break;
    case 'dots': {
      const da = a - Math.floor(a) - 0.5, db = b - Math.floor(b) - 0.5;
      w = da * da + db * db < 0.1 ? 1 : 0;
      break;
    }
    case 'noise': {
      // value noise: random weight per lattice cell, bilinear in between
      const ia = Math.floor(a), ib = Math.floor(b), fa = a - ia, fb = b - ib;
      const n = (i: number, j: number) => hash01(i, j, t.seed);
      w = (n(ia, ib) * (1 - fa) + n(ia + 1, ib) * fa) * (1 - fb) + (n(ia, ib + 1) * (1 - fa) + n(ia + 1, ib + 1) * fa) * fb;
      break;
    }
  }
  const [c0, c1] = t.colors;
  return [c0[0] + (c1[0] - c0[0]) * w, c0[1] + (c1[1] - c0[1]) * w, c0[2] + (c1[2] - c0[2]) * w];
}

/** A region in an image or in an object's canonical frame. */
export type Shape =
  | { kind: 'ellipse'; cx: number; cy: number; rx: number; ry: number; angle: number }
  | { kind: 'polygon'; points: readonly Point[] };

/** Whether (x, y) lies inside the shape (ellipse: closed; polygon: even-odd rule). */
export function shapeContains(shape: Shape, x: number, y: number): boolean {
  if (shape.kind === 'ellipse') {
    const c = Math.cos(shape.angle), s = Math.sin(shape.angle), dx = x - shape.cx, dy = y - shape.cy;
    const u = (c * dx + s * dy) / shape.rx, v = (-s * dx + c * dy) / shape.ry;
    return u * u + v * v <= 1;
  }
  const p = shape.points;
  let inside = false;
  for (let i = 0, j = p.length - 1; i < p.length; j = i++) {
    const [xi, yi] = p[i], [xj, yj] = p[j];
    if ((yi > y) !== (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** A 2-D affine map [a, b, c, d, e, f]: x' = a·x + b·y + c, y' = d·x + e·y + f. */
export type Affine = readonly [number, number, number, number, number, number];

export function applyAffine(m: Affine, p: Point): Point {
  return [m[0] * p[0] + m[1] * p[1] + m[2], m[3] * p[0] + m[4] * p[1] + m[5]];
}

export function invertAffine(m: Affine): Affine {
  const det = m[0] * m[4] - m[1] * m[3];
  if (Math.abs(det) < 1e-12) throw new Error(`invertAffine: singular map [${m.join(', ')}]`);
  const a = m[4] / det, b = -m[1] / det, d = -m[3] / det, e = m[0] / det;
  return [a, b, -(a * m[2] + b * m[5]), d, e, -(d * m[2] + e * m[5])];
}

/** m ∘ n (apply n first). */
export function composeAffine(m: Affine, n: Affine): Affine {
  return [
    m[0] * n[0] + m[1] * n[3], m[0] * n[1] + m[1] * n[4], m[0] * n[2] + m[1] * n[5] + m[2],
    m[3] * n[0] + m[4] * n[3], m[3] * n[1] + m[4] * n[4], m[3] * n[2] + m[4] * n[5] + m[5],
  ];
}

/** Similarity: rotate by θ, scale by s, then translate to (tx, ty). */
export function similarity(s: number, theta: number, tx: number, ty: number): Affine {
  const c = Math.cos(theta) * s, n = Math.sin(theta) * s;
  return [c, -n, tx, n, c, ty];
}

export type ImageSize = number | { width: number; height: number };

function dims(size: ImageSize, where: string): { W: number; H: number } {
  const W = typeof size === 'number' ? size : size.width, H = typeof size === 'number' ? size : size.height;
  if (!(Number.isInteger(W) && Number.isInteger(H) && W >= 16 && H >= 16)) throw new Error(`${where}: size must be integers ≥ 16 (width×height), got ${W}×${H}`);
  return { W, H };
}

function checkCount(n: number, name: string, where: string, min = 1): void {
  if (!(Number.isInteger(n) && n >= min)) throw new Error(`${where}: ${name} must be an integer ≥ ${min}, got ${n}`);
}

/** A coloured shape placed in an image: its colour at a pixel point p is `colour`(`toTexture`(p)). */
interface Layer {
  label: number;
  shape: Shape;
  colour: (u: number, v: number) => Rgb;
  toTexture: Affine;
}

const textured = (t: Texture) => (u: number, v: number) => sampleTexture(t, u, v);

/**
 * Render layers bottom to top over a background function; label map = topmost layer containing the pixel centre.
 * `grain` adds per-pixel uniform noise of ±grain levels (seeded by `grainSeed`).
 */
function render(W: number, H: number, background: (x: number, y: number) => Rgb, layers: readonly Layer[], grain: number, grainSeed: number, source: string): { image: RgbImage; labels: Uint8Array } {
  const data = new Uint8Array(W * H * 3), labels = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const px = x + 0.5, py = y + 0.5;
      let rgb: Rgb | null = null, label = 0;
      for (let l = layers.length - 1; l >= 0; l--) {
        const L = layers[l];
        if (!shapeContains(L.shape, px, py)) continue;
        const [u, v] = applyAffine(L.toTexture, [px, py]);
        rgb = L.colour(u, v);
        label = L.label;
        break;
      }
      rgb ??= background(px, py);
      const i = y * W + x;
      labels[i] = label;
      for (let c = 0; c < 3; c++) {
        const g = grain > 0 ? (hash01(i, c, grainSeed) * 2 - 1) * grain : 0;
        data[3 * i + c] = Math.max(0, Math.min(255, Math.round(rgb[c] + g)));
      }
    }
  }
  return { image: { width: W, height: H, data, source }, labels };
}

/** A random desaturated background texture (greys, browns, muted greens/blues). */
function backgroundTexture(rng: SeededRandom): Texture {
  const hue = rng.next(), sat = rng.range(0.05, 0.22);
  return {
    kind: rng.pick(['noise', 'noise', 'stripes'] as const),
    colors: [hsvToRgb(hue, sat, rng.range(0.55, 0.8)), hsvToRgb(hue + rng.range(-0.05, 0.05), sat, rng.range(0.3, 0.5))],
    period: rng.range(8, 16),
    angle: rng.range(0, Math.PI),
    seed: rng.int(1, 1 << 30),
  };
}

/** Two background textures split by a slanted horizon ("sky" over "ground"), as in MSRC scenes. */
function sceneBackground(rng: SeededRandom, W: number, H: number): (x: number, y: number) => Rgb {
  const top = backgroundTexture(rng), bottom = backgroundTexture(rng);
  const y0 = rng.range(0.3, 0.7) * H, slope = rng.range(-0.3, 0.3);
  return (x, y) => y < y0 + slope * (x - W / 2) ? sampleTexture(top, x, y) : sampleTexture(bottom, x, y);
}

const HUE_NAMES = ['red', 'orange', 'yellow', 'lime', 'green', 'teal', 'cyan', 'azure', 'blue', 'violet', 'magenta', 'pink'];
const KIND_NAMES: Record<TextureKind, string> = { stripes: 'striped', checkers: 'checkered', dots: 'dotted', noise: 'mottled' };
const KINDS: readonly TextureKind[] = ['stripes', 'checkers', 'dots', 'noise'];

/** The texture of object class c (1-based): hues spread by the golden ratio, patterns cycling, saturated colours. */
function classTexture(c: number, rng: SeededRandom, hueOffset: number): Texture {
  const hue = (hueOffset + (c - 1) * 0.6180339887) % 1;
  return {
    kind: KINDS[(c - 1) % KINDS.length],
    colors: [hsvToRgb(hue, 0.9, 0.95), hsvToRgb(hue + 0.04, 0.85, 0.5)],
    period: rng.range(3, 5),
    angle: rng.range(0, Math.PI),
    seed: rng.int(1, 1 << 30),
  };
}

function textureName(t: Texture): string {
  const [r, g, b] = t.colors[0];
  const mx = Math.max(r, g, b), mn = Math.min(r, g, b), d = mx - mn;
  let h = 0;
  if (d > 0) h = mx === r ? ((g - b) / d + 6) % 6 : mx === g ? (b - r) / d + 2 : (r - g) / d + 4;
  return `${HUE_NAMES[Math.round(h * 2) % 12]} ${KIND_NAMES[t.kind]} object`;
}

/** Same pattern family with a per-instance twist: small rotation, new phase, colour jitter. */
function jitterTexture(t: Texture, rng: SeededRandom): Texture {
  const ch = (v: number) => Math.max(0, Math.min(255, v + rng.range(-12, 12)));
  const j = (c: Rgb): Rgb => [ch(c[0]), ch(c[1]), ch(c[2])];
  return { ...t, colors: [j(t.colors[0]), j(t.colors[1])], angle: t.angle + rng.range(-0.4, 0.4), period: t.period * rng.range(0.9, 1.1), seed: rng.int(1, 1 << 30) };
}

/** A star-convex polygon around the origin with mean radius 1 (radii in [0.7, 1.15]). */
function starPolygon(rng: SeededRandom): Point[] {
  const k = rng.int(5, 9), pts: Point[] = [];
  const angles = Array.from({ length: k }, (_, i) => (i + rng.range(0.15, 0.85)) * 2 * Math.PI / k);
  for (const a of angles) {
    const r = rng.range(0.7, 1.15);
    pts.push([r * Math.cos(a), r * Math.sin(a)]);
  }
  return pts;
}

/** A random shape (ellipse or star polygon) of nominal radius r centred at (cx, cy). */
function randomShape(rng: SeededRandom, cx: number, cy: number, r: number): { shape: Shape; angle: number } {
  const angle = rng.range(0, Math.PI);
  if (rng.next() < 0.5) {
    const e = rng.range(0.6, 1);
    return { shape: { kind: 'ellipse', cx, cy, rx: r, ry: r * e, angle }, angle };
  }
  const m = similarity(r, angle, cx, cy);
  return { shape: { kind: 'polygon', points: starPolygon(rng).map((p) => applyAffine(m, p)) }, angle };
}

/** Mark as `voidLabel` every pixel whose (2w+1)² neighbourhood holds another label (VOC-style band on outlines). */
function voidBand(labels: Uint8Array, W: number, H: number, w: number, voidLabel: number): Uint8Array {
  const out = Uint8Array.from(labels);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const v = labels[y * W + x];
      search: for (let dy = -w; dy <= w; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= H) continue;
        for (let dx = -w; dx <= w; dx++) {
          const xx = x + dx;
          if (xx >= 0 && xx < W && labels[yy * W + xx] !== v) { out[y * W + x] = voidLabel; break search; }
        }
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------------------------

export interface SyntheticPair {
  category: string;
  src: RgbImage;
  trg: RgbImage;
  /** 1 = object pixel visible, 0 elsewhere. */
  srcMask: LabelMap;
  trgMask: LabelMap;
  /** index-aligned keypoints in continuous pixel coordinates. */
  srcKps: Point[];
  trgKps: Point[];
  /** the pixel holding the keypoint shows the object (in the frame, not under the occluder). */
  srcVisible: boolean[];
  trgVisible: boolean[];
  /** [x1, y1, x2, y2] of the visible object pixels, pixel edges (x2 − x1 = width in pixels). */
  srcBox: BoundingBox;
  trgBox: BoundingBox;
  /** source pixel coordinates → target pixel coordinates. */
  transform: Affine;
}

export interface CorrespondencePairOptions {
  n: number;
  size: ImageSize;
  seed: number;
  /** distinct object templates, cycled over the pairs (default 3). */
  categories?: number;
  /** keypoints per template (default 8). */
  keypoints?: number;
  /** 'similarity' (default) or 'affine' (adds anisotropic scale and shear) between source and target. */
  transform?: 'similarity' | 'affine';
  /** probability that the target has an occluder over part of the object (default 0.5). */
  occlusion?: number;
  grain?: number;
}

/** Colour that varies smoothly and uniquely over the canonical object: hue by angle, value by radius, plus a pattern. */
function objectColour(hue0: number, pattern: Texture): (u: number, v: number) => Rgb {
  return (u, v) => {
    const r = Math.min(1.2, Math.hypot(u, v)), a = Math.atan2(v, u) / (2 * Math.PI);
    const base = hsvToRgb(hue0 + 0.35 * a, 0.85, 0.95 - 0.45 * r);
    const p = sampleTexture(pattern, u, v);
    return [0.8 * base[0] + 0.2 * p[0], 0.8 * base[1] + 0.2 * p[1], 0.8 * base[2] + 0.2 * p[2]];
  };
}

/** Pixel bounding box [x1, y1, x2, y2] (edges) of the non-zero pixels; throws when there are none. */
function maskBox(labels: Uint8Array, W: number, H: number, where: string): BoundingBox {
  let x1 = W, y1 = H, x2 = -1, y2 = -1;
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    if (!labels[y * W + x]) continue;
    x1 = Math.min(x1, x); y1 = Math.min(y1, y); x2 = Math.max(x2, x); y2 = Math.max(y2, y);
  }
  if (x2 < 0) throw new Error(`${where}: the object has no visible pixel`);
  return [x1, y1, x2 + 1, y2 + 1];
}

/** Pairs of images of one object under a known transform, with keypoints, masks and boxes. */
export function syntheticCorrespondencePairs(opts: CorrespondencePairOptions): SyntheticPair[] {
  const where = 'syntheticCorrespondencePairs';
  const { W, H } = dims(opts.size, where);
  checkCount(opts.n, 'n', where);
  const nCat = opts.categories ?? 3, nKps = opts.keypoints ?? 8;
  checkCount(nCat, 'categories', where);
  checkCount(nKps, 'keypoints', where);
  const occlusion = opts.occlusion ?? 0.5, grain = opts.grain ?? 6;
  const rng = new SeededRandom(opts.seed);
  const S = Math.min(W, H);

  // templates: canonical star polygon of mean radius 1, colour field, keypoints well inside the outline
  const templates = Array.from({ length: nCat }, (_, c) => {
    const outline = starPolygon(rng);
    const hue0 = (c * 0.6180339887 + rng.next()) % 1;
    const pattern: Texture = { kind: rng.pick(KINDS), colors: [[255, 255, 255], [0, 0, 0]], period: rng.range(0.25, 0.4), angle: rng.range(0, Math.PI), seed: rng.int(1, 1 << 30) };
    const outlineShape: Shape = { kind: 'polygon', points: outline };
    const kps: Point[] = [];
    for (let tries = 0; kps.length < nKps && tries < 10000; tries++) {
      const p: Point = [rng.range(-1, 1), rng.range(-1, 1)];
      // inside even when shrunk by 25% toward the centre, and ≥ 0.2 apart from the others
      if (!shapeContains(outlineShape, p[0] / 0.75, p[1] / 0.75)) continue;
      if (kps.some((q) => Math.hypot(q[0] - p[0], q[1] - p[1]) < 0.2)) continue;
      kps.push(p);
    }
    if (kps.length < nKps) throw new Error(`${where}: could not place ${nKps} keypoints 0.2 apart inside template ${c}; ask for fewer`);
    return { name: `shape${c + 1}`, outline, colour: objectColour(hue0, pattern), kps };
  });

  const pairs: SyntheticPair[] = [];
  for (let i = 0; i < opts.n; i++) {
    const t = templates[i % nCat];
    // canonical → source: similarity that keeps the object (radius ≤ 1.15·scale) inside the frame
    const place = (scale: number): Affine => {
      const m = 1.2 * scale;
      return similarity(scale, rng.range(-Math.PI, Math.PI), rng.range(m, W - m), rng.range(m, H - m));
    };
    const toSrc = place(rng.range(0.22, 0.32) * S);
    let toTrg = place(rng.range(0.22, 0.32) * S);
    if (opts.transform === 'affine') {
      // anisotropic scale and shear in the canonical frame, then re-place
      const sx = rng.range(0.8, 1.2), sy = rng.range(0.8, 1.2), sh = rng.range(-0.25, 0.25);
      toTrg = composeAffine(toTrg, [sx / 1.2, sh / 1.2, 0, 0, sy / 1.2, 0]);
    }
    const renderView = (toImg: Affine, occluder: Shape | null, label: string) => {
      const outline: Shape = { kind: 'polygon', points: t.outline.map((p) => applyAffine(toImg, p)) };
      const bg = sceneBackground(rng, W, H);
      // the object's colour field lives in canonical coordinates, so both views agree point for point
      const layers: Layer[] = [{ label: 1, shape: outline, colour: t.colour, toTexture: invertAffine(toImg) }];
      if (occluder) layers.push({ label: 2, shape: occluder, colour: textured(backgroundTexture(rng)), toTexture: [1, 0, 0, 0, 1, 0] });
      const { image, labels } = render(W, H, bg, layers, grain, rng.int(1, 1 << 30), label);
      const mask = labels.map((v) => v === 1 ? 1 : 0);
      return { image, mask };
    };
    const occluder: Shape | null = rng.next() < occlusion ? (() => {
      // a rectangle over part of the target object, near one keypoint
      const k = applyAffine(toTrg, t.kps[rng.int(0, t.kps.length - 1)]);
      const w = rng.range(0.12, 0.22) * S, h = rng.range(0.12, 0.22) * S;
      const x0 = k[0] - rng.range(0.2, 0.8) * w, y0 = k[1] - rng.range(0.2, 0.8) * h;
      return { kind: 'polygon', points: [[x0, y0], [x0 + w, y0], [x0 + w, y0 + h], [x0, y0 + h]] } as Shape;
    })() : null;
    const srcView = renderView(toSrc, null, `synthetic:pair#${opts.seed}/${i}/src`);
    const trgView = renderView(toTrg, occluder, `synthetic:pair#${opts.seed}/${i}/trg`);
    const srcKps = t.kps.map((p) => applyAffine(toSrc, p)), trgKps = t.kps.map((p) => applyAffine(toTrg, p));
    // visible = the pixel holding the keypoint shows the object (inside the frame, not under the occluder)
    const visible = (p: Point, mask: Uint8Array) => p[0] >= 0 && p[0] < W && p[1] >= 0 && p[1] < H && mask[Math.floor(p[1]) * W + Math.floor(p[0])] === 1;
    pairs.push({
      category: t.name,
      src: srcView.image,
      trg: trgView.image,
      srcMask: { width: W, height: H, data: srcView.mask },
      trgMask: { width: W, height: H, data: trgView.mask },
      srcKps,
      trgKps,
      srcVisible: srcKps.map((p) => visible(p, srcView.mask)),
      trgVisible: trgKps.map((p) => visible(p, trgView.mask)),
      srcBox: maskBox(srcView.mask, W, H, `${where} pair ${i} source`),
      trgBox: maskBox(trgView.mask, W, H, `${where} pair ${i} target`),
      transform: composeAffine(toTrg, invertAffine(toSrc)),
    });
  }
  return pairs;
}

// ---------------------------------------------------------------------------------------------------------------

export interface ObjectTrack {
  /** instance id in the masks (1..objects; higher ids are drawn on top). */
  id: number;
  /** outline at scale 1 in pixels, centred on the origin (placeShape(outline, similarity(scale, 0, cx, cy)) draws it). */
  outline: Shape;
  texture: Texture;
  /** per frame: centre (continuous pixels) and scale. */
  centres: Point[];
  scales: number[];
  angle: number;
}

export interface SyntheticVideo {
  frames: RgbImage[];
  /** 0 background, 1..objects (topmost object per pixel). */
  masks: LabelMap[];
  tracks: ObjectTrack[];
}

export interface VideoOptions {
  frames: number;
  size: ImageSize;
  objects: number;
  seed: number;
  /** largest centre displacement per frame in px (default 2). */
  maxSpeed?: number;
  grain?: number;
}

/** Objects moving on straight lines and scaling linearly over a static textured scene, with instance masks. */
export function syntheticVideo(opts: VideoOptions): SyntheticVideo {
  const where = 'syntheticVideo';
  const { W, H } = dims(opts.size, where);
  checkCount(opts.frames, 'frames', where);
  checkCount(opts.objects, 'objects', where);
  if (opts.objects > 254) throw new Error(`${where}: at most 254 objects fit an 8-bit mask, got ${opts.objects}`);
  const maxSpeed = opts.maxSpeed ?? 2, grain = opts.grain ?? 6;
  const rng = new SeededRandom(opts.seed);
  const S = Math.min(W, H), T = opts.frames;
  const background = sceneBackground(rng, W, H);
  const hueOffset = rng.next();
  const tracks: ObjectTrack[] = [];
  for (let k = 1; k <= opts.objects; k++) {
    const radius = rng.range(0.12, 0.2) * S;
    const s0 = rng.range(0.85, 1.1), s1 = s0 * rng.range(0.8, 1.25);
    const m = 1.2 * radius * Math.max(s0, s1);
    // straight path inside the frame, at most maxSpeed px per frame
    const start: Point = [rng.range(m, W - m), rng.range(m, H - m)];
    const dir = rng.range(-Math.PI, Math.PI), len = rng.range(0.5, 1) * maxSpeed * Math.max(T - 1, 0);
    let end: Point = [start[0] + Math.cos(dir) * len, start[1] + Math.sin(dir) * len];
    end = [Math.max(m, Math.min(W - m, end[0])), Math.max(m, Math.min(H - m, end[1]))];
    const { shape, angle } = randomShape(rng, 0, 0, radius);
    const texture = jitterTexture(classTexture(k, rng, hueOffset), rng);
    const centres: Point[] = [], scales: number[] = [];
    for (let t = 0; t < T; t++) {
      const a = T > 1 ? t / (T - 1) : 0;
      centres.push([start[0] + (end[0] - start[0]) * a, start[1] + (end[1] - start[1]) * a]);
      scales.push(s0 + (s1 - s0) * a);
    }
    tracks.push({ id: k, outline: shape, texture, centres, scales, angle });
  }
  const frames: RgbImage[] = [], masks: LabelMap[] = [];
  for (let t = 0; t < T; t++) {
    const layers: Layer[] = tracks.map((tr) => {
      const toImg = similarity(tr.scales[t], 0, tr.centres[t][0], tr.centres[t][1]);
      return { label: tr.id, shape: placeShape(tr.outline, toImg), colour: textured(tr.texture), toTexture: composeAffine(invertAffine(similarity(1, tr.angle, 0, 0)), invertAffine(toImg)) };
    });
    const { image, labels } = render(W, H, background, layers, grain, hash01(opts.seed, t, 99) * 2 ** 30 | 0, `synthetic:video#${opts.seed}/${t}`);
    frames.push(image);
    masks.push({ width: W, height: H, data: labels });
  }
  return { frames, masks, tracks };
}

/** A shape mapped through a similarity (ellipses stay ellipses, polygons map vertex-wise). */
export function placeShape(shape: Shape, m: Affine): Shape {
  if (shape.kind === 'polygon') return { kind: 'polygon', points: shape.points.map((p) => applyAffine(m, p)) };
  const s = Math.hypot(m[0], m[3]), rot = Math.atan2(m[3], m[0]);
  const [cx, cy] = applyAffine(m, [shape.cx, shape.cy]);
  return { kind: 'ellipse', cx, cy, rx: shape.rx * s, ry: shape.ry * s, angle: shape.angle + rot };
}
