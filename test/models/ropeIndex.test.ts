// HF get_rope_index (3D M-RoPE positions + rope_delta) and get_window_index (window permutation, cu_window_seqlens,
// cu_seqlens) against hand-worked cases: the spec's 480×640 example, two images (wide and tall), text only, and a
// 6×10 merged grid with partial windows followed by a 4×4 grid whose padding windows are empty.
import { ropeIndex } from '../../src/models/qwen2_5_vl/ropeIndex.ts';
import { inverseWindowIndex, windowLayout, windowRowPermutation } from '../../src/models/qwen2_5_vl/windowIndex.ts';
import { assert, assertEquals, assertThrows } from '../gpu/assert.ts';

const VS = 151652, VE = 151653, PAD = 151655;
const TOK = { imageTokenId: PAD, visionStartTokenId: VS, spatialMergeSize: 2 };

Deno.test('ropeIndex: the spec worked example (480×640 → grid 1×34×46, 17×23 merged tokens)', () => {
  const head = [151644, 8948, 198, 2610, 525, 264, 10950, 17847, 13, 151645, 198, 151644, 872, 198, 151652];
  const tail = [VE, 3838, 374, 419, 30]; // <|vision_end|> + 4 text tokens
  const ids = [...head, ...Array(391).fill(PAD), ...tail];
  const r = ropeIndex(ids, [[1, 34, 46]], TOK);
  const [t, h, w] = r.positions;
  for (let i = 0; i < 15; i++) assertEquals([t[i], h[i], w[i]], [i, i, i], `text position ${i}`);
  for (let k = 0; k < 391; k++) {
    const row = Math.floor(k / 23), col = k % 23;
    assertEquals([t[15 + k], h[15 + k], w[15 + k]], [15, 15 + row, 15 + col], `image token ${k} (r ${row}, c ${col})`);
  }
  assertEquals([t[406], h[406], w[406]], [38, 38, 38], '<|vision_end|>');
  for (let i = 1; i < 5; i++) assertEquals(t[406 + i], 38 + i, `text after the image ${i}`);
  assertEquals(r.ropeDelta, -368, 'rope_delta');
  assertEquals(r.images, [{ start: 15, length: 391, t: 1, rows: 17, cols: 23 }], 'image run');
});

Deno.test('ropeIndex: two images (2×3 wide, 3×1 tall) between text', () => {
  // a VS [2×3 pads] VE b c VS [3×1 pads] VE d
  const ids = [10, VS, ...Array(6).fill(PAD), VE, 11, 12, VS, ...Array(3).fill(PAD), VE, 13];
  const r = ropeIndex(ids, [[1, 4, 6], [1, 6, 2]], TOK);
  // hand-worked: image 1 at st 2 (h 2+r, w 2+c; max 4), text resumes at 5; image 2 at st 9 (h 9+r, w 9; max 11)
  assertEquals(r.positions[0], [0, 1, 2, 2, 2, 2, 2, 2, 5, 6, 7, 8, 9, 9, 9, 12, 13], 'temporal');
  assertEquals(r.positions[1], [0, 1, 2, 2, 2, 3, 3, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13], 'height');
  assertEquals(r.positions[2], [0, 1, 2, 3, 4, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13], 'width');
  assertEquals(r.ropeDelta, 14 - 17, 'rope_delta = max + 1 − S');
  assertEquals(r.images.map((i) => [i.start, i.length, i.rows, i.cols]), [[2, 6, 2, 3], [12, 3, 3, 1]], 'image runs');
});

Deno.test('ropeIndex: text only is 0..S−1 on all axes with delta 0', () => {
  const ids = [5, 6, 7, 8, 9];
  const r = ropeIndex(ids, [], TOK);
  for (const row of r.positions) assertEquals(row, [0, 1, 2, 3, 4], 'positions');
  assertEquals(r.ropeDelta, 0, 'rope_delta');
  assertEquals(ropeIndex([], [], TOK).ropeDelta, 0, 'empty');
});

Deno.test('ropeIndex: image pads without <|vision_start|>, or grids that do not match, are errors', () => {
  assertThrows(() => ropeIndex([1, ...Array(6).fill(PAD), VE], [[1, 4, 6]], TOK), /0 image\(s\).*image_grid_thw has 1/, 'no vision_start');
  assertThrows(() => ropeIndex([VS, ...Array(6).fill(PAD), VE], [], TOK), /1 image\(s\).*has 0/, 'no grid');
  assertThrows(() => ropeIndex([VS, PAD, PAD, VE], [[1, 4, 6]], TOK), /needs 6 tokens from position 1/, 'run too short');
  assertThrows(() => ropeIndex([VS, PAD, VE], [[1, 3, 2]], TOK), /not a multiple of spatial_merge_size 2/, 'odd grid');
});

Deno.test('windowLayout: 6×10 merged grid (partial windows) then a 4×4 grid (empty padding windows)', () => {
  const geo = { patchSize: 14, spatialMergeSize: 2, windowSize: 112 };
  const L = windowLayout([[1, 12, 20], [1, 8, 8]], geo);
  // image 1: windows of 4×4 merged tokens over 6×10, visited in raster order: 16, 16, 8 | 8, 8, 4 tokens
  const image1 = [
    0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23, 30, 31, 32, 33,
    4, 5, 6, 7, 14, 15, 16, 17, 24, 25, 26, 27, 34, 35, 36, 37,
    8, 9, 18, 19, 28, 29, 38, 39,
    40, 41, 42, 43, 50, 51, 52, 53,
    44, 45, 46, 47, 54, 55, 56, 57,
    48, 49, 58, 59,
  ];
  // image 2: 4×4 fits one window; HF pads a whole extra window row and column, which hold nothing
  const image2 = Array.from({ length: 16 }, (_, i) => 60 + i);
  assertEquals(L.windowIndex, [...image1, ...image2], 'window_index');
  assertEquals(L.cuWindowSeqlens, [0, 64, 128, 160, 192, 224, 240, 304], 'cu_window_seqlens (pixel rows; empty windows removed)');
  assertEquals(L.cuSeqlens, [0, 240, 304], 'cu_seqlens');
  assertEquals(L.mergedTokens, 76, 'merged tokens');
  const perm = windowRowPermutation(L, 2);
  assertEquals([...perm.slice(12, 20)], [12, 13, 14, 15, 40, 41, 42, 43], 'pixel rows follow their merged token');
  const inv = inverseWindowIndex(L);
  assertEquals([inv[4], inv[10], inv[59], inv[60]], [16, 4, 59, 60], 'argsort(window_index)');
  for (let i = 0; i < L.windowIndex.length; i++) assert(L.windowIndex[inv[i]] === i, `inverse at ${i}`);
  // two frames: the second frame's tokens follow the first's, one full-attention segment per frame
  const T = windowLayout([[2, 4, 4]], geo);
  assertEquals(T.windowIndex, [0, 1, 2, 3, 4, 5, 6, 7], 'frames');
  assertEquals(T.cuWindowSeqlens, [0, 16, 32], 'frame windows');
  assertEquals(T.cuSeqlens, [0, 16, 32], 'frame segments');
});
