// Qwen2.5-VL end to end on tiny random checkpoints in the official layout: GPU (f32 activations, weights in the
// checkpoint dtype) against the float64 reference — every vision block, the merger output, per LM layer the cached
// K (after M-RoPE), V, K before RoPE and the layer output, and all logits — on a 280×308 image (20×22 patches →
// 10×11 merged tokens, so 3×3 windows of which 5 are partial) through prefill (chat template, tokenizer,
// processor); a decode step at cache index + rope_delta; greedy tokens equal to the reference's; the
// tied-head flavour; a text prefix's span; the pad-count mismatch error.
import type { TapName } from '../../src/capture/taps.ts';
import { acquireGpu } from '../../src/gpu/device.ts';
import { checkpointLocation, openCheckpoint } from '../../src/io/safetensors.ts';
import { Tokenizer } from '../../src/io/tokenizer.ts';
import type { RgbImage } from '../../src/io/rgbImage.ts';
import type { HostTensor } from '../../src/gpu/hostTensor.ts';
import type { ModelInputs } from '../../src/models/model.ts';
import { parsePreprocessorConfig, type QwenImageProcessorConfig } from '../../src/models/processor/preprocessorConfig.ts';
import { qwenPreprocess } from '../../src/models/processor/qwenImageProcessor.ts';
import { loadQwen2_5VL } from '../../src/models/qwen2_5_vl.ts';
import { decoderForwardRef } from '../../src/models/ref/decoder.ts';
import { embeddings, loadQwen2_5VLRef, qwen2_5VLForwardRef, qwen2_5VLGreedyRef, type Qwen2_5VLRefWeights } from '../../src/models/ref/qwen2_5_vl.ts';
import { WeightRng } from '../../src/models/tiny/randomWeights.ts';
import { writeTinyQwen2_5_vl } from '../../src/models/tiny/tinyQwen2_5_vl.ts';
import { Weights } from '../../src/models/weights.ts';
import { assert, assertEquals, assertRejects, normwiseError } from '../gpu/assert.ts';

const gpu = await acquireGpu();
gpu.poisonNewTensors = true; // an output row a kernel leaves unwritten reads as NaN
const opts = { sanitizeResources: false, sanitizeOps: false };
const tmp = await Deno.makeTempDir({ prefix: 'kvscope-qwen2_5_vl-' });
globalThis.addEventListener('unload', () => Deno.removeSync(tmp, { recursive: true }));

// f32 GPU vs float64 reference, normwise per tensor: max |got − want| ≤ REL · max |want|.
// Measured on llvmpipe (printed below): ≤ 1e-6 everywhere; REL leaves ≥ 10×.
const REL = 1e-5;

const relErr = normwiseError;

const worst = new Map<string, number>();
function close(got: ArrayLike<number>, want: HostTensor | ArrayLike<number>, what: string, group: string, rel = REL): void {
  const w = 'data' in want ? (want as HostTensor).data : want as ArrayLike<number>;
  const e = relErr(got, w, what);
  worst.set(group, Math.max(worst.get(group) ?? 0, e));
  assert(e <= rel, `${what}: normwise error ${e.toExponential(2)} > ${rel}`);
}

/** A deterministic RGB image with structure (gradients + noise), so patches differ. */
function image(width: number, height: number, seed: number): RgbImage {
  const rng = new WeightRng(seed);
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = (x * 255 / width + 40 * rng.uniform()) & 255;
      data[i + 1] = (y * 255 / height + 40 * rng.uniform()) & 255;
      data[i + 2] = ((x + y) * 3 + 60 * rng.uniform()) & 255;
    }
  }
  return { width, height, data, source: `synthetic ${width}×${height}` };
}

// untied bf16 (as the 7B; a random tied head tends to echo the input, which would hide greedy bugs) and tied f32 (as the 3B)
const untiedDir = `${tmp}/untied-bf16`, tiedDir = `${tmp}/tied-f32`;
const cfg = await writeTinyQwen2_5_vl(untiedDir, { seed: 7, dtype: 'BF16', tied: false });
const tiedCfg = await writeTinyQwen2_5_vl(tiedDir, { seed: 8, dtype: 'F32', tied: true });
const processor = parsePreprocessorConfig(await Deno.readTextFile(`${untiedDir}/preprocessor_config.json`)) as QwenImageProcessorConfig;

const model = await loadQwen2_5VL(gpu, untiedDir);
const refW: Qwen2_5VLRefWeights = await loadQwen2_5VLRef(new Weights(await openCheckpoint(untiedDir)), cfg);
const L = cfg.text_config.num_hidden_layers, depth = cfg.vision_config.depth;

Deno.test({ name: 'qwen2.5-vl: prefill on a 280×308 image matches the float64 reference, block by block and layer by layer', ...opts, fn: async () => {
  const img = image(308, 280, 3);
  const taps: TapName[] = [
    'vision.out', 'projector.out', ...Array.from({ length: depth }, (_, i): TapName => `vision.layers.${i}.out`),
    ...Array.from({ length: L }, (_, i): TapName[] => [`lm.layers.${i}.attn.k_pre_rope`, `lm.layers.${i}.out`]).flat(),
  ];
  const res = await model.prefill({ images: [img], prompt: 'Describe the picture.', taps, logits: 'all' });
  const ids = res.inputIds, S = ids.length;
  // spans: one image run of 10×11 merged tokens between <|vision_start|> and <|vision_end|>
  const span = res.spans.images[0];
  assertEquals([span.length, span.grid.rows, span.grid.cols, span.tokens.length, span.baseGrid], [110, 10, 11, 110, null], 'image span');
  assertEquals([ids[span.start - 1], ids[span.start], ids[span.start + 109], ids[span.start + 110]], [151652, 151655, 151655, 151653], 'run boundaries');
  assertEquals(span.imageSize, { height: 280, width: 308 }, 'original size');
  assertEquals([span.tokens[12].row, span.tokens[12].col], [1, 1], 'token 12 on the merged grid');
  assertEquals(res.spans.text, [[0, span.start], [span.start + 110, S]], 'text ranges');
  assertEquals(res.ropeDelta, 11 - 110, 'rope_delta = max(gh, gw) − gh·gw');

  const p = qwenPreprocess(img, processor);
  assertEquals(p.gridThw, [1, 20, 22], 'grid');
  const inputs: ModelInputs = { inputIds: ids, pixelValues: p.pixelValues, imageGridThw: [p.gridThw] };
  const ref = qwen2_5VLForwardRef(refW, cfg, inputs);

  for (let i = 0; i < depth; i++) close(await res.taps.get(`vision.layers.${i}.out`)!.read(), ref.vision!.blockOutputs[i], `vision block ${i}`, 'vision blocks');
  close(await res.taps.get('vision.out')!.read(), ref.vision!.blockOutputs[depth - 1], 'vision.out', 'vision blocks');
  assertEquals(res.taps.get('vision.out')!.shape, [440, 64], 'vision.out shape (patches in raster order)');
  close(await res.taps.get('projector.out')!.read(), ref.vision!.features, 'projector.out (merger)', 'merger');
  for (let l = 0; l < L; l++) {
    close(await res.cache.readLayer(l, 'key'), ref.lm.keys[l], `layer ${l} K (cache)`, 'K');
    close(await res.cache.readLayer(l, 'value'), ref.lm.values[l], `layer ${l} V (cache)`, 'V');
    close(await res.taps.get(`lm.layers.${l}.attn.k_pre_rope`)!.read(), ref.lm.preRopeKeys[l], `layer ${l} K pre-RoPE`, 'K pre-RoPE');
    close(await res.taps.get(`lm.layers.${l}.out`)!.read(), ref.lm.hidden[l], `layer ${l} out`, 'hidden');
  }
  assertEquals(res.logits.shape, [S, 151936], 'logits shape');
  close(await res.logits.read(), ref.lm.logits, 'logits', 'logits');

  // one decode step at cache index S with position S + rope_delta on all axes, against the reference re-run
  const next = 9707; // any token
  const pos = S + res.ropeDelta;
  const step = await model.decoder.run({ ids: [next] }, { cache: res.cache, start: S, positions: [[pos], [pos], [pos]], logits: 'last' });
  const seqRef = qwen2_5VLForwardRef(refW, cfg, { ...inputs, inputIds: [...ids, next] });
  // the reference's positions for the appended token come from get_rope_index over text: max + 1 = S + rope_delta
  assertEquals([seqRef.positions[0][S], seqRef.positions[1][S], seqRef.positions[2][S]], [pos, pos, pos], 'decode position');
  const V = 151936;
  const lastRef = seqRef.lm.logits.data.subarray(S * V, (S + 1) * V);
  close(await step.logits!.read(), lastRef, 'decode-step logits', 'decode');
  // sensitivity: the same step at the bare cache index (no rope_delta) is far off
  const embeds = embeddings(refW, [...ids, next], ids.flatMap((id, i) => (id === 151655 ? [i] : [])), ref.vision!.features);
  const wrong = decoderForwardRef(refW.decoder, cfg.text_config, embeds, seqRef.positions.map((r) => r.map((x, i) => (i === S ? S : x))));
  const off = relErr(wrong.logits.data.subarray(S * V, (S + 1) * V), lastRef, 'no-delta logits');
  assert(off > 100 * REL, `a decode step without rope_delta should differ clearly, normwise ${off.toExponential(2)}`);
  step.logits!.dispose();
  for (const t of new Set(res.taps.values())) t.dispose();
  res.cache.dispose();
  res.logits.dispose();
  console.log(`worst normwise errors: ${[...worst].map(([k, v]) => `${k} ${v.toExponential(2)}`).join(', ')}; no-delta step ${off.toExponential(2)}`);
} });

Deno.test({ name: 'qwen2.5-vl: the vision MLP in blocks of 5 patch rows (and the LM MLP in blocks of 7) matches the reference and equals the unblocked run', ...opts, fn: async () => {
  const p = qwenPreprocess(image(308, 280, 3), processor);
  const tower = model.parts.tower;
  const run = async (visionRows: number, lmRows: number) => {
    tower.mlpBlockRows = visionRows;
    model.decoder.mlpBlockRows = lmRows;
    const before = gpu.stats.dispatches;
    const out = await tower.forward(p.pixelValues, [p.gridThw], { blockOutputs: true });
    const dispatches = gpu.stats.dispatches - before;
    const blocks = await Promise.all(out.blockOutputs.map((t) => t.read()));
    const features = await out.features.read();
    for (const t of [out.features, ...out.blockOutputs]) t.dispose();
    return { dispatches, blocks, features };
  };
  try {
    const whole = await run(2048, 2048), one = await run(440, 2048), blocked = await run(5, 2048);
    // 440 patches in blocks of 5: 88 blocks, each copied in and out
    assertEquals(one.dispatches, whole.dispatches, 'one block of 440 patch rows runs the unblocked dispatches');
    assert(blocked.dispatches > whole.dispatches, `blocked: ${blocked.dispatches} dispatches vs ${whole.dispatches}`);
    const ids = await model.prefill({ images: [image(308, 280, 3)], prompt: 'Describe the picture.', logits: 'last' });
    const ref = qwen2_5VLForwardRef(refW, cfg, { inputIds: ids.inputIds, pixelValues: p.pixelValues, imageGridThw: [p.gridThw] });
    ids.cache.dispose();
    ids.logits.dispose();
    for (let i = 0; i < depth; i++) {
      close(blocked.blocks[i], ref.vision!.blockOutputs[i], `blocked vision block ${i}`, 'blocked vision');
      assertEquals([...blocked.blocks[i]], [...whole.blocks[i]], `vision block ${i}: blocked = unblocked`);
    }
    close(blocked.features, ref.vision!.features, 'blocked merger', 'blocked vision');
    assertEquals([...blocked.features], [...whole.features], 'merger output: blocked = unblocked');
    // the whole model with both MLPs blocked: the same logits as unblocked
    const logits = async (visionRows: number, lmRows: number) => {
      tower.mlpBlockRows = visionRows;
      model.decoder.mlpBlockRows = lmRows;
      const r = await model.prefill({ images: [image(308, 280, 3)], prompt: 'Describe the picture.', logits: 'all' });
      const v = await r.logits.read();
      r.logits.dispose();
      r.cache.dispose();
      return v;
    };
    const a = await logits(2048, 2048), b = await logits(5, 7);
    close(b, ref.lm.logits, 'logits, both MLPs blocked', 'blocked logits');
    assertEquals([...b], [...a], 'logits: blocked (vision 5, LM 7) = unblocked');
    console.log(`  vision MLP in blocks of 5: ${blocked.dispatches} vs ${whole.dispatches} dispatches; worst ${worst.get('blocked vision')!.toExponential(2)}, logits ${worst.get('blocked logits')!.toExponential(2)}`);
  } finally {
    tower.mlpBlockRows = 2048;
    model.decoder.mlpBlockRows = 2048;
  }
} });

Deno.test({ name: 'qwen2.5-vl: greedy generation equals the reference (decode at cache index + rope_delta)', ...opts, fn: async () => {
  // 56×84 image → 2×3 merged tokens (rope_delta −3), short text
  const p = qwenPreprocess(image(84, 56, 5), processor);
  const ids = [151644, 872, 198, 151652, ...Array(6).fill(151655), 151653, 3838, 374, 419, 30, 151645, 198, 151644, 77091, 198];
  const inputs: ModelInputs = { inputIds: ids, pixelValues: p.pixelValues, imageGridThw: [p.gridThw] };
  const res = await model.forward(inputs);
  assertEquals(res.ropeDelta, -3, 'rope_delta');
  const got = await model.generate(res, 8);
  const want = qwen2_5VLGreedyRef(refW, cfg, inputs, { maxNewTokens: 8, stop: [151645] });
  assertEquals(got, want, 'greedy tokens');
  assert(new Set(got).size > 1, `greedy output is one repeated token ${got}: too weak a check`);
  res.cache.dispose();
  res.logits.dispose();
} });

Deno.test({ name: 'qwen2.5-vl: tied head (no lm_head tensor, F32) matches the reference', ...opts, fn: async () => {
  const ck = await openCheckpoint(tiedDir);
  assert(!ck.has('lm_head.weight') && ck.has('model.embed_tokens.weight') && ck.has('visual.merger.mlp.0.weight'), 'tied checkpoint names');
  const tied = await loadQwen2_5VL(gpu, tiedDir);
  const ref = await loadQwen2_5VLRef(new Weights(ck), tiedCfg);
  const p = qwenPreprocess(image(140, 112, 9), processor); // 4×5 merged tokens, one partial window column
  const ids = [151644, 872, 198, 151652, ...Array(20).fill(151655), 151653, 3838, 374, 30];
  const inputs: ModelInputs = { inputIds: ids, pixelValues: p.pixelValues, imageGridThw: [p.gridThw] };
  const res = await tied.forward(inputs, { logits: 'all', taps: ['projector.out'] });
  const r = qwen2_5VLForwardRef(ref, tiedCfg, inputs);
  close(await res.taps.get('projector.out')!.read(), r.vision!.features, 'tied: merger', 'tied');
  close(await res.logits.read(), r.lm.logits, 'tied: logits', 'tied');
  res.taps.get('projector.out')!.dispose();
  res.cache.dispose();
  res.logits.dispose();
  tied.dispose();
} });

Deno.test({ name: 'qwen2.5-vl: pad count ≠ feature count, and pixel rows ≠ grid, are clear errors', ...opts, fn: async () => {
  const p = qwenPreprocess(image(84, 56, 5), processor);
  const ids = [151652, ...Array(5).fill(151655), 151653];
  await assertRejects(() => model.forward({ inputIds: ids, pixelValues: p.pixelValues, imageGridThw: [p.gridThw] }),
    /Image features and image tokens do not match: tokens: 5 .*features 6/, 'count mismatch');
  await assertRejects(() => model.forward({ inputIds: ids, pixelValues: p.pixelValues, imageGridThw: [[1, 4, 4]] }),
    /pixel_values: shape \[24, 1176\], expected \[16, 1176\]/, 'rows vs grid');
  await assertRejects(() => model.forward({ inputIds: ids, pixelValues: p.pixelValues }), /without image_grid_thw/, 'no grid');
} });

Deno.test({ name: 'qwen2.5-vl: prefill with a text prefix places it before <|vision_start|> and records its span', ...opts, fn: async () => {
  const tok = await Tokenizer.load(checkpointLocation(untiedDir));
  const res = await model.prefill({ images: [image(56, 56, 2)], prompt: 'What is it?', prefix: 'A photo of a cat. ' });
  const [a, b] = res.spans.prefix!;
  assertEquals(tok.decode(res.inputIds.slice(a, b)), 'A photo of a cat. ', 'prefix text');
  assertEquals(res.inputIds[b], 151652, 'the image block follows the prefix');
  assertEquals(res.spans.images[0].start, b + 1, 'image run after <|vision_start|>');
  assertEquals(res.spans.images[0].length, 4, '56×56 → 2×2 merged tokens');
  res.cache.dispose();
  res.logits.dispose();
} });
