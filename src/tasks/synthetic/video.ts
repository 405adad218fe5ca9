// Synthetic videos: objects translating and scaling over a static textured scene, per-frame instance masks
// (0 = background, 1..n) — DAVIS-like.
import type { RgbImage } from '../../io/rgbImage.ts';
import type { LabelMap } from '../../probe/metrics/iou.ts';
import type { Point } from '../../probe/metrics/pck.ts';
import { composeAffine, invertAffine, similarity } from './affine.ts';
import { checkCount, dims, type ImageSize, type Layer, render, sceneBackground, textured } from './scene.ts';
import { hash01, SeededRandom } from './seededRandom.ts';
import { placeShape, randomShape, type Shape } from './shape.ts';
import { classTexture, jitterTexture, type Texture } from './texture.ts';

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
