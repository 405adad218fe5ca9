// HF forward inputs and outputs as safetensors files, with HF's names and layouts, so kvscope can be checked
// against PyTorch: inputs `input_ids` [1, S] (I64 or I32), `pixel_values` (LLaVA [1, tiles, 3, S, S] or
// [tiles, 3, S, S]; Qwen2.5-VL [rows, 1176]; F32/F16/BF16), `image_sizes` [n, 2] (H, W), `image_grid_thw` [n, 3];
// outputs `logits` [1, S, vocab], `past_key_values.{i}.key|value` [1, kv_heads, S, head_dim], `image_features`,
// `vision_hidden`.
import { decode } from '../gpu/dtype.ts';
import type { ModelInputs } from './model.ts';
import { type ByteSource, fileSource, SafetensorsError, SafetensorsFile, type TensorInfo, type TensorToWrite, writeSafetensors } from '../io/safetensors.ts';

async function readInts(f: SafetensorsFile, t: TensorInfo): Promise<number[]> {
  const bytes = await f.source.read(t.offset, t.byteLength);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = t.shape.reduce((a, b) => a * b, 1);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    switch (t.dtype) {
      case 'I64': {
        const v = dv.getBigInt64(i * 8, true);
        if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) throw new SafetensorsError(t.file, `tensor ${t.name}[${i}] = ${v} is out of range`);
        out.push(Number(v));
        break;
      }
      case 'I32': out.push(dv.getInt32(i * 4, true)); break;
      case 'U32': out.push(dv.getUint32(i * 4, true)); break;
      default: throw new SafetensorsError(t.file, `tensor ${t.name}: dtype ${t.dtype}, expected an integer tensor (I64, I32)`);
    }
  }
  return out;
}

async function readFloats(f: SafetensorsFile, t: TensorInfo): Promise<Float32Array> {
  const kind = ({ F32: 'f32', F16: 'f16', BF16: 'bf16' } as const)[t.dtype as 'F32' | 'F16' | 'BF16'];
  if (!kind) throw new SafetensorsError(t.file, `tensor ${t.name}: dtype ${t.dtype}, expected F32, F16 or BF16`);
  const bytes = await f.source.read(t.offset, t.byteLength);
  return decode(kind, bytes, t.shape.reduce((a, b) => a * b, 1)) as Float32Array;
}

/** Split integer rows of width `w` out of a flat list. */
function rowsOf(values: number[], w: number): number[][] {
  return Array.from({ length: values.length / w }, (_, i) => values.slice(i * w, i * w + w));
}

/** Read HF forward inputs from a safetensors file (batch 1). */
export async function readModelInputs(path: string): Promise<ModelInputs> {
  return await readModelInputsFrom(await fileSource(path));
}

/** readModelInputs from any byte source (a URL in the browser: `urlSource`). */
export async function readModelInputsFrom(source: ByteSource): Promise<ModelInputs> {
  const path = source.name;
  const f = await SafetensorsFile.open(source);
  const need = (name: string) => {
    const t = f.tensors.get(name);
    if (!t) throw new SafetensorsError(path, `no tensor ${name} (has ${[...f.tensors.keys()].join(', ') || 'none'})`);
    return t;
  };
  const ids = need('input_ids');
  if (ids.shape.length === 2 && ids.shape[0] !== 1) throw new SafetensorsError(path, `input_ids has batch ${ids.shape[0]}; kvscope's forward takes batch 1`);
  if (ids.shape.length > 2 || ids.shape.length === 0) throw new SafetensorsError(path, `input_ids has shape [${ids.shape.join(', ')}], expected [1, S]`);
  const inputs: { -readonly [K in keyof ModelInputs]: ModelInputs[K] } = { inputIds: await readInts(f, ids) };
  const pv = f.tensors.get('pixel_values');
  if (pv) {
    let shape = [...pv.shape];
    if (shape.length === 5) {
      if (shape[0] !== 1) throw new SafetensorsError(path, `pixel_values has batch ${shape[0]}; kvscope's forward takes batch 1`);
      shape = shape.slice(1);
    }
    inputs.pixelValues = { shape, data: await readFloats(f, pv) };
  }
  const sizes = f.tensors.get('image_sizes');
  if (sizes) {
    if (sizes.shape[sizes.shape.length - 1] !== 2) throw new SafetensorsError(path, `image_sizes has shape [${sizes.shape.join(', ')}], expected [n, 2]`);
    inputs.imageSizes = rowsOf(await readInts(f, sizes), 2) as [number, number][];
  }
  const thw = f.tensors.get('image_grid_thw');
  if (thw) {
    if (thw.shape[thw.shape.length - 1] !== 3) throw new SafetensorsError(path, `image_grid_thw has shape [${thw.shape.join(', ')}], expected [n, 3]`);
    inputs.imageGridThw = rowsOf(await readInts(f, thw), 3) as [number, number, number][];
  }
  return inputs;
}

/** An I64 tensor to write. */
export function int64Tensor(name: string, shape: readonly number[], values: readonly number[]): TensorToWrite {
  const data = new Uint8Array(values.length * 8);
  const dv = new DataView(data.buffer);
  values.forEach((v, i) => dv.setBigInt64(i * 8, BigInt(v), true));
  return { name, dtype: 'I64', shape, data };
}

/** An F32 tensor to write. */
export function float32Tensor(name: string, shape: readonly number[], values: Float32Array): TensorToWrite {
  const n = shape.reduce((a, b) => a * b, 1);
  if (values.length !== n) throw new Error(`${name}: shape [${shape.join(', ')}] needs ${n} values, got ${values.length}`);
  return { name, dtype: 'F32', shape, data: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) };
}

/** Write HF forward inputs (batch 1; LLaVA pixel_values get HF's batch axis back). */
export function modelInputsFile(inputs: ModelInputs, modelType: string): Uint8Array {
  const t: TensorToWrite[] = [int64Tensor('input_ids', [1, inputs.inputIds.length], inputs.inputIds)];
  if (inputs.pixelValues) {
    const shape = modelType === 'qwen2_5_vl' ? inputs.pixelValues.shape : [1, ...inputs.pixelValues.shape];
    t.push(float32Tensor('pixel_values', shape, inputs.pixelValues.data));
  }
  if (inputs.imageSizes) t.push(int64Tensor('image_sizes', [inputs.imageSizes.length, 2], inputs.imageSizes.flat()));
  if (inputs.imageGridThw) t.push(int64Tensor('image_grid_thw', [inputs.imageGridThw.length, 3], inputs.imageGridThw.flat()));
  return writeSafetensors(t, { format: 'pt', producer: 'kvscope' });
}
