// keyConsistency (shaders/key_consistency.wgsl) on the GPU against its float64 reference (awkward sizes, zero keys), and the property it exists
// for: a planted input-agnostic position scores near 1, input-dependent ones near 0.
import { acquireGpu } from '../../src/gpu/device.ts';
import { Stage } from '../../src/gpu/stage.ts';
import { Tensor } from '../../src/gpu/tensor.ts';
import { hostTensor } from '../../src/gpu/hostTensor.ts';
import { keyConsistency } from '../../src/probe/keyConsistency.ts';
import { keyConsistency as keyConsistencyRef } from '../../src/probe/ref/keyConsistency.ts';
import { assert } from '../gpu/assert.ts';
import { compare, Rng } from '../ops/opCase.ts';

const gpu = await acquireGpu();
gpu.poisonNewTensors = true;

async function run(n: number, cells: number, dim: number, values: number[]) {
  const t = Tensor.from(gpu, 'f32', [n, cells, dim], values, 'keys');
  const stage = new Stage(gpu, 'test keyConsistency');
  const out = await keyConsistency(stage, t);
  await stage.submit();
  const got = await out.read();
  t.dispose(); out.dispose();
  return got;
}

for (const [n, cells, dim] of [[2, 1, 1], [5, 37, 33], [9, 130, 64], [3, 7, 129]] as const) {
  Deno.test({ name: `keyConsistency [${n}×${cells}×${dim}] vs reference (atol 2e-5)`, sanitizeResources: false, sanitizeOps: false, async fn() {
    const rng = new Rng(n * 1000 + cells);
    const values = rng.normals(n * cells * dim).map(Math.fround);
    // a zero key (image 0, cell 0) is skipped, not a NaN
    for (let e = 0; e < dim; e++) values[e] = 0;
    const got = await run(n, cells, dim, values);
    const want = keyConsistencyRef(hostTensor([n, cells, dim], values)).data;
    const r = compare(got, want, { atol: 2e-5, rtol: 1e-5 });
    assert(r.ok, `${r.bad} bad; first ${r.firstBad}`);
  } });
}

Deno.test({ name: 'keyConsistency: a planted input-agnostic key position stands out', sanitizeResources: false, sanitizeOps: false, async fn() {
  const rng = new Rng(7);
  const n = 6, cells = 20, dim = 16;
  const fixed = rng.normals(dim);
  const values: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < cells; c++) {
      for (let e = 0; e < dim; e++) values.push(c === 13 ? fixed[e] + 0.05 * rng.normal() : rng.normal());
    }
  }
  const got = await run(n, cells, dim, values);
  assert(got[13] > 0.95, `planted cell scores ${got[13]}`);
  for (let c = 0; c < cells; c++) if (c !== 13) assert(Math.abs(got[c]) < 0.5, `cell ${c} scores ${got[c]}`);
} });
