// Row and column slicing, concatenation, gather and scatter of rows — one copy kernel (shaders/rows.wgsl).
// Tensors are viewed as [rows, rowLength]; f32 and u32 (bit copies). Row-chunked tensors (past one storage binding)
// are copied piece by piece: one dispatch when nothing is chunked.
import type { DType } from '../gpu/dtype.ts';
import { OpArgumentError } from '../gpu/errors.ts';
import type { Stage } from '../gpu/stage.ts';
import { Tensor, type TensorChunk } from '../gpu/tensor.ts';
import { expectDType } from './check.ts';
import { grid1d } from './grid.ts';

type Row32 = Tensor<'f32'> | Tensor<'u32'>;

interface Copy {
  src: Row32; dst: Row32; nRows: number; width: number;
  srcCol0?: number; srcRow0?: number; dstCol0?: number; dstRow0?: number;
  gather?: Tensor<'u32'>; scatter?: Tensor<'u32'>;
}

function copyRows(stage: Stage, op: string, c: Copy): void {
  const index = c.gather ?? c.scatter;
  const kernel = stage.gpu.kernels.get('rows');
  const srcRow0 = c.srcRow0 ?? 0, dstRow0 = c.dstRow0 ?? 0;
  const chunked = c.src.isChunked || c.dst.isChunked;
  // rows r of the copy in pieces over which the contiguous side(s) stay in one chunk; an indexed side is bound chunk
  // by chunk (each piece once per chunk of it, index rows outside the chunk skipped by the kernel)
  const contiguous: [Row32, number][] = [];
  if (!c.gather) contiguous.push([c.src, srcRow0]);
  if (!c.scatter) contiguous.push([c.dst, dstRow0]);
  const indexed = c.gather ? c.src : c.scatter ? c.dst : null;
  for (const piece of rowPieces(c.nRows, contiguous)) {
    for (const ic of indexed ? indexed.chunks : [null]) {
      const sc = c.gather ? ic! : chunkAt(c.src, srcRow0 + piece.start), dc = c.scatter ? ic! : chunkAt(c.dst, dstRow0 + piece.start);
      const n = piece.end - piece.start;
      const { workgroups, rowStride } = grid1d(n * c.width, 256);
      stage.dispatch(kernel, {
        label: `${op} ${c.nRows}×${c.width} ${c.src.label} -> ${c.dst.label}${chunked ? ` rows ${piece.start}..${piece.end - 1}${ic ? ` (${indexed!.label} rows ${ic.rowStart}..${ic.rowStart + ic.rows - 1})` : ''}` : ''}`,
        bindings: { src: sc.buffer, index: index?.buffer(op) ?? stage.gpu.dummyBuffer, dst: dc.buffer },
        uniforms: {
          n_rows: n, width: c.width,
          src_stride: c.src.rowLength, src_col0: c.srcCol0 ?? 0, src_row0: c.gather ? 0 : srcRow0 + piece.start - sc.rowStart, src_rows: sc.rows,
          dst_stride: c.dst.rowLength, dst_col0: c.dstCol0 ?? 0, dst_row0: c.scatter ? 0 : dstRow0 + piece.start - dc.rowStart, dst_rows: dc.rows,
          mode: c.gather ? 1 : c.scatter ? 2 : 0, row_stride: rowStride, index_off: piece.start, index_base: ic ? ic.rowStart : 0,
        },
        workgroups,
      });
    }
  }
}

/** The chunk of t holding row `row` (of its flattened [rows, rowLength] view). */
function chunkAt(t: Tensor, row: number): TensorChunk {
  return t.chunks.find((c) => row >= c.rowStart && row < c.rowStart + c.rows) ?? t.chunks[0];
}

/** Rows 0..n−1 of a copy cut where any (tensor, first row) of `sides` crosses into its next chunk (one piece if none does). */
function rowPieces(n: number, sides: readonly [Tensor, number][]): { start: number; end: number }[] {
  const cuts = new Set<number>([0, n]);
  for (const [t, row0] of sides) for (const ch of t.chunks) if (ch.rowStart > row0 && ch.rowStart < row0 + n) cuts.add(ch.rowStart - row0);
  const at = [...cuts].sort((a, b) => a - b);
  return n > 0 ? at.slice(1).map((end, i) => ({ start: at[i], end })) : [{ start: 0, end: 0 }];
}

function check32(op: string, name: string, t: Tensor): void {
  expectDType(op, name, t, ['f32', 'u32']);
}

function like<D extends DType>(stage: Stage, t: Tensor<D>, shape: number[], label: string): Tensor<D> {
  return Tensor.empty(stage.gpu, t.dtype, shape, label);
}

/** A given output must hold exactly rows × width of x's dtype. */
function checkInto(op: string, x: Row32, into: Row32 | undefined, rows: number, width: number): void {
  if (into && (into.dtype !== x.dtype || into.rows !== rows || into.rowLength !== width)) {
    throw new OpArgumentError(op, `out (${into.label}) must be ${x.dtype} [${rows}, ${width}], found ${into.dtype} [${into.shape.join(', ')}]`);
  }
}

/** Rows start .. start + count − 1 of x (as [rows, rowLength]) -> [count, rowLength]. */
export function sliceRows<T extends Row32>(stage: Stage, x: T, start: number, count: number, into?: T): T {
  check32('sliceRows', 'x', x);
  if (!(Number.isInteger(start) && Number.isInteger(count) && start >= 0 && count >= 0 && start + count <= x.rows)) {
    throw new OpArgumentError('sliceRows', `rows [${start}, ${start + count}) outside ${x.label} with ${x.rows} rows`);
  }
  checkInto('sliceRows', x, into, count, x.rowLength);
  const out = into ?? like(stage, x, [count, x.rowLength], `${x.label}[${start}:${start + count}]`) as T;
  copyRows(stage, 'sliceRows', { src: x, dst: out, nRows: count, width: x.rowLength, srcRow0: start });
  return out;
}

/** Columns start .. start + width − 1 of every row (e.g. q, k, v out of a fused qkv projection). */
export function sliceCols<T extends Row32>(stage: Stage, x: T, start: number, width: number, into?: T): T {
  check32('sliceCols', 'x', x);
  if (!(Number.isInteger(start) && Number.isInteger(width) && start >= 0 && width >= 0 && start + width <= x.rowLength)) {
    throw new OpArgumentError('sliceCols', `columns [${start}, ${start + width}) outside ${x.label} with ${x.rowLength} columns`);
  }
  checkInto('sliceCols', x, into, x.rows, width);
  const out = into ?? like(stage, x, [x.rows, width], `${x.label}[:, ${start}:${start + width}]`) as T;
  copyRows(stage, 'sliceCols', { src: x, dst: out, nRows: x.rows, width, srcCol0: start });
  return out;
}

/** Stack tensors of equal row length along rows. */
export function concatRows<T extends Row32>(stage: Stage, parts: readonly T[]): T {
  if (!parts.length) throw new OpArgumentError('concatRows', 'no tensors given');
  const w = parts[0].rowLength, dt = parts[0].dtype;
  for (const p of parts) {
    check32('concatRows', p.label, p);
    if (p.rowLength !== w || p.dtype !== dt) throw new OpArgumentError('concatRows', `${p.label} is ${p.dtype} with rows of ${p.rowLength}; expected ${dt} rows of ${w}`);
  }
  const total = parts.reduce((a, p) => a + p.rows, 0);
  const out = like(stage, parts[0], [total, w], 'concat') as T;
  let at = 0;
  for (const p of parts) {
    copyRows(stage, 'concatRows', { src: p, dst: out, nRows: p.rows, width: w, dstRow0: at });
    at += p.rows;
  }
  return out;
}

/** dst rows dstRow0 .. dstRow0 + src.rows − 1 = src (in place in dst). */
export function copyInto<T extends Row32>(stage: Stage, src: T, dst: T, dstRow0: number): void {
  check32('copyInto', 'src', src);
  check32('copyInto', 'dst', dst);
  if (src.rowLength !== dst.rowLength || src.dtype !== dst.dtype) throw new OpArgumentError('copyInto', `src ${src.label} (${src.dtype}, rows of ${src.rowLength}) does not match dst ${dst.label} (${dst.dtype}, rows of ${dst.rowLength})`);
  if (!(Number.isInteger(dstRow0) && dstRow0 >= 0 && dstRow0 + src.rows <= dst.rows)) throw new OpArgumentError('copyInto', `rows [${dstRow0}, ${dstRow0 + src.rows}) outside ${dst.label} with ${dst.rows} rows`);
  copyRows(stage, 'copyInto', { src, dst, nRows: src.rows, width: src.rowLength, dstRow0 });
}

/** out[i] = x[index[i]] -> [n, rowLength]. Indices ≥ x.rows leave that output row unwritten (zero-filled). */
export function gatherRows<T extends Row32>(stage: Stage, x: T, index: Tensor<'u32'>, into?: T): T {
  check32('gatherRows', 'x', x);
  expectDType('gatherRows', 'index', index, ['u32']);
  checkInto('gatherRows', x, into, index.numel, x.rowLength);
  const out = into ?? like(stage, x, [index.numel, x.rowLength], `${x.label}[index]`) as T;
  for (const ch of out.chunks) stage.clear(ch.buffer);
  copyRows(stage, 'gatherRows', { src: x, dst: out, nRows: index.numel, width: x.rowLength, gather: index });
  return out;
}

/** dst[index[i]] = src[i] (in place in dst): e.g. image features into their placeholder positions. */
export function scatterRows<T extends Row32>(stage: Stage, src: T, index: Tensor<'u32'>, dst: T): void {
  check32('scatterRows', 'src', src);
  expectDType('scatterRows', 'index', index, ['u32']);
  if (index.numel !== src.rows) throw new OpArgumentError('scatterRows', `index has ${index.numel} entries for ${src.rows} source rows`);
  if (src.rowLength !== dst.rowLength || src.dtype !== dst.dtype) throw new OpArgumentError('scatterRows', `src ${src.label} rows of ${src.rowLength} ${src.dtype} vs dst ${dst.label} rows of ${dst.rowLength} ${dst.dtype}`);
  copyRows(stage, 'scatterRows', { src, dst, nRows: src.rows, width: src.rowLength, scatter: index });
}

/** Join tensors of equal row count side by side: out[r] = concat(parts[0][r], parts[1][r], …) (feature-dim concat). */
export function concatCols<T extends Row32>(stage: Stage, parts: readonly T[]): T {
  if (!parts.length) throw new OpArgumentError('concatCols', 'no tensors given');
  const rows = parts[0].rows, dt = parts[0].dtype;
  for (const p of parts) {
    check32('concatCols', p.label, p);
    if (p.rows !== rows || p.dtype !== dt) throw new OpArgumentError('concatCols', `${p.label} is ${p.dtype} with ${p.rows} rows; expected ${dt} with ${rows} rows`);
  }
  const width = parts.reduce((a, p) => a + p.rowLength, 0);
  const out = like(stage, parts[0], [rows, width], 'concatCols') as T;
  let at = 0;
  for (const p of parts) {
    copyRows(stage, 'concatCols', { src: p, dst: out, nRows: rows, width: p.rowLength, dstCol0: at });
    at += p.rowLength;
  }
  return out;
}
