// nn.Linear on the GPU: y = x·Wᵀ + b with W in HF's [out, in] layout and its checkpoint dtype (f32, f16, bf16),
// f32 activations. Prefill uses register-blocked tiles (8×4 outputs per invocation); a single row (decode) uses
// the gemv path; K % 4 == 0 takes vec4 loads, any other K a scalar path.
// A row-chunked weight (larger than one storage binding) is dispatched chunk by chunk into its output columns.
import { floatDTypeCode } from '../gpu/dtype.ts';
import { OpArgumentError } from '../gpu/errors.ts';
import type { Stage } from '../gpu/stage.ts';
import { Tensor } from '../gpu/tensor.ts';
import { expectDType, expectRank } from './check.ts';

export interface MatmulOptions {
  bias?: Tensor;
  out?: Tensor<'f32'>;
  /** Force a path (tests); default: gemv when M = 1. */
  path?: 'tiled' | 'gemv';
}

const TM = 8, TN = 4, WG = 8; // rows and cols per invocation, invocations per workgroup (shaders/matmul.wgsl)
const GEMV_WG = 8; // invocations per gemv workgroup (8, 64, 256 measured alike on llvmpipe)

export async function matmul(stage: Stage, x: Tensor<'f32'>, w: Tensor, opts: MatmulOptions = {}): Promise<Tensor<'f32'>> {
  const op = 'matmul';
  expectDType(op, 'x', x, ['f32']);
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
  const xb = x.buffer(op), yb = y.buffer(op);
  const path = opts.path ?? (m === 1 ? 'gemv' : 'tiled');
  const overrides = { W_DTYPE: floatDTypeCode(w.dtype), B_DTYPE: floatDTypeCode(opts.bias?.dtype ?? 'f32') };
  const variant = k % 4 !== 0 ? 'any' : w.dtype === 'f32' ? 'f32' : '16';
  const entry = `${path === 'gemv' ? 'gemv' : 'tile'}_${variant}`;
  const kernel = await stage.gpu.kernels.get('matmul', entry, { ...overrides, WG: path === 'gemv' ? GEMV_WG : WG });
  const biasBuf = opts.bias ? opts.bias.buffer(op) : stage.gpu.dummyBuffer;
  const maxWg = stage.gpu.limits.maxComputeWorkgroupsPerDimension;
  for (const chunk of w.chunks) {
    const label = `matmul ${path} m=${m} n=${n} k=${k} w=${w.dtype}${opts.bias ? ' +bias' : ''}${w.isChunked ? ` chunk rows ${chunk.rowStart}..${chunk.rowStart + chunk.rows - 1}` : ''}`;
    let workgroups: [number, number];
    if (path === 'gemv') {
      if (m !== 1) throw new OpArgumentError(op, `the gemv path takes one row, x has ${m}`);
      const groups = Math.ceil(chunk.rows / (TN * GEMV_WG));
      workgroups = [Math.min(groups, maxWg), Math.ceil(groups / maxWg)];
    } else {
      workgroups = [Math.ceil(chunk.rows / (TN * WG)), Math.ceil(m / TM)];
      if (workgroups[0] > maxWg || workgroups[1] > maxWg) throw new OpArgumentError(op, `m=${m} n=${n} needs a ${workgroups.join('×')} grid, over ${maxWg} per dimension`);
    }
    stage.dispatch(kernel, {
      label,
      bindings: variant === 'any' ? { x: xb, w: chunk.buffer, bias: biasBuf, y: yb }
        : variant === 'f32' ? { x4: xb, w4f: chunk.buffer, bias: biasBuf, y: yb }
        : { x4: xb, w4h: chunk.buffer, bias: biasBuf, y: yb },
      uniforms: { m, n, k, n_offset: chunk.rowStart, n_rows: chunk.rows, has_bias: opts.bias ? 1 : 0 },
      workgroups,
    });
  }
  return y;
}
