// Every op case against its float64 reference, on the default Deno WebGPU adapter.
import { acquireGpu } from '../../src/gpu/device.ts';
import { compare, Rng } from './opCase.ts';
import { allCases } from './cases/index.ts';

const gpu = await acquireGpu();
gpu.poisonNewTensors = true;

const filter = Deno.env.get('KVSCOPE_OP');
for (const [i, c] of allCases.entries()) {
  if (filter && c.op !== filter) continue;
  Deno.test({
    name: `${c.op}: ${c.name} on ${gpu.info.description}`,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const { got, want } = await c.run(gpu, new Rng(1000 + i));
      const r = compare(got, want, c.tol);
      if (!r.ok) {
        throw new Error(`${c.name}: ${r.bad} of ${want.length} outside atol ${c.tol.atol} + rtol ${c.tol.rtol}` +
          ` (non-finite ${r.nonFinite}; max abs err ${r.maxAbsErr.toExponential(3)}, max |ref| ${r.maxRefAbs.toExponential(3)}); first: ${r.firstBad}`);
      }
    },
  });
}
