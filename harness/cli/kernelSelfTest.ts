// The kernel self-test behind `kvscope selftest` and the demo: every op case of the test table against its
// float64 reference on this adapter (op kernels, then the probe kernels), summarised per op.
import type { Gpu } from '../../src/gpu/device.ts';
import { allCases as opCases } from '../../test/ops/cases/index.ts';
import { probeCases } from '../../test/probe/cases/index.ts';
import { compare, Rng } from '../../test/ops/opCase.ts';

/** The op kernels and the probe kernels, one table. */
const allCases = [...opCases, ...probeCases];

export interface SelfTestSummary { passed: number; failed: number; failures: string[] }

export async function kernelSelfTest(gpu: Gpu, log: (s: string) => void = console.log): Promise<SelfTestSummary> {
  const poisoned = gpu.poisonNewTensors;
  gpu.poisonNewTensors = true;
  const byOp = new Map<string, { pass: number; fail: number; worst: number; ms: number }>();
  const failures: string[] = [];
  try {
    for (const [i, c] of allCases.entries()) {
      const t0 = performance.now();
      let ok = false, err = 0;
      try {
        const { got, want } = await c.run(gpu, new Rng(1000 + i));
        const r = compare(got, want, c.tol);
        ok = r.ok;
        err = r.maxAbsErr;
        if (!ok) failures.push(`${c.name}: ${r.bad} bad; first ${r.firstBad}`);
      } catch (e) {
        failures.push(`${c.name}: threw ${(e as Error).message}`);
      }
      const s = byOp.get(c.op) ?? { pass: 0, fail: 0, worst: 0, ms: 0 };
      if (ok) s.pass++; else s.fail++;
      s.worst = Math.max(s.worst, err);
      s.ms += performance.now() - t0;
      byOp.set(c.op, s);
    }
  } finally {
    gpu.poisonNewTensors = poisoned;
  }
  log(`${'op'.padEnd(14)} ${'cases'.padStart(5)} ${'failed'.padStart(6)}  ${'max abs err'.padStart(11)} ${'ms'.padStart(8)}`);
  for (const [op, s] of byOp) {
    log(`${op.padEnd(14)} ${String(s.pass + s.fail).padStart(5)} ${String(s.fail).padStart(6)}  ${s.worst.toExponential(2).padStart(11)} ${s.ms.toFixed(0).padStart(8)}`);
  }
  for (const f of failures) log(`FAIL ${f}`);
  const passed = [...byOp.values()].reduce((a, s) => a + s.pass, 0);
  return { passed, failed: failures.length, failures };
}
