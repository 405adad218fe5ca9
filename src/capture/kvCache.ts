// The static KV cache: one K and one V tensor per decoder layer, preallocated for the maximum sequence, laid out
// [kv_head][position][head_dim] like HF's cache (`[1, kv_heads, S, head_dim]` without the batch axis). Keys are
// stored after RoPE, as HF stores them. `length` is the number of valid positions.
import type { Gpu } from '../gpu/device.ts';
import { Tensor } from '../gpu/tensor.ts';
import { GpuDeviceLostError } from '../gpu/errors.ts';

export class KvCache {
  length = 0;

  private constructor(
    readonly keys: Tensor<'f32'>[],
    readonly values: Tensor<'f32'>[],
    readonly kvHeads: number,
    readonly capacity: number,
    readonly headDim: number,
  ) {}

  static create(gpu: Gpu, layers: number, kvHeads: number, capacity: number, headDim: number): KvCache {
    const bytes = 2 * layers * kvHeads * capacity * headDim * 4;
    if (kvHeads * capacity * headDim * 4 > gpu.maxBindingBytes) {
      throw new Error(`KV cache: one layer's keys for ${capacity} positions (${kvHeads}×${capacity}×${headDim} f32) exceed the ` +
        `${gpu.maxBindingBytes}-byte storage binding limit; use a shorter max sequence`);
    }
    const keys: Tensor<'f32'>[] = [], values: Tensor<'f32'>[] = [];
    try {
      for (let l = 0; l < layers; l++) {
        keys.push(Tensor.empty(gpu, 'f32', [kvHeads, capacity, headDim], `cache.${l}.key`));
        values.push(Tensor.empty(gpu, 'f32', [kvHeads, capacity, headDim], `cache.${l}.value`));
      }
    } catch (e) {
      for (const t of [...keys, ...values]) t.dispose();
      if (e instanceof GpuDeviceLostError) throw e; // keep its type: callers reacquire the device on it
      throw new Error(`KV cache: could not allocate ${layers} layers × ${capacity} positions (${(bytes / 2 ** 20).toFixed(1)} MiB): ${(e as Error).message}`);
    }
    return new KvCache(keys, values, kvHeads, capacity, headDim);
  }

  get layers(): number {
    return this.keys.length;
  }

  get byteLength(): number {
    return 2 * this.layers * this.kvHeads * this.capacity * this.headDim * 4;
  }

  /** Layer l's keys (or values) for positions [0, length) as host data [kv_heads, length, head_dim]. */
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
