// Activations (HF ACT2FN semantics) and the fused gated MLP product; see shaders/activation.wgsl.
// Row-chunked operands (a 7B MLP's [S, 2I] f32 activations pass one storage binding at ~1000 rows) are walked
// run by run: one dispatch per range of rows over which every operand stays in one chunk (one range when none is).
import { OpArgumentError } from '../gpu/errors.ts';
import type { Kernel } from '../gpu/kernel.ts';
import type { Stage } from '../gpu/stage.ts';
import { rowSegments, Tensor } from '../gpu/tensor.ts';
import { expectDType, expectShape } from './check.ts';
import { grid1d } from './grid.ts';

export type Activation = 'silu' | 'gelu' | 'gelu_tanh' | 'quick_gelu';
const CODE: Record<Activation, number> = { silu: 0, gelu: 1, gelu_tanh: 2, quick_gelu: 3 };

/** HF config names (`hidden_act`) to kvscope's. */
export function activationFromConfig(name: string, where = 'hidden_act'): Activation {
  switch (name) {
    case 'silu': case 'swish': return 'silu';
    case 'gelu': return 'gelu';
    case 'gelu_pytorch_tanh': case 'gelu_new': case 'gelu_fast': return 'gelu_tanh';
    case 'quick_gelu': return 'quick_gelu';
    default: throw new Error(`${where}: activation '${name}' is not supported (silu, gelu, gelu_pytorch_tanh, quick_gelu)`);
  }
}

/** out = act(x), elementwise. */
export function activation(stage: Stage, act: Activation, x: Tensor<'f32'>, out?: Tensor<'f32'>): Tensor<'f32'> {
  expectDType(act, 'x', x, ['f32']);
  const y = out ?? Tensor.empty(stage.gpu, 'f32', x.shape, `${act}(${x.label})`);
  expectShape(act, 'out', y, x.shape);
  const kernel = stage.gpu.kernels.get('activation', 'main', { ACT: CODE[act] });
  dispatchRows(stage, kernel, `${act} [${x.shape.join('×')}]`, [['x', x], ['out', y]], y.rowLength);
  return y;
}

/** out = act(gate) ⊙ up — the gated MLP's middle (act = silu for Qwen2/Llama/Qwen2.5-VL). */
export function gatedActivation(stage: Stage, act: Activation, gate: Tensor<'f32'>, up: Tensor<'f32'>, out?: Tensor<'f32'>): Tensor<'f32'> {
  const op = `gated ${act}`;
  expectDType(op, 'gate', gate, ['f32']);
  expectDType(op, 'up', up, ['f32']);
  expectShape(op, 'up', up, gate.shape);
  const y = out ?? Tensor.empty(stage.gpu, 'f32', gate.shape, `${act}(${gate.label})·${up.label}`);
  expectShape(op, 'out', y, gate.shape);
  const kernel = stage.gpu.kernels.get('activation', 'gated', { ACT: CODE[act] });
  dispatchRows(stage, kernel, `${op} [${gate.shape.join('×')}]`, [['gate', gate], ['out', y], ['up', up]], y.rowLength);
  return y;
}

/**
 * The same from one [..., 2I] tensor (gate columns first, then up), e.g. a fused gate_up projection; into an f32
 * out, or (the f16 activation path, I even) an f16 out rounded to nearest even from the f32 product.
 */
export function gatedActivationFused<O extends 'f32' | 'f16' = 'f32'>(stage: Stage, act: Activation, gateUp: Tensor<'f32'>, out?: Tensor<O>): Tensor<O> {
  const op = `gated ${act} (fused)`;
  expectDType(op, 'gateUp', gateUp, ['f32']);
  if (gateUp.rowLength % 2 !== 0) throw new OpArgumentError(op, `gateUp (${gateUp.label}) last dim ${gateUp.rowLength} is odd; it must hold gate and up halves`);
  const inner = gateUp.rowLength / 2;
  const shape = [...gateUp.shape.slice(0, -1), inner];
  const y = out ?? Tensor.empty(stage.gpu, 'f32', shape, `${act}(gate)·up of ${gateUp.label}`) as Tensor<O>;
  expectShape(op, 'out', y, shape);
  expectDType(op, 'out', y, ['f32', 'f16']);
  const half = y.dtype === 'f16';
  if (half && inner % 2 !== 0) throw new OpArgumentError(op, `an f16 out (${y.label}) needs an even row length (whole u32 words per row), got ${inner}`);
  const kernel = stage.gpu.kernels.get('activation', half ? 'gated_fused_h' : 'gated_fused', { ACT: CODE[act] });
  dispatchRows(stage, kernel, `${op} [${shape.join('×')}]${half ? ' out=f16' : ''}`, [['gate_up', gateUp], [half ? 'out16' : 'out', y]], inner, half ? 2 : 1);
  return y;
}

/**
 * One dispatch per run of rows over which every operand stays in one chunk. `operands`: (binding, tensor) with the
 * input whose offset is `in_off` first, the output second, a second input (`up_off`) third; all of equal row count.
 * `inner`: output elements per row; `perInvocation`: output elements each invocation writes (2 for a packed f16 out).
 */
function dispatchRows(stage: Stage, kernel: Kernel, what: string, operands: readonly [string, Tensor][], inner: number, perInvocation = 1): void {
  const tensors = operands.map(([, t]) => t);
  const chunked = tensors.some((t) => t.isChunked);
  for (const seg of rowSegments(tensors)) {
    const n = (seg.end - seg.start) * inner;
    const { workgroups, rowStride } = grid1d(Math.ceil(n / perInvocation), 256);
    // element offset of the run's first row within each bound chunk
    const off = (i: number) => i < operands.length ? (seg.start - seg.chunks[i].rowStart) * tensors[i].rowLength : 0;
    stage.dispatch(kernel, {
      label: chunked ? `${what} rows ${seg.start}..${seg.end - 1}` : what,
      bindings: Object.fromEntries(operands.map(([name], i) => [name, seg.chunks[i].buffer])),
      uniforms: { n, inner, row_stride: rowStride, in_off: off(0), out_off: off(1), up_off: off(2) },
      workgroups,
    });
  }
}
