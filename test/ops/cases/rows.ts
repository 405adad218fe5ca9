// Cases for the row ops: slices of rows and columns, concatenation, copy into an offset, gather and scatter
// (with out-of-range indices skipped), f32 and u32; the same on row-chunked tensors (chunked at different rows from
// each other, as a 7B OneVision's projected tile features are past one binding), with the dispatch count checked.
import { Stage } from '../../../src/gpu/stage.ts';
import { Tensor } from '../../../src/gpu/tensor.ts';
import { hostTensor } from '../../../src/gpu/hostTensor.ts';
import * as ref from '../../../src/ops/ref/rows.ts';
import { concatRows, copyInto, gatherRows, scatterRows, sliceCols, sliceRows } from '../../../src/ops/rows.ts';
import type { Gpu } from '../../../src/gpu/device.ts';
import { type OpCase, type Rng, withBindingLimit } from '../opCase.ts';

const exact = { atol: 0, rtol: 0 };

function mk(rng: Rng, rows: number, w: number): number[] {
  return rng.normals(rows * w).map(Math.fround);
}

async function finish(stage: Stage, t: Tensor, ...others: Tensor[]): Promise<ArrayLike<number>> {
  await stage.submit();
  const got = await t.read();
  [t, ...others].forEach((x) => x.dispose());
  return got;
}

export const cases: OpCase[] = [
  ...[[1, 1, 0, 1], [129, 7, 5, 100], [1000, 3, 999, 1]].map(([rows, w, start, count]): OpCase => ({
    op: 'rows', name: `sliceRows [${rows}×${w}] rows ${start}+${count}`, tol: exact,
    async run(gpu, rng) {
      const xv = mk(rng, rows, w);
      const x = Tensor.from(gpu, 'f32', [rows, w], xv, 'x');
      const stage = new Stage(gpu, 'test');
      const y = await sliceRows(stage, x, start, count);
      return { got: await finish(stage, y, x), want: ref.sliceRows(hostTensor([rows, w], xv), start, count).data };
    },
  })),
  ...[[7, 129, 0, 43], [129, 384, 128, 128], [1, 7, 6, 1]].map(([rows, w, start, width]): OpCase => ({
    op: 'rows', name: `sliceCols [${rows}×${w}] cols ${start}+${width}`, tol: exact,
    async run(gpu, rng) {
      const xv = mk(rng, rows, w);
      const x = Tensor.from(gpu, 'f32', [rows, w], xv, 'x');
      const stage = new Stage(gpu, 'test');
      const y = await sliceCols(stage, x, start, width);
      return { got: await finish(stage, y, x), want: ref.sliceCols(hostTensor([rows, w], xv), start, width).data };
    },
  })),
  {
    op: 'rows', name: 'concatRows [7×33] + [1×33] + [129×33]', tol: exact,
    async run(gpu, rng) {
      const parts = [7, 1, 129].map((r) => mk(rng, r, 33));
      const ts = parts.map((p, i) => Tensor.from(gpu, 'f32', [p.length / 33, 33], p, `part${i}`));
      const stage = new Stage(gpu, 'test');
      const y = await concatRows(stage, ts);
      return { got: await finish(stage, y, ...ts), want: ref.concatRows(parts.map((p) => hostTensor([p.length / 33, 33], p))).data };
    },
  },
  {
    op: 'rows', name: 'copyInto [7×129] at row 100 of [129×129]', tol: exact,
    async run(gpu, rng) {
      const sv = mk(rng, 7, 129), dv = mk(rng, 129, 129);
      const s = Tensor.from(gpu, 'f32', [7, 129], sv, 'src'), d = Tensor.from(gpu, 'f32', [129, 129], dv, 'dst');
      const stage = new Stage(gpu, 'test');
      await copyInto(stage, s, d, 100);
      return { got: await finish(stage, d, s), want: ref.copyInto(hostTensor([7, 129], sv), hostTensor([129, 129], dv), 100).data };
    },
  },
  {
    op: 'rows', name: 'gatherRows u32 [1000×3] by 129 indices (some ≥ rows)', tol: exact,
    async run(gpu, rng) {
      const xv = Array.from({ length: 3000 }, (_, i) => (i * 2654435761) >>> 0);
      const idx = Array.from({ length: 129 }, (_, i) => (i % 17 === 5 ? 1000 + i : rng.int(0, 1000)));
      const x = Tensor.from(gpu, 'u32', [1000, 3], xv, 'x'), ix = Tensor.from(gpu, 'u32', [129], idx, 'index');
      const stage = new Stage(gpu, 'test');
      const y = await gatherRows(stage, x, ix);
      return { got: await finish(stage, y, x, ix), want: ref.gatherRows(hostTensor([1000, 3], xv), idx).data };
    },
  },
  {
    op: 'rows', name: 'scatterRows [7×129] into [300×129] at distinct rows', tol: exact,
    async run(gpu, rng) {
      const sv = mk(rng, 7, 129), dv = mk(rng, 300, 129);
      const idx = [299, 0, 17, 18, 150, 7, 400];
      const s = Tensor.from(gpu, 'f32', [7, 129], sv, 'src'), d = Tensor.from(gpu, 'f32', [300, 129], dv, 'dst');
      const ix = Tensor.from(gpu, 'u32', [7], idx, 'index');
      const stage = new Stage(gpu, 'test');
      await scatterRows(stage, s, ix, d);
      return { got: await finish(stage, d, s, ix), want: ref.scatterRows(hostTensor([7, 129], sv), idx, hostTensor([300, 129], dv)).data };
    },
  },
  ...chunkedCases(),
];

/** A tensor made under a binding limit of `bytes` (null: the adapter's), checked to take `chunks` chunks. */
async function under<D extends 'f32' | 'u32'>(gpu: Gpu, bytes: number | null, dt: D, shape: number[], v: number[], label: string, chunks: number): Promise<Tensor<D>> {
  const t = bytes ? await withBindingLimit(gpu, bytes, async () => Tensor.from(gpu, dt, shape, v, label)) : Tensor.from(gpu, dt, shape, v, label);
  if (t.chunks.length !== chunks) throw new Error(`${label} [${shape.join('×')}] under ${bytes} B: ${t.chunks.length} chunks, the case needs ${chunks}`);
  return t;
}

/** Record `op` in a stage, check its dispatch count, submit. */
async function counted(gpu: Gpu, want: number, op: (st: Stage) => void): Promise<void> {
  const stage = new Stage(gpu, 'test chunked rows');
  const before = gpu.stats.dispatches;
  op(stage);
  const n = gpu.stats.dispatches - before;
  await stage.submit();
  if (n !== want) throw new Error(`${want} dispatches expected, ${n} recorded`);
}

// rows of 33 f32 = 132 B: 7 rows per chunk under 1000 B, 3 under 400 B
function chunkedCases(): OpCase[] {
  return [
    {
      op: 'rows', name: 'gatherRows [50×33] chunked ≤1000 B (8 chunks) into out ≤400 B (13 chunks), some indices ≥ rows', tol: exact,
      async run(gpu, rng) {
        const xv = mk(rng, 50, 33);
        const idx = Array.from({ length: 37 }, (_, i) => (i % 11 === 4 ? 50 + i : rng.int(0, 50)));
        const x = await under(gpu, 1000, 'f32', [50, 33], xv, 'x', 8), ix = Tensor.from(gpu, 'u32', [37], idx, 'index');
        const out = await under(gpu, 400, 'f32', [37, 33], idx.flatMap(() => Array<number>(33).fill(NaN)), 'out', 13);
        // every piece of out once per chunk of x
        await counted(gpu, 13 * 8, (st) => gatherRows(st, x, ix, out));
        const got = await out.read();
        [x, ix, out].forEach((t) => t.dispose());
        return { got, want: ref.gatherRows(hostTensor([50, 33], xv), idx).data };
      },
    },
    {
      op: 'rows', name: 'scatterRows [9×33] ≤400 B into [50×33] ≤1000 B at distinct rows (one past the end)', tol: exact,
      async run(gpu, rng) {
        const sv = mk(rng, 9, 33), dv = mk(rng, 50, 33);
        const idx = [49, 0, 6, 7, 13, 14, 30, 3, 60];
        const s = await under(gpu, 400, 'f32', [9, 33], sv, 'src', 3), d = await under(gpu, 1000, 'f32', [50, 33], dv, 'dst', 8);
        const ix = Tensor.from(gpu, 'u32', [9], idx, 'index');
        await counted(gpu, 3 * 8, (st) => scatterRows(st, s, ix, d));
        const got = await d.read();
        [s, d, ix].forEach((t) => t.dispose());
        return { got, want: ref.scatterRows(hostTensor([9, 33], sv), idx, hostTensor([50, 33], dv)).data };
      },
    },
    {
      op: 'rows', name: 'copyInto [20×33] ≤400 B at row 5 of [50×33] ≤1000 B; sliceCols of it; unchunked 1 dispatch', tol: exact,
      async run(gpu, rng) {
        const sv = mk(rng, 20, 33), dv = mk(rng, 50, 33);
        const s = await under(gpu, 400, 'f32', [20, 33], sv, 'src', 7), d = await under(gpu, 1000, 'f32', [50, 33], dv, 'dst', 8);
        // src cuts at 3, 6, …, 18 and dst at 7, 14, 21 (rows 2, 9, 16 of the copy; 9 shared): 8 cuts, 9 pieces
        await counted(gpu, 9, (st) => copyInto(st, s, d, 5));
        // cols rows of 20 B: chunks of 20 rows; with dst's of 7: cuts 7, 14, 20, 21, 28, 35, 40, 42, 49 → 10 pieces
        const cols = await under(gpu, 400, 'f32', [50, 5], Array<number>(250).fill(NaN), 'cols', 3);
        await counted(gpu, 10, (st) => sliceCols(st, d, 28, 5, cols));
        const s1 = await under(gpu, null, 'f32', [20, 33], sv, 'src whole', 1), d1 = await under(gpu, null, 'f32', [50, 33], dv, 'dst whole', 1);
        await counted(gpu, 1, (st) => copyInto(st, s1, d1, 5));
        const want = ref.copyInto(hostTensor([20, 33], sv), hostTensor([50, 33], dv), 5);
        const got = [...await d.read(), ...await cols.read(), ...await d1.read()];
        [s, d, cols, s1, d1].forEach((t) => t.dispose());
        return { got, want: [...want.data, ...ref.sliceCols(want, 28, 5).data, ...want.data] };
      },
    },
  ];
}
