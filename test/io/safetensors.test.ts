// safetensors reading and writing: a file built byte by byte in the test (so the writer is not only checked
// against itself), round trips, sharded checkpoints, Blob sources, and every malformed-input error.
import { encode } from '../../src/gpu/dtype.ts';
import { blobSource, Checkpoint, expectLoadable, fileSource, SafetensorsFile, writeSafetensors } from '../../src/io/safetensors.ts';
import { assertEquals, assertRejects, assertThrows } from '../gpu/assert.ts';

function handMade(): Uint8Array {
  // header: a [2] F32 tensor "a" = [1.5, -2] and a [3] BF16 tensor "b" = bf16 bits 0x3f80 0xbf80 0x4049
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

async function tmpFile(bytes: Uint8Array, name = 'model.safetensors'): Promise<string> {
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(`${dir}/${name}`, bytes);
  return `${dir}/${name}`;
}

Deno.test('reads a file written byte by byte: dtypes, shapes, offsets, bytes', async () => {
  const f = await SafetensorsFile.open(await fileSource(await tmpFile(handMade())));
  assertEquals([...f.tensors.keys()], ['a', 'b']);
  assertEquals(f.info('b').shape, [3]);
  const a = await f.read('a');
  assertEquals([...new Float32Array(a.buffer, a.byteOffset, 2)], [1.5, -2]);
  const b = await f.read('b');
  assertEquals([...new Uint16Array(b.buffer.slice(b.byteOffset, b.byteOffset + 6))], [0x3f80, 0xbf80, 0x4049]);
  assertEquals(expectLoadable(f.info('b')), 'BF16');
});

Deno.test('writer: 8-byte aligned header, round trip of f32/f16/bf16 and metadata, from a Blob too', async () => {
  const vals = [0.5, -1, 3.25, 7];
  const bytes = writeSafetensors([
    { name: 'w.f32', dtype: 'F32', shape: [2, 2], data: encode('f32', vals) },
    { name: 'w.f16', dtype: 'F16', shape: [4], data: encode('f16', vals) },
    { name: 'w.bf16', dtype: 'BF16', shape: [1, 3], data: encode('bf16', vals.slice(0, 3)).subarray(0, 6) },
  ], { format: 'pt' });
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assertEquals((8 + n) % 8, 0, 'data starts 8-byte aligned');
  const f = await SafetensorsFile.open(blobSource(new Blob([bytes as BlobPart]), 'mem.safetensors'));
  assertEquals(f.metadata, { format: 'pt' });
  assertEquals(f.info('w.bf16').shape, [1, 3]);
  assertEquals([...(await f.read('w.f16'))], [...encode('f16', vals)]);
  assertEquals([...(await f.read('w.bf16'))], [...encode('bf16', vals.slice(0, 3)).subarray(0, 6)]);
  assertThrows(() => writeSafetensors([{ name: 'x', dtype: 'F32', shape: [3], data: new Uint8Array(8) }]), /tensor x: shape \[3\] F32 needs 12 bytes, got 8/);
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
  await assertRejects(async () => SafetensorsFile.open(await fileSource(await tmpFile(corrupt))), /corrupt header/);
  const badShape = writeSafetensors([{ name: 'x', dtype: 'F32', shape: [2], data: new Uint8Array(8) }]);
  // rewrite the shape in the header text to [3] (same length): 12 bytes needed, 8 given
  const text = new TextDecoder().decode(badShape).replace('"shape":[2]', '"shape":[3]');
  await assertRejects(async () => SafetensorsFile.open(await fileSource(await tmpFile(new TextEncoder().encode(text)))), /tensor x: shape \[3\] F32 needs 12 bytes, data_offsets give 8/);
  const i64 = writeSafetensors([{ name: 'ids', dtype: 'I64', shape: [1], data: new Uint8Array(8) }]);
  const f = await SafetensorsFile.open(blobSource(new Blob([i64 as BlobPart]), 'ids.safetensors'));
  assertThrows(() => expectLoadable(f.info('ids')), /ids\.safetensors: tensor ids has dtype I64; kvscope loads F32, F16, BF16/);
  assertThrows(() => f.info('nope'), /ids\.safetensors: no tensor named nope/);
  await assertRejects(async () => SafetensorsFile.open(blobSource(new Blob([new Uint8Array(5)]), 'tiny')), /tiny: 5 bytes is too short/);
});

Deno.test('sharded checkpoints: index, shards, missing shard, tensor not in its shard', async () => {
  const dir = await Deno.makeTempDir();
  const t = (name: string, v: number) => ({ name, dtype: 'F32', shape: [1], data: encode('f32', [v]) });
  await Deno.writeFile(`${dir}/model-00001-of-00002.safetensors`, writeSafetensors([t('a', 1), t('b', 2)]));
  await Deno.writeFile(`${dir}/model-00002-of-00002.safetensors`, writeSafetensors([t('c', 3)]));
  const index = { metadata: { total_size: 12 }, weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00001-of-00002.safetensors', c: 'model-00002-of-00002.safetensors' } };
  await Deno.writeTextFile(`${dir}/model.safetensors.index.json`, JSON.stringify(index));
  const ck = await Checkpoint.openDir(dir);
  assertEquals(ck.tensorNames().sort(), ['a', 'b', 'c']);
  assertEquals(ck.info('c').file, `${dir}/model-00002-of-00002.safetensors`);
  assertEquals([...new Float32Array((await ck.read('c')).slice().buffer)], [3]);
  assertEquals(ck.totalBytes, 12);
  assertThrows(() => ck.info('d'), /missing tensor d/);
  await Deno.writeTextFile(`${dir}/model.safetensors.index.json`, JSON.stringify({ weight_map: { ...index.weight_map, d: 'model-00003-of-00003.safetensors' } }));
  await assertRejects(() => Checkpoint.openDir(dir), /names shard model-00003-of-00003\.safetensors, which is not in/);
  await Deno.writeTextFile(`${dir}/model.safetensors.index.json`, JSON.stringify({ weight_map: { ...index.weight_map, d: 'model-00002-of-00002.safetensors' } }));
  await assertRejects(() => Checkpoint.openDir(dir), /model-00002-of-00002\.safetensors: model\.safetensors\.index\.json maps tensor d here, but the shard has no such tensor/);
  const empty = await Deno.makeTempDir();
  await assertRejects(() => Checkpoint.openDir(empty), /has neither model\.safetensors nor model\.safetensors\.index\.json/);
});
