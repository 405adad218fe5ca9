// A tiny checkpoint in HF's own layout: config.json, model.safetensors (tensors in the given order, converted to
// the checkpoint dtype), any extra files (tokenizer.json, preprocessor_config.json, ...); optionally the same
// tensors as N shards with model.safetensors.index.json in a sibling directory `${dir}-sharded`.
import { encode } from '../../gpu/dtype.ts';
import { fileSource, SafetensorsFile, type TensorToWrite, writeSafetensors } from '../../io/safetensors.ts';
import type { TinyTensor } from './randomWeights.ts';

const GPU_DTYPE = { F32: 'f32', F16: 'f16', BF16: 'bf16' } as const;

/** The tensor's bytes in `dtype` (f16/bf16: round to nearest even). */
function toWrite(t: TinyTensor, dtype: 'F32' | 'F16' | 'BF16'): TensorToWrite {
  const n = t.shape.reduce((a, b) => a * b, 1);
  if (t.values.length !== n) throw new Error(`writeTinyCheckpoint: tensor ${t.name}: shape [${t.shape.join(', ')}] needs ${n} values, has ${t.values.length}`);
  const bytes = encode(GPU_DTYPE[dtype], t.values);
  return { name: t.name, dtype, shape: t.shape, data: bytes.subarray(0, n * (dtype === 'F32' ? 4 : 2)) };
}

async function writeCommon(dir: string, config: object, extraFiles: Record<string, string>): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(config, null, 2));
  for (const [name, text] of Object.entries(extraFiles)) {
    if (name.includes('/') || name === 'config.json') throw new Error(`writeTinyCheckpoint: extra file ${JSON.stringify(name)} must be a plain file name other than config.json`);
    await Deno.writeTextFile(`${dir}/${name}`, text);
  }
}

export async function writeTinyCheckpoint(
  dir: string,
  files: { config: object; tensors: TinyTensor[]; dtype: 'F32' | 'F16' | 'BF16'; extraFiles?: Record<string, string>; shards?: number },
): Promise<void> {
  const { config, tensors, dtype } = files;
  if (!(dtype in GPU_DTYPE)) throw new Error(`writeTinyCheckpoint: dtype ${JSON.stringify(dtype)} is not one of F32, F16, BF16`);
  const all = tensors.map((t) => toWrite(t, dtype));
  await writeCommon(dir, config, files.extraFiles ?? {});
  // metadata {format: pt}: what transformers' save_pretrained writes
  await Deno.writeFile(`${dir}/model.safetensors`, writeSafetensors(all, { format: 'pt' }));

  const shards = files.shards ?? 1;
  if (shards <= 1) return;
  await writeCommon(`${dir}-sharded`, config, files.extraFiles ?? {});
  await writeShards(`${dir}-sharded`, all, shards);
}

/** The tensors as N contiguous, byte-balanced, non-empty shards + model.safetensors.index.json in `dir`. */
async function writeShards(dir: string, all: TensorToWrite[], shards: number): Promise<void> {
  const meta = { format: 'pt' };
  if (!Number.isInteger(shards) || shards > all.length) throw new Error(`writeTinyCheckpoint: ${shards} shards for ${all.length} tensors (every shard must hold one)`);
  // contiguous runs of tensors, each shard filled up to k/N of the total bytes, each non-empty
  const total = all.reduce((a, t) => a + t.data.byteLength, 0);
  const groups: TensorToWrite[][] = [];
  let i = 0, acc = 0;
  for (let g = 0; g < shards; g++) {
    const group: TensorToWrite[] = [];
    const target = (total * (g + 1)) / shards;
    do {
      group.push(all[i]);
      acc += all[i++].data.byteLength;
    } while (i < all.length - (shards - 1 - g) && (g === shards - 1 || acc + all[i].data.byteLength <= target));
    groups.push(group);
  }
  const pad = (k: number) => String(k).padStart(5, '0');
  const weightMap: Record<string, string> = {};
  for (let g = 0; g < shards; g++) {
    const file = `model-${pad(g + 1)}-of-${pad(shards)}.safetensors`;
    await Deno.writeFile(`${dir}/${file}`, writeSafetensors(groups[g], meta));
    for (const t of groups[g]) weightMap[t.name] = file;
  }
  const index = { metadata: { total_size: total }, weight_map: weightMap };
  await Deno.writeTextFile(`${dir}/model.safetensors.index.json`, JSON.stringify(index, null, 2));
}

/**
 * The sharded variant of a single-file checkpoint: `${dir}-sharded` with every other file of `dir` copied and
 * model.safetensors split into `shards` shards (stored order and dtypes kept).
 */
export async function reshardCheckpoint(dir: string, shards: number): Promise<string> {
  const file = await SafetensorsFile.open(await fileSource(`${dir}/model.safetensors`));
  const all: TensorToWrite[] = [];
  for (const t of [...file.tensors.values()].sort((a, b) => a.offset - b.offset)) {
    all.push({ name: t.name, dtype: t.dtype, shape: t.shape, data: await file.source.read(t.offset, t.byteLength) });
  }
  const out = `${dir}-sharded`;
  await Deno.mkdir(out, { recursive: true });
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && e.name !== 'model.safetensors' && !/^model-\d+-of-\d+\.safetensors$/.test(e.name) && e.name !== 'model.safetensors.index.json') {
      await Deno.copyFile(`${dir}/${e.name}`, `${out}/${e.name}`);
    }
  }
  await writeShards(out, all, Math.min(shards, all.length));
  return out;
}
