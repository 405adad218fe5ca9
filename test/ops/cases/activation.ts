// Cases for the activations: awkward sizes, large |x| (±100: no NaN from exp/tanh overflow), a dense grid on
// [−6, 6] for exact GELU (checks the erf approximation), and the gated forms; row-chunked operands (chunked at
// different rows from each other, as a 7B MLP's [S, 2I] and [S, I] run-state buffers are) with the dispatch count
// checked: one per run of rows over which every operand stays in one chunk, one when nothing is chunked.
import { Stage } from '../../../src/gpu/stage.ts';
import { Tensor } from '../../../src/gpu/tensor.ts';
import { activation, type Activation, gatedActivation, gatedActivationFused } from '../../../src/ops/activation.ts';
import { act, activation as activationRef, gatedActivation as gatedRef } from '../../../src/ops/ref/activation.ts';
import { hostTensor } from '../../../src/gpu/hostTensor.ts';
import { type OpCase, type Rng, withBindingLimit } from '../opCase.ts';
import type { Gpu } from '../../../src/gpu/device.ts';

const ACTS: Activation[] = ['silu', 'gelu', 'gelu_tanh', 'quick_gelu'];
// a few f32 roundings in exp/tanh/erf and the products: relative ~3e-7, absolute near 0 ~1.5e-7
const tol = { atol: 1.5e-7, rtol: 5e-7 };

function values(rng: Rng, n: number): number[] {
  const v = rng.normals(n, 3).map(Math.fround);
  if (n > 4) { v[0] = 100; v[1] = -100; v[2] = 0; v[3] = -88.5; }
  return v;
}

const elementwise: OpCase[] = ACTS.flatMap((a) => [[1], [7], [129], [3, 1000]].map((shape): OpCase => ({
  op: 'activation',
  name: `${a} [${shape.join('×')}]`,
  tol,
  async run(gpu, rng) {
    const n = shape.reduce((p, q) => p * q, 1);
    const xv = values(rng, n);
    const x = Tensor.from(gpu, 'f32', shape, xv, 'x');
    const stage = new Stage(gpu, `test ${a}`);
    const y = await activation(stage, a, x);
    await stage.submit();
    const got = await y.read();
    x.dispose(); y.dispose();
    return { got, want: activationRef(a, hostTensor(shape, xv)).data };
  },
})));

const geluGrid: OpCase = {
  op: 'activation',
  name: 'gelu (exact erf) dense grid x ∈ [−6, 6], step 2⁻¹⁰',
  tol,
  async run(gpu) {
    const xv = Array.from({ length: 12 * 1024 + 1 }, (_, i) => -6 + i / 1024);
    const x = Tensor.from(gpu, 'f32', [xv.length], xv, 'grid');
    const stage = new Stage(gpu, 'test gelu grid');
    const y = await activation(stage, 'gelu', x);
    await stage.submit();
    const got = await y.read();
    x.dispose(); y.dispose();
    return { got, want: xv.map((v) => act('gelu', v)) };
  },
};

const gated: OpCase[] = (['silu', 'gelu'] as Activation[]).flatMap((a) => [[1, 7], [7, 129], [2, 3, 1000]].flatMap((shape): OpCase[] => [
  {
    op: 'activation',
    name: `gated ${a} [${shape.join('×')}]`,
    tol,
    async run(gpu, rng) {
      const n = shape.reduce((p, q) => p * q, 1);
      const gv = values(rng, n), uv = rng.normals(n).map(Math.fround);
      const g = Tensor.from(gpu, 'f32', shape, gv, 'gate'), u = Tensor.from(gpu, 'f32', shape, uv, 'up');
      const stage = new Stage(gpu, 'test gated');
      const y = await gatedActivation(stage, a, g, u);
      await stage.submit();
      const got = await y.read();
      [g, u, y].forEach((t) => t.dispose());
      return { got, want: gatedRef(a, hostTensor(shape, gv), hostTensor(shape, uv)).data };
    },
  },
  {
    op: 'activation',
    name: `gated ${a} fused [${shape.slice(0, -1).join('×')}×2·${shape[shape.length - 1]}]`,
    tol,
    async run(gpu, rng) {
      const inner = shape[shape.length - 1], rows = shape.slice(0, -1).reduce((p, q) => p * q, 1);
      const gv = values(rng, rows * inner), uv = rng.normals(rows * inner).map(Math.fround);
      const fused: number[] = [];
      for (let r = 0; r < rows; r++) fused.push(...gv.slice(r * inner, (r + 1) * inner), ...uv.slice(r * inner, (r + 1) * inner));
      const gu = Tensor.from(gpu, 'f32', [...shape.slice(0, -1), 2 * inner], fused, 'gate_up');
      const stage = new Stage(gpu, 'test gated fused');
      const y = await gatedActivationFused(stage, a, gu);
      await stage.submit();
      const got = await y.read();
      gu.dispose(); y.dispose();
      return { got, want: gatedRef(a, hostTensor(shape, gv), hostTensor(shape, uv)).data };
    },
  },
]));

/** Tensor.from under a binding limit of `bytes` (none: the adapter's), checked to be chunked into `chunks`. */
async function made(gpu: Gpu, bytes: number | null, shape: number[], values: number[], label: string, chunks: number): Promise<Tensor<'f32'>> {
  const t = bytes ? await withBindingLimit(gpu, bytes, async () => Tensor.from(gpu, 'f32', shape, values, label)) : Tensor.from(gpu, 'f32', shape, values, label);
  if (t.chunks.length !== chunks) throw new Error(`${label} ${shape.join('×')} under ${bytes} B: ${t.chunks.length} chunks, the case needs ${chunks}`);
  return t;
}

/** Run `op` in a stage; the dispatches it recorded must be `dispatches`. */
async function counted(gpu: Gpu, dispatches: number, op: (st: Stage) => Tensor<'f32'>): Promise<Float32Array> {
  const stage = new Stage(gpu, 'test chunked activation');
  const before = gpu.stats.dispatches;
  const y = op(stage);
  const n = gpu.stats.dispatches - before;
  await stage.submit();
  const got = (await y.read()) as Float32Array;
  y.dispose();
  if (n !== dispatches) throw new Error(`${dispatches} dispatches expected, ${n} recorded`);
  return got;
}

// rows of 37 f32 = 148 B: 4 per chunk under 600 B, 6 under 1000 B; 13 rows → runs 0..3 4..5 6..7 8..11 12 = 5
const chunked: OpCase[] = [
  {
    op: 'activation',
    name: 'gelu_tanh [13×37], x chunked ≤600 B, out ≤1000 B (5 runs) and unchunked (1 dispatch)',
    tol,
    async run(gpu, rng) {
      const xv = values(rng, 13 * 37);
      const x = await made(gpu, 600, [13, 37], xv, 'x', 4);
      const out = await made(gpu, 1000, [13, 37], xv.map(() => NaN), 'out', 3);
      const a = await counted(gpu, 5, (st) => activation(st, 'gelu_tanh', x, out));
      const x1 = await made(gpu, null, [13, 37], xv, 'x whole', 1);
      const b = await counted(gpu, 1, (st) => activation(st, 'gelu_tanh', x1));
      x.dispose(); x1.dispose();
      const want = activationRef('gelu_tanh', hostTensor([13, 37], xv)).data;
      return { got: [...a, ...b], want: [...want, ...want] };
    },
  },
  {
    op: 'activation',
    name: 'gated silu [13×37], gate chunked ≤600 B, up ≤1000 B, out whole (5 runs)',
    tol,
    async run(gpu, rng) {
      const gv = values(rng, 13 * 37), uv = rng.normals(13 * 37).map(Math.fround);
      const g = await made(gpu, 600, [13, 37], gv, 'gate', 4), u = await made(gpu, 1000, [13, 37], uv, 'up', 3);
      const got = await counted(gpu, 5, (st) => gatedActivation(st, 'silu', g, u));
      g.dispose(); u.dispose();
      return { got, want: gatedRef('silu', hostTensor([13, 37], gv), hostTensor([13, 37], uv)).data };
    },
  },
  {
    op: 'activation',
    name: 'gated silu fused [11×2·37], gate_up chunked ≤600 B (2 rows), out ≤1000 B (6 rows): 6 runs; unchunked 1',
    tol,
    async run(gpu, rng) {
      const rows = 11, inner = 37;
      const gv = values(rng, rows * inner), uv = rng.normals(rows * inner).map(Math.fround);
      const fused: number[] = [];
      for (let r = 0; r < rows; r++) fused.push(...gv.slice(r * inner, (r + 1) * inner), ...uv.slice(r * inner, (r + 1) * inner));
      // gate_up rows of 296 B: chunks of 2 rows; out chunks of 6: runs 0..1 2..3 4..5 6..7 8..9 10 = 6
      const gu = await made(gpu, 600, [rows, 2 * inner], fused, 'gate_up', 6);
      const out = await made(gpu, 1000, [rows, inner], gv.map(() => NaN), 'out', 2);
      const a = await counted(gpu, 6, (st) => gatedActivationFused(st, 'silu', gu, out));
      const gu1 = await made(gpu, null, [rows, 2 * inner], fused, 'gate_up whole', 1);
      const b = await counted(gpu, 1, (st) => gatedActivationFused(st, 'silu', gu1));
      gu.dispose(); gu1.dispose();
      const want = gatedRef('silu', hostTensor([rows, inner], gv), hostTensor([rows, inner], uv)).data;
      return { got: [...a, ...b], want: [...want, ...want] };
    },
  },
];

// RNE into f16 adds at most half an f16 ulp (2⁻¹¹ relative; 2⁻²⁵ absolute among subnormals) to the f32 error
const tolF16 = { atol: 2 ** -25 + tol.atol, rtol: 2 ** -11 + tol.rtol };

// the f16 activation path: the fused gated product into an f16 out (gated_fused_h), against the unrounded reference
const gatedF16: OpCase[] = [
  ...(['silu', 'gelu', 'gelu_tanh', 'quick_gelu'] as Activation[]).map((a): OpCase => ({
    op: 'activation',
    name: `gated ${a} fused [3×2·1000] out f16`,
    tol: tolF16,
    async run(gpu, rng) {
      const rows = 3, inner = 1000;
      const gv = values(rng, rows * inner), uv = rng.normals(rows * inner).map(Math.fround);
      const fused: number[] = [];
      for (let r = 0; r < rows; r++) fused.push(...gv.slice(r * inner, (r + 1) * inner), ...uv.slice(r * inner, (r + 1) * inner));
      const gu = Tensor.from(gpu, 'f32', [rows, 2 * inner], fused, 'gate_up');
      const out = Tensor.empty(gpu, 'f16', [rows, inner], 'out f16');
      const stage = new Stage(gpu, 'test gated fused f16');
      gatedActivationFused(stage, a, gu, out);
      await stage.submit();
      const got = await out.read();
      gu.dispose(); out.dispose();
      return { got, want: gatedRef(a, hostTensor([rows, inner], gv), hostTensor([rows, inner], uv)).data };
    },
  })),
  {
    op: 'activation',
    name: 'gated silu fused [11×2·38] out f16, gate_up chunked ≤700 B (2 rows), out ≤400 B (5 rows): 7 runs',
    tol: tolF16,
    async run(gpu, rng) {
      const rows = 11, inner = 38;
      const gv = values(rng, rows * inner), uv = rng.normals(rows * inner).map(Math.fround);
      const fused: number[] = [];
      for (let r = 0; r < rows; r++) fused.push(...gv.slice(r * inner, (r + 1) * inner), ...uv.slice(r * inner, (r + 1) * inner));
      // gate_up rows of 304 B: chunks of 2 rows; out rows of 76 B: chunks of 5: runs 0..1 2..3 4 5 6..7 8..9 10 = 7
      const gu = await made(gpu, 700, [rows, 2 * inner], fused, 'gate_up', 6);
      const out = await withBindingLimit(gpu, 400, async () => Tensor.empty(gpu, 'f16', [rows, inner], 'out f16'));
      if (out.chunks.length !== 3) throw new Error(`out f16 under 400 B: ${out.chunks.length} chunks, the case needs 3`);
      const stage = new Stage(gpu, 'test chunked gated f16');
      const before = gpu.stats.dispatches;
      gatedActivationFused(stage, 'silu', gu, out);
      const n = gpu.stats.dispatches - before;
      await stage.submit();
      const got = await out.read();
      gu.dispose(); out.dispose();
      if (n !== 7) throw new Error(`7 dispatches expected, ${n} recorded`);
      return { got, want: gatedRef('silu', hostTensor([rows, inner], gv), hostTensor([rows, inner], uv)).data };
    },
  },
];

export const cases: OpCase[] = [...elementwise, geluGrid, ...gated, ...chunked, ...gatedF16];
