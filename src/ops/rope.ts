// Rotary position embeddings (rotate-half), three forms on one kernel (shaders/rope.wgsl):
//   rope        1D, explicit position ids (HF `apply_rotary_pos_emb`, Qwen2 / Llama 3)
//   mrope       Qwen2.5-VL multimodal RoPE: positions [3, S] (t, h, w), frequency f uses the stream chosen by
//               mrope_section (e.g. [16, 24, 24]: f < 16 → t, f < 40 → h, else w)
//   visionRope2d Qwen2.5-VL vision rotary: positions [N, 2] (row, col), rotary dim d/2, angles
//               concat(row·inv_freq, col·inv_freq) over d/4 frequencies each
// inv_freq is computed on the host like HF: 1 / theta^(2i/dim) in float32.
import { OpArgumentError } from '../gpu/errors.ts';
import type { Stage } from '../gpu/stage.ts';
import { Tensor } from '../gpu/tensor.ts';
import { expectDType, expectRank, expectShape } from './check.ts';
import { grid1d } from './grid.ts';

/** HF `inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2).float() / dim))`, each step rounded to f32. */
export function ropeInvFreq(dim: number, theta: number): Float32Array {
  const out = new Float32Array(dim / 2);
  for (let i = 0; i < dim / 2; i++) {
    const e = Math.fround((2 * i) / dim);
    out[i] = Math.fround(1 / Math.fround(Math.pow(theta, e)));
  }
  return out;
}

interface RopeLayout { invFreq: Float32Array; sec0: number; sec1: number; axisStride: number; seqStride: number }

function applyRope(op: string, stage: Stage, x: Tensor<'f32'>, positions: Tensor, layout: RopeLayout, out?: Tensor<'f32'>): Tensor<'f32'> {
  const [seq, heads, d] = x.shape;
  const y = out ?? Tensor.empty(stage.gpu, 'f32', x.shape, `${op}(${x.label})`);
  expectShape(op, 'out', y, x.shape);
  const half = d / 2;
  const inv = Tensor.from(stage.gpu, 'f32', [half], layout.invFreq, `${op} inv_freq`);
  const inPlace = y === x;
  const kernel = stage.gpu.kernels.get('rope', inPlace ? 'in_place' : 'main');
  const { workgroups, rowStride } = grid1d(seq * heads * half, 64);
  stage.dispatch(kernel, {
    label: `${op} [${seq}×${heads}×${d}]${inPlace ? ' in place' : ''}`,
    bindings: { positions: positions.buffer(op), inv_freq: inv.buffer(op), ...(inPlace ? { xio: x.buffer(op) } : { x: x.buffer(op), out: y.buffer(op) }) },
    uniforms: { seq, heads, half, sec0: layout.sec0, sec1: layout.sec1, pos_axis_stride: layout.axisStride, pos_seq_stride: layout.seqStride, row_stride: rowStride },
    workgroups,
  });
  stage.onDone(() => inv.dispose());
  return y;
}

function checkX(op: string, x: Tensor<'f32'>, positions: Tensor): void {
  expectDType(op, 'x', x, ['f32']);
  expectRank(op, 'x', x, [3]);
  expectDType(op, 'positions', positions, ['u32', 'i32']);
  const d = x.shape[2];
  if (d % 2 !== 0) throw new OpArgumentError(op, `head_dim must be even for rotate-half, x (${x.label}) has ${d}`);
}

/** 1D RoPE: x [S, heads, d], positions [S]. `out` may be `x` (in place). */
export function rope(stage: Stage, x: Tensor<'f32'>, positions: Tensor, opts: { theta: number; out?: Tensor<'f32'> }): Tensor<'f32'> {
  checkX('rope', x, positions);
  const [s, , d] = x.shape;
  if (positions.numel !== s) throw new OpArgumentError('rope', `positions (${positions.label}) has ${positions.numel} entries for ${s} rows`);
  return applyRope('rope', stage, x, positions, { invFreq: ropeInvFreq(d, opts.theta), sec0: d / 2, sec1: 0, axisStride: 0, seqStride: 1 }, opts.out);
}

/** Qwen2.5-VL M-RoPE: x [S, heads, d], positions [3, S], mropeSection summing to d/2. */
export function mrope(stage: Stage, x: Tensor<'f32'>, positions: Tensor, opts: { theta: number; mropeSection: readonly [number, number, number]; out?: Tensor<'f32'> }): Tensor<'f32'> {
  checkX('mrope', x, positions);
  const [s, , d] = x.shape;
  expectShape('mrope', 'positions', positions, [3, s]);
  const [a, b, c] = opts.mropeSection;
  if (a + b + c !== d / 2) throw new OpArgumentError('mrope', `mrope_section [${a}, ${b}, ${c}] sums to ${a + b + c}, head_dim/2 is ${d / 2}`);
  return applyRope('mrope', stage, x, positions, { invFreq: ropeInvFreq(d, opts.theta), sec0: a, sec1: b, axisStride: s, seqStride: 1 }, opts.out);
}

/** Qwen2.5-VL vision 2D RoPE: x [N, heads, d], positions [N, 2] (row, col) in patch units. */
export function visionRope2d(stage: Stage, x: Tensor<'f32'>, positions: Tensor, opts: { theta?: number; out?: Tensor<'f32'> } = {}): Tensor<'f32'> {
  checkX('visionRope2d', x, positions);
  const [n, , d] = x.shape;
  expectShape('visionRope2d', 'positions', positions, [n, 2]);
  if (d % 4 !== 0) throw new OpArgumentError('visionRope2d', `head_dim must be a multiple of 4, got ${d}`);
  // rotary dim d/2 → d/4 frequencies, used once for the row and once for the column
  const base = ropeInvFreq(d / 2, opts.theta ?? 10000);
  const inv = new Float32Array(d / 2);
  for (let i = 0; i < d / 2; i++) inv[i] = base[i % (d / 4)];
  return applyRope('visionRope2d', stage, x, positions, { invFreq: inv, sec0: d / 4, sec1: d / 4, axisStride: 1, seqStride: 2 }, opts.out);
}
