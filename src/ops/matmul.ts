// nn.Linear on the GPU: y = x·Wᵀ + b with W in HF's [out, in] layout and its checkpoint dtype (f32, f16, bf16),
// x f32 or f16 (the f16 activation path: shaders/matmul_xh.wgsl, the same kernels with x widened at the load), y f32. Prefill uses register-blocked tiles (16×16 outputs per invocation) or, where the tuning run
// chose it, 64×64 workgroup-memory tiles; a single row (decode) uses the gemv path (per-row, or split-K);
// K % 4 == 0 takes vec4 loads, any other K a masked scalar path.
// A row-chunked weight (larger than one storage binding) is dispatched chunk by chunk into its output columns;
// row-chunked x and y (long prefills) piece by piece over M.
import { floatDTypeCode } from '../gpu/dtype.ts';
import { OpArgumentError } from '../gpu/errors.ts';
import type { Gpu } from '../gpu/device.ts';
import type { Stage } from '../gpu/stage.ts';
import { rowSegments, Tensor } from '../gpu/tensor.ts';
import { type GemvVariant, kernelChoice, MATMUL_TILE_VARIANTS, type MatmulTileVariant } from '../gpu/tuning.ts';
import { expectDType, expectRank } from './check.ts';

export interface MatmulOptions {
  bias?: Tensor;
  out?: Tensor<'f32'>;
  /** Force a path (tests); default: gemv when M = 1. */
  path?: 'tiled' | 'gemv';
  /** Force a kernel variant (tests, tuning); default: this adapter's tuned choice (src/gpu/tuning.ts). */
  variant?: MatmulTileVariant | GemvVariant;
}

/** The variant `matmul` runs for this shape on this adapter (reported by the benchmarks). */
export function matmulVariant(gpu: Gpu, m: number, _n: number, k: number, wDtype: string): string {
  const c = kernelChoice(gpu);
  if (m === 1) return k % 4 === 0 ? (c.gemv === 'subgroup' && !subgroupGemv(gpu) ? 'split' : c.gemv) : 'rows';
  const v = c.matmulTile;
  if (k % 4 !== 0 || wDtype === 'f32') return v === 'reg32' ? 'reg16' : v;
  return v;
}

/** The subgroup gemv is compiled (device offers `subgroups`) and the feature's self-test passed. */
export function subgroupGemv(gpu: Gpu): boolean {
  return gpu.features.subgroups && gpu.kernels.has('matmul_subgroups');
}

const TB = 16, TN = 4; // tile: y rows and cols per invocation; gemv: weight rows per invocation (shaders/matmul.wgsl)
const WG = 8; // invocations per tile workgroup, along N (64 measured slower on llvmpipe)
const GEMV_WG = 8; // invocations per gemv workgroup (8, 64, 256 measured alike on llvmpipe)
const SPLIT_WG = 64; // invocations per split-K gemv workgroup (splits of K per 4 rows)
const WB = 64; // wg64: y block side per 16×16 workgroup

export function matmul(stage: Stage, x: Tensor<'f32' | 'f16'>, w: Tensor, opts: MatmulOptions = {}): Tensor<'f32'> {
  const op = 'matmul';
  expectDType(op, 'x', x, ['f32', 'f16']);
  expectDType(op, 'w', w, ['f32', 'f16', 'bf16']);
  expectRank(op, 'w', w, [2]);
  const [n, k] = w.shape;
  if (x.rank < 1 || x.rowLength !== k) {
    throw new OpArgumentError(op, `x (${x.label}) [${x.shape.join(', ')}] must end in K = ${k} to multiply w (${w.label}) [${n}, ${k}]`);
  }
  const m = x.rows;
  const outShape = [...x.shape.slice(0, -1), n];
  if (opts.bias) {
    expectDType(op, 'bias', opts.bias, ['f32', 'f16', 'bf16']);
    if (opts.bias.numel !== n) throw new OpArgumentError(op, `bias (${opts.bias.label}) has ${opts.bias.numel} values, w has N = ${n} rows`);
  }
  const y = opts.out ?? Tensor.empty(stage.gpu, 'f32', outShape, `matmul(${x.label}, ${w.label})`);
  if (y.numel !== m * n || y.rowLength !== n) throw new OpArgumentError(op, `out (${y.label}) [${y.shape.join(', ')}] must be [${outShape.join(', ')}]`);
  const path = opts.path ?? (m === 1 ? 'gemv' : 'tiled');
  if (path === 'gemv' && m !== 1) throw new OpArgumentError(op, `the gemv path takes one row, x has ${m}`);
  const overrides = { W_DTYPE: floatDTypeCode(w.dtype), B_DTYPE: floatDTypeCode(opts.bias?.dtype ?? 'f32') };
  const variant = k % 4 !== 0 ? 'any' : w.dtype === 'f32' ? 'f32' : '16';
  const choice = kernelChoice(stage.gpu);
  let shape = path === 'gemv' ? (opts.variant ?? choice.gemv) : (opts.variant ?? choice.matmulTile);
  if (path === 'gemv' ? shape !== 'rows' && shape !== 'split' && shape !== 'subgroup' : !(MATMUL_TILE_VARIANTS as readonly string[]).includes(shape)) {
    throw new OpArgumentError(op, `variant '${shape}' is not a ${path} variant`);
  }
  if (shape === 'subgroup' && x.dtype === 'f16') {
    // shaders/matmul_subgroups.wgsl reads an f32 x only: an f16 x takes the workgroup-memory split (same reduction order)
    if (opts.variant) throw new OpArgumentError(op, `variant 'subgroup' takes an f32 x; x (${x.label}) is f16`);
    shape = 'split';
  }
  if (shape === 'subgroup' && !subgroupGemv(stage.gpu)) {
    // a cached choice from a run where the self-test passed falls back to the workgroup-memory split; a forced one fails
    if (opts.variant) throw new OpArgumentError(op, `variant 'subgroup' needs the 'subgroups' feature with a passing self-test, which this adapter (${stage.gpu.describe()}) lacks`);
    shape = 'split';
  }
  // split-K reads vec4s: K % 4 ≠ 0 keeps the per-row gemv
  const sg = shape === 'subgroup' && variant !== 'any';
  const split = (shape === 'split' || shape === 'subgroup') && variant !== 'any';
  const wgTile = shape === 'wg64';
  // 32×32 register tiles: 16-bit weights with K % 4 == 0 (tile32_16); f32 weights and other K keep the 16×16 tiles
  const t32 = shape === 'reg32' && path === 'tiled' && variant === '16';
  const entry = wgTile ? 'wgtile' : sg ? `gemv_sg_${variant}` : split ? `gemv_split_${variant}` : t32 ? `tile32_${variant}` : `${path === 'gemv' ? 'gemv' : 'tile'}_${variant}`;
  const kernel = stage.gpu.kernels.get(sg ? 'matmul_subgroups' : x.dtype === 'f16' ? 'matmul_xh' : 'matmul', entry, wgTile ? overrides : { ...overrides, WG: split ? SPLIT_WG : path === 'gemv' ? GEMV_WG : WG });
  const biasBuf = opts.bias ? opts.bias.buffer(op) : stage.gpu.dummyBuffer;
  const maxWg = stage.gpu.limits.maxComputeWorkgroupsPerDimension;
  // x and y may be row-chunked at different rows: dispatch over the pieces where both stay in one chunk
  for (const seg of rowSegments([x, y])) {
    const rows = seg.end - seg.start;
    const [xc, yc] = seg.chunks;
    for (const chunk of w.chunks) {
      const where = [
        w.isChunked ? ` w rows ${chunk.rowStart}..${chunk.rowStart + chunk.rows - 1}` : '',
        x.isChunked || y.isChunked ? ` x/y rows ${seg.start}..${seg.end - 1}` : '',
      ].join('');
      const label = `matmul ${path} ${shape} m=${m} n=${n} k=${k} w=${w.dtype}${x.dtype === 'f16' ? ' x=f16' : ''}${opts.bias ? ' +bias' : ''}${where}`;
      let workgroups: [number, number];
      if (split) {
        const groups = Math.ceil(chunk.rows / TN);
        workgroups = [Math.min(groups, maxWg), Math.ceil(groups / maxWg)];
      } else if (wgTile) {
        workgroups = [Math.ceil(chunk.rows / WB), Math.ceil(rows / WB)];
        if (workgroups[0] > maxWg || workgroups[1] > maxWg) throw new OpArgumentError(op, `m=${m} n=${n} needs a ${workgroups.join('×')} grid, over ${maxWg} per dimension`);
      } else if (path === 'gemv') {
        const groups = Math.ceil(chunk.rows / (TN * GEMV_WG));
        workgroups = [Math.min(groups, maxWg), Math.ceil(groups / maxWg)];
      } else {
        const tb = t32 ? 2 * TB : TB;
        workgroups = [Math.ceil(chunk.rows / (tb * WG)), Math.ceil(rows / tb)];
        if (workgroups[0] > maxWg || workgroups[1] > maxWg) throw new OpArgumentError(op, `m=${m} n=${n} needs a ${workgroups.join('×')} grid, over ${maxWg} per dimension`);
      }
      const xb = xc.buffer, yb = yc.buffer;
      stage.dispatch(kernel, {
        label,
        bindings: variant === 'any' || wgTile ? { x: xb, w: chunk.buffer, bias: biasBuf, y: yb }
          : variant === 'f32' ? { x4: xb, w4f: chunk.buffer, bias: biasBuf, y: yb }
          : { x4: xb, w4h: chunk.buffer, bias: biasBuf, y: yb },
        uniforms: {
          m: rows, n, k, n_offset: chunk.rowStart, n_rows: chunk.rows, has_bias: opts.bias ? 1 : 0,
          x_row0: seg.start - xc.rowStart, y_row0: seg.start - yc.rowStart,
        },
        workgroups,
      });
    }
  }
  return y;
}
