// Loading a checkpoint that is wrong in one way gives an error naming the file, tensor or field at fault — for
// each way a real download goes wrong: a missing tensor, a wrong shape, an unsupported dtype, a truncated file, a
// corrupt header, an unknown model type, a contradictory config field.
import { acquireGpu } from '../../src/gpu/device.ts';
import { fileSource, SafetensorsFile, type TensorToWrite, writeSafetensors } from '../../src/io/safetensors.ts';
import { loadModel } from '../../src/models/registry.ts';
import { writeTinyLlavaOnevision } from '../../src/models/tiny/tinyLlava.ts';
import { assertRejects } from '../gpu/assert.ts';

const gpu = await acquireGpu();
const base = await Deno.makeTempDir({ prefix: 'kvscope-load-errors-' });
await writeTinyLlavaOnevision(`${base}/good`, { seed: 3 });

/** A copy of the good checkpoint with its tensors edited by `edit` (and config by `editConfig`). */
async function variant(name: string, edit: (t: TensorToWrite[]) => TensorToWrite[], editConfig?: (c: Record<string, unknown>) => void): Promise<string> {
  const dir = `${base}/${name}`;
  await Deno.mkdir(dir, { recursive: true });
  for await (const e of Deno.readDir(`${base}/good`)) if (e.name !== 'model.safetensors') await Deno.copyFile(`${base}/good/${e.name}`, `${dir}/${e.name}`);
  const f = await SafetensorsFile.open(await fileSource(`${base}/good/model.safetensors`));
  const all: TensorToWrite[] = [];
  for (const t of f.tensors.values()) all.push({ name: t.name, dtype: t.dtype, shape: t.shape, data: await f.source.read(t.offset, t.byteLength) });
  await Deno.writeFile(`${dir}/model.safetensors`, writeSafetensors(edit(all)));
  if (editConfig) {
    const c = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
    editConfig(c);
    await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(c));
  }
  return dir;
}

const opts = { sanitizeResources: false, sanitizeOps: false };
const target = 'language_model.model.layers.1.mlp.up_proj.weight';

Deno.test({ name: 'load: a missing tensor is named', ...opts, async fn() {
  const dir = await variant('missing', (t) => t.filter((x) => x.name !== target));
  await assertRejects(() => loadModel(gpu, dir), /missing tensor .*layers\.1\.mlp\.up_proj\.weight/, 'missing tensor');
} });

Deno.test({ name: 'load: a tensor of the wrong shape is named with both shapes', ...opts, async fn() {
  const dir = await variant('shape', (t) => t.map((x) => (x.name === target ? { ...x, shape: [x.shape[1], x.shape[0]] } : x)));
  await assertRejects(() => loadModel(gpu, dir), /up_proj\.weight: shape \[\d+, \d+\], expected \[\d+, \d+\]/, 'wrong shape');
} });

Deno.test({ name: 'load: an unsupported dtype is named', ...opts, async fn() {
  const dir = await variant('dtype', (t) => t.map((x) => (x.name === target ? { ...x, dtype: 'I32' } : x)));
  await assertRejects(() => loadModel(gpu, dir), /up_proj\.weight: unsupported dtype I32/, 'dtype');
} });

Deno.test({ name: 'load: a truncated model.safetensors names the file', ...opts, async fn() {
  const dir = await variant('truncated', (t) => t);
  const bytes = await Deno.readFile(`${dir}/model.safetensors`);
  await Deno.writeFile(`${dir}/model.safetensors`, bytes.subarray(0, Math.floor(bytes.length * 0.7)));
  await assertRejects(() => loadModel(gpu, dir), /model\.safetensors.*truncated/, 'truncated');
} });

Deno.test({ name: 'load: a corrupt header names the file', ...opts, async fn() {
  const dir = await variant('corrupt', (t) => t);
  const bytes = await Deno.readFile(`${dir}/model.safetensors`);
  bytes.fill(0x7b, 8, 40); // '{{{{…' is not JSON
  await Deno.writeFile(`${dir}/model.safetensors`, bytes);
  await assertRejects(() => loadModel(gpu, dir), /model\.safetensors: corrupt header/, 'corrupt header');
} });

Deno.test({ name: 'load: an unknown model_type names the field and the supported types', ...opts, async fn() {
  const dir = await variant('type', (t) => t, (c) => { c.model_type = 'llava_llama4'; });
  await assertRejects(() => loadModel(gpu, dir), /config\.json: model_type: unsupported model type "llava_llama4" \(supported: llava_onevision, llava_next, qwen2_5_vl\)/, 'model type');
} });

Deno.test({ name: 'load: a contradictory config field is named with its path', ...opts, async fn() {
  const dir = await variant('field', (t) => t, (c) => { (c.text_config as Record<string, unknown>).num_key_value_heads = 3; });
  await assertRejects(() => loadModel(gpu, dir), /text_config\.num_(attention|key_value)_heads/, 'contradictory heads');
} });

// the LM head as transformers ties it: tie_word_embeddings decides, not the presence of an lm_head tensor
const embedName = 'language_model.model.embed_tokens.weight';
Deno.test({ name: 'load: tie_word_embeddings false without an lm_head tensor is refused, naming both', ...opts, async fn() {
  const dir = await variant('untied-no-head', (t) => t, (c) => ((c.text_config as Record<string, unknown>).tie_word_embeddings = false));
  await assertRejects(() => loadModel(gpu, dir), /lm_head\.weight is missing and config\.json has tie_word_embeddings false/, 'untied, no head');
} });

Deno.test({ name: 'load: tie_word_embeddings true ignores a stored lm_head (transformers ties it to embed_tokens)', ...opts, async fn() {
  const dir = await variant('tied-with-head', (t) => {
    const e = t.find((x) => x.name === embedName)!;
    const noise = new Uint8Array(e.data.length).map((_, i) => (i * 37 + 11) & 0xff);
    return [...t, { ...e, name: 'language_model.lm_head.weight', data: noise }];
  });
  const logits = async (d: string) => {
    const m = await loadModel(gpu, d);
    const r = await m.prefill({ images: [], prompt: 'Hello there' });
    const out = await r.logits.read() as Float32Array;
    r.dispose();
    m.dispose();
    return out;
  };
  const a = await logits(`${base}/good`), b = await logits(dir);
  let same = a.length === b.length;
  for (let i = 0; same && i < a.length; i++) same = a[i] === b[i];
  if (!same) throw new Error('logits changed when a (tied) checkpoint also stores an lm_head tensor');
} });
