// Token counts per image size against the spec's worked cases (HF processor formulas; 899×1024 → 6551 is HF's
// own integration test for LLaVA-OneVision-7B).
import { anyresLayout, LLAVA_NEXT_PINPOINTS, oneVisionPinpoints, selectBestResolution } from '../../src/models/processor/anyres.ts';
import { qwenImageGrid, roundHalfEven } from '../../src/models/processor/smartResize.ts';
import { assertEquals, assertThrows } from '../gpu/assert.ts';

const ov = { tile: 384, patchesPerSide: 27, pinpoints: oneVisionPinpoints(), maxTiles: 9 };
const next = { tile: 336, patchesPerSide: 24, pinpoints: LLAVA_NEXT_PINPOINTS };

Deno.test('LLaVA-OneVision anyres_max_9: best pinpoint, tiles and image tokens', () => {
  const cases: [number, number, string, number, number][] = [
    [384, 384, '384x384', 2, 1485], [336, 336, '384x384', 2, 1485], [224, 224, '384x384', 2, 1485], [50, 50, '384x384', 2, 1485],
    [480, 640, '768x768', 5, 2929], [512, 512, '768x768', 5, 3699], [600, 800, '768x1152', 7, 4725],
    [720, 1280, '768x1536', 9, 5967], [899, 1024, '1152x1152', 10, 6551], [1024, 1024, '1152x1152', 10, 7371],
    [1080, 1920, '1152x1920', 16, 7269], [1000, 300, '1152x384', 4, 2835], [3000, 4000, '1920x2304', 31, 7309],
  ];
  for (const [h, w, best, tiles, tokens] of cases) {
    const l = anyresLayout({ height: h, width: w }, ov);
    assertEquals(`${l.best.height}x${l.best.width}`, best, `${h}×${w} best`);
    assertEquals(l.tiles, tiles, `${h}×${w} tiles`);
    assertEquals(l.imageTokens, tokens, `${h}×${w} tokens`);
  }
});

Deno.test('Llama-3-LLaVA-NeXT anyres: best pinpoint, tiles and image tokens', () => {
  const cases: [number, number, string, number, number][] = [
    [336, 336, '336x672', 3, 1176], [224, 224, '336x672', 3, 1176], [50, 50, '336x672', 3, 1176],
    [384, 384, '672x672', 5, 2928], [512, 512, '672x672', 5, 2928], [1024, 1024, '672x672', 5, 2928],
    [480, 640, '672x672', 5, 2340], [600, 800, '672x672', 5, 2340], [768, 1024, '672x672', 5, 2340],
    [899, 1024, '672x672', 5, 2634], [1080, 1920, '672x672', 5, 1948], [720, 1280, '672x672', 5, 1948],
    [1000, 300, '1008x336', 4, 2232],
  ];
  for (const [h, w, best, tiles, tokens] of cases) {
    const l = anyresLayout({ height: h, width: w }, next);
    assertEquals(`${l.best.height}x${l.best.width}`, best, `${h}×${w} best`);
    assertEquals(l.tiles, tiles, `${h}×${w} tiles`);
    // processor: unpadded + newlines + (576 + 1) − 1 = base 576 + rows·(cols + 1)
    assertEquals(l.imageTokens, tokens, `${h}×${w} tokens`);
  }
});

Deno.test('Qwen2.5-VL smart_resize: resized size, grid and tokens', () => {
  const cases: [number, number, number, number, number][] = [
    [480, 640, 476, 644, 391], [899, 1024, 896, 1036, 1184], [1080, 1920, 1092, 1932, 2691], [720, 1280, 728, 1288, 1196],
    [384, 384, 392, 392, 196], [336, 336, 336, 336, 144], [224, 224, 224, 224, 64], [50, 50, 56, 56, 4], [28, 28, 56, 56, 4],
    [3000, 4000, 2996, 4004, 15301],
  ];
  for (const [h, w, rh, rw, tokens] of cases) {
    const g = qwenImageGrid(h, w);
    assertEquals([g.resized.height, g.resized.width, g.tokens], [rh, rw, tokens], `${h}×${w}`);
  }
  assertEquals(qwenImageGrid(480, 640).gridThw, [1, 34, 46]);
  assertEquals([roundHalfEven(0.5), roundHalfEven(1.5), roundHalfEven(2.5), roundHalfEven(2.4999)], [0, 2, 2, 2]);
});

Deno.test('zero-size images and empty pinpoints are clear errors', () => {
  assertThrows(() => selectBestResolution({ height: 0, width: 10 }, [[384, 384]]), /image of zero size/);
  assertThrows(() => selectBestResolution({ height: 10, width: 10 }, []), /pinpoints is empty/);
  assertThrows(() => qwenImageGrid(0, 5), /zero size/);
  assertThrows(() => qwenImageGrid(10, 2500), /aspect ratio must be smaller than 200/);
});
