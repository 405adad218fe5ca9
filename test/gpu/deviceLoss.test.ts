// Device loss and allocation limits, provoked on purpose: the device destroyed in the middle of a forward (after
// half of its stages were recorded) gives a GpuDeviceLostError naming the read that noticed it and the last stage
// recorded; every later call fails the same way; a probe sweep interrupted by the loss resumes on a freshly
// acquired device with the same --out and ends with results identical to an uninterrupted run; a tensor over the
// adapter's binding limit at a real model's size is refused naming the tensor and both sizes.
import { acquireGpu, type Gpu } from '../../src/gpu/device.ts';
import { GpuDeviceLostError } from '../../src/gpu/errors.ts';
import { Tensor } from '../../src/gpu/tensor.ts';
import { loadModel } from '../../src/models/registry.ts';
import { writeTinyLlavaOnevision } from '../../src/models/tiny/tinyLlava.ts';
import { probeCommand } from '../../harness/cli/probeCommand.ts';
import { testPicture } from '../models/testPicture.ts';
import { assert, assertEquals, assertRejects, assertThrows } from './assert.ts';

const opts = { sanitizeResources: false, sanitizeOps: false };
const dir = await Deno.makeTempDir({ prefix: 'kvscope-device-loss-' });
await writeTinyLlavaOnevision(`${dir}/tiny`, { seed: 5 });
const picture = testPicture(40, 52, 1);

/**
 * Count the command encoders the device records (one per stage and per readback); when `destroyAt` is reached, destroy
 * the device right there, synchronously, in the middle of whatever is being recorded.
 */
function instrument(gpu: Gpu, destroyAt = Infinity): { encoders: () => number } {
  const real = gpu.device;
  let n = 0;
  const proxy = new Proxy(real, {
    get(target, key) {
      if (key === 'createCommandEncoder') {
        return (d?: GPUCommandEncoderDescriptor) => {
          if (++n === destroyAt) target.destroy();
          return target.createCommandEncoder(d);
        };
      }
      const v = Reflect.get(target, key, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  (gpu as { device: GPUDevice }).device = proxy;
  return { encoders: () => n };
}

Deno.test({ name: 'device.destroy() mid-forward: GpuDeviceLostError naming the read and the last stage; later calls fail the same way', ...opts, async fn() {
  const gpu = await acquireGpu();
  const model = await loadModel(gpu, `${dir}/tiny`);
  const count = instrument(gpu);
  const req = { images: [picture], prompt: 'What is this?', taps: [], logits: 'last' as const };
  const ok = await model.prefill(req);
  const want = await ok.logits.read();
  ok.dispose();
  const perForward = count.encoders();
  assert(perForward > 4, `a forward records several stages (${perForward})`);
  // a second device, destroyed halfway through the same forward
  const gpu2 = await acquireGpu();
  const model2 = await loadModel(gpu2, `${dir}/tiny`);
  instrument(gpu2, Math.floor(perForward / 2));
  const e = await assertRejects(async () => {
    const r = await model2.prefill(req);
    await r.logits.read();
  }, /GPU device lost \(destroyed.*cannot run; acquire a new device/, 'loss mid-forward');
  assert(e instanceof GpuDeviceLostError, `typed: ${e.name}`);
  assert(/last work recorded: stage '[^']+'\) — reading logits/.test(e.message), `names the read and the last stage: ${e.message}`);
  console.log(`device destroyed after ${Math.floor(perForward / 2)} of ${perForward} encoders: ${e.message}`);
  const again = await assertRejects(() => model2.prefill(req), /GPU device lost/, 'the next forward');
  assert(again instanceof GpuDeviceLostError, `typed again: ${again.name}: ${again.message}`);
  // the first device still works and gives the same logits as before
  const r3 = await model.prefill(req);
  assertEquals(Array.from(await r3.logits.read()), Array.from(want), 'the untouched device');
  r3.dispose();
  model.dispose();
} });

Deno.test({ name: 'a probe sweep cut by device loss resumes on a fresh device: results identical to an uninterrupted run', ...opts, async fn() {
  const probe = { task: 'spair', data: 'synthetic', model: `${dir}/tiny`, taps: 'lm.value,projector', layers: '0,1', limit: 3, size: 32, overlays: 0 };
  // uninterrupted, counting the encoders of the whole sweep
  const gpuA = await acquireGpu();
  const countA = instrument(gpuA);
  const modelA = await loadModel(gpuA, `${dir}/tiny`);
  const ref = await probeCommand({ ...probe, out: `${dir}/ref` }, { gpu: gpuA, model: modelA });
  modelA.dispose();
  const total = countA.encoders();
  // the same sweep, its device destroyed at 60% of the way
  const gpuB = await acquireGpu();
  const modelB = await loadModel(gpuB, `${dir}/tiny`);
  instrument(gpuB, Math.floor(total * 0.6));
  const e = await assertRejects(() => probeCommand({ ...probe, out: `${dir}/cut` }, { gpu: gpuB, model: modelB }), /GPU device lost/, 'sweep on a lost device');
  assert(e instanceof GpuDeviceLostError, `typed: ${e.name}`);
  const kept = (await Deno.readTextFile(`${dir}/cut/samples.jsonl`).catch(() => '')).split('\n').filter(Boolean).length;
  assert(kept < 3, `the sweep stopped early (${kept} of 3 samples written)`);
  assert(!(await Deno.stat(`${dir}/cut/.lock`).then(() => true, () => false)), 'lock released after the loss');
  // a fresh device, the same --out
  const gpuC = await acquireGpu();
  const modelC = await loadModel(gpuC, `${dir}/tiny`);
  const resumed = await probeCommand({ ...probe, out: `${dir}/cut` }, { gpu: gpuC, model: modelC });
  modelC.dispose();
  assertEquals(resumed.resumed, kept, 'samples taken from before the loss');
  assertEquals(await Deno.readTextFile(`${dir}/cut/results.jsonl`), await Deno.readTextFile(`${dir}/ref/results.jsonl`), 'results.jsonl');
  assertEquals(resumed.rows, ref.rows, 'rows');
  console.log(`sweep: device destroyed at encoder ${Math.floor(total * 0.6)} of ${total}; ${kept} sample(s) kept, ${resumed.computed} recomputed on a fresh device; rows identical`);
} });

Deno.test({ name: 'a tensor over the binding limit at a real model\'s size is refused naming the tensor and both sizes', ...opts, async fn() {
  const gpu = await acquireGpu();
  // LLaVA-OneVision-0.5B's embedding, 151647 × 896 f32 = 543 MB: chunked by rows under the binding limit, so it fits
  const limit = gpu.maxBindingBytes;
  const vocab = 151647, hidden = 896;
  const rowsFit = Tensor.empty(gpu, 'f32', [vocab, hidden], 'embed_tokens');
  assert(rowsFit.chunks.length === Math.ceil((vocab * hidden * 4) / (Math.floor(limit / (hidden * 4)) * hidden * 4)), `chunked into ${rowsFit.chunks.length}`);
  rowsFit.dispose();
  // the same weight as one row cannot be split
  assertThrows(() => Tensor.empty(gpu, 'f32', [1, vocab * hidden], 'embed_tokens flattened'), new RegExp(`tensor embed_tokens flattened: one row is ${vocab * hidden * 4} bytes, over the device's storage binding limit of ${limit} bytes`), 'one huge row');
  gpu.destroy();
} });
