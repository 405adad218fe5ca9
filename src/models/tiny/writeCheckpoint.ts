// A tiny checkpoint in HF's own layout: config.json, model.safetensors (tensors in the given order, converted to
// the checkpoint dtype), any extra files (tokenizer.json, preprocessor_config.json, ...); optionally the same
// tensors as N shards with model.safetensors.index.json in a sibling directory `${dir}-sharded`.
import { encode } from '../../gpu/dtype.ts';
import { type TensorToWrite, writeSafetensors } from '../../io/safetensors.ts';
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
  const meta = { format: 'pt' }; // what transformers' save_pretrained writes
  await writeCommon(dir, config, files.extraFiles ?? {});
  await Deno.writeFile(`${dir}/model.safetensors`, writeSafetensors(all, meta));

  const shards = files.shards ?? 1;
  if (shards <= 1) return;
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
  const sharded = `${dir}-sharded`;
  await writeCommon(sharded, config, files.extraFiles ?? {});
  const pad = (k: number) => String(k).padStart(5, '0');
  const weightMap: Record<string, string> = {};
  for (let g = 0; g < shards; g++) {
    const file = `model-${pad(g + 1)}-of-${pad(shards)}.safetensors`;
    await Deno.writeFile(`${sharded}/${file}`, writeSafetensors(groups[g], meta));
    for (const t of groups[g]) weightMap[t.name] = file;
  }
  const index = { metadata: { total_size: total }, weight_map: weightMap };
  await Deno.writeTextFile(`${sharded}/model.safetensors.index.json`, JSON.stringify(index, null, 2));
}
