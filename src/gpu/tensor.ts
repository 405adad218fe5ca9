// Tensor: a shape, a dtype and row-chunked GPU storage. A row is the last dimension; rows are grouped into
// chunks of at most `gpu.maxBindingBytes` each, so a tensor larger than one storage binding (a 7B model's
// embedding or MLP weights) is held as several buffers and kernels bind one chunk at a time.
import { bytesPerElement, decode, type DType, encode } from './dtype.ts';
import type { Gpu } from './device.ts';

export interface TensorChunk {
  readonly buffer: GPUBuffer;
  /** First row (of the flattened [rows, rowLength] view) held by this chunk. */
  readonly rowStart: number;
  readonly rows: number;
}

export type Shape = readonly number[];

export function numel(shape: Shape): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function shapeString(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

/** Rows per chunk so that a chunk fits in `maxBytes` and starts on a 4-byte boundary. */
export function rowsPerChunk(dtype: DType, rowLength: number, totalRows: number, maxBytes: number, label: string): number {
  const rowBytes = rowLength * bytesPerElement(dtype);
  if (rowBytes > maxBytes) {
    throw new Error(`tensor ${label}: one row is ${rowBytes} bytes, over the device's storage binding limit of ${maxBytes} bytes`);
  }
  let rows = Math.min(totalRows, Math.floor(maxBytes / Math.max(rowBytes, 1)));
  // 16-bit rows of odd length: an even row count keeps each chunk start on a u32 boundary.
  if (bytesPerElement(dtype) === 2 && rowLength % 2 === 1 && rows < totalRows) rows -= rows % 2;
  if (rows < 1) throw new Error(`tensor ${label}: cannot split rows of ${rowBytes} bytes into chunks of at most ${maxBytes} bytes`);
  return rows;
}

/** Rows [start, end) of the flattened [rows, rowLength] views over which each of several tensors stays in one chunk. */
export interface RowSegment {
  readonly start: number;
  readonly end: number;
  /** The chunk of each tensor (in the order given) that holds these rows. */
  readonly chunks: readonly TensorChunk[];
}

/**
 * The row ranges over which every one of `tensors` (equal row counts, possibly chunked at different rows) stays
 * within one chunk: a row-wise op binds those chunks and dispatches once per range. Unchunked tensors give one range.
 */
export function rowSegments(tensors: readonly Tensor[]): RowSegment[] {
  const out: RowSegment[] = [];
  const at = tensors.map(() => 0);
  let start = 0;
  while (tensors.every((t, i) => at[i] < t.chunks.length)) {
    const chunks = tensors.map((t, i) => t.chunks[at[i]]);
    const end = Math.min(...chunks.map((c) => c.rowStart + c.rows));
    if (end > start) out.push({ start, end, chunks });
    start = Math.max(start, end);
    chunks.forEach((c, i) => { if (c.rowStart + c.rows === end) at[i]++; });
  }
  return out;
}

/** Longest tensor label kept: op outputs are named after their inputs, and a deep forward would nest without end. */
export const MAX_LABEL = 120;

/** `label`, cut in the middle past MAX_LABEL characters (the op at the start and the innermost names at the end stay). */
export function boundedLabel(label: string): string {
  if (label.length <= MAX_LABEL) return label;
  const half = (MAX_LABEL - 1) / 2;
  return `${label.slice(0, Math.ceil(half))}…${label.slice(label.length - Math.floor(half))}`;
}

export class Tensor<D extends DType = DType> {
  private disposed = false;

  private constructor(
    readonly gpu: Gpu,
    readonly dtype: D,
    readonly shape: Shape,
    readonly chunks: readonly TensorChunk[],
    readonly label: string,
    /** Set on a view made by reshape: the tensor that owns the storage. */
    private readonly base: Tensor<D> | null = null,
  ) {}

  get rank(): number { return this.shape.length; }
  get numel(): number { return numel(this.shape); }
  /** Length of the last dimension (1 for a scalar). */
  get rowLength(): number { return this.shape.length ? this.shape[this.shape.length - 1] : 1; }
  /** Number of rows of the flattened [rows, rowLength] view. */
  get rows(): number { return this.shape.length ? this.numel / this.rowLength : 1; }
  get byteLength(): number { return this.numel * bytesPerElement(this.dtype); }
  get isChunked(): boolean { return this.chunks.length > 1; }

  /** The single buffer of an unchunked tensor. Ops that cannot walk chunks call this and fail clearly. */
  buffer(op = 'this op'): GPUBuffer {
    this.assertLive();
    if (this.chunks.length !== 1) {
      throw new Error(`${op}: tensor ${this.label} ${shapeString(this.shape)} ${this.dtype} is stored in ${this.chunks.length} chunks ` +
        `(over the ${this.gpu.maxBindingBytes}-byte binding limit) and ${op} binds it whole`);
    }
    return this.chunks[0].buffer;
  }

  private assertLive(): void {
    if (this.disposed || this.base?.disposed) throw new Error(`tensor ${this.label} was used after dispose()`);
  }

  /**
   * The same storage under another shape of equal element count, no copy (e.g. a projection [S, heads·d] seen as
   * [S, heads, d]). A chunked tensor keeps its row length. The view owns nothing: dispose the original.
   */
  reshape(shape: Shape, label = this.label): Tensor<D> {
    this.assertLive();
    if (numel(shape) !== this.numel) throw new Error(`tensor ${this.label}: cannot reshape ${shapeString(this.shape)} to ${shapeString(shape)} (element counts differ)`);
    const rowLength = shape.length ? shape[shape.length - 1] : 1;
    if (this.isChunked && rowLength !== this.rowLength) {
      throw new Error(`tensor ${this.label}: reshape ${shapeString(this.shape)} to ${shapeString(shape)} changes the row length of a tensor stored in ${this.chunks.length} chunks`);
    }
    const chunks = this.isChunked ? this.chunks : [{ ...this.chunks[0], rows: this.numel / Math.max(rowLength, 1) }];
    return new Tensor(this.gpu, this.dtype, [...shape], chunks, boundedLabel(label), this.base ?? this);
  }

  /**
   * A 16-bit tensor (f16, bf16) with an even row length seen as u32 words [..., rowLength / 2], no copy: the bit
   * copies of ops/rows.ts move its rows. The view owns nothing: dispose the original.
   */
  words(label = this.label): Tensor<'u32'> {
    this.assertLive();
    if (bytesPerElement(this.dtype) !== 2 || this.rowLength % 2 !== 0) {
      throw new Error(`tensor ${this.label}: a ${this.dtype} tensor [${this.shape.join(', ')}] cannot be seen as u32 words (a 16-bit dtype with an even row length is needed)`);
    }
    return new Tensor(this.gpu, 'u32', [...this.shape.slice(0, -1), this.rowLength / 2], this.chunks, boundedLabel(label), (this.base ?? this) as unknown as Tensor<'u32'>);
  }

  /**
   * A view of the first `rows` rows (of the flattened [rows, rowLength] view) under `shape` (default
   * [rows, rowLength]): a run-state buffer sized for the longest sequence used for a shorter one. No copy.
   */
  leadingRows(rows: number, shape: Shape = [rows, this.rowLength], label = this.label): Tensor<D> {
    this.assertLive();
    if (!Number.isInteger(rows) || rows < 0 || rows > this.rows) throw new Error(`tensor ${this.label}: cannot view ${rows} of its ${this.rows} rows`);
    const view = new Tensor(this.gpu, this.dtype, [rows, this.rowLength], this.chunks.filter((c) => c.rowStart < rows || c.rowStart === 0)
      .map((c) => ({ ...c, rows: Math.max(0, Math.min(c.rows, rows - c.rowStart)) })), boundedLabel(label), this.base ?? this);
    return shape.length === 2 && shape[0] === rows && shape[1] === this.rowLength ? view : view.reshape(shape, label);
  }

  /** An uninitialised tensor (poisoned with NaN bits when `gpu.poisonNewTensors` is set, to catch unwritten outputs). */
  static empty<D extends DType>(gpu: Gpu, dtype: D, shape: Shape, label = 'tensor'): Tensor<D> {
    label = boundedLabel(label);
    gpu.assertAlive(`allocating ${label}`);
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) throw new Error(`tensor ${label}: bad shape ${shapeString(shape)}`);
    }
    const rowLength = shape.length ? shape[shape.length - 1] : 1;
    const total = shape.length ? numel(shape) / Math.max(rowLength, 1) : 1;
    const chunks: TensorChunk[] = [];
    const per = rowsPerChunk(dtype, rowLength, Math.max(total, 1), gpu.maxBindingBytes, label);
    const bpe = bytesPerElement(dtype);
    for (let r = 0; r < Math.max(total, 1); r += per) {
      const rows = Math.min(per, total - r);
      const buffer = gpu.pool.acquire(rows * rowLength * bpe, label);
      if (gpu.poisonNewTensors) gpu.device.queue.writeBuffer(buffer, 0, new Uint32Array(buffer.size / 4).fill(0xffffffff));
      chunks.push({ buffer, rowStart: r, rows: Math.max(rows, 0) });
    }
    return new Tensor(gpu, dtype, [...shape], chunks, label);
  }

  /** A tensor holding `values` (host numbers, converted to `dtype`). */
  static from<D extends DType>(gpu: Gpu, dtype: D, shape: Shape, values: ArrayLike<number>, label = 'tensor'): Tensor<D> {
    if (values.length !== numel(shape)) {
      throw new Error(`tensor ${label}: shape ${shapeString(shape)} needs ${numel(shape)} values, got ${values.length}`);
    }
    const t = Tensor.empty(gpu, dtype, shape, label);
    const rl = t.rowLength;
    for (const c of t.chunks) {
      const part = Array.prototype.slice.call(values, c.rowStart * rl, (c.rowStart + c.rows) * rl) as number[];
      gpu.device.queue.writeBuffer(c.buffer, 0, encode(dtype, part));
    }
    return t;
  }

  /** A tensor from raw little-endian bytes already in `dtype`'s layout (e.g. a safetensors payload). */
  static fromBytes<D extends DType>(gpu: Gpu, dtype: D, shape: Shape, bytes: Uint8Array, label = 'tensor'): Tensor<D> {
    const need = numel(shape) * bytesPerElement(dtype);
    if (bytes.byteLength !== need) {
      throw new Error(`tensor ${label}: shape ${shapeString(shape)} ${dtype} needs ${need} bytes, got ${bytes.byteLength}`);
    }
    const t = Tensor.empty(gpu, dtype, shape, label);
    const rowBytes = t.rowLength * bytesPerElement(dtype);
    for (const c of t.chunks) {
      const part = bytes.subarray(c.rowStart * rowBytes, (c.rowStart + c.rows) * rowBytes);
      const padded = part.byteLength % 4 ? (() => { const p = new Uint8Array(Math.ceil(part.byteLength / 4) * 4); p.set(part); return p; })() : part;
      gpu.device.queue.writeBuffer(c.buffer, 0, padded.buffer as ArrayBuffer, padded.byteOffset, padded.byteLength);
    }
    return t;
  }

  /** Read the whole tensor back to the host (waits for the GPU). Never call inside a forward. */
  async read(): Promise<Float32Array | Uint32Array | Int32Array> {
    this.assertLive();
    const raw = await this.readBytes();
    return decode(this.dtype, raw, this.numel);
  }

  /** Raw bytes in dtype layout (16-bit kinds packed), unpadded. */
  async readBytes(): Promise<Uint8Array> {
    this.assertLive();
    const gpu = this.gpu;
    gpu.assertAlive(`reading ${this.label}`);
    const bpe = bytesPerElement(this.dtype);
    const rowBytes = this.rowLength * bpe;
    const out = new Uint8Array(Math.ceil(this.byteLength / 4) * 4 + 4);
    const enc = gpu.device.createCommandEncoder({ label: `read ${this.label}` });
    const staging = this.chunks.map((c) => {
      const size = c.buffer.size;
      const s = gpu.device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: `staging ${this.label}` });
      enc.copyBufferToBuffer(c.buffer, 0, s, 0, size);
      return s;
    });
    gpu.device.queue.submit([enc.finish()]);
    for (let i = 0; i < staging.length; i++) {
      const s = staging[i];
      await gpu.guardLoss(s.mapAsync(GPUMapMode.READ), `reading ${this.label}`);
      const bytes = new Uint8Array(s.getMappedRange());
      const c = this.chunks[i];
      out.set(bytes.subarray(0, Math.min(bytes.byteLength, c.rows * rowBytes + 3)), c.rowStart * rowBytes);
      s.unmap();
      s.destroy();
    }
    return out.subarray(0, this.byteLength);
  }

  /** Return the storage to the pool. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.base) return; // a view: the storage belongs to base
    for (const c of this.chunks) this.gpu.pool.release(c.buffer);
  }
}
