// The standalone SigLIP encoder baseline ("SigLIP without MLM fine-tuning") on tiny random checkpoints in HF's
// SiglipModel / SiglipVisionModel layouts: GPU features against the float64 ViT reference (last encoder layer, no
// post_layernorm) on a non-square image, F32 and BF16; preprocessing against a hand computation (pilResize squash,
// rescale, normalise) with the checkpoint's own mean/std and filter; rects tiling the image (and ending short when
// patch_size does not divide image_size); text tower, logit_scale/bias and pooling head ignored; the
// siglip_vision_model layout; clear errors; make-tiny; and the probe framework's sweepImage with tap siglip.
import { makeTiny } from '../../harness/cli/modelCommands.ts';
import { acquireGpu } from '../../src/gpu/device.ts';
import type { FeatureMap } from '../../src/capture/features.ts';
import type { RgbImage } from '../../src/io/rgbImage.ts';
import { openCheckpoint } from '../../src/io/safetensors.ts';
import { layerNorm } from '../../src/ops/ref/norm.ts';
import { pilResize } from '../../src/models/processor/pilResize.ts';
import { loadVitRef, vitForwardRef } from '../../src/models/ref/vit.ts';
import { loadModel } from '../../src/models/registry.ts';
import { SiglipEncoder } from '../../src/models/siglipEncoder.ts';
import { writeTinyLlavaOnevision } from '../../src/models/tiny/tinyLlava.ts';
import { writeTinySiglip } from '../../src/models/tiny/tinySiglip.ts';
import { Weights } from '../../src/models/weights.ts';
import { sweepImage } from '../../src/tasks/featureSweep.ts';
import type { ProbeContext } from '../../src/tasks/task.ts';
import { assert, assertEquals, assertNormwise, assertRejects, normwiseError } from '../gpu/assert.ts';
import { testPicture } from './testPicture.ts';

const gpu = await acquireGpu();
gpu.poisonNewTensors = true; // an output row a kernel leaves unwritten reads as NaN
const opts = { sanitizeResources: false, sanitizeOps: false };
const tmp = await Deno.makeTempDir({ prefix: 'kvscope-siglip-' });
globalThis.addEventListener('unload', () => Deno.removeSync(tmp, { recursive: true }));

// f32 GPU vs float64 reference, normwise: max |got − want| ≤ REL · max |want| (as the LLaVA tests).
const REL = 1e-5;

async function readMap(m: FeatureMap): Promise<Float32Array> {
  return (await m.features.read()) as Float32Array;
}

async function features(enc: SiglipEncoder, img: RgbImage): Promise<{ map: FeatureMap; values: Float32Array }> {
  const map = await enc.features(img);
  return { map, values: await readMap(map) };
}

/** The reference's last-layer features of `img` (through the encoder's own preprocessing), and its post-LN variant. */
async function reference(dir: string, enc: SiglipEncoder, img: RgbImage) {
  const cfg = enc.config, L = cfg.num_hidden_layers;
  const weights = new Weights(await openCheckpoint(dir));
  const w = await loadVitRef(weights, cfg, { prefix: 'vision_model.', layerCount: L });
  const pixels = enc.preprocess(img);
  const out = vitForwardRef(w, cfg, pixels, { hiddenStates: [L], dropCls: false });
  const postLn = layerNorm(out.features, await weights.host('vision_model.post_layernorm.weight'), await weights.host('vision_model.post_layernorm.bias'), cfg.layer_norm_eps);
  const previous = L > 1 ? out.layerOutputs[L - 2] : null;
  return { last: out.features, postLn, previous };
}

/** Every file of `src` copied to `dst`, with `edit` applied to the named JSON files. */
async function copyWith(src: string, dst: string, edit: Record<string, (j: Record<string, unknown>) => void>): Promise<string> {
  await Deno.mkdir(dst, { recursive: true });
  for await (const e of Deno.readDir(src)) if (e.isFile) await Deno.copyFile(`${src}/${e.name}`, `${dst}/${e.name}`);
  for (const [name, f] of Object.entries(edit)) {
    const j = JSON.parse(await Deno.readTextFile(`${dst}/${name}`));
    f(j);
    await Deno.writeTextFile(`${dst}/${name}`, JSON.stringify(j, null, 2));
  }
  return dst;
}

const IMG = testPicture(31, 45, 3); // non-square: 45 wide, 31 high; squashed to 42×42
const full = `${tmp}/siglip-full`, visionOnly = `${tmp}/siglip-vision-tensors`, bare = `${tmp}/siglip-vision-model`;
const fullCfg = await writeTinySiglip(full, { seed: 21, withTextTower: true });
await writeTinySiglip(visionOnly, { seed: 21 });
await writeTinySiglip(bare, { seed: 21, modelType: 'siglip_vision_model' });
const enc = await SiglipEncoder.load(gpu, full);

Deno.test({ name: 'siglip: GPU features equal the float64 reference (last layer, no post_layernorm), F32 and BF16, non-square image', ...opts, async fn() {
  assertEquals([fullCfg.image_size, fullCfg.patch_size, fullCfg.hidden_size, fullCfg.num_hidden_layers, fullCfg.vision_use_head], [42, 14, 32, 2, true], 'tiny config');
  const { map, values } = await features(enc, IMG);
  assertEquals([map.tap, map.rows, map.cols, map.dim, map.grid, map.image], ['siglip.out', 3, 3, 32, 'main', 0], 'map header');
  assertEquals([...map.features.shape], [3, 3, 32], 'features shape');
  assertEquals([...map.valid], Array(9).fill(1), 'every cell valid');
  assertEquals(map.imageSize, { height: 31, width: 45 }, 'image size');
  const ref = await reference(full, enc, IMG);
  const rel = assertNormwise(values, ref.last.data, REL, 'f32 features');
  // the comparison tells the choices apart: post_layernorm applied, or one layer short, are far outside REL
  const postLn = normwiseError(values, ref.postLn.data, 'vs post_layernorm');
  const short = normwiseError(values, ref.previous!.data, 'vs layer L−1');
  assert(postLn > 100 * REL && short > 100 * REL, `post-LN error ${postLn}, layer L−1 error ${short}: the reference should separate them`);
  map.dispose();

  const bf = `${tmp}/siglip-bf16`;
  await writeTinySiglip(bf, { seed: 22, withTextTower: true, dtype: 'BF16' });
  const encBf = await SiglipEncoder.load(gpu, bf);
  const got = await features(encBf, IMG);
  const relBf = assertNormwise(got.values, (await reference(bf, encBf, IMG)).last.data, REL, 'bf16 features');
  got.map.dispose();
  encBf.dispose();
  console.log(`siglip features vs reference: f32 ${rel.toExponential(2)}, bf16 weights ${relBf.toExponential(2)} (REL ${REL}); post-LN ${postLn.toFixed(2)}, layer L−1 ${short.toFixed(2)}`);
} });

Deno.test({ name: 'siglip: preprocessing equals a hand computation (pilResize squash, rescale 1/255, normalise) on a few pixels', ...opts, async fn() {
  const s = 42, picks: [number, number, number][] = [[0, 0, 0], [1, 17, 5], [2, 41, 41], [0, 20, 33], [2, 3, 40], [1, 41, 0]];
  const check = (e: SiglipEncoder, filter: 'bicubic' | 'bilinear', mean: number[], std: number[], what: string) => {
    const px = e.preprocess(IMG);
    assertEquals(px.shape, [1, 3, s, s], `${what}: pixel_values shape`);
    const r = pilResize(IMG, { height: s, width: s }, { filter });
    for (const [c, y, x] of picks) {
      // float64 by hand: (v / 255 − mean) / std, channel-first layout
      const want = (r.data[(y * s + x) * 3 + c] / 255 - mean[c]) / std[c];
      const got = px.data[(c * s + y) * s + x];
      assert(Math.abs(got - want) <= 1e-6, `${what}: pixel (c ${c}, y ${y}, x ${x}) = ${got}, hand ${want}`);
    }
    return px.data;
  };
  const plain = check(enc, 'bicubic', [0.5, 0.5, 0.5], [0.5, 0.5, 0.5], 'SigLIP defaults');
  assertEquals(enc.preprocessing.resample, 'bicubic', 'resample 3 is bicubic');

  // the checkpoint's own mean/std per channel, and resample 2 (bilinear), are honoured
  const mean = [0.48145466, 0.4578275, 0.40821073], std = [0.26862954, 0.26130258, 0.27577711];
  const other = await SiglipEncoder.load(gpu, await copyWith(visionOnly, `${tmp}/siglip-clip-norm`, {
    'preprocessor_config.json': (j) => Object.assign(j, { image_mean: mean, image_std: std, resample: 2 }),
  }));
  const bilinear = check(other, 'bilinear', mean, std, 'CLIP mean/std, bilinear');
  assert(bilinear.some((v, i) => v !== plain[i]), 'a different normalisation changes pixel_values');
  other.dispose();
  // a pixel value by hand with nothing but arithmetic: a uniform image stays uniform through the resize
  const grey: RgbImage = { width: 7, height: 60, data: new Uint8Array(7 * 60 * 3).fill(200), source: 'grey' };
  const g = enc.preprocess(grey).data;
  assert(g.every((v) => Math.abs(v - (200 / 255 - 0.5) / 0.5) <= 1e-6), `uniform 200 → ${(200 / 255 - 0.5) / 0.5}, got ${g[0]}`);
} });

Deno.test({ name: 'siglip: rects tile the image; with patch_size not dividing image_size they end where the conv stops', ...opts, async fn() {
  const tiles = (m: FeatureMap, width: number, height: number, what: string) => {
    const g = m.rows;
    assertEquals(m.rects.length, g * g * 4, `${what}: rect count`);
    let area = 0;
    for (let r = 0; r < g; r++) {
      for (let c = 0; c < g; c++) {
        const [x0, y0, x1, y1] = m.rects.subarray((r * g + c) * 4, (r * g + c + 1) * 4);
        assert(x1 > x0 && y1 > y0, `${what}: cell (${r}, ${c}) is empty`);
        // left and top edges meet the previous cell's right and bottom edges exactly
        assertEquals(x0, c === 0 ? 0 : m.rects[(r * g + c - 1) * 4 + 2], `${what}: cell (${r}, ${c}) x0`);
        assertEquals(y0, r === 0 ? 0 : m.rects[((r - 1) * g + c) * 4 + 3], `${what}: cell (${r}, ${c}) y0`);
        if (c === g - 1) assertEquals(x1, Math.fround(width), `${what}: row ${r} right edge`);
        if (r === g - 1) assertEquals(y1, Math.fround(height), `${what}: column ${c} bottom edge`);
        area += (x1 - x0) * (y1 - y0);
      }
    }
    assert(Math.abs(area - width * height) <= 1e-3 * width * height, `${what}: cells cover ${area} of ${width * height} px²`);
  };
  const { map } = await features(enc, IMG);
  tiles(map, 45, 31, '42 px / patch 14');
  assertEquals([...map.rects.subarray(0, 4)], [0, 0, 15, 31 / 3].map(Math.fround), 'first cell: one third of the image each way');
  map.dispose();

  // image_size 44, patch 14 (so400m's 384 / 14 case): a 3×3 grid over the first 42 of 44 resized pixels
  const dir = await copyWith(bare, `${tmp}/siglip-44`, {
    'config.json': (j) => (j.image_size = 44),
    'preprocessor_config.json': (j) => (j.size = { height: 44, width: 44 }),
  });
  const e44 = await SiglipEncoder.load(gpu, dir);
  const got = await features(e44, IMG);
  assertEquals([got.map.rows, got.map.cols], [3, 3], 'grid floor(44 / 14)');
  tiles(got.map, 45 * 42 / 44, 31 * 42 / 44, '44 px / patch 14');
  assertNormwise(got.values, (await reference(dir, e44, IMG)).last.data, REL, '44 px features');
  got.map.dispose();
  e44.dispose();
} });

Deno.test({ name: 'siglip: the text tower, logit_scale/bias and the pooling head are in the file and ignored; siglip_vision_model loads', ...opts, async fn() {
  const names = (await openCheckpoint(full)).tensorNames();
  for (const n of ['text_model.embeddings.token_embedding.weight', 'text_model.encoder.layers.0.mlp.fc2.weight', 'text_model.head.weight', 'logit_scale', 'logit_bias', 'vision_model.head.probe', 'vision_model.head.attention.in_proj_weight', 'vision_model.head.mlp.fc1.weight']) {
    assert(names.includes(n), `the full checkpoint holds ${n}`);
  }
  const onlyVision = (await openCheckpoint(visionOnly)).tensorNames();
  assert(!onlyVision.some((n) => n.startsWith('text_model.') || n.startsWith('logit_')), 'the vision-tensors checkpoint has no text tower');
  const configs = await Promise.all([full, bare].map(async (d) => JSON.parse(await Deno.readTextFile(`${d}/config.json`))));
  assertEquals([configs[0].model_type, configs[0].architectures[0], configs[0].vision_config.model_type, configs[0].text_config.model_type], ['siglip', 'SiglipModel', 'siglip_vision_model', 'siglip_text_model'], 'SiglipModel config');
  assertEquals([configs[1].model_type, configs[1].architectures[0], configs[1].hidden_size], ['siglip_vision_model', 'SiglipVisionModel', 32], 'SiglipVisionModel config');

  // same seed, same vision tensors: features are bit-identical whatever else the checkpoint holds
  const want = await features(enc, IMG);
  for (const dir of [visionOnly, bare]) {
    const e = await SiglipEncoder.load(gpu, dir);
    assertEquals(e.config, enc.config, `${dir}: parsed vision config`);
    const got = await features(e, IMG);
    assert(got.values.every((v, i) => v === want.values[i]), `${dir}: features equal the full checkpoint's`);
    got.map.dispose();
    e.dispose();
  }
  want.map.dispose();
} });

Deno.test({ name: 'siglip: clear errors for a wrong model_type, a non-SigLIP vision_config, a missing layer, a mismatched processor size', ...opts, async fn() {
  const llava = `${tmp}/onevision`;
  await writeTinyLlavaOnevision(llava, { seed: 3 });
  await assertRejects(() => SiglipEncoder.load(gpu, llava), /config\.json: model_type: expected a SigLIP encoder \(siglip or siglip_vision_model\), found "llava_onevision"/, 'LLaVA checkpoint');
  const clip = await copyWith(visionOnly, `${tmp}/bad-vision-type`, { 'config.json': (j) => ((j.vision_config as Record<string, unknown>).model_type = 'clip_vision_model') });
  await assertRejects(() => SiglipEncoder.load(gpu, clip), /config\.json: vision_config\.model_type: expected one of siglip_vision_model, found "clip_vision_model"/, 'CLIP vision_config');
  const deep = await copyWith(visionOnly, `${tmp}/bad-depth`, { 'config.json': (j) => ((j.vision_config as Record<string, unknown>).num_hidden_layers = 3) });
  await assertRejects(() => SiglipEncoder.load(gpu, deep), /missing tensor vision_model\.encoder\.layers\.2\.layer_norm1\.weight/, 'a layer the file lacks');
  const size = await copyWith(visionOnly, `${tmp}/bad-size`, { 'preprocessor_config.json': (j) => (j.size = { height: 40, width: 40 }) });
  await assertRejects(() => SiglipEncoder.load(gpu, size), /preprocessor_config\.json: field 'size': expected \{"height": 42, "width": 42\} \(config\.json image_size 42\), got \{"height":40,"width":40\}/, 'processor size');
  const filter = await copyWith(visionOnly, `${tmp}/bad-resample`, { 'preprocessor_config.json': (j) => (j.resample = 1) });
  await assertRejects(() => SiglipEncoder.load(gpu, filter), /preprocessor_config\.json: field 'resample': expected 3 \(BICUBIC\) or 2 \(BILINEAR\).*, got 1$/, 'processor resample');
} });

Deno.test({ name: 'siglip: make-tiny siglip writes a SiglipModel checkpoint (and a sharded copy) that loads to the same features', ...opts, async fn() {
  const dir = `${tmp}/make-tiny-siglip`;
  assertEquals(await makeTiny('siglip', dir, { seed: 21, shards: 2 }), [dir, `${dir}-sharded`], 'written');
  const a = await features(enc, IMG);
  for (const d of [dir, `${dir}-sharded`]) {
    const e = await SiglipEncoder.load(gpu, d);
    const b = await features(e, IMG);
    assert(b.values.every((v, i) => v === a.values[i]), `${d}: make-tiny seed 21 equals writeTinySiglip seed 21`);
    b.map.dispose();
    e.dispose();
  }
  assert((await openCheckpoint(dir)).tensorNames().includes('text_model.final_layer_norm.weight'), 'make-tiny writes the text tower');
  a.map.dispose();
} });

Deno.test({ name: 'siglip: sweepImage with tap siglip (and vision) takes the encoder from the ProbeContext', ...opts, async fn() {
  const ovDir = `${tmp}/onevision-sweep`;
  await writeTinyLlavaOnevision(ovDir, { seed: 4 });
  const model = await loadModel(gpu, ovDir);
  const ctx = (taps: ProbeContext['taps']): ProbeContext => ({ model, siglip: enc, taps, layers: [0], agnostic: null, grid: 'main', overlays: null, overlaysLeft: 0 });
  const direct = await features(enc, IMG);

  const only = await sweepImage(ctx(['siglip']), IMG);
  assertEquals([...only.maps.keys()], ['siglip'], 'one map, keyed by statKey(siglip, null)');
  assertEquals(only.forward, null, 'no forward kept');
  const m = only.maps.get('siglip')!;
  assertEquals([m.tap, m.rows, m.cols, m.dim], ['siglip.out', 3, 3, 32], 'siglip map header');
  assertEquals([...m.rects], [...direct.map.rects], 'rects');
  assert((await readMap(m)).every((v, i) => v === direct.values[i]), 'the swept map equals encoder.features');
  only.dispose();

  // beside an MLM tap: both maps, each on its own grid and width
  const both = await sweepImage(ctx(['vision', 'siglip']), IMG);
  assertEquals([...both.maps.keys()].sort(), ['siglip', 'vision'], 'vision and siglip maps');
  const v = both.maps.get('vision')!, s = both.maps.get('siglip')!;
  assertEquals([v.dim, s.dim], [40, 32], 'OneVision vision width 40, SigLIP baseline 32');
  assert((await readMap(s)).every((x, i) => x === direct.values[i]), 'siglip map unchanged beside the model forward');
  both.dispose();
  direct.map.dispose();
  model.dispose();
} });
