// Image processors: PIL resample (hand-derived 22-bit golden cases, float64 reference), preprocessor_config parsing,
// LLaVA-OneVision / LLaVA-NeXT anyres tiling (letterbox pad values, base squash, tile order), Qwen2.5-VL patch order.
import type { RgbImage } from '../../src/io/rgbImage.ts';
import { anyresLayout, LLAVA_NEXT_PINPOINTS, oneVisionPinpoints } from '../../src/models/processor/anyres.ts';
import { llavaAnyresSpec, llavaImageTokenCount, llavaPreprocess } from '../../src/models/processor/llavaImageProcessor.ts';
import { pilResize, pilResizeReference, resampleAxis } from '../../src/models/processor/pilResize.ts';
import {
  type LlavaImageProcessorConfig,
  OPENAI_CLIP_MEAN,
  OPENAI_CLIP_STD,
  parsePreprocessorConfig,
  type QwenImageProcessorConfig,
} from '../../src/models/processor/preprocessorConfig.ts';
import { qwenPatchPosition, qwenPatchPositions, qwenPreprocess } from '../../src/models/processor/qwenImageProcessor.ts';
import { assert, assertEquals, assertThrows } from '../gpu/assert.ts';

/** Deterministic xorshift32 bytes. */
function noiseImage(width: number, height: number, seed: number): RgbImage {
  let s = seed >>> 0 || 1;
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) {
    s ^= s << 13, s >>>= 0, s ^= s >>> 17, s ^= s << 5, s >>>= 0;
    data[i] = s & 255;
  }
  return { width, height, data, source: `noise${width}x${height}` };
}

/** A smooth image with an edge: gradients plus a bright disc. */
function smoothImage(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3, disc = (x - width / 2) ** 2 + (y - height / 3) ** 2 < (Math.min(width, height) / 4) ** 2;
      data[o] = Math.round((255 * x) / Math.max(1, width - 1));
      data[o + 1] = Math.round((255 * y) / Math.max(1, height - 1));
      data[o + 2] = disc ? 250 : 20;
    }
  }
  return { width, height, data, source: `smooth${width}x${height}` };
}

const fixtures = JSON.parse(await Deno.readTextFile(new URL('../fixtures/pil/resample_cases.json', import.meta.url))) as {
  cases: {
    name: string; filter: 'bicubic' | 'bilinear'; width: number; height: number; outWidth: number; outHeight: number;
    data: number[]; expected: number[]; floatRounded: number[]; fixedVsFloat: { channel: number; y: number; x: number; fixed: number; float: number }[];
  }[];
};

Deno.test('PIL resample: hand-derived 22-bit fixed-point golden cases', () => {
  assertEquals(fixtures.cases.length, 3, 'fixture cases');
  for (const c of fixtures.cases) {
    const img: RgbImage = { width: c.width, height: c.height, data: Uint8Array.from(c.data) };
    const got = pilResize(img, { width: c.outWidth, height: c.outHeight }, { filter: c.filter });
    assertEquals([got.width, got.height], [c.outWidth, c.outHeight], `${c.name} size`);
    assertEquals(Array.from(got.data), c.expected, `${c.name} fixed-point output`);
    // The float64 reference follows the float path, which these cases are chosen to tell apart from the integer path.
    const ref = pilResizeReference(img, { width: c.outWidth, height: c.outHeight }, { filter: c.filter });
    assertEquals(Array.from(ref.data), c.floatRounded, `${c.name} float64 reference`);
    assert(c.fixedVsFloat.length > 0, `${c.name}: a golden case must separate the fixed-point path from float`);
    for (const d of c.fixedVsFloat) {
      const i = (d.y * c.outWidth + d.x) * 3 + d.channel;
      assertEquals([got.data[i], ref.data[i]], [d.fixed, d.float], `${c.name} (${d.y}, ${d.x}, ch ${d.channel})`);
    }
  }
});

Deno.test('PIL resample: coefficients of 4 → 2 bicubic (hand-derived)', () => {
  // Centre of output 1 = 3.0, support 2·2 = 4 → taps 0..3 at kernel args −1.25, −0.75, −0.25, 0.25 (scaled by 1/2):
  // bicubic(a=−0.5) = −0.0703125, 0.2265625, 0.8671875, 0.8671875, sum 1.890625; ×2^22 / sum, rounded half away from 0.
  const ax = resampleAxis(4, 2, 'bicubic');
  assertEquals([ax.start[1], ax.count[1]], [0, 4], 'output 1 taps');
  assertEquals(Array.from(ax.fixed.subarray(ax.ksize, ax.ksize + 4)), [-155987, 502623, 1923834, 1923834], 'output 1 ints');
  assertEquals(Array.from(ax.fixed.subarray(0, 4)), [1923834, 1923834, 502623, -155987], 'output 0 ints');
  // 2 → 4 bilinear upscale: centres 0.25, 0.75, 1.25, 1.75; taps within support 1 of the centre.
  const up = resampleAxis(2, 4, 'bilinear');
  assertEquals(Array.from(up.count), [1, 2, 2, 1], 'bilinear 2→4 tap counts');
  assertEquals(Array.from(up.fixed.subarray(up.ksize, up.ksize + 2)), [0.75 * 2 ** 22, 0.25 * 2 ** 22], 'bilinear 2→4 output 1');
});

Deno.test('PIL resample: fixed point vs float64 reference within ±1 level, exact on most pixels', () => {
  const cases: [RgbImage, number, number][] = [
    [noiseImage(37, 23, 1), 11, 7], [noiseImage(13, 17, 2), 40, 33], [noiseImage(64, 48, 3), 27, 60],
    [smoothImage(97, 61), 384, 384], [smoothImage(120, 90), 31, 17], [noiseImage(5, 300, 4), 9, 21],
    [smoothImage(200, 3), 57, 5], [noiseImage(3, 400, 5), 2, 50],
  ];
  let total = 0, exact = 0;
  for (const filter of ['bicubic', 'bilinear'] as const) {
    for (const [img, w, h] of cases) {
      const a = pilResize(img, { width: w, height: h }, { filter }), b = pilResizeReference(img, { width: w, height: h }, { filter });
      for (let i = 0; i < a.data.length; i++) {
        const d = Math.abs(a.data[i] - b.data[i]);
        if (d > 1) throw new Error(`${img.source} → ${w}×${h} ${filter}: value ${i} differs by ${d}`);
        exact += d === 0 ? 1 : 0;
      }
      total += a.data.length;
    }
  }
  const share = exact / total;
  console.log(`pilResize vs float64 reference: ${exact}/${total} values exact (${(100 * share).toFixed(3)}%), the rest ±1`);
  assert(share > 0.99, `exact share ${share}`);
});

Deno.test('PIL resample: same size is a copy; tall images shrink vertically first; bad sizes are errors', () => {
  const img = noiseImage(6, 4, 9);
  const same = pilResize(img, { width: 6, height: 4 });
  assert(same.data !== img.data, 'a copy, not the same buffer');
  assertEquals(Array.from(same.data), Array.from(img.data), 'identity');
  // h > 100·w and the height shrinks: Pillow ≥ 12.2 runs the vertical pass first.
  const tall = noiseImage(2, 250, 10), target = { width: 3, height: 50 };
  const vFirst = pilResize(pilResize(tall, { width: 2, height: 50 }), target);
  const hFirst = pilResize(pilResize(tall, { width: 3, height: 250 }), target);
  assertEquals(Array.from(pilResize(tall, target).data), Array.from(vFirst.data), 'tall: vertical then horizontal');
  assertEquals(Array.from(pilResize(tall, target, { tallVerticalFirst: false }).data), Array.from(hFirst.data), 'older Pillow order');
  assert(vFirst.data.some((v, i) => v !== hFirst.data[i]), 'the two orders differ on this image');
  // Horizontal first is the normal order (one pass each).
  const wide = noiseImage(30, 20, 11);
  assertEquals(Array.from(pilResize(wide, { width: 7, height: 9 }).data),
    Array.from(pilResize(pilResize(wide, { width: 7, height: 20 }), { width: 7, height: 9 }).data), 'horizontal then vertical');
  assertThrows(() => pilResize({ width: 0, height: 3, data: new Uint8Array(0) }, { width: 2, height: 2 }), /at least 1×1/);
  assertThrows(() => pilResize(img, { width: 0, height: 2 }), /resize target must be positive integers/);
  assertThrows(() => pilResizeReference(img, { width: 3, height: 1.5 }), /resize target must be positive integers/);
});

// --- preprocessor_config.json ---

const ONEVISION_JSON = {
  do_convert_rgb: true, do_normalize: true, do_pad: true, do_rescale: true, do_resize: true,
  image_grid_pinpoints: oneVisionPinpoints(), image_mean: [0.5, 0.5, 0.5], image_processor_type: 'LlavaOnevisionImageProcessor',
  image_std: [0.5, 0.5, 0.5], processor_class: 'LlavaOnevisionProcessor', resample: 3, rescale_factor: 0.00392156862745098,
  size: { height: 384, width: 384 },
};
const NEXT_JSON = {
  crop_size: { height: 336, width: 336 }, do_center_crop: true, do_convert_rgb: true, do_normalize: true, do_pad: true,
  do_rescale: true, do_resize: true, image_grid_pinpoints: LLAVA_NEXT_PINPOINTS, image_mean: [...OPENAI_CLIP_MEAN],
  image_processor_type: 'LlavaNextImageProcessor', image_std: [...OPENAI_CLIP_STD], processor_class: 'LlavaNextProcessor',
  resample: 3, rescale_factor: 0.00392156862745098, size: { shortest_edge: 336 },
};
const QWEN_JSON = {
  min_pixels: 3136, max_pixels: 12845056, patch_size: 14, temporal_patch_size: 2, merge_size: 2,
  image_mean: [...OPENAI_CLIP_MEAN], image_std: [...OPENAI_CLIP_STD], image_processor_type: 'Qwen2VLImageProcessor',
  processor_class: 'Qwen2_5_VLProcessor',
};
const ov = parsePreprocessorConfig(JSON.stringify(ONEVISION_JSON)) as LlavaImageProcessorConfig;
const next = parsePreprocessorConfig(NEXT_JSON) as LlavaImageProcessorConfig;
const qwen = parsePreprocessorConfig(QWEN_JSON) as QwenImageProcessorConfig;

Deno.test('preprocessor_config: the three checkpoints, class defaults, newer size keys, errors', () => {
  assertEquals([ov.kind, ov.tile, ov.baseSize, ov.imageMean, ov.resample, ov.imageGridPinpoints.length], ['llava_onevision', 384, { height: 384, width: 384 }, [0.5, 0.5, 0.5], 'bicubic', 36]);
  assertEquals([next.kind, next.tile, next.baseSize, next.cropSize, next.doCenterCrop], ['llava_next', 336, { height: 336, width: 336 }, { height: 336, width: 336 }, true]);
  assertEquals([qwen.kind, qwen.minPixels, qwen.maxPixels, qwen.patchSize, qwen.temporalPatchSize, qwen.mergeSize], ['qwen2_vl', 3136, 12845056, 14, 2, 2]);
  // Class defaults for missing fields.
  const ovDefault = parsePreprocessorConfig({ image_processor_type: 'LlavaOnevisionImageProcessor' }) as LlavaImageProcessorConfig;
  assertEquals([ovDefault.baseSize, ovDefault.imageMean, ovDefault.rescaleFactor, ovDefault.doPad, ovDefault.imageGridPinpoints.length], [{ height: 384, width: 384 }, [...OPENAI_CLIP_MEAN], 1 / 255, true, 36]);
  const nextDefault = parsePreprocessorConfig({ image_processor_type: 'LlavaNextImageProcessorFast' }) as LlavaImageProcessorConfig;
  assertEquals([nextDefault.size, nextDefault.cropSize, nextDefault.tile, nextDefault.imageGridPinpoints], [{ shortestEdge: 224 }, { height: 224, width: 224 }, 224, LLAVA_NEXT_PINPOINTS]);
  const qDefault = parsePreprocessorConfig({}, { assume: 'Qwen2_5_VLImageProcessor' }) as QwenImageProcessorConfig;
  assertEquals([qDefault.minPixels, qDefault.maxPixels, qDefault.imageStd], [3136, 1003520, [...OPENAI_CLIP_STD]]);
  // Newer saves: size.{shortest,longest}_edge in pixels; legacy min/max_pixels win when both are present.
  const qNew = parsePreprocessorConfig({ image_processor_type: 'Qwen2VLImageProcessor', size: { shortest_edge: 6272, longest_edge: 802816 } }) as QwenImageProcessorConfig;
  assertEquals([qNew.minPixels, qNew.maxPixels], [6272, 802816]);
  const qBoth = parsePreprocessorConfig({ ...QWEN_JSON, size: { shortest_edge: 6272, longest_edge: 802816 } }) as QwenImageProcessorConfig;
  assertEquals([qBoth.minPixels, qBoth.maxPixels], [3136, 12845056]);
  // Int sizes: crop_size square, size → shortest_edge.
  const ints = parsePreprocessorConfig({ image_processor_type: 'LlavaNextImageProcessor', size: 336, crop_size: 336 }) as LlavaImageProcessorConfig;
  assertEquals([ints.size, ints.cropSize], [{ shortestEdge: 336 }, { height: 336, width: 336 }]);

  const f = { file: 'ckpt/preprocessor_config.json' };
  assertThrows(() => parsePreprocessorConfig({ ...ONEVISION_JSON, image_mean: [0.5, 0.5] }, f), /ckpt\/preprocessor_config\.json: field 'image_mean'/);
  assertThrows(() => parsePreprocessorConfig({ ...NEXT_JSON, image_std: [0.2, 0, 0.2] }, f), /field 'image_std': expected non-zero/);
  assertThrows(() => parsePreprocessorConfig({ ...ONEVISION_JSON, resample: 1 }, f), /field 'resample'/);
  assertThrows(() => parsePreprocessorConfig({ ...ONEVISION_JSON, image_grid_pinpoints: [[384]] }, f), /field 'image_grid_pinpoints'/);
  assertThrows(() => parsePreprocessorConfig({ ...ONEVISION_JSON, size: { height: -1, width: 384 } }, f), /field 'size': expected a positive integer/);
  assertThrows(() => parsePreprocessorConfig({ ...QWEN_JSON, max_pixels: 'many' }, f), /field 'max_pixels'/);
  assertThrows(() => parsePreprocessorConfig({ image_processor_type: 'Qwen2VLImageProcessor', size: { shortest_edge: 3136 } }, f), /field 'size'/);
  assertThrows(() => parsePreprocessorConfig({ image_processor_type: 'CLIPImageProcessor' }, f), /field 'image_processor_type'/);
  assertThrows(() => parsePreprocessorConfig({}, f), /field 'image_processor_type'/);
  assertThrows(() => parsePreprocessorConfig('{oops', f), /ckpt\/preprocessor_config\.json: not valid JSON/);
});

// --- LLaVA anyres ---

/** Expected normalised value of byte u in channel c, computed as HF does (f64 rescale → f32, f32 normalise). */
function norm(u: number, c: number, cfg: LlavaImageProcessorConfig | QwenImageProcessorConfig): number {
  const x = Math.fround(u * cfg.rescaleFactor);
  return Math.fround(Math.fround(x - Math.fround(cfg.imageMean[c])) / Math.fround(cfg.imageStd[c]));
}

/** Check every tile of `llavaPreprocess` against a canvas rebuilt here: resized image letterboxed with 0. */
function checkAnyresTiles(img: RgbImage, cfg: LlavaImageProcessorConfig) {
  const out = llavaPreprocess(img, cfg);
  const layout = out.layout!;
  const S = cfg.tile, [tiles, ch, sh, sw] = out.pixelValues.shape;
  assertEquals([tiles, ch, sh, sw], [layout.tiles, 3, S, S], `${img.source} shape`);
  assertEquals(out.imageSize, [img.height, img.width], 'image_sizes');
  const { height: ph, width: pw } = layout.best;
  // get_patch_output_size, then centred padding with floor for top/left.
  const sW = pw / img.width, sH = ph / img.height;
  const nh = sW < sH ? Math.min(Math.ceil(img.height * sW), ph) : ph, nw = sW < sH ? pw : Math.min(Math.ceil(img.width * sH), pw);
  const top = (ph - nh) >> 1, left = (pw - nw) >> 1;
  const resized = pilResize(img, { height: nh, width: nw });
  const base = pilResize(img, { height: S, width: S });
  let padded = 0;
  for (let t = 0; t < tiles; t++) {
    const tr = Math.floor((t - 1) / layout.gridCols), tc = (t - 1) % layout.gridCols;
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < S; y++) {
        for (let x = 0; x < S; x++) {
          let u: number;
          if (t === 0) u = base.data[(y * S + x) * 3 + c];
          else {
            const cy = tr * S + y - top, cx = tc * S + x - left;
            const inside = cy >= 0 && cy < nh && cx >= 0 && cx < nw;
            u = inside ? resized.data[(cy * nw + cx) * 3 + c] : 0;
            if (!inside && c === 0) padded++;
          }
          const got = out.pixelValues.data[((t * 3 + c) * S + y) * S + x];
          if (got !== norm(u, c, cfg)) throw new Error(`${img.source} tile ${t} ch ${c} (${y}, ${x}): got ${got}, want ${norm(u, c, cfg)} (byte ${u})`);
        }
      }
    }
  }
  return { out, padded, top, left, nh, nw };
}

Deno.test('LLaVA-OneVision anyres: letterbox pad (0 − mean)/std, base squash, crops in raster order', () => {
  const r = checkAnyresTiles(smoothImage(1000, 300), ov); // H 300, W 1000 → pinpoint 384×1152, letterboxed top/bottom
  assertEquals(`${r.out.layout!.best.height}x${r.out.layout!.best.width}`, '384x1152', 'pinpoint');
  assert(r.padded > 0 && r.top > 0, 'this image is letterboxed');
  // Padded pixels normalise to (0 − 0.5)/0.5 = −1.
  assertEquals(r.out.pixelValues.data[(1 * 3 + 0) * 384 * 384], -1, 'OneVision pad value');
});

Deno.test('LLaVA-NeXT anyres: CLIP pad value, 50×50 → 336×672 (3 tiles), tall image 1008×336', () => {
  const small = checkAnyresTiles(smoothImage(50, 50), next);
  assertEquals(small.out.pixelValues.shape, [3, 3, 336, 336], '50×50 shape');
  const tall = checkAnyresTiles(smoothImage(300, 1000), next);
  assertEquals(`${tall.out.layout!.best.height}x${tall.out.layout!.best.width}`, '1008x336', 'tall pinpoint');
  assert(tall.padded > 0 && tall.left > 0, 'letterboxed left/right');
  for (let c = 0; c < 3; c++) {
    const v = tall.out.pixelValues.data[((1 * 3 + c) * 336 + 100) * 336 + 0];
    assertEquals(v, Math.fround(Math.fround(0 - Math.fround(OPENAI_CLIP_MEAN[c])) / Math.fround(OPENAI_CLIP_STD[c])), `NeXT pad ch ${c}`);
  }
});

Deno.test('LLaVA-OneVision 899×1024: pixel_values [10, 3, 384, 384] in under 5 s', () => {
  const img = smoothImage(1024, 899);
  const t0 = performance.now();
  const out = llavaPreprocess(img, ov);
  const ms = performance.now() - t0;
  console.log(`OneVision preprocess 899×1024: ${ms.toFixed(0)} ms`);
  assertEquals(out.pixelValues.shape, [10, 3, 384, 384], 'shape');
  assertEquals(out.layout!.imageTokens, 6551, 'tokens');
  assert(ms < 5000, `took ${ms} ms`);
  // Spot-check the base tile against a direct squash resize.
  const base = pilResize(img, { height: 384, width: 384 });
  for (const [y, x, c] of [[0, 0, 0], [100, 200, 2], [383, 383, 1]]) {
    assertEquals(out.pixelValues.data[(c * 384 + y) * 384 + x], norm(base.data[(y * 384 + x) * 3 + c], c, ov), `base (${y}, ${x}, ${c})`);
  }
});

Deno.test('LLaVA-OneVision multi-image: square pad with 127, one tile', () => {
  const img = smoothImage(60, 20); // H 20, W 60 → 60×60 square, rows 20..39 hold the image
  const out = llavaPreprocess(img, ov, { multiImage: true });
  assertEquals([out.pixelValues.shape, out.layout], [[1, 3, 384, 384], null]);
  const square: RgbImage = { width: 60, height: 60, data: new Uint8Array(60 * 60 * 3).fill(127) };
  square.data.set(img.data, 20 * 60 * 3);
  const want = pilResize(square, { height: 384, width: 384 });
  for (let i = 0; i < 384 * 384; i++) {
    for (let c = 0; c < 3; c++) {
      const got = out.pixelValues.data[c * 384 * 384 + i], w = norm(want.data[i * 3 + c], c, ov);
      if (got !== w) throw new Error(`multi-image pixel ${i} ch ${c}: got ${got}, want ${w}`);
    }
  }
  assertEquals(out.pixelValues.data[0], norm(127, 0, ov), 'top-left is background 127');
  assertThrows(() => llavaPreprocess(img, next, { multiImage: true }), /multi-image mode exists only/);
});

Deno.test('LLaVA image token counts (spec worked tables) and zero-size errors', () => {
  const ovSpec = llavaAnyresSpec(ov), nextSpec = llavaAnyresSpec(next);
  assertEquals([ovSpec.patchesPerSide, ovSpec.maxTiles, nextSpec.patchesPerSide, nextSpec.maxTiles], [27, 9, 24, undefined]);
  const ovCases: [number, number, number][] = [[384, 384, 1485], [50, 50, 1485], [480, 640, 2929], [512, 512, 3699], [600, 800, 4725],
    [720, 1280, 5967], [899, 1024, 6551], [1024, 1024, 7371], [1080, 1920, 7269], [1000, 300, 2835], [3000, 4000, 7309]];
  for (const [h, w, n] of ovCases) assertEquals(llavaImageTokenCount({ height: h, width: w }, ovSpec), n, `OV ${h}×${w}`);
  const nextCases: [number, number, number][] = [[336, 336, 1176], [50, 50, 1176], [384, 384, 2928], [480, 640, 2340], [899, 1024, 2634],
    [1080, 1920, 1948], [1000, 300, 2232]];
  for (const [h, w, n] of nextCases) assertEquals(llavaImageTokenCount({ height: h, width: w }, nextSpec), n, `NeXT ${h}×${w}`);
  assertEquals(llavaImageTokenCount({ height: 20, width: 60 }, ovSpec, true), 730, 'multi-image');
  assertEquals(anyresLayout({ height: 899, width: 1024 }, ovSpec).tiles, 10);
  const empty: RgbImage = { width: 0, height: 10, data: new Uint8Array(0), source: 'empty.png' };
  assertThrows(() => llavaPreprocess(empty, ov), /empty\.png.*at least 1×1/);
  assertThrows(() => qwenPreprocess(empty, qwen), /empty\.png.*at least 1×1/);
  assertThrows(() => llavaImageTokenCount({ height: 0, width: 5 }, ovSpec, true), /zero size/);
});

// --- Qwen2.5-VL ---

Deno.test('Qwen2.5-VL: merge-block patch order, 2 identical frames, position inverse', () => {
  // 56×84 is already a multiple of 28 (smart_resize keeps it), so pixel (y, x) keeps R = x, G = y, B = x + y.
  const W = 84, H = 56, data = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data.set([x, y, x + y], (y * W + x) * 3);
  const raw = { ...qwen, doRescale: false, doNormalize: false };
  const out = qwenPreprocess({ width: W, height: H, data }, raw);
  assertEquals([out.gridThw, out.pixelValues.shape, out.resized], [[1, 4, 6], [24, 1176], { height: 56, width: 84 }]);
  // Rows: 2×2 blocks raster over the 2×3 block grid, inside a block (0,0), (0,1), (1,0), (1,1).
  const firstRows = Array.from({ length: 8 }, (_, r) => qwenPatchPosition(r, out.gridThw));
  assertEquals(firstRows.map((p) => [p.row, p.col]), [[0, 0], [0, 1], [1, 0], [1, 1], [0, 2], [0, 3], [1, 2], [1, 3]]);
  const seen = new Set<string>();
  for (let r = 0; r < 24; r++) {
    const { row, col } = qwenPatchPosition(r, out.gridThw);
    seen.add(`${row},${col}`);
    for (let c = 0; c < 3; c++) {
      for (let t = 0; t < 2; t++) {
        for (let py = 0; py < 14; py++) {
          for (let px = 0; px < 14; px++) {
            const x = col * 14 + px, y = row * 14 + py;
            const want = [x, y, x + y][c];
            const got = out.pixelValues.data[r * 1176 + ((c * 2 + t) * 14 + py) * 14 + px];
            if (got !== want) throw new Error(`row ${r} (patch ${row},${col}) c ${c} t ${t} (${py},${px}): got ${got}, want ${want}`);
          }
        }
      }
    }
  }
  assertEquals(seen.size, 24, 'every patch exactly once');
  assertEquals(Array.from(qwenPatchPositions(out.gridThw).subarray(0, 10)), [0, 0, 0, 1, 1, 0, 1, 1, 0, 2]);
  // Normalised run: CLIP mean/std applied per channel.
  const normed = qwenPreprocess({ width: W, height: H, data }, qwen);
  assertEquals(normed.pixelValues.data[1 * 1176 + (1 * 2 + 1) * 196 + 3 * 14 + 5], norm(3, 1, qwen), 'row 1 = patch (0,1): G at py 3 = y 3');
  assertThrows(() => qwenPatchPosition(24, out.gridThw), /outside/);
});

Deno.test('Qwen2.5-VL: smart_resize + bicubic shapes', () => {
  const img = smoothImage(640, 480);
  const out = qwenPreprocess(img, qwen);
  assertEquals([out.gridThw, out.pixelValues.shape, out.resized], [[1, 34, 46], [1564, 1176], { height: 476, width: 644 }]);
  // Row 0 = patch (0, 0) of the bicubic-resized image, channel 0, frame 0, first row of 14 pixels.
  const resized = pilResize(img, { height: 476, width: 644 });
  for (let px = 0; px < 14; px++) assertEquals(out.pixelValues.data[px], norm(resized.data[px * 3], 0, qwen), `px ${px}`);
  // Frame 1 equals frame 0.
  assertEquals(Array.from(out.pixelValues.data.subarray(196, 392)), Array.from(out.pixelValues.data.subarray(0, 196)), 'temporal copy');
  assertThrows(() => qwenPreprocess({ width: 50, height: 50, data: new Uint8Array(7500) }, { ...qwen, doResize: false }), /not a multiple of patch_size·merge_size/);
});
