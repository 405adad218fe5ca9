// Numeric self-tests run at start-up: a basic dispatch always, and each optional feature before it is used
// (Deno has shipped f16 bugs; subgroup sizes differ by vendor; some adapters return zero timestamps).
import type { Gpu } from './device.ts';
import { roundTo } from './dtype.ts';
import { Profiler } from './profiler.ts';
import { Stage } from './stage.ts';
import { Tensor } from './tensor.ts';

export interface SelfTestResult {
  feature: 'core' | 'shader-f16' | 'timestamp-query' | 'subgroups';
  passed: boolean;
  detail: string;
}

const N = 256;

function probeInput(): number[] {
  // values spanning half's range: normals, a subnormal, ties that test rounding
  return Array.from({ length: N }, (_, i) => (i % 2 ? -1 : 1) * (0.001 + i * 0.37) ** 1.3 + (i === 5 ? 3e-6 : 0));
}

async function runKernel(gpu: Gpu, shader: string, outLen: number, uniforms: Record<string, number>, profiler: Profiler | null = null): Promise<Float32Array> {
  await gpu.kernels.load([shader]);
  const kernel = gpu.kernels.get(shader);
  const a = Tensor.from(gpu, 'f32', [N], probeInput(), `${shader}.a`);
  const out = Tensor.empty(gpu, 'f32', [outLen], `${shader}.out`);
  const stage = new Stage(gpu, `self-test ${shader}`, profiler);
  stage.dispatch(kernel, { bindings: { a: a.buffer(), out: out.buffer() }, uniforms, workgroups: [N / 64], label: shader });
  await stage.submit();
  const r = await out.read() as Float32Array;
  a.dispose();
  out.dispose();
  return r;
}

async function core(gpu: Gpu): Promise<SelfTestResult> {
  const r = await runKernel(gpu, 'selftest_basic', N, { n: N, scale: 2 });
  const x = probeInput();
  let bad = 0;
  for (let i = 0; i < N; i++) if (r[i] !== Math.fround(Math.fround(x[i] * 2) + i)) bad++;
  return { feature: 'core', passed: bad === 0, detail: bad ? `${bad}/${N} values wrong` : `${N} values exact` };
}

async function f16(gpu: Gpu): Promise<SelfTestResult> {
  const r = await runKernel(gpu, 'selftest_f16', 2 * N, { n: N });
  const x = probeInput();
  let bad = 0;
  for (let i = 0; i < N; i++) {
    const h = roundTo('f16', x[i]);
    // fused multiply-add is allowed to skip the intermediate rounding; accept either
    const p1 = roundTo('f16', roundTo('f16', h * 1.5) + 0.25);
    const p2 = roundTo('f16', h * 1.5 + 0.25);
    if (r[2 * i] !== h || (r[2 * i + 1] !== p1 && r[2 * i + 1] !== p2)) bad++;
  }
  return { feature: 'shader-f16', passed: bad === 0, detail: bad ? `${bad}/${N} f16 results wrong` : 'f16 conversion and arithmetic round as IEEE binary16' };
}

async function subgroups(gpu: Gpu): Promise<SelfTestResult> {
  const r = await runKernel(gpu, 'selftest_subgroups', 3 * N, { n: N });
  const x = probeInput().map(Math.fround);
  const size = r[N];
  if (!(size >= 1 && size <= 128 && Number.isInteger(size))) return { feature: 'subgroups', passed: false, detail: `implausible subgroup size ${size}` };
  let bad = 0;
  for (let i = 0; i < N; i++) {
    const base = i - r[2 * N + i];
    let s = 0;
    for (let j = base; j < base + size; j++) s += x[j];
    if (Math.abs(r[i] - s) > 1e-4 * Math.max(1, Math.abs(s))) bad++;
  }
  return { feature: 'subgroups', passed: bad === 0, detail: bad ? `${bad}/${N} subgroup sums wrong` : `subgroupAdd correct, subgroup size ${size}` };
}

async function timestamps(gpu: Gpu): Promise<SelfTestResult> {
  gpu.features.timestampQuery = true; // provisional, so the profiler can be built for the test
  const prof = new Profiler(gpu, 4);
  try {
    await runKernel(gpu, 'selftest_basic', N, { n: N, scale: 1 }, prof);
    const [e] = await prof.read();
    const ok = e !== undefined && Number.isFinite(e.ms) && e.ms > 0 && e.ms < 10_000;
    return { feature: 'timestamp-query', passed: ok, detail: ok ? `dispatch timed at ${e.ms.toFixed(4)} ms` : `implausible timestamp interval ${e?.ms}` };
  } finally {
    prof.destroy();
    gpu.features.timestampQuery = false;
  }
}

export async function runSelfTests(gpu: Gpu, features: readonly string[]): Promise<SelfTestResult[]> {
  const tests: [SelfTestResult['feature'], (g: Gpu) => Promise<SelfTestResult>][] = [['core', core]];
  if (features.includes('shader-f16')) tests.push(['shader-f16', f16]);
  if (features.includes('subgroups')) tests.push(['subgroups', subgroups]);
  if (features.includes('timestamp-query')) tests.push(['timestamp-query', timestamps]);
  const out: SelfTestResult[] = [];
  for (const [feature, fn] of tests) {
    try {
      out.push(await fn(gpu));
    } catch (e) {
      out.push({ feature, passed: false, detail: `threw: ${(e as Error).message.split('\n')[0]}` });
    }
  }
  const coreResult = out[0];
  if (!coreResult.passed) throw new Error(`WebGPU core self-test failed on ${gpu.describe()}: ${coreResult.detail}`);
  return out;
}
