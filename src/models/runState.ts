// A model's run state (as llama2.c's RunState): every activation a block needs, allocated once for the longest
// sequence seen and reused by every layer and every forward. `at(rows)` views the first rows of each buffer; a
// longer sequence reallocates once. Outputs that must outlive a forward (logits, kept taps, the cache) are never
// run-state buffers.
import { bytesPerElement } from '../gpu/dtype.ts';
import type { Gpu } from '../gpu/device.ts';
import type { Stage } from '../gpu/stage.ts';
import { Tensor } from '../gpu/tensor.ts';
import { copyInto, sliceRows } from '../ops/rows.ts';

/** Token rows per MLP block of a long sequence (decoder and vision towers): the MLP's buffers hold min(S, this) rows. */
export const MLP_BLOCK_ROWS = 2048;

/** Activation dtypes a run state holds: f32, or f16 (the f16 activation path; packed halves, read widened to f32). */
export type ActDType = 'f32' | 'f16';

/** The first `n` rows of `t` (t itself when it has n rows). */
export function firstRows<D extends ActDType>(t: Tensor<D>, n: number): Tensor<D> {
  return n === t.rows ? t : t.leadingRows(n);
}

/**
 * `body(xb, outb, n)` over blocks of at most `blockRows` rows of x, writing the same rows of `out`: one call on x
 * and out themselves when x fits one block (no copies), else per block x's rows are copied into io.x, `body` writes
 * io.out, and that is copied back into out's rows. `body` must be row-wise (each output row depends on its input row).
 * An f16 x is copied as u32 words.
 */
export function inRowBlocks<D extends ActDType>(stage: Stage, x: Tensor<D>, out: Tensor<'f32'>, blockRows: number, io: RunState<'x' | 'out', { x: D; out: 'f32' }>, body: (xb: Tensor<D>, outb: Tensor<'f32'>, n: number) => void): void {
  const rows = x.rows;
  if (rows <= blockRows) return body(x, out, rows);
  const b = io.at(blockRows);
  const bits = (t: Tensor<D>): Tensor<'f32'> | Tensor<'u32'> => t.dtype === 'f16' ? t.words() : t as Tensor<'f32'>;
  for (let r0 = 0; r0 < rows; r0 += blockRows) {
    const n = Math.min(blockRows, rows - r0), xb = firstRows(b.x, n), ob = firstRows(b.out, n);
    sliceRows(stage, bits(x), r0, n, bits(xb));
    body(xb, ob, n);
    copyInto(stage, ob, out, r0);
  }
}

/** A valid block size: a positive integer, or an error naming `what`. */
export function checkBlockRows(rows: number, what: string): number {
  if (!Number.isInteger(rows) || rows < 1) throw new Error(`${what}: mlpBlockRows must be a positive integer, got ${rows}`);
  return rows;
}

/** The tensors of a run state: each activation in its dtype. */
export type StateTensors<K extends string, T extends { [k in K]: ActDType }> = { [k in K]: Tensor<T[k]> };

export class RunState<K extends string, T extends { [k in K]: ActDType } = { [k in K]: 'f32' }> {
  private buffers: StateTensors<K, T> | null = null;
  private capacity = 0;

  /** `widths`: the row length of each activation; `dtypes`: each one's dtype (default f32 for all). */
  constructor(readonly gpu: Gpu, readonly label: string, readonly widths: Readonly<Record<K, number>>, readonly dtypes?: Readonly<T>) {}

  private dtypeOf(k: K): ActDType {
    return this.dtypes?.[k] ?? 'f32';
  }

  /** Views of the first `rows` rows of every activation, allocating (or growing) the buffers first if needed. */
  at(rows: number): StateTensors<K, T> {
    if (!Number.isInteger(rows) || rows < 1) throw new Error(`${this.label} run state: ${rows} rows asked for`);
    if (!this.buffers || rows > this.capacity) this.allocate(rows);
    const out = {} as Record<K, Tensor>;
    for (const k of Object.keys(this.widths) as K[]) out[k] = this.buffers![k].leadingRows(rows);
    return out as StateTensors<K, T>;
  }

  private allocate(rows: number): void {
    this.dispose();
    const made: Tensor[] = [];
    try {
      const b = {} as Record<K, Tensor>;
      for (const [k, w] of Object.entries(this.widths) as [K, number][]) made.push(b[k] = Tensor.empty(this.gpu, this.dtypeOf(k), [rows, w], `${this.label}.${k}`));
      this.buffers = b as StateTensors<K, T>;
      this.capacity = rows;
    } catch (e) {
      made.forEach((t) => t.dispose());
      const bytes = rows * (Object.entries(this.widths) as [K, number][]).reduce((a, [k, w]) => a + w * bytesPerElement(this.dtypeOf(k)), 0);
      throw new Error(`${this.label} run state for ${rows} rows (${(bytes / 2 ** 20).toFixed(1)} MiB): ${(e as Error).message}`);
    }
  }

  /** Rows the buffers hold now (0 before the first forward). */
  get rows(): number {
    return this.capacity;
  }

  get byteLength(): number {
    return this.buffers ? Object.values<Tensor>(this.buffers).reduce((a, t) => a + t.byteLength, 0) : 0;
  }

  dispose(): void {
    if (this.buffers) for (const t of Object.values<Tensor>(this.buffers)) t.dispose();
    this.buffers = null;
    this.capacity = 0;
  }
}
