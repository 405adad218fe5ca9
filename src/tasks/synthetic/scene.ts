// Rendering a synthetic scene: coloured layers over a background, label = topmost layer containing the pixel centre.
// Ground truth is exact by construction: a pixel's colour is that layer's texture at the same point, so masks and
// pixels never disagree. Coordinates are continuous pixels: pixel (x, y) covers [x, x+1) × [y, y+1), centre (x + 0.5, y + 0.5).
import type { RgbImage } from '../../io/rgbImage.ts';
import { type Affine, applyAffine } from './affine.ts';
import { hash01, type SeededRandom } from './seededRandom.ts';
import { type Shape, shapeContains } from './shape.ts';
import { backgroundTexture, type Rgb, sampleTexture, type Texture } from './texture.ts';

export type ImageSize = number | { width: number; height: number };

export function dims(size: ImageSize, where: string): { W: number; H: number } {
  const W = typeof size === 'number' ? size : size.width, H = typeof size === 'number' ? size : size.height;
  if (!(Number.isInteger(W) && Number.isInteger(H) && W >= 16 && H >= 16)) throw new Error(`${where}: size must be integers ≥ 16 (width×height), got ${W}×${H}`);
  return { W, H };
}

export function checkCount(n: number, name: string, where: string, min = 1): void {
  if (!(Number.isInteger(n) && n >= min)) throw new Error(`${where}: ${name} must be an integer ≥ ${min}, got ${n}`);
}

/** A coloured shape placed in an image: its colour at a pixel point p is `colour`(`toTexture`(p)). */
export interface Layer {
  label: number;
  shape: Shape;
  colour: (u: number, v: number) => Rgb;
  toTexture: Affine;
}

export const textured = (t: Texture) => (u: number, v: number) => sampleTexture(t, u, v);

/**
 * Render layers bottom to top over a background function; label map = topmost layer containing the pixel centre.
 * `grain` adds per-pixel uniform noise of ±grain levels (seeded by `grainSeed`).
 */
export function render(W: number, H: number, background: (x: number, y: number) => Rgb, layers: readonly Layer[], grain: number, grainSeed: number, source: string): { image: RgbImage; labels: Uint8Array } {
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

/** Two background textures split by a slanted horizon ("sky" over "ground"), as in MSRC scenes. */
export function sceneBackground(rng: SeededRandom, W: number, H: number): (x: number, y: number) => Rgb {
  const top = backgroundTexture(rng), bottom = backgroundTexture(rng);
  const y0 = rng.range(0.3, 0.7) * H, slope = rng.range(-0.3, 0.3);
  return (x, y) => y < y0 + slope * (x - W / 2) ? sampleTexture(top, x, y) : sampleTexture(bottom, x, y);
}

/** Mark as `voidLabel` every pixel whose (2w+1)² neighbourhood holds another label (VOC-style band on outlines). */
export function voidBand(labels: Uint8Array, W: number, H: number, w: number, voidLabel: number): Uint8Array {
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
