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

/** Write the rotated rows into a KV cache [heads, capacity, d] at positions start.. instead of a tensor like x (an f16
 * cache gets them rounded to nearest even). */
export interface RopeIntoCache {
  cache: Tensor<'f32' | 'f16'>;
  start: number;
}

/** inv_freq tensors per device, by (d, theta, form): uploaded once, not per dispatch. */
const invFreqs = new WeakMap<Stage['gpu'], Map<string, Tensor<'f32'>>>();

function invFreqTensor(stage: Stage, op: string, values: Float32Array): Tensor<'f32'> {
  let byKey = invFreqs.get(stage.gpu);
  if (!byKey) invFreqs.set(stage.gpu, byKey = new Map());
  const key = `${op}:${Array.from(values).join(',')}`;
  let t = byKey.get(key);
  if (!t) byKey.set(key, t = Tensor.from(stage.gpu, 'f32', [values.length], values, `${op} inv_freq`));
  return t;
}

function applyRope(op: string, stage: Stage, x: Tensor<'f32'>, positions: Tensor, layout: RopeLayout, out?: Tensor<'f32'>, into?: RopeIntoCache): Tensor<'f32' | 'f16'> {
  const [seq, heads, d] = x.shape;
  const half = d / 2;
  let capacity = 0, start = 0;
  if (into) {
    if (out) throw new OpArgumentError(op, 'give either out or a cache to write into, not both');
    expectDType(op, 'cache', into.cache, ['f32', 'f16']);
    expectRank(op, 'cache', into.cache, [3]);
    const [ch, cap, cd] = into.cache.shape;
    if (ch !== heads || cd !== d) throw new OpArgumentError(op, `cache (${into.cache.label}) [${into.cache.shape.join(', ')}] does not hold ${heads} heads × ${d} like x (${x.label})`);
    if (!Number.isInteger(into.start) || into.start < 0 || into.start + seq > cap) throw new OpArgumentError(op, `positions ${into.start}..${into.start + seq - 1} are outside cache ${into.cache.label} of capacity ${cap}`);
    if (into.cache.dtype === 'f16' && half % 2 !== 0) throw new OpArgumentError(op, `an f16 cache is written two rotation pairs per word: head_dim must be a multiple of 4, ${into.cache.label} has ${d}`);
    capacity = cap;
    start = into.start;
  }
  const y: Tensor<'f32' | 'f16'> = into?.cache ?? out ?? Tensor.empty(stage.gpu, 'f32', x.shape, `${op}(${x.label})`);
  if (!into) expectShape(op, 'out', y, x.shape);
  const inv = invFreqTensor(stage, op, layout.invFreq);
  const inPlace = y === x;
  const f16 = into?.cache.dtype === 'f16';
  const kernel = stage.gpu.kernels.get('rope', into ? (f16 ? 'to_cache_f16' : 'to_cache') : inPlace ? 'in_place' : 'main');
  const { workgroups, rowStride } = grid1d(seq * heads * half / (f16 ? 2 : 1), 64);
  stage.dispatch(kernel, {
    label: `${op} [${seq}×${heads}×${d}]${inPlace ? ' in place' : ''}${into ? ` into ${into.cache.label} at ${start}${f16 ? ' (f16)' : ''}` : ''}`,
    bindings: { positions: positions.buffer(op), inv_freq: inv.buffer(op), ...(inPlace ? { xio: x.buffer(op) } : { x: x.buffer(op), [f16 ? 'out16' : 'out']: y.buffer(op) }) },
    uniforms: { seq, heads, half, sec0: layout.sec0, sec1: layout.sec1, pos_axis_stride: layout.axisStride, pos_seq_stride: layout.seqStride, row_stride: rowStride, capacity, start },
    workgroups,
  });
  return y;
}

function checkX(op: string, x: Tensor<'f32'>, positions: Tensor): void {
  expectDType(op, 'x', x, ['f32']);
  expectRank(op, 'x', x, [3]);
  expectDType(op, 'positions', positions, ['u32', 'i32']);
  const d = x.shape[2];
  if (d % 2 !== 0) throw new OpArgumentError(op, `head_dim must be even for rotate-half, x (${x.label}) has ${d}`);
}

/** 1D RoPE: x [S, heads, d], positions [S]. `out` may be `x` (in place); with `into`, returns the cache. */
export function rope(stage: Stage, x: Tensor<'f32'>, positions: Tensor, opts: { theta: number; out?: Tensor<'f32'>; into?: RopeIntoCache }): Tensor<'f32' | 'f16'> {
  checkX('rope', x, positions);
  const [s, , d] = x.shape;
  if (positions.numel !== s) throw new OpArgumentError('rope', `positions (${positions.label}) has ${positions.numel} entries for ${s} rows`);
  return applyRope('rope', stage, x, positions, { invFreq: ropeInvFreq(d, opts.theta), sec0: d / 2, sec1: 0, axisStride: 0, seqStride: 1 }, opts.out, opts.into);
}

/** Qwen2.5-VL M-RoPE: x [S, heads, d], positions [3, S], mropeSection summing to d/2. */
export function mrope(stage: Stage, x: Tensor<'f32'>, positions: Tensor, opts: { theta: number; mropeSection: readonly [number, number, number]; out?: Tensor<'f32'>; into?: RopeIntoCache }): Tensor<'f32' | 'f16'> {
  checkX('mrope', x, positions);
  const [s, , d] = x.shape;
  expectShape('mrope', 'positions', positions, [3, s]);
  const [a, b, c] = opts.mropeSection;
  if (a + b + c !== d / 2) throw new OpArgumentError('mrope', `mrope_section [${a}, ${b}, ${c}] sums to ${a + b + c}, head_dim/2 is ${d / 2}`);
  return applyRope('mrope', stage, x, positions, { invFreq: ropeInvFreq(d, opts.theta), sec0: a, sec1: b, axisStride: s, seqStride: 1 }, opts.out, opts.into);
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
  return applyRope('visionRope2d', stage, x, positions, { invFreq: inv, sec0: d / 4, sec1: d / 4, axisStride: 1, seqStride: 2 }, opts.out) as Tensor<'f32'>; // no cache: an f32 tensor like x
}
