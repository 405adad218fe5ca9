// Cases for the row ops: slices of rows and columns, concatenation, copy into an offset, gather and scatter
// (with out-of-range indices skipped), f32 and u32.
import { Stage } from '../../../src/gpu/stage.ts';
import { Tensor } from '../../../src/gpu/tensor.ts';
import { hostTensor } from '../../../src/gpu/hostTensor.ts';
import * as ref from '../../../src/ops/ref/rows.ts';
import { concatRows, copyInto, gatherRows, scatterRows, sliceCols, sliceRows } from '../../../src/ops/rows.ts';
import type { OpCase, Rng } from '../opCase.ts';

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
];
