// Bad input to the tasks, each a clear error listing what is accepted: a dataset folder of the wrong layout (every
// task), an unknown task, tap or layer, an image of zero size, a prompt longer than the model's context.
import type { TapName } from '../../src/capture/taps.ts';
import { acquireGpu } from '../../src/gpu/device.ts';
import { OpArgumentError } from '../../src/gpu/errors.ts';
import { loadModel } from '../../src/models/registry.ts';
import { writeTinyLlavaOnevision } from '../../src/models/tiny/tinyLlava.ts';
import { buildTask, TASK_NAMES } from '../../src/tasks/registry.ts';
import { DatasetError } from '../../src/tasks/datasets/dataset.ts';
import { parseLayers, parseTaps } from '../../harness/cli/probeCommand.ts';
import { testPicture } from '../models/testPicture.ts';
import { assert, assertRejects, assertThrows } from '../gpu/assert.ts';
import { rgbJpeg, solid, writeTree } from './fixtureWriters.ts';

const opts = { sanitizeResources: false, sanitizeOps: false };

Deno.test('a dataset folder of the wrong layout: every task names the folder, what it needs and what it holds', async () => {
  // a folder of loose pictures, as when --data points at the wrong place
  const root = await writeTree({ 'photos/a.jpg': rgbJpeg(4, 4, solid(4, 4, [1, 2, 3])), 'notes.txt': 'x' });
  const expect: Record<string, RegExp> = {
    spair: /not a SPair-71k folder: no PairAnnotation, JPEGImages; SPair-71k is laid out as PairAnnotation\/<split>\/<pair>\.json.*holds notes\.txt, photos/,
    davis: /not a DAVIS folder: no JPEGImages, Annotations; .*JPEGImages\/480p\/<sequence>.*holds notes\.txt, photos/,
    pascal5i: /not a PASCAL VOC 2012 \(Pascal-5i\) folder: no JPEGImages, ImageSets; .*VOCdevkit\/VOC2012; this folder holds notes\.txt, photos/,
    msrc: /not an MSRC co-segmentation folder: no <set>\/GroundTruth\/ inside; the layout is <set>\/<image>/,
    'imagenet-s': /not a ImageNet-S folder: no validation, validation-segmentation; .*ImageNetS50.*holds notes\.txt, photos/,
    refcoco: /not a RefCOCO \(refer layout\) folder: no refcoco; .*refcoco\/refs\(<splitBy>\)\.p.*holds notes\.txt, photos/,
    blink: /not a BLINK folder: no Art_Style; .*Art_Style\/val-00000-of-00001\.parquet; this folder holds notes\.txt, photos/,
  };
  for (const name of TASK_NAMES) {
    const e = await assertRejects(async () => await buildTask(name, { data: root }).samples(), expect[name], name);
    assert(e instanceof DatasetError && e.message.startsWith(root), `${name}: DatasetError naming ${root}`);
  }
  // a folder that does not exist at all
  await assertRejects(async () => await buildTask('spair', { data: `${root}/nope` }).samples(), /nope: not a SPair-71k folder: .*holds nothing \(missing or empty\)/, 'missing folder');
});

Deno.test('unknown task, tap, layer, BLINK subtask: the error lists what is accepted', () => {
  assertThrows(() => buildTask('spair71k', { data: 'synthetic' }), /unknown task "spair71k" \(known: spair, davis, pascal5i, msrc, imagenet-s, refcoco, blink\)/, 'task');
  assertThrows(() => parseTaps('lm.value,lm.values'), /unknown tap lm\.values \(known: .*lm\.value.*lm\.key/, 'tap');
  assertThrows(() => parseLayers('30', 24), /layer 30 does not exist \(the LM has 24 layers, 0\.\.23\)/, 'layer');
  assertThrows(() => parseLayers('3-x', 24), /cannot read "3-x" \(use all, 3, 0,4,8, 2-5 or 0-27:4\)/, 'layer spec');
  assertThrows(() => buildTask('blink', { data: '/x', subtasks: ['Counting', 'Art-Style'] }), /unknown BLINK subtask Art-Style \(known: .*Art_Style/, 'subtask');
});

Deno.test({ name: 'an image of zero size, a tap the model lacks, a prompt longer than the context: each named', ...opts, async fn() {
  const dir = await Deno.makeTempDir({ prefix: 'kvscope-bad-input-' });
  await writeTinyLlavaOnevision(dir, { seed: 2 });
  // the same checkpoint with a 64-position context
  const cfg = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
  cfg.text_config.max_position_embeddings = 64;
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(cfg));
  const gpu = await acquireGpu();
  const model = await loadModel(gpu, dir);
  const req = { images: [testPicture(40, 52, 1)], prompt: 'What is this?', taps: [], logits: 'last' as const };
  await assertRejects(() => model.prefill({ ...req, images: [{ width: 0, height: 0, data: new Uint8Array(0), source: 'empty.png' }] }), /empty\.png: image of size 0×0 \(width×height\); images must be at least 1×1/, 'zero-size image');
  await assertRejects(() => model.prefill({ ...req, taps: ['lm.layers.7.attn.v'] }), /LM layer 7 does not exist \(.*0\.\.1\)/, 'layer the model lacks');
  await assertRejects(() => model.prefill({ ...req, taps: ['lm.bogus' as TapName] }), /unknown tap "lm\.bogus": known taps are .*lm\.layers\.\{i\}\.attn\.v/, 'unknown tap');
  const e = await assertRejects(() => model.prefill(req), /KV cache: the sequence needs \d+ positions \(prompt, image tokens and any new tokens\), more than the model's context of text_config\.max_position_embeddings = 64/, 'prompt + image longer than the context');
  assert(e instanceof OpArgumentError, `typed: ${e.name}`);
  model.dispose();
  gpu.destroy();
} });
