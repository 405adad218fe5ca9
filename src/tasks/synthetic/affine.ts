// 2-D affine maps on continuous pixel coordinates: apply, invert, compose, similarity.
import type { Point } from '../../probe/metrics/pck.ts';

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
