// Probe for issue 9: does a matmul that reads its weight through 64 KiB uniform windows beat the same kernel reading
// it from a storage buffer on this adapter (harness/bench/loadPaths.ts: a uniform load costs ~1/5 of a storage load
// on llvmpipe)? y = x·Wᵀ, f32, [M, K]·[N, K]ᵀ. One dispatch per window of NB weight rows (NB·K·4 = 64 KiB); each
// invocation holds RM rows × NB columns of y in registers. Both variants share everything but where W comes from.
// Checked: 64 sampled outputs against a float64 dot product (|err| ≤ 1e-3 · sqrt(K) relative to the row scale).
// `deno run -A --no-check harness/bench/uboMatmul.ts [--m M] [--n N] [--k K] [--reps R] [--rm ROWS_PER_INVOCATION]`
import { median } from './timing.ts';

const WINDOW_VEC4 = 4096; // 64 KiB
const WG = 8;

function shader(path: 'uniform' | 'storage', nb: number, k4: number, RM: number): string {
  const wDecl = path === 'uniform'
    ? `@group(0) @binding(3) var<uniform> w: array<vec4<f32>, ${nb * k4}>;`
    : `@group(0) @binding(3) var<storage, read> w: array<vec4<f32>>;`;
  const wIdx = (c: number) => path === 'uniform' ? `w[${c * k4}u + q]` : `w[p.w0 + ${c * k4}u + q]`;
  const lines: string[] = [];
  for (let r = 0; r < RM; r++) lines.push(`let x${r} = x[(min(m0 + ${r}u, p.m - 1u)) * ${k4}u + q];`);
  for (let c4 = 0; c4 < nb / 4; c4++) {
    for (let j = 0; j < 4; j++) lines.push(`let w${4 * c4 + j} = ${wIdx(4 * c4 + j)};`);
    for (let r = 0; r < RM; r++) lines.push(`a${r}_${c4} += vec4<f32>(dot(x${r}, w${4 * c4}), dot(x${r}, w${4 * c4 + 1}), dot(x${r}, w${4 * c4 + 2}), dot(x${r}, w${4 * c4 + 3}));`);
  }
  const acc: string[] = [], store: string[] = [];
  for (let r = 0; r < RM; r++) {
    for (let c4 = 0; c4 < nb / 4; c4++) {
      acc.push(`var a${r}_${c4} = vec4<f32>(0.0);`);
      store.push(`if (m0 + ${r}u < p.m) { let o = (m0 + ${r}u) * p.n + p.n0 + ${4 * c4}u; y[o] = a${r}_${c4}.x; y[o + 1u] = a${r}_${c4}.y; y[o + 2u] = a${r}_${c4}.z; y[o + 3u] = a${r}_${c4}.w; }`);
    }
  }
  return `
struct P { m: u32, n: u32, n0: u32, w0: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
${wDecl}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let m0 = gid.x * ${RM}u;
  if (m0 >= p.m) { return; }
  ${acc.join('\n  ')}
  for (var q = 0u; q < ${k4}u; q++) {
    ${lines.join('\n    ')}
  }
  ${store.join('\n  ')}
}`;
}

const arg = (name: string, def: number) => {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? parseInt(Deno.args[i + 1], 10) : def;
};
const M = arg('m', 512), N = arg('n', 1024), K = arg('k', 1024), REPS = arg('reps', 5), RM = arg('rm', 4); // RM: y rows per invocation
const k4 = K / 4, nb = Math.floor(WINDOW_VEC4 / k4 / 4) * 4;
if (K % 4 || nb < 4 || N % nb || (nb * K * 4) % 256) throw new Error(`shape m=${M} n=${N} k=${K}: needs K % 4 = 0, ≥ 4 weight rows per 64 KiB window (NB = ${nb}), N % NB = 0, 256-byte-aligned windows`);

const adapter = await navigator.gpu.requestAdapter();
if (!adapter) throw new Error('no WebGPU adapter');
const device = await adapter.requestDevice();
console.log(`device: ${adapter.info.description || adapter.info.vendor}; m=${M} n=${N} k=${K}; NB=${nb} weight rows per window, ${N / nb} dispatches; RM=${RM} rows per invocation`);

const rnd = (n: number, seed: number) => { const a = new Float32Array(n); let s = seed; for (let i = 0; i < n; i++) { s = (s * 1664525 + 1013904223) >>> 0; a[i] = s / 2 ** 32 - 0.5; } return a; };
const xs = rnd(M * K, 1), ws = rnd(N * K, 2);
const buf = (data: Float32Array | number, usage: number) => {
  const b = device.createBuffer({ size: typeof data === 'number' ? data : data.byteLength, usage: usage | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC });
  if (typeof data !== 'number') device.queue.writeBuffer(b, 0, data);
  return b;
};
const xb = buf(xs, GPUBufferUsage.STORAGE), wb = buf(ws, GPUBufferUsage.STORAGE | GPUBufferUsage.UNIFORM), yb = buf(4 * M * N, GPUBufferUsage.STORAGE);
const params = Array.from({ length: N / nb }, (_, j) => buf(new Float32Array(new Uint32Array([M, N, j * nb, j * nb * k4]).buffer), GPUBufferUsage.UNIFORM));

async function run(path: 'uniform' | 'storage'): Promise<number> {
  const module = device.createShaderModule({ code: shader(path, nb, k4, RM) });
  const pipeline = await device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const groups = params.map((pb, j) => device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [
      { binding: 0, resource: { buffer: pb } }, { binding: 1, resource: { buffer: xb } }, { binding: 2, resource: { buffer: yb } },
      { binding: 3, resource: path === 'uniform' ? { buffer: wb, offset: j * nb * K * 4, size: nb * K * 4 } : { buffer: wb } },
    ],
  }));
  const once = async () => {
    const t0 = performance.now();
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    for (const g of groups) { pass.setBindGroup(0, g); pass.dispatchWorkgroups(Math.ceil(M / RM / WG)); }
    pass.end();
    device.queue.submit([enc.finish()]);
    await device.queue.onSubmittedWorkDone();
    return performance.now() - t0;
  };
  await once();
  const ms: number[] = [];
  for (let r = 0; r < REPS; r++) ms.push(await once());
  // check 64 sampled outputs against float64
  const read = device.createBuffer({ size: 4 * M * N, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(yb, 0, read, 0, 4 * M * N);
  device.queue.submit([enc.finish()]);
  await read.mapAsync(GPUMapMode.READ);
  const y = new Float32Array(read.getMappedRange().slice(0));
  read.destroy();
  let worst = 0;
  for (let t = 0; t < 64; t++) {
    const i = (t * 7919) % M, j = (t * 104729) % N;
    let s = 0;
    for (let q = 0; q < K; q++) s += xs[i * K + q] * ws[j * K + q];
    worst = Math.max(worst, Math.abs(y[i * N + j] - s));
  }
  if (!(worst <= 1e-3 * Math.sqrt(K))) throw new Error(`${path}: sampled outputs off the float64 reference by ${worst}`);
  device.queue.writeBuffer(yb, 0, new Float32Array(M * N)); // the next variant must write y itself
  return median(ms);
}

const results: Record<string, number> = {};
for (const path of ['storage', 'uniform', 'storage', 'uniform'] as const) {
  const ms = await run(path);
  results[path] = Math.min(results[path] ?? Infinity, ms);
}
const flops = 2 * M * N * K;
for (const [path, ms] of Object.entries(results)) console.log(`${path.padEnd(8)} ${ms.toFixed(1).padStart(8)} ms  ${(flops / ms / 1e6).toFixed(1).padStart(6)} GFLOP/s`);
console.log(`uniform / storage time: ${(results.uniform / results.storage).toFixed(2)}×`);
