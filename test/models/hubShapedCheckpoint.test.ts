// make-tiny --from on the hub's own files: the planned tensors are exactly the index's names and (by the index's
// total_size) its shapes; a 3B-width checkpoint cut to one LM and one vision layer loads, applies the hub's
// preprocessor and chat template, runs forward and a probe.
import { makeTinyFrom } from '../../harness/cli/modelCommands.ts';
import { probeCommand } from '../../harness/cli/probeCommand.ts';
import { acquireGpu } from '../../src/gpu/device.ts';
import { fileSource, SafetensorsFile } from '../../src/io/safetensors.ts';
import { loadModel } from '../../src/models/registry.ts';
import { cutDepth, planHubShapedCheckpoint, tensorBytes } from '../../src/models/tiny/hubShapedCheckpoint.ts';
import { assert, assertEquals } from '../gpu/assert.ts';
import { testPicture } from './testPicture.ts';

const HUB = new URL('../fixtures/hub/', import.meta.url).pathname;
const Q7 = `${HUB}Qwen--Qwen2.5-VL-7B-Instruct`, Q3 = `${HUB}Qwen--Qwen2.5-VL-3B-Instruct`;

Deno.test('hub-shaped: Qwen2.5-VL-7B at full depth plans exactly the index (729 names, total_size 16584333312 bytes)', async () => {
  const plan = await planHubShapedCheckpoint(Q7);
  const index = JSON.parse(await Deno.readTextFile(`${Q7}/model.safetensors.index.json`));
  assertEquals(plan.tensors.map((t) => t.name).sort(), Object.keys(index.weight_map).sort(), 'tensor names');
  assertEquals(plan.dtype, 'BF16', 'torch_dtype bfloat16');
  assertEquals(plan.tensors.reduce((a, t) => a + tensorBytes(t, plan.dtype), 0), index.metadata.total_size, 'bytes = the index total_size: every shape right');
  assertEquals(new Set(plan.tensors.map((t) => t.file)).size, 5, 'five shards as on the hub');
  const shape = (n: string) => plan.tensors.find((t) => t.name === n)?.shape;
  assertEquals(shape('lm_head.weight'), [152064, 3584], 'untied head');
  assertEquals(shape('visual.patch_embed.proj.weight'), [1280, 3, 2, 14, 14], 'Conv3d patch embed');
  assertEquals(shape('model.layers.0.self_attn.k_proj.weight'), [512, 3584], 'GQA: 4 kv heads × 128');
});

Deno.test('hub-shaped: Qwen2.5-VL-3B (no index stored) sums to the hub index total_size 7509245952 bytes, no lm_head (tied)', async () => {
  const plan = await planHubShapedCheckpoint(Q3);
  assertEquals(plan.tensors.reduce((a, t) => a + tensorBytes(t, plan.dtype), 0), 7509245952, 'bytes of the 3B checkpoint');
  assert(!plan.tensors.some((t) => t.name === 'lm_head.weight'), 'tie_word_embeddings: true → no lm_head tensor');
});

Deno.test('hub-shaped: the cut keeps the index shards that still hold tensors, renumbered', async () => {
  const plan = await planHubShapedCheckpoint(Q7, { lmLayers: 2, visionLayers: 2 });
  const index = JSON.parse(await Deno.readTextFile(`${Q7}/model.safetensors.index.json`));
  const kept = Object.keys(index.weight_map).filter((n) => {
    const v = /^visual\.blocks\.(\d+)\./.exec(n), l = /^model\.layers\.(\d+)\./.exec(n);
    return v ? Number(v[1]) < 2 : l ? Number(l[1]) < 2 : true;
  });
  assertEquals(plan.tensors.map((t) => t.name).sort(), kept.sort(), 'the index names of layers 0, 1 and the rest');
  const files = [...new Set(plan.tensors.map((t) => t.file))].sort();
  assert(files.every((f, i) => f === `model-0000${i + 1}-of-0000${files.length}.safetensors`), `renumbered shards ${files}`);
  assertEquals((plan.json.vision_config as { fullatt_block_indexes: number[] }).fullatt_block_indexes, [], 'full-attention blocks 7, 15, 23, 31 are cut away');
});

Deno.test('hub-shaped: a cut deeper than the model is refused naming the field', () => {
  let msg = '';
  try {
    cutDepth({ model_type: 'qwen2_5_vl', num_hidden_layers: 36, vision_config: { depth: 32 } }, { lmLayers: 40 }, 'x/config.json');
  } catch (e) {
    msg = (e as Error).message;
  }
  assert(msg.includes('x/config.json: num_hidden_layers is 36'), msg);
});

Deno.test({ name: 'hub-shaped: 3B width (2048, vocab 151936) × 1 LM + 1 vision layer loads, preprocesses, prefills and probes', sanitizeResources: false, sanitizeOps: false, async fn() {
  // the 3B folder's own config + generation config; preprocessor_config.json and chat_template.json are the 7B's
  // (the Qwen2.5-VL family ships the same two files; the 3B copies were not found whole)
  const src = await Deno.makeTempDir({ prefix: 'kvscope-hub3b-src-' });
  for (const f of ['config.json', 'generation_config.json']) await Deno.copyFile(`${Q3}/${f}`, `${src}/${f}`);
  for (const f of ['preprocessor_config.json', 'chat_template.json']) await Deno.copyFile(`${Q7}/${f}`, `${src}/${f}`);
  const dir = await Deno.makeTempDir({ prefix: 'kvscope-hub3b-' });
  try {
    const r = await makeTinyFrom(src, dir, { lmLayers: 1, visionLayers: 1, seed: 3 });
    assertEquals(r.files, ['model.safetensors'], 'no index at the source: one file');
    assertEquals(r.added.sort(), ['tokenizer.json', 'tokenizer_config.json'], 'tokenizer files added');
    const f = await SafetensorsFile.open(await fileSource(`${dir}/model.safetensors`));
    assertEquals(f.tensors.get('model.embed_tokens.weight')?.shape, [151936, 2048], 'real embedding');
    assertEquals(f.tensors.get('model.embed_tokens.weight')?.dtype, 'BF16', 'checkpoint dtype');
    const gpu = await acquireGpu();
    const model = await loadModel(gpu, dir);
    const image = testPicture(56, 84, 1);
    const prepared = await model.prepare({ images: [image], prompt: 'What is shown?' });
    // smart_resize(56, 84) at factor 28 keeps 56×84: (2×3) merged tokens
    assertEquals(prepared.inputs.inputIds.filter((id) => id === 151655).length, 6, 'image pad tokens');
    assert(prepared.inputs.inputIds.includes(151652) && prepared.inputs.inputIds.includes(151653), 'vision start / end from the hub chat template');
    const fwd = await model.prefill({ images: [image], prompt: 'What is shown?', taps: ['lm.layers.0.attn.v'] });
    assertEquals(fwd.logits.rowLength, 151936, 'logits over the real vocabulary (tied head)');
    const logits = (await fwd.logits.read()) as Float32Array;
    assert(logits.every(Number.isFinite), 'finite logits');
    fwd.dispose();
    const probe = await probeCommand({ task: 'spair', data: 'synthetic', model: dir, out: `${dir}/probe`, taps: 'lm.value,projector', layers: 'all', limit: 1, size: 56, overlays: 0 }, { gpu, model });
    assertEquals(probe.rows.filter((x) => x.tap === 'lm.value').map((x) => x.layer), [0, 0], 'one LM layer probed (two metrics)');
    model.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(src, { recursive: true });
  }
} });
