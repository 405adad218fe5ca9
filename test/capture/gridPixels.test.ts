// Painting cells onto pixels and summarising pixels per cell, on a hand-checkable 2×3 grid over a 6×4 image.
import { cellsToPixels, pixelCells, pixelsToCells } from '../../src/capture/gridPixels.ts';
import { assertEquals } from '../gpu/assert.ts';

// 2 rows × 3 cols of 2×2-pixel cells over a 6×4 image
const rects = new Float32Array([0, 0, 2, 2, 2, 0, 4, 2, 4, 0, 6, 2, 0, 2, 2, 4, 2, 2, 4, 4, 4, 2, 6, 4]);

Deno.test('pixelCells: each pixel centre falls in exactly its cell', () => {
  const m = pixelCells(rects, 6, 4);
  assertEquals([...m], [0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 3, 3, 4, 4, 5, 5], 'cell map');
});

Deno.test('cellsToPixels paints, NaN rects leave the fill', () => {
  const r = new Float32Array(rects);
  r.fill(NaN, 20, 24); // cell 5 has no token
  const out = cellsToPixels(Uint8Array.from([1, 2, 3, 4, 5, 6]), r, 6, 4, 9);
  assertEquals([...out.slice(12, 18)], [4, 4, 5, 5, 9, 9], 'bottom row');
});

Deno.test('pixelsToCells: positive share per cell, ignore label excluded', () => {
  const labels = new Uint8Array(24);
  labels[0] = 1; labels[1] = 1; labels[6] = 255; // cell 0: 2 of 3 counted pixels positive
  labels[22] = 1; // cell 5: 1 of 4
  const f = pixelsToCells(labels, rects, 6, 4, (l) => l === 1);
  assertEquals([...f].map((x) => Math.round(x * 1000) / 1000), [0.667, 0, 0, 0, 0, 0.25], 'fractions');
});
