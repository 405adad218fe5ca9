// safetensors reading and writing: a file built byte by byte in the test (so the writer is not only checked
// against itself), round trips, sharded checkpoints, Blob / File / URL sources, legacy and new weight names,
// and every malformed-input error.
import { decode, encode } from '../../src/gpu/dtype.ts';
import {
  blobSource,
  canonicalName,
  expectLoadable,
  fileSource,
  openCheckpoint,
  SafetensorsFile,
  urlSource,
  writeSafetensors,
  writeSafetensorsFile,
} from '../../src/io/safetensors.ts';
import { assert, assertEquals, assertRejects, assertThrows } from '../gpu/assert.ts';

/** A [2] F32 tensor "a" = [1.5, -2] and a [3] BF16 tensor "b" = bits 0x3f80 0xbf80 0x4049, header unpadded. */
function handMade(): Uint8Array {
  const json = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"BF16","shape":[3],"data_offsets":[8,14]}}';
  const hb = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + hb.length + 14);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, hb.length, true);
  out.set(hb, 8);
  const d = 8 + hb.length;
  dv.setFloat32(d, 1.5, true);
  dv.setFloat32(d + 4, -2, true);
  dv.setUint16(d + 8, 0x3f80, true);
  dv.setUint16(d + 10, 0xbf80, true);
  dv.setUint16(d + 12, 0x4049, true);
  return out;
}

/** A safetensors file with the given header text (unpadded) and data bytes. */
function withHeader(json: string, data: Uint8Array): Uint8Array {
  const hb = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + hb.length + data.length);
  new DataView(out.buffer).setUint32(0, hb.length, true);
  out.set(hb, 8);
  out.set(data, 8 + hb.length);
  return out;
}

async function tmpFile(bytes: Uint8Array, name = 'model.safetensors'): Promise<string> {
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(`${dir}/${name}`, bytes);
  return `${dir}/${name}`;
}

/** Tensor bytes decoded to plain numbers (comparable with assertEquals). */
const values = (dtype: 'f32' | 'f16' | 'bf16', bytes: Uint8Array, n: number) => [...decode(dtype, bytes, n)];

const openBytes = (bytes: Uint8Array, name = 'mem.safetensors') => SafetensorsFile.open(blobSource(new Blob([bytes as BlobPart]), name));

Deno.test('reads a file written byte by byte: dtypes, shapes, offsets, bytes', async () => {
  const f = await SafetensorsFile.open(await fileSource(await tmpFile(handMade())));
  assertEquals([...f.tensors.keys()], ['a', 'b']);
  assertEquals(f.info('b').shape, [3]);
  assertEquals(f.info('b').byteLength, 6);
  const a = await f.read('a');
  assertEquals([...new Float32Array(a.slice().buffer)], [1.5, -2]);
  assertEquals(values('bf16', await f.read('b'), 3), [1, -1, 3.140625]);
  assertEquals(expectLoadable(f.info('b')), 'BF16');
});

Deno.test('writer: 8-byte aligned space-padded header; f32/f16/bf16 round trip through a file and a Blob', async () => {
  const vals = [0.5, -1, 3.25, 7, 1e-3, -65504];
  const tensors = [
    { name: 'w.f32', dtype: 'F32', shape: [2, 3], data: encode('f32', vals) },
    { name: 'w.f16', dtype: 'F16', shape: [6], data: encode('f16', vals) },
    { name: 'w.bf16', dtype: 'BF16', shape: [3, 1], data: encode('bf16', vals.slice(0, 3)).subarray(0, 6) },
  ];
  const bytes = writeSafetensors(tensors, { format: 'pt' });
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assertEquals((8 + n) % 8, 0, 'data starts 8-byte aligned');
  const headerText = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  assert(/^\{.*\} *$/.test(headerText), `header is JSON then spaces: ${JSON.stringify(headerText)}`);
  // the header a reader without this code would see
  const header = JSON.parse(headerText);
  assertEquals(header['w.f16'], { dtype: 'F16', shape: [6], data_offsets: [24, 36] });
  assertEquals(header.__metadata__, { format: 'pt' });

  const path = await tmpFile(new Uint8Array(0));
  await writeSafetensorsFile(path, tensors, { format: 'pt' });
  assertEquals([...(await Deno.readFile(path))], [...bytes], 'file writer writes the same bytes');
  for (const f of [await SafetensorsFile.open(await fileSource(path)), await openBytes(bytes)]) {
    assertEquals(f.metadata, { format: 'pt' });
    assertEquals(f.info('w.bf16').shape, [3, 1]);
    assertEquals(values('f32', await f.read('w.f32'), 6), [...Float32Array.from(vals)]);
    assertEquals(values('f16', await f.read('w.f16'), 6), vals.map((v) => decode('f16', encode('f16', [v]), 1)[0]));
    assertEquals(values('bf16', await f.read('w.bf16'), 3), [0.5, -1, 3.25]);
  }
  assertThrows(() => writeSafetensors([{ name: 'x', dtype: 'F32', shape: [3], data: new Uint8Array(8) }]), /tensor x: shape \[3\] F32 needs 12 bytes, got 8/);
  assertThrows(() => writeSafetensors([tensors[0], tensors[0]]), /tensor name w\.f32 is reserved or repeated/);
});

Deno.test('malformed files: each error names the file and the tensor', async () => {
  const good = handMade();
  const truncated = await tmpFile(good.subarray(0, good.length - 3));
  await assertRejects(async () => SafetensorsFile.open(await fileSource(truncated)), /model\.safetensors: tensor b ends at data byte 14 but the file holds 11 data bytes: truncated/);
  const longHeader = good.slice();
  new DataView(longHeader.buffer).setUint32(0, 1 << 20, true);
  await assertRejects(async () => SafetensorsFile.open(await fileSource(await tmpFile(longHeader))), /header length 1048576 runs past the end of the file/);
  const corrupt = good.slice();
  corrupt[8] = '['.charCodeAt(0);
  await assertRejects(() => openBytes(corrupt, 'c.safetensors'), /c\.safetensors: corrupt header/);
  await assertRejects(() => openBytes(withHeader('[1, 2]', new Uint8Array(0))), /corrupt header: not a JSON object/);
  // shape [3] F32 needs 12 bytes, the offsets give 8
  await assertRejects(() => openBytes(withHeader('{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', new Uint8Array(8)), 'x.safetensors'),
    /x\.safetensors: tensor x: shape \[3\] F32 needs 12 bytes, data_offsets give 8/);
  await assertRejects(() => openBytes(withHeader('{"p":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"q":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}', new Uint8Array(12))),
    /tensors p \(data bytes 0-8\) and q \(4-12\) overlap/);
  await assertRejects(() => openBytes(withHeader('{"p":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}', new Uint8Array(8))), /tensor p: bad data_offsets \[8,4\]/);
  await assertRejects(() => openBytes(withHeader('{"p":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', new Uint8Array(4))), /tensor p: bad shape \[-1\]/);
  await assertRejects(() => openBytes(withHeader('{"__metadata__":{"n":1}}', new Uint8Array(0))), /__metadata__ must map strings to strings/);
  await assertRejects(() => openBytes(new Uint8Array(5), 'tiny'), /tiny: 5 bytes is too short/);

  // unsupported dtypes are listed, and fail only when read
  const mixed = writeSafetensors([
    { name: 'ids', dtype: 'I64', shape: [1], data: new Uint8Array(8) },
    { name: 'w', dtype: 'F16', shape: [1], data: encode('f16', [2]).subarray(0, 2) },
  ]);
  const f = await openBytes(mixed, 'ids.safetensors');
  assertEquals(f.info('ids').dtype, 'I64');
  assertEquals(values('f16', await f.read('w'), 1), [2]);
  await assertRejects(() => f.read('ids'), /ids\.safetensors: tensor ids: unsupported dtype I64 \(kvscope loads F32, F16, BF16\)/);
  assertThrows(() => f.info('nope'), /ids\.safetensors: no tensor named nope/);
  // a dtype this reader has never heard of: listed, size unchecked, unreadable
  const exotic = await openBytes(withHeader('{"q":{"dtype":"F4","shape":[4],"data_offsets":[0,2]}}', new Uint8Array(2)), 'f4.safetensors');
  await assertRejects(() => exotic.read('q'), /f4\.safetensors: tensor q: unsupported dtype F4/);
});

/** Shards a, b | c plus their index; optionally a config.json. */
async function shardedDir(config?: unknown): Promise<{ dir: string; index: { metadata: { total_size: number }; weight_map: Record<string, string> } }> {
  const dir = await Deno.makeTempDir();
  const t = (name: string, v: number) => ({ name, dtype: 'F32', shape: [1], data: encode('f32', [v]) });
  await writeSafetensorsFile(`${dir}/model-00001-of-00002.safetensors`, [t('language_model.model.embed_tokens.weight', 1), t('vision_tower.vision_model.post_layernorm.weight', 2)]);
  await writeSafetensorsFile(`${dir}/model-00002-of-00002.safetensors`, [t('language_model.lm_head.weight', 3)]);
  const index = {
    metadata: { total_size: 12 },
    weight_map: {
      'language_model.model.embed_tokens.weight': 'model-00001-of-00002.safetensors',
      'vision_tower.vision_model.post_layernorm.weight': 'model-00001-of-00002.safetensors',
      'language_model.lm_head.weight': 'model-00002-of-00002.safetensors',
    },
  };
  await Deno.writeTextFile(`${dir}/model.safetensors.index.json`, JSON.stringify(index));
  if (config) await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(config));
  return { dir, index };
}

Deno.test('sharded checkpoints: index, shards, lookup by legacy or new name, missing shard, tensor not in its shard', async () => {
  const { dir, index } = await shardedDir({ model_type: 'llava_next' });
  const ck = await openCheckpoint(dir);
  assertEquals(ck.modelType, 'llava_next', 'layout taken from config.json');
  assertEquals(ck.tensorNames().sort(), Object.keys(index.weight_map).sort());
  assertEquals(ck.indexTotalSize, 12);
  assertEquals(ck.totalBytes, 12);
  assertEquals(ck.info('language_model.lm_head.weight').file, `${dir}/model-00002-of-00002.safetensors`);
  // the newer transformers names reach the same tensors
  assertEquals(values('f32', await ck.read('lm_head.weight'), 1), [3]);
  assertEquals(values('f32', await ck.read('model.language_model.embed_tokens.weight'), 1), [1]);
  assertEquals(ck.info('model.vision_tower.vision_model.post_layernorm.weight').shape, [1]);
  assert(!ck.has('model.language_model.norm.weight'));
  assertThrows(() => ck.info('model.language_model.norm.weight'), /missing tensor model\.language_model\.norm\.weight/);
  await assertRejects(() => ck.read('nope'), /missing tensor nope/);
  // without a model type only the stored names resolve
  const plain = await openCheckpoint(dir, undefined);
  assertEquals(plain.modelType, 'llava_next');
  await Deno.remove(`${dir}/config.json`);
  const untyped = await openCheckpoint(dir);
  assertEquals(untyped.modelType, null);
  assert(!untyped.has('lm_head.weight') && untyped.has('language_model.lm_head.weight'));

  const write = (map: Record<string, string>) => Deno.writeTextFile(`${dir}/model.safetensors.index.json`, JSON.stringify({ weight_map: map }));
  await write({ ...index.weight_map, d: 'model-00003-of-00003.safetensors' });
  await assertRejects(() => openCheckpoint(dir), /model\.safetensors\.index\.json: weight_map\.d names shard model-00003-of-00003\.safetensors, which is not in/);
  await write({ ...index.weight_map, d: 'model-00002-of-00002.safetensors' });
  await assertRejects(() => openCheckpoint(dir), /model-00002-of-00002\.safetensors: model\.safetensors\.index\.json maps tensor d here, but the shard has no such tensor/);
  await write({ d: '../elsewhere.safetensors' });
  await assertRejects(() => openCheckpoint(dir), /weight_map\.d: "\.\.\/elsewhere\.safetensors" is not a shard file name/);
  await Deno.writeTextFile(`${dir}/model.safetensors.index.json`, '{"weight_map": ');
  await assertRejects(() => openCheckpoint(dir), /model\.safetensors\.index\.json: not valid JSON/);
  const empty = await Deno.makeTempDir();
  await assertRejects(() => openCheckpoint(empty), /has neither model\.safetensors nor model\.safetensors\.index\.json/);
});

Deno.test('single-file checkpoint from picked Files, with the new layout looked up by legacy names', async () => {
  const bytes = writeSafetensors([
    { name: 'model.visual.blocks.0.norm1.weight', dtype: 'BF16', shape: [2], data: encode('bf16', [1, 2]) },
    { name: 'model.language_model.norm.weight', dtype: 'BF16', shape: [2], data: encode('bf16', [3, 4]) },
  ]);
  const files = [new File([bytes as BlobPart], 'model.safetensors'), new File(['{"model_type":"qwen2_5_vl"}'], 'config.json')];
  const ck = await openCheckpoint(files);
  assertEquals(ck.modelType, 'qwen2_5_vl');
  assertEquals(values('bf16', await ck.read('visual.blocks.0.norm1.weight'), 2), [1, 2]);
  assertEquals(values('bf16', await ck.read('model.norm.weight'), 2), [3, 4]);
  assertEquals(ck.info('model.norm.weight').file, 'model.safetensors');
});

Deno.test('canonicalName maps legacy hub names and new names to one form (spec 0.2)', () => {
  const cases: [string, string, string][] = [
    ['llava_onevision', 'language_model.model.layers.0.self_attn.q_proj.weight', 'model.language_model.layers.0.self_attn.q_proj.weight'],
    ['llava_onevision', 'language_model.lm_head.weight', 'lm_head.weight'],
    ['llava_onevision', 'vision_tower.vision_model.embeddings.patch_embedding.weight', 'model.vision_tower.vision_model.embeddings.patch_embedding.weight'],
    ['llava_next', 'multi_modal_projector.linear_1.bias', 'model.multi_modal_projector.linear_1.bias'],
    ['llava_next', 'image_newline', 'model.image_newline'],
    ['llava_next', 'model.image_newline', 'model.image_newline'],
    ['llava_next', 'lm_head.weight', 'lm_head.weight'],
    ['qwen2_5_vl', 'visual.merger.mlp.0.weight', 'model.visual.merger.mlp.0.weight'],
    ['qwen2_5_vl', 'model.layers.3.mlp.down_proj.weight', 'model.language_model.layers.3.mlp.down_proj.weight'],
    ['qwen2_5_vl', 'model.embed_tokens.weight', 'model.language_model.embed_tokens.weight'],
    ['qwen2_5_vl', 'model.language_model.norm.weight', 'model.language_model.norm.weight'],
    ['qwen2_5_vl', 'model.visual.patch_embed.proj.weight', 'model.visual.patch_embed.proj.weight'],
    ['qwen2_5_vl', 'lm_head.weight', 'lm_head.weight'],
  ];
  for (const [type, name, want] of cases) assertEquals(canonicalName(name, type), want, `${type} ${name}`);
  assertThrows(() => canonicalName('x', 'gpt2'), /unknown model_type "gpt2" \(known: llava_onevision, llava_next, qwen2_5_vl\)/);
});

Deno.test('URL source and checkpoint over HTTP Range requests', async () => {
  const model = writeSafetensors([{ name: 'lm_head.weight', dtype: 'F32', shape: [2, 2], data: encode('f32', [1, 2, 3, 4]) }]);
  const served: Record<string, Uint8Array> = { '/ck/model.safetensors': model, '/ck/config.json': new TextEncoder().encode('{"model_type":"llava_onevision"}') };
  const ranges: string[] = [];
  const server = Deno.serve({ port: 0, hostname: '127.0.0.1', onListen() {} }, (req) => {
    const body = served[new URL(req.url).pathname];
    if (!body) return new Response('not found', { status: 404 });
    if (req.method === 'HEAD') return new Response(null, { headers: { 'content-length': String(body.length) } });
    const range = req.headers.get('range');
    const m = range && /^bytes=(\d+)-(\d+)$/.exec(range);
    if (!m) return new Response(body as BodyInit);
    ranges.push(range!);
    const [a, b] = [Number(m[1]), Math.min(Number(m[2]), body.length - 1)];
    return new Response(body.slice(a, b + 1) as BodyInit, { status: 206, headers: { 'content-range': `bytes ${a}-${b}/${body.length}` } });
  });
  try {
    const base = `http://127.0.0.1:${server.addr.port}/ck`;
    const src = await urlSource(`${base}/model.safetensors`);
    assertEquals(src.size, model.length);
    const ck = await openCheckpoint(`${base}/`);
    assertEquals(ck.modelType, 'llava_onevision');
    ranges.length = 0;
    assertEquals(values('f32', await ck.read('language_model.lm_head.weight'), 4), [1, 2, 3, 4]);
    const at = ck.info('lm_head.weight').offset;
    assertEquals(ranges, [`bytes=${at}-${at + 15}`], 'one range request for exactly the tensor');
    await assertRejects(() => urlSource(`${base}/missing.safetensors`), /missing\.safetensors: HTTP 404/);
    await assertRejects(() => openCheckpoint(`${base}/nothing-here`), /has neither model\.safetensors nor/);
  } finally {
    await server.shutdown();
  }
});
