// Shapes of the synthetic objects (ellipses, star polygons): containment, placement under a similarity, random draws.
import type { Point } from '../../probe/metrics/pck.ts';
import { type Affine, applyAffine, similarity } from './affine.ts';
import type { SeededRandom } from './seededRandom.ts';

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

/** A shape mapped through a similarity (ellipses stay ellipses, polygons map vertex-wise). */
export function placeShape(shape: Shape, m: Affine): Shape {
  if (shape.kind === 'polygon') return { kind: 'polygon', points: shape.points.map((p) => applyAffine(m, p)) };
  const s = Math.hypot(m[0], m[3]), rot = Math.atan2(m[3], m[0]);
  const [cx, cy] = applyAffine(m, [shape.cx, shape.cy]);
  return { kind: 'ellipse', cx, cy, rx: shape.rx * s, ry: shape.ry * s, angle: shape.angle + rot };
}

/** A star-convex polygon around the origin with mean radius 1 (radii in [0.7, 1.15]). */
export function starPolygon(rng: SeededRandom): Point[] {
  const k = rng.int(5, 9), pts: Point[] = [];
  const angles = Array.from({ length: k }, (_, i) => (i + rng.range(0.15, 0.85)) * 2 * Math.PI / k);
  for (const a of angles) {
    const r = rng.range(0.7, 1.15);
    pts.push([r * Math.cos(a), r * Math.sin(a)]);
  }
  return pts;
}

/** A random shape (ellipse or star polygon) of nominal radius r centred at (cx, cy). */
export function randomShape(rng: SeededRandom, cx: number, cy: number, r: number): { shape: Shape; angle: number } {
  const angle = rng.range(0, Math.PI);
  if (rng.next() < 0.5) {
    const e = rng.range(0.6, 1);
    return { shape: { kind: 'ellipse', cx, cy, rx: r, ry: r * e, angle }, angle };
  }
  const m = similarity(r, angle, cx, cy);
  return { shape: { kind: 'polygon', points: starPolygon(rng).map((p) => applyAffine(m, p)) }, angle };
}
