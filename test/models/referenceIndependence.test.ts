// The float64 reference forwards (src/models/ref/) share no host logic with the GPU path: their imports are only
// sibling reference files, the op references, and types (config, model contract, Weights); and the host logic they
// re-derive from transformers (select_best_resolution, unpad_image, image_size_to_num_patches, get_rope_index,
// vision_feature_layer indexing) equals the production version on random inputs, so a bug on either side fails here
// even where the tiny model parity tests never reach it (e.g. a pinpoint tie).
import fc from 'fast-check';
import { featureHiddenStates } from '../../src/models/vision/vit.ts';
import { anyresLayout, LLAVA_NEXT_PINPOINTS, oneVisionPinpoints, selectBestResolution, unpadWindow } from '../../src/models/processor/anyres.ts';
import { ropeIndex } from '../../src/models/qwen2_5_vl/ropeIndex.ts';
import * as refAnyres from '../../src/models/ref/anyres.ts';
import { getRopeIndex } from '../../src/models/ref/getRopeIndex.ts';
import { featureLayers, type LlavaConfig } from '../../src/models/ref/llava.ts';
import { roundHalf } from '../../src/models/ref/f16.ts';
import { roundTo } from '../../src/gpu/dtype.ts';
import { assert, assertEquals } from '../gpu/assert.ts';

const REF_DIR = new URL('../../src/models/ref/', import.meta.url);

/** Specifiers a reference file may import values from: its siblings, the op references, the host tensor container. */
const VALUE_OK = [/^\.\/[A-Za-z0-9_]+\.ts$/, /^\.\.\/\.\.\/ops\/ref\/[A-Za-z0-9_]+\.ts$/, /^\.\.\/\.\.\/gpu\/hostTensor\.ts$/];
/** …and types from: config types, the activation kind, the model contract (and capture, where its types move), Weights. */
const TYPE_OK = [/^\.\.\/\.\.\/io\/config\.ts$/, /^\.\.\/\.\.\/ops\/activation\.ts$/, /^\.\.\/model\.ts$/, /^\.\.\/\.\.\/capture\/[A-Za-z0-9_]+\.ts$/, /^\.\.\/weights\.ts$/];

/** Every import / re-export / dynamic import of a source text that its allow-lists do not admit, as "specifier (what)". */
function forbiddenImports(source: string): string[] {
  const bad: string[] = [];
  const stmt = /(?:^|\n)\s*(import|export)\s+(type\s+)?([\s\S]*?)\s+from\s+'([^']+)'/g;
  for (const m of source.matchAll(stmt)) {
    const [, , typeKw, clause, spec] = m;
    // type-only when the whole clause is `type { … }` or every named item is `type X`
    const items = /^\{([\s\S]*)\}$/.exec(clause.trim())?.[1].split(',').map((s) => s.trim()).filter(Boolean);
    const typeOnly = !!typeKw || (!!items && items.length > 0 && items.every((i) => i.startsWith('type ')));
    const ok = VALUE_OK.some((r) => r.test(spec)) || (typeOnly && TYPE_OK.some((r) => r.test(spec)));
    if (!ok) bad.push(`${spec} (${typeOnly ? 'types' : 'values'}: ${clause.replace(/\s+/g, ' ').trim()})`);
  }
  for (const m of source.matchAll(/\bimport\s*\(\s*['"`]([^'"`]+)/g)) bad.push(`${m[1]} (dynamic import)`);
  for (const m of source.matchAll(/(?:^|\n)\s*import\s+'([^']+)'/g)) bad.push(`${m[1]} (side-effect import)`);
  return bad;
}

Deno.test('the import check rejects production host logic and admits the allowed kinds', () => {
  const src = [
    "import { ropePositions } from '../lm/decoder.ts';",
    "import type { DecoderNames } from '../lm/decoder.ts';",
    "import {\n  selectBestResolution,\n} from '../processor/anyres.ts';",
    "import { activationFromConfig } from '../../ops/activation.ts';",
    "import { type Weights, openWeights } from '../weights.ts';",
    "export { qwen2_5VLPlan } from '../qwen2_5_vl.ts';",
    "const m = await import('../vision/vit.ts');",
    "import type { TextConfig } from '../../io/config.ts';",
    "import type { Activation } from '../../ops/activation.ts';",
    "import { type ModelInputs } from '../model.ts';",
    "import { matmul } from '../../ops/ref/matmul.ts';",
    "import { act2fn } from './act2fn.ts';",
  ].join('\n');
  const bad = forbiddenImports(src);
  assertEquals(bad.map((b) => b.split(' ')[0]), [
    '../lm/decoder.ts', '../lm/decoder.ts', '../processor/anyres.ts', '../../ops/activation.ts', '../weights.ts', '../qwen2_5_vl.ts', '../vision/vit.ts',
  ], 'rejected specifiers');
});

Deno.test('src/models/ref/*.ts import no production host logic', async () => {
  const files: string[] = [];
  for await (const e of Deno.readDir(REF_DIR)) if (e.isFile && e.name.endsWith('.ts')) files.push(e.name);
  assert(files.length >= 5, `expected the reference files in ${REF_DIR.pathname}, found ${files.join(', ')}`);
  const bad = [];
  for (const f of files.sort()) for (const b of forbiddenImports(await Deno.readTextFile(new URL(f, REF_DIR)))) bad.push(`${f}: ${b}`);
  assertEquals(bad, [], 'forbidden imports');
});

const sizeArb = fc.integer({ min: 1, max: 3000 });
const pinArb = fc.tuple(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 8 })).map(([a, b]) => [a * 28, b * 28] as [number, number]);
/** Pinpoint lists with their tile: small multiples of 28 give many ties on effective area, repeats and mirrored
 *  pairs ties on waste too; NeXt's list scaled to a 28 tile; OneVision's 36 with its 384 tile. */
const pinSetArb = fc.oneof(
  fc.record({ tile: fc.constant(28), pins: fc.array(pinArb, { minLength: 1, maxLength: 12 }) }),
  fc.constant({ tile: 28, pins: LLAVA_NEXT_PINPOINTS.map(([h, w]) => [h / 12, w / 12] as [number, number]) }),
  fc.constant({ tile: 384, pins: oneVisionPinpoints() }),
);

Deno.test('select_best_resolution: production equals the reference (random sizes and pinpoint lists, ties included)', () => {
  fc.assert(fc.property(sizeArb, sizeArb, pinSetArb, (h, w, { pins }) => {
    const prod = selectBestResolution({ height: h, width: w }, pins), ref = refAnyres.selectBestResolution([h, w], pins);
    assertEquals([prod.height, prod.width], ref, `best pinpoint of ${h}×${w} among ${JSON.stringify(pins)}`);
  }), { numRuns: 3000, seed: 10 });
  // a square image below every pinpoint: equal effective and waste for (28, 56) and (56, 28), the first listed wins
  assertEquals(refAnyres.selectBestResolution([20, 20], [[28, 56], [56, 28], [56, 56]]), [28, 56], 'tie keeps the first');
});

Deno.test('anyres tiles and unpad_image: production equals the reference', () => {
  fc.assert(fc.property(sizeArb, sizeArb, pinSetArb, fc.integer({ min: 1, max: 6 }), (h, w, { tile, pins }, p) => {
    const layout = anyresLayout({ height: h, width: w }, { tile, patchesPerSide: p, pinpoints: pins });
    assertEquals(layout.tiles, refAnyres.imageSizeToNumPatches([h, w], pins, tile), `tiles of ${h}×${w}`);
    const [gh, gw] = refAnyres.anyresGridShape([h, w], pins, tile);
    assertEquals([layout.gridRows, layout.gridCols], [gh, gw], `crop grid of ${h}×${w}`);
    // unpad a map of (row, col) labels and read the surviving window off its corners
    const map = Array.from({ length: gh * p }, (_, r) => Array.from({ length: gw * p }, (_, c) => [r, c] as const));
    const kept = refAnyres.unpadImage(map, [h, w]);
    const win = unpadWindow({ height: gh * p, width: gw * p }, { height: h, width: w });
    const refWin = kept.length && kept[0].length
      ? { rowStart: kept[0][0][0], rowEnd: kept[kept.length - 1][0][0] + 1, colStart: kept[0][0][1], colEnd: kept[0][kept[0].length - 1][1] + 1 }
      : null;
    if (refWin) assertEquals(win, refWin, `unpad window of ${h}×${w} on ${gh * p}×${gw * p}`);
    else assert(win.rowEnd <= win.rowStart || win.colEnd <= win.colStart, `unpad of ${h}×${w}: the reference keeps nothing, production ${JSON.stringify(win)}`);
  }), { numRuns: 1500, seed: 11 });
});

/** A Qwen2.5-VL id sequence: text runs (ids 10..19), each image as <|vision_start|> then its pads then <|vision_end|>. */
const IMG = 7, START = 5, END = 6;
const qwenSeqArb = fc.array(
  fc.record({ before: fc.integer({ min: 0, max: 4 }), t: fc.integer({ min: 1, max: 2 }), h: fc.integer({ min: 1, max: 4 }), w: fc.integer({ min: 1, max: 4 }) }),
  { maxLength: 3 },
).chain((imgs) => fc.tuple(fc.constant(imgs), fc.integer({ min: 0, max: 5 }), fc.boolean()));

Deno.test('get_rope_index: production equals the reference (random text runs and image grids)', () => {
  fc.assert(fc.property(qwenSeqArb, ([imgs, after, leadStart]) => {
    const ids: number[] = [], grids: [number, number, number][] = [];
    for (const [k, g] of imgs.entries()) {
      // with `leadStart` the first <|vision_start|> opens the sequence (no text before the first image)
      const before = k === 0 && leadStart ? 0 : g.before;
      for (let i = 0; i < before; i++) ids.push(10 + ((i + k) % 10));
      ids.push(START, ...Array<number>(g.t * g.h * g.w).fill(IMG), END);
      grids.push([g.t, 2 * g.h, 2 * g.w]);
    }
    for (let i = 0; i < after; i++) ids.push(10 + i);
    if (!ids.length) ids.push(10);
    const tok = { imageTokenId: IMG, visionStartTokenId: START, spatialMergeSize: 2 };
    const prod = ropeIndex(ids, grids, tok), ref = getRopeIndex(ids, grids, tok);
    assertEquals(prod.positions, ref.positions, `positions of ${JSON.stringify(ids)} with grids ${JSON.stringify(grids)}`);
    assertEquals(prod.ropeDelta, ref.ropeDelta, 'rope_delta');
  }), { numRuns: 1500, seed: 12 });
});

Deno.test('get_rope_index reference on a worked case: text, a 2×3 merged image, text', () => {
  // ids: t t S [6 pads] E t ; text 0,1,2 ; image at st_idx 3: t=3, h=3+r, w=3+c ; E at max(5)+1 = 6, t at 7
  const ids = [10, 11, START, ...Array<number>(6).fill(IMG), END, 12];
  const r = getRopeIndex(ids, [[1, 4, 6]], { imageTokenId: IMG, visionStartTokenId: START, spatialMergeSize: 2 });
  assertEquals(r.positions, [
    [0, 1, 2, 3, 3, 3, 3, 3, 3, 6, 7],
    [0, 1, 2, 3, 3, 3, 4, 4, 4, 6, 7],
    [0, 1, 2, 3, 4, 5, 3, 4, 5, 6, 7],
  ], 'positions');
  assertEquals(r.ropeDelta, 8 - ids.length, 'rope_delta = max + 1 − S');
});

Deno.test('vision_feature_layer: production indices equal the reference (ints, lists, negatives)', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 30 }), fc.array(fc.integer({ min: -40, max: 40 }), { minLength: 1, maxLength: 4 }), fc.boolean(), (L, layers, asInt) => {
    const layer = asInt ? layers[0] : layers;
    const cfg = { vision_config: { num_hidden_layers: L }, vision_feature_layer: layer } as unknown as LlavaConfig;
    let prod: number[] | Error, ref: number[] | Error;
    try { prod = featureHiddenStates(layer, L); } catch (e) { prod = e as Error; }
    try { ref = featureLayers(cfg); } catch (e) { ref = e as Error; }
    if (prod instanceof Error || ref instanceof Error) {
      assert(prod instanceof Error && ref instanceof Error, `vision_feature_layer ${JSON.stringify(layer)} of ${L} layers: production ${prod}, reference ${ref}`);
    } else assertEquals(prod, ref, `vision_feature_layer ${JSON.stringify(layer)} of ${L} layers`);
  }), { numRuns: 2000, seed: 13 });
});

Deno.test('reference f16 rounding (from the binary16 definition) equals the GPU path codec on f32 inputs and edge cases', () => {
  const edges = [0, -0, 1, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 65504, 65519.99, 65520, -65520, 2 ** -24, 2 ** -25, 3 * 2 ** -25, 2 ** -14, 6e-5, -2.5e-7, Infinity];
  for (const x of edges) assertEquals(roundHalf(x), roundTo('f16', x), `roundHalf(${x})`);
  fc.assert(fc.property(fc.float({ noNaN: true }), (x) => Object.is(roundHalf(x), roundTo('f16', x)) || roundHalf(x) === roundTo('f16', x)), { numRuns: 20000 });
});
