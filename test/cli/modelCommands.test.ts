// make-tiny → preprocess → forward, as a researcher checks kvscope against PyTorch: the files have HF's names,
// dtypes and layouts, and forward's outputs equal the model's own prefill on the same image and prompt.
import { forwardCommand, makeTiny, preprocessCommand } from '../../harness/cli/modelCommands.ts';
import { acquireGpu } from '../../src/gpu/device.ts';
import { decode } from '../../src/gpu/dtype.ts';
import { readImage } from '../../src/io/image.ts';
import { readModelInputs } from '../../src/models/modelTensors.ts';
import { fileSource, SafetensorsFile } from '../../src/io/safetensors.ts';
import { loadModel } from '../../src/models/registry.ts';
import { assert, assertEquals } from '../gpu/assert.ts';
import { SHARED_FIXTURES } from '../fixtures/sharedFixtures.ts';

const image = `${SHARED_FIXTURES}/msrc/im2.png`;
const dir = await Deno.makeTempDir({ prefix: 'kvscope-cli-' });

async function tensors(path: string) {
  const f = await SafetensorsFile.open(await fileSource(path));
  const get = async (name: string) => {
    const t = f.tensors.get(name);
    if (!t) throw new Error(`${path}: no ${name}`);
    return { shape: t.shape, dtype: t.dtype, data: t.dtype === 'F32' ? decode('f32', await f.source.read(t.offset, t.byteLength), t.byteLength / 4) as Float32Array : null };
  };
  return { names: [...f.tensors.keys()], get };
}

for (const arch of ['llava_onevision', 'qwen2_5_vl'] as const) {
  Deno.test({ name: `cli: make-tiny, preprocess, forward (${arch}) in HF's layouts`, sanitizeResources: false, sanitizeOps: false, async fn() {
    const model = `${dir}/${arch}`;
    const written = await makeTiny(arch, model, { seed: 5 });
    assertEquals(written, [model, `${model}-sharded`], 'checkpoint and sharded copy');
    const inputs = `${dir}/${arch}-in.safetensors`, out = `${dir}/${arch}-out.safetensors`;
    await preprocessCommand({ model, image: [image], prompt: 'What is this?', out: inputs });
    const inT = await tensors(inputs);
    assertEquals((await inT.get('input_ids')).dtype, 'I64', 'input_ids dtype');
    assert(inT.names.includes(arch === 'qwen2_5_vl' ? 'image_grid_thw' : 'image_sizes'), `image geometry tensor in ${inT.names}`);
    const pv = await inT.get('pixel_values');
    if (arch === 'llava_onevision') assertEquals(pv.shape.length, 5, 'LLaVA pixel_values [1, tiles, 3, S, S]');
    else assertEquals(pv.shape[1], 1176, 'Qwen pixel_values [rows, 1176]');
    // forward from the sharded copy: the same weights
    await forwardCommand({ model: `${model}-sharded`, inputs, out });
    const o = await tensors(out);
    const gpu = await acquireGpu();
    const m = await loadModel(gpu, model);
    const r = await m.prefill({ images: [await readImage(image)], prompt: 'What is this?', logits: 'all' });
    const ids = (await readModelInputs(inputs)).inputIds;
    assertEquals(ids, r.inputIds, 'input_ids equal the prefill ids');
    const s = ids.length;
    const logits = await o.get('logits');
    assertEquals(logits.shape, [1, s, r.logits.rowLength], 'logits shape');
    const want = (await r.logits.read()) as Float32Array;
    let maxErr = 0;
    for (let i = 0; i < want.length; i++) maxErr = Math.max(maxErr, Math.abs(want[i] - logits.data![i]));
    assert(maxErr === 0, `logits from the forward command differ from prefill by ${maxErr}`);
    for (const l of [0, r.cache.layers - 1]) {
      const k = await o.get(`past_key_values.${l}.key`);
      assertEquals(k.shape, [1, r.cache.kvHeads, s, r.cache.headDim], `layer ${l} key shape`);
      const mine = await r.cache.readLayer(l, 'key');
      assert(mine.every((x, i) => x === k.data![i]), `layer ${l} keys equal the cache in [1, kv_heads, S, d]`);
    }
    assert(o.names.includes('image_features') && o.names.includes('vision_hidden'), `image_features and vision_hidden in ${o.names.slice(0, 4)}…`);
    if (arch === 'llava_onevision' && gpu.features.shaderF16) {
      // --kv-dtype f16: the written cache is the f16 prefill's, widened to f32; the logits are that prefill's
      const out16 = `${dir}/${arch}-out16.safetensors`;
      await forwardCommand({ model, inputs, out: out16, kvDtype: 'f16' });
      const o16 = await tensors(out16);
      const r16 = await m.prefill({ images: [await readImage(image)], prompt: 'What is this?', logits: 'all', kvDtype: 'f16' });
      assertEquals(r16.cache.dtype, 'f16', 'prefill kvDtype f16');
      const l16 = (await r16.logits.read()) as Float32Array, got16 = (await o16.get('logits')).data!;
      assert(l16.every((x, i) => x === got16[i]), 'forward --kv-dtype f16 logits equal the f16 prefill');
      assert(!l16.every((x, i) => x === want[i]), 'f16-cache logits differ from the f32-cache logits (the cache really is f16)');
      for (const l of [0, r16.cache.layers - 1]) {
        const v = await o16.get(`past_key_values.${l}.value`);
        assertEquals(v.dtype, 'F32', 'past_key_values written as F32');
        const mine = await r16.cache.readLayer(l, 'value');
        assert(mine.every((x, i) => x === v.data![i]), `layer ${l} values equal the f16 cache`);
      }
      r16.dispose();
    }
    m.dispose();
  } });
}
