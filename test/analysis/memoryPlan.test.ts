// The memory plan: exact weight bytes from the hub index, KV and feature-map bytes from the formula, the largest
// image each processor makes, a fit against budgets; and the activation fit recovers measured peaks of a tiny
// checkpoint on this adapter (plan with the fit ≥ 0.97× and ≤ 1.1× of the measured peak at a third image size).
import { acquireGpu } from '../../src/gpu/device.ts';
import { calibrateActivations, fitLine, imageLoadFor, largestImageLoad, measureSweepPeak, memoryPlan, parseBytes } from '../../src/analysis/memoryPlan.ts';
import { readConfig } from '../../src/io/config.ts';
import { loadModel } from '../../src/models/registry.ts';
import { makeTiny } from '../../harness/cli/modelCommands.ts';
import { assert, assertEquals } from '../gpu/assert.ts';
import { testPicture } from '../models/testPicture.ts';

const Q7 = new URL('../fixtures/hub/Qwen--Qwen2.5-VL-7B-Instruct', import.meta.url).pathname;

Deno.test('memory plan: Qwen2.5-VL-7B weights are the index total_size; KV and maps by formula; 16384 image tokens at max_pixels', async () => {
  const p = await memoryPlan(Q7, { textTokens: 32 });
  const item = (n: string) => p.items.find((i) => i.item === n)!.bytes;
  assertEquals(item('weights'), 16584333312, 'weights = index total_size (bf16)');
  assertEquals(p.load.imageTokens, 16384, 'max_pixels 12845056 → 3584×3584 → 128×128 patches → 16384 merged tokens');
  const S = 16384 + 32;
  assertEquals(item('kv cache'), 2 * 28 * 4 * (S + 64) * 128 * 4, 'f32 KV: layers × K,V × kv heads × capacity × head_dim × 4');
  assertEquals(item('feature maps'), (16384 * 512 * 4) * 2 * 28 + 16384 * 3584 * 4, 'values + keys of 28 layers + projector');
  const f16 = await memoryPlan(Q7, { textTokens: 32, kvDType: 'f16' });
  assertEquals(f16.items.find((i) => i.item === 'kv cache')!.bytes * 2, item('kv cache'), 'f16 KV halves the cache');
  const cut = await memoryPlan(Q7, { textTokens: 32, lmLayers: 2 });
  assertEquals(item('weights') - cut.items[0].bytes, 26 * p.perLayer.lmWeights, 'per-layer extrapolation');
  assert(fitLine(p, parseBytes('16GiB')).startsWith('does not fit'), 'a 7B in bf16 does not fit 16 GiB');
  assertEquals(parseBytes('24GB'), 24e9, 'GB are 10⁹');
  // the MLPs run in blocks of 2048 rows: the widest tensor is the tower's qkv (ops walk its chunks); the widest one
  // an op binds whole is a [patches, Hv] buffer of the tower (RMSNorm, RoPE, attention)
  assertEquals(p.mlpBlockRows, 2048, 'MLP block rows');
  assertEquals([p.largestActivation.name, p.largestActivation.shape, p.largestActivation.chunked], ['vision qkv', [65536, 3840], true], 'largest activation');
  assertEquals([p.largestTensor.shape, p.largestTensor.chunked], [[65536, 1280], false], 'largest tensor bound whole');
  // activations: the Qwen ViT's 10 [N, Hv] buffers + its MLP block (gate, up, act; x̂ and out copies) + the merger's
  // output pair, + the image features waiting for the LM (the tower's phase is larger than the LM's here)
  const N = 65536, B = 2048;
  assertEquals(item('activations'), N * 10 * 1280 * 4 + B * 3 * 3420 * 4 + B * 2 * 1280 * 4 + (N / 4) * 2 * 3584 * 4 + 16384 * 3584 * 4, 'activation estimate');
});

Deno.test('memory plan: largest images (OneVision anyres_max_9, NeXT pinpoints) follow the processor token count', async () => {
  const ov = await readConfig(new URL('../fixtures/spec-configs/llava-onevision-qwen2-7b-ov-hf', import.meta.url).pathname);
  const l = largestImageLoad(ov);
  // spec worked example (arch spec §1.3): 899×1024 → 6551 tokens; the largest over the 36 pinpoints is above 7290
  assertEquals(imageLoadFor(ov, [899, 1024]).imageTokens, 6551, '899×1024 → 6551');
  assert(l.imageTokens >= 7290, `largest OneVision image ≥ 7290 tokens (${l.imageTokens} at ${l.image})`);
  const nx = await readConfig(new URL('../fixtures/spec-configs/llama3-llava-next-8b-hf', import.meta.url).pathname);
  assertEquals(largestImageLoad(nx).tiles, 5, 'NeXT 672×672: base + 2×2 crops');
});

Deno.test({ name: 'memory plan: the activation fit on a tiny Qwen2.5-VL predicts the measured peak at a third size', sanitizeResources: false, sanitizeOps: false, async fn() {
  const dir = await Deno.makeTempDir({ prefix: 'kvscope-plan-' });
  try {
    await makeTiny('qwen2_5_vl', dir, { seed: 1, shards: 1 });
    const gpu = await acquireGpu();
    const model = await loadModel(gpu, dir);
    const fit = await calibrateActivations(model, dir, [[112, 112], [224, 224]]);
    assert(fit.perPatch > 0, `activations grow with patches (${fit.perPatch} B/patch)`);
    const m = await measureSweepPeak(model, testPicture(336, 224, 2));
    const plan = await memoryPlan(dir, { activations: fit, load: imageLoadFor(model.config, [336, 224]), textTokens: m.sequence - m.imageTokens });
    const ratio = plan.total / m.peak;
    assert(ratio > 0.97 && ratio < 1.1, `planned ${plan.total} vs measured ${m.peak} (${ratio.toFixed(3)}×)`);
    model.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
} });
