// A model's weights as it asks for them: by canonical HF name (either legacy or new layout resolves), with the
// expected shape checked, in the checkpoint's own dtype on the GPU (f32, or f16/bf16 packed two per u32), or as
// float64 host tensors for the CPU reference forward. Loading streams one tensor at a time, so host memory stays
// near the size of the largest tensor; progress is reported in bytes.
import type { Gpu } from '../gpu/device.ts';
import { decode, type DType } from '../gpu/dtype.ts';
import { shapeString, Tensor } from '../gpu/tensor.ts';
import { type Checkpoint, expectLoadable, SafetensorsError } from '../io/safetensors.ts';
import { type HostTensor, hostTensor } from '../gpu/hostTensor.ts';

export interface LoadProgress {
  /** Bytes read so far, and all the checkpoint's tensor bytes (an upper bound on what the model reads). */
  bytes: number;
  totalBytes: number;
  tensors: number;
  /** Name of the tensor just loaded. */
  name: string;
}

const DTYPE_OF: Record<string, DType> = { F32: 'f32', F16: 'f16', BF16: 'bf16' };

export class Weights {
  bytesLoaded = 0;
  tensorsLoaded = 0;
  /** Seconds spent reading and uploading (for load bytes/s). */
  seconds = 0;
  private total: number | null = null;

  constructor(readonly checkpoint: Checkpoint, readonly onProgress?: (p: LoadProgress) => void) {}

  has(name: string): boolean {
    return this.checkpoint.has(name);
  }

  /** Shape of a stored tensor (throws naming the tensor when absent). */
  shape(name: string): readonly number[] {
    return this.checkpoint.info(name).shape;
  }

  private check(name: string, shape?: readonly number[]) {
    const info = this.checkpoint.info(name);
    expectLoadable(info);
    if (shape && info.shape.join(',') !== shape.join(',')) {
      throw new SafetensorsError(info.file, `tensor ${info.name}: shape ${shapeString(info.shape)}, expected ${shapeString(shape)} from config.json`);
    }
    return info;
  }

  /** The tensor on the GPU in its checkpoint dtype, checked against `shape` when given. */
  async gpu(gpu: Gpu, name: string, shape?: readonly number[]): Promise<Tensor> {
    const info = this.check(name, shape);
    const t0 = performance.now();
    const bytes = await this.checkpoint.read(name);
    const t = Tensor.fromBytes(gpu, DTYPE_OF[info.dtype], info.shape, bytes, name);
    this.account(name, info.byteLength, t0);
    return t;
  }

  /**
   * Several tensors of one dtype and row length stacked along rows into one GPU tensor (e.g. gate_proj over
   * up_proj: one [2I, H] projection), each checked against its shape; `label` names the result.
   */
  async gpuRows(gpu: Gpu, parts: readonly { name: string; shape: readonly number[] }[], label: string): Promise<Tensor> {
    const infos = parts.map((p) => this.check(p.name, p.shape));
    const [first] = infos;
    const rowLength = first.shape[first.shape.length - 1];
    for (const [i, info] of infos.entries()) {
      if (info.dtype !== first.dtype || info.shape[info.shape.length - 1] !== rowLength || info.shape.length !== first.shape.length) {
        throw new SafetensorsError(parts[i].name, `${info.dtype} ${shapeString(info.shape)} cannot be stacked on ${parts[0].name} (${first.dtype} ${shapeString(first.shape)})`);
      }
    }
    const t0 = performance.now();
    const chunks = await Promise.all(parts.map((p) => this.checkpoint.read(p.name)));
    const bytes = new Uint8Array(chunks.reduce((a, c) => a + c.byteLength, 0));
    let at = 0;
    for (const c of chunks) (bytes.set(c, at), at += c.byteLength);
    const rows = infos.reduce((a, info) => a + info.shape[0], 0);
    const t = Tensor.fromBytes(gpu, DTYPE_OF[first.dtype], [rows, ...first.shape.slice(1)], bytes, label);
    infos.forEach((info, i) => this.account(parts[i].name, info.byteLength, t0));
    return t;
  }

  /** The tensor as float64 on the host (exact: f16/bf16 widen losslessly). */
  async host(name: string, shape?: readonly number[]): Promise<HostTensor> {
    const info = this.check(name, shape);
    const t0 = performance.now();
    const bytes = await this.checkpoint.read(name);
    const n = info.shape.reduce((a, b) => a * b, 1);
    const values = decode(DTYPE_OF[info.dtype], bytes, n);
    this.account(name, info.byteLength, t0);
    return hostTensor(info.shape, values);
  }

  private account(name: string, bytes: number, t0: number): void {
    this.bytesLoaded += bytes;
    this.tensorsLoaded++;
    this.seconds += (performance.now() - t0) / 1000;
    this.onProgress?.({ bytes: this.bytesLoaded, totalBytes: (this.total ??= this.checkpoint.totalBytes), tensors: this.tensorsLoaded, name });
  }
}

/**
 * The tensor the LM head multiplies by, as transformers decides it: `tie_word_embeddings` true → the token embedding
 * (tie_weights() points lm_head at embed_tokens after loading, so a stored lm_head is not used); false → the stored
 * `lmHead`, which must then be present (transformers would start it from random numbers: refused here).
 */
export function lmHeadTensorName(weights: Pick<Weights, 'has' | 'checkpoint'>, tied: boolean, lmHead: string, embed: string): string {
  if (tied) return embed;
  if (weights.has(lmHead)) return lmHead;
  throw new SafetensorsError(weights.checkpoint.origin, `tensor ${lmHead} is missing and config.json has tie_word_embeddings false, so the LM head is not the token embedding ` +
    `(transformers would initialise it randomly); set tie_word_embeddings true if the head is tied`);
}
