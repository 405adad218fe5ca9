// Two-colour procedural textures (stripes, checkers, dots, value noise) and the palettes the synthetic sets draw:
// saturated class textures (hue by the golden ratio, patterns cycling) over desaturated backgrounds.
import { hash01, type SeededRandom } from './seededRandom.ts';

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

/** A random desaturated background texture (greys, browns, muted greens/blues). */
export function backgroundTexture(rng: SeededRandom): Texture {
  const hue = rng.next(), sat = rng.range(0.05, 0.22);
  return {
    kind: rng.pick(['noise', 'noise', 'stripes'] as const),
    colors: [hsvToRgb(hue, sat, rng.range(0.55, 0.8)), hsvToRgb(hue + rng.range(-0.05, 0.05), sat, rng.range(0.3, 0.5))],
    period: rng.range(8, 16),
    angle: rng.range(0, Math.PI),
    seed: rng.int(1, 1 << 30),
  };
}

const HUE_NAMES = ['red', 'orange', 'yellow', 'lime', 'green', 'teal', 'cyan', 'azure', 'blue', 'violet', 'magenta', 'pink'];
const KIND_NAMES: Record<TextureKind, string> = { stripes: 'striped', checkers: 'checkered', dots: 'dotted', noise: 'mottled' };
export const KINDS: readonly TextureKind[] = ['stripes', 'checkers', 'dots', 'noise'];

/** The texture of object class c (1-based): hues spread by the golden ratio, patterns cycling, saturated colours. */
export function classTexture(c: number, rng: SeededRandom, hueOffset: number): Texture {
  const hue = (hueOffset + (c - 1) * 0.6180339887) % 1;
  return {
    kind: KINDS[(c - 1) % KINDS.length],
    colors: [hsvToRgb(hue, 0.9, 0.95), hsvToRgb(hue + 0.04, 0.85, 0.5)],
    period: rng.range(3, 5),
    angle: rng.range(0, Math.PI),
    seed: rng.int(1, 1 << 30),
  };
}

export function textureName(t: Texture): string {
  const [r, g, b] = t.colors[0];
  const mx = Math.max(r, g, b), mn = Math.min(r, g, b), d = mx - mn;
  let h = 0;
  if (d > 0) h = mx === r ? ((g - b) / d + 6) % 6 : mx === g ? (b - r) / d + 2 : (r - g) / d + 4;
  return `${HUE_NAMES[Math.round(h * 2) % 12]} ${KIND_NAMES[t.kind]} object`;
}

/** Same pattern family with a per-instance twist: small rotation, new phase, colour jitter. */
export function jitterTexture(t: Texture, rng: SeededRandom): Texture {
  const ch = (v: number) => Math.max(0, Math.min(255, v + rng.range(-12, 12)));
  const j = (c: Rgb): Rgb => [ch(c[0]), ch(c[1]), ch(c[2])];
  return { ...t, colors: [j(t.colors[0]), j(t.colors[1])], angle: t.angle + rng.range(-0.4, 0.4), period: t.period * rng.range(0.9, 1.1), seed: rng.int(1, 1 << 30) };
}
