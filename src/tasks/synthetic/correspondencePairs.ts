// Synthetic correspondence pairs: one object seen in two images under a known similarity/affine map, keypoints in both
// with visibility flags, masks and boxes — SPair-like.
import type { RgbImage } from '../../io/rgbImage.ts';
import type { LabelMap } from '../../probe/metrics/iou.ts';
import type { BoundingBox, Point } from '../../probe/metrics/pck.ts';
import { type Affine, applyAffine, composeAffine, invertAffine, similarity } from './affine.ts';
import { checkCount, dims, type ImageSize, type Layer, render, sceneBackground, textured } from './scene.ts';
import { SeededRandom } from './seededRandom.ts';
import { type Shape, shapeContains, starPolygon } from './shape.ts';
import { backgroundTexture, hsvToRgb, KINDS, type Rgb, sampleTexture, type Texture } from './texture.ts';

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
