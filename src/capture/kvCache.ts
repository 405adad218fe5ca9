// The static KV cache: one K and one V tensor per decoder layer, preallocated for the maximum sequence, laid out
// [kv_head][position][head_dim] like HF's cache (`[1, kv_heads, S, head_dim]` without the batch axis). Keys are
// stored after RoPE, as HF stores them. `length` is the number of valid positions. The cache holds f32, or f16
// (half the bytes; written rounded to nearest even, read back widened to f32) where the device has a self-tested
// shader-f16.
import type { Gpu } from '../gpu/device.ts';
import { Tensor } from '../gpu/tensor.ts';
import { GpuDeviceLostError } from '../gpu/errors.ts';

export type KvDType = 'f32' | 'f16';
export const KV_DTYPES: readonly KvDType[] = ['f32', 'f16'];

/** Throw unless `gpu` can hold and read an f16 cache: shader-f16 offered and its start-up self-test passed. */
export function assertKvDType(gpu: Gpu, dtype: KvDType): void {
  if (!KV_DTYPES.includes(dtype)) throw new Error(`KV cache: dtype must be ${KV_DTYPES.join(' or ')}, got ${JSON.stringify(dtype)}`);
  if (dtype === 'f32' || gpu.features.shaderF16) return;
  const test = gpu.selfTests.find((t) => t.feature === 'shader-f16');
  const why = test ? `its shader-f16 self-test failed (${test.detail})` : 'it does not offer the shader-f16 feature';
  throw new Error(`KV cache: an f16 cache needs shader-f16, and ${gpu.describe()}: ${why}; use --kv-dtype f32`);
}

export class KvCache {
  length = 0;

  private constructor(
    readonly keys: Tensor<KvDType>[],
    readonly values: Tensor<KvDType>[],
    readonly kvHeads: number,
    readonly capacity: number,
    readonly headDim: number,
    readonly dtype: KvDType,
  ) {}

  static create(gpu: Gpu, layers: number, kvHeads: number, capacity: number, headDim: number, dtype: KvDType = 'f32'): KvCache {
    assertKvDType(gpu, dtype);
    const bpe = dtype === 'f16' ? 2 : 4;
    const bytes = 2 * layers * kvHeads * capacity * headDim * bpe;
    if (kvHeads * capacity * headDim * bpe > gpu.maxBindingBytes) {
      throw new Error(`KV cache: one layer's keys for ${capacity} positions (${kvHeads}×${capacity}×${headDim} ${dtype}) exceed the ` +
        `${gpu.maxBindingBytes}-byte storage binding limit; use a shorter max sequence${dtype === 'f32' ? ' or --kv-dtype f16' : ''}`);
    }
    const keys: Tensor<KvDType>[] = [], values: Tensor<KvDType>[] = [];
    try {
      for (let l = 0; l < layers; l++) {
        keys.push(Tensor.empty(gpu, dtype, [kvHeads, capacity, headDim], `cache.${l}.key`));
        values.push(Tensor.empty(gpu, dtype, [kvHeads, capacity, headDim], `cache.${l}.value`));
      }
    } catch (e) {
      for (const t of [...keys, ...values]) t.dispose();
      if (e instanceof GpuDeviceLostError) throw e; // keep its type: callers reacquire the device on it
      throw new Error(`KV cache: could not allocate ${layers} layers × ${capacity} positions ${dtype} (${(bytes / 2 ** 20).toFixed(1)} MiB): ${(e as Error).message}`);
    }
    return new KvCache(keys, values, kvHeads, capacity, headDim, dtype);
  }

  get layers(): number {
    return this.keys.length;
  }

  get byteLength(): number {
    return 2 * this.layers * this.kvHeads * this.capacity * this.headDim * (this.dtype === 'f16' ? 2 : 4);
  }

  /** Layer l's keys (or values) for positions [0, length) as host data [kv_heads, length, head_dim] (f16 widened). */
  async readLayer(l: number, which: 'key' | 'value'): Promise<Float32Array> {
    const t = which === 'key' ? this.keys[l] : this.values[l];
    const all = (await t.read()) as Float32Array;
    const out = new Float32Array(this.kvHeads * this.length * this.headDim);
    for (let h = 0; h < this.kvHeads; h++) {
      out.set(all.subarray(h * this.capacity * this.headDim, (h * this.capacity + this.length) * this.headDim), h * this.length * this.headDim);
    }
    return out;
  }

  dispose(): void {
    for (const t of [...this.keys, ...this.values]) t.dispose();
  }
}
