// What one vec4 load costs on this adapter by where it comes from (issue 9): every kernel runs the same loop, one
// vec4 load feeding 8 independent vec4 FMA chains per step (the FMA:load ratio of the 16×16 matmul tile, 256 vec4
// FMAs per 32 vec4 loads), from a 64 KiB source that stays in cache, so the figure is the load instruction's own
// cost, not memory bandwidth. Paths:
//   none             no load (the value is a register): the FMA-only ceiling of this loop
//   storage_lane     storage buffer, a different address per invocation
//   storage_uniform  storage buffer, an address from workgroup_id and the loop counter only (the same in every lane)
//   uniform_uniform  var<uniform> array, lane-uniform address
//   uniform_lane     var<uniform> array, per-invocation address
//   texture_lane     textureLoad from an rgba32float texture_2d, per-invocation texel
//   texture_uniform  textureLoad, lane-uniform texel
//   workgroup_lane   var<workgroup> array (filled once), per-invocation address
//   workgroup_uniform var<workgroup> array, lane-uniform address
// Prints the adapter's relevant limits first, then per path: loads/s, GFLOP/s and the time per step relative to
// `none`. Interleaved rounds (every path once per round), medians.
// `deno run -A --no-check harness/bench/loadPaths.ts [--rounds N] [--ms TARGET] [--chains FMAS_PER_LOAD] [--only a,b]`
import { median } from './timing.ts';

const N4 = 4096; // vec4s in the source: 64 KiB, the largest uniform binding WebGPU guarantees
const WG = 64;
const GROUPS = 256;

function shader(path: string, chains = 8): string {
  const common = `
struct P { iters: u32, b: f32, c: f32, pad: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> sink: array<vec4<f32>>;
`;
  let decl = '', load = '', pre = '';
  const lane = `(g * 17u + i) & ${N4 - 1}u`;
  const uni = `(wid.x * 17u + i) & ${N4 - 1}u`;
  switch (path) {
    case 'none': load = 'let v = vec4<f32>(f32(i) * 1e-9) + p.b;'; break;
    case 'storage_lane': decl = '@group(0) @binding(2) var<storage, read> src: array<vec4<f32>>;'; load = `let v = src[${lane}];`; break;
    case 'storage_uniform': decl = '@group(0) @binding(2) var<storage, read> src: array<vec4<f32>>;'; load = `let v = src[${uni}];`; break;
    case 'uniform_uniform': decl = `@group(0) @binding(2) var<uniform> src: array<vec4<f32>, ${N4}>;`; load = `let v = src[${uni}];`; break;
    case 'uniform_lane': decl = `@group(0) @binding(2) var<uniform> src: array<vec4<f32>, ${N4}>;`; load = `let v = src[${lane}];`; break;
    case 'texture_lane': decl = '@group(0) @binding(2) var src: texture_2d<f32>;'; load = `let t = ${lane}; let v = textureLoad(src, vec2<u32>(t & 63u, t >> 6u), 0);`; break;
    case 'texture_uniform': decl = '@group(0) @binding(2) var src: texture_2d<f32>;'; load = `let t = ${uni}; let v = textureLoad(src, vec2<u32>(t & 63u, t >> 6u), 0);`; break;
    case 'workgroup_lane':
    case 'workgroup_uniform':
      decl = `var<workgroup> src: array<vec4<f32>, 1024>;`;
      pre = `for (var j = lid.x; j < 1024u; j += ${WG}u) { src[j] = vec4<f32>(f32(j) * 1e-6 + p.b); }\n  workgroupBarrier();`;
      load = `let v = src[${path === 'workgroup_lane' ? lane : uni} & 1023u];`;
      break;
    default: throw new Error(`unknown path ${path}`);
  }
  return `${common}${decl}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let g = gid.x;
  ${pre}
  let c = vec4<f32>(p.c);
  let s = f32(g) * 1e-7;
  ${Array.from({ length: chains }, (_, j) => `var a${j} = vec4<f32>(s + ${j}.0 * 0.1);`).join(' ')}
  for (var i = 0u; i < p.iters; i++) {
    ${load}
    ${Array.from({ length: chains }, (_, j) => `a${j} = fma(a${j}, v, c);`).join(' ')}
  }
  sink[g] = ${Array.from({ length: chains }, (_, j) => `a${j}`).join(' + ')};
}
`;
}

export const LOAD_PATHS = ['none', 'storage_lane', 'storage_uniform', 'uniform_uniform', 'uniform_lane', 'texture_lane', 'texture_uniform', 'workgroup_lane', 'workgroup_uniform'] as const;

if (import.meta.main) {
  const args = Deno.args;
  const arg = (name: string, d: number) => (args.indexOf(name) >= 0 ? Number(args[args.indexOf(name) + 1]) : d);
  const rounds = arg('--rounds', 3);
  const targetMs = arg('--ms', 100);
  const chains = arg('--chains', 8);
  const only = args.indexOf('--only') >= 0 ? args[args.indexOf('--only') + 1].split(',') : null;
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter');
  const want = ['maxUniformBufferBindingSize', 'maxUniformBuffersPerShaderStage', 'maxStorageBufferBindingSize', 'maxStorageBuffersPerShaderStage', 'maxTextureDimension2D', 'maxSampledTexturesPerShaderStage', 'maxBindGroups', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup'];
  const lim = adapter.limits as unknown as Record<string, number>;
  const requiredLimits: Record<string, number> = {};
  for (const k of want) requiredLimits[k] = lim[k];
  const device = await adapter.requestDevice({ requiredLimits });
  const info = (adapter as unknown as { info?: GPUAdapterInfo }).info;
  console.log(`adapter: ${info ? `${info.description || info.device} (${info.vendor}, ${info.architecture})` : 'unknown'}`);
  for (const k of want) console.log(`  ${k.padEnd(36)} ${lim[k]}`);

  const data = new Float32Array(N4 * 4).map((_, i) => 0.999 + (i % 7) * 1e-5);
  const storage = device.createBuffer({ size: data.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
  const uniform = device.createBuffer({ size: data.byteLength, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(storage, 0, data);
  device.queue.writeBuffer(uniform, 0, data);
  const tex = device.createTexture({ size: [64, 64], format: 'rgba32float', usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST });
  device.queue.writeTexture({ texture: tex }, data, { bytesPerRow: 64 * 16 }, [64, 64]);
  const params = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  const sink = device.createBuffer({ size: WG * GROUPS * 16, usage: GPUBufferUsage.STORAGE });

  const paths = LOAD_PATHS.filter((p) => !only || only.includes(p));
  const pipes = new Map<string, { pipe: GPUComputePipeline; group: GPUBindGroup }>();
  for (const path of paths) {
    const t0 = performance.now();
    const module = device.createShaderModule({ code: shader(path, chains) });
    const pipe = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: params } }, { binding: 1, resource: { buffer: sink } }];
    if (path.startsWith('storage')) entries.push({ binding: 2, resource: { buffer: storage } });
    if (path.startsWith('uniform')) entries.push({ binding: 2, resource: { buffer: uniform } });
    if (path.startsWith('texture')) entries.push({ binding: 2, resource: tex.createView() });
    const group = device.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries });
    pipes.set(path, { pipe, group });
    console.log(`  built ${path} in ${(performance.now() - t0).toFixed(0)} ms`);
  }
  const run = async (path: string, iters: number): Promise<number> => {
    device.queue.writeBuffer(params, 0, new Uint32Array([iters, new Uint32Array(new Float32Array([0.999]).buffer)[0], new Uint32Array(new Float32Array([0.001]).buffer)[0], 0]));
    await device.queue.onSubmittedWorkDone();
    const { pipe, group } = pipes.get(path)!;
    const t0 = performance.now();
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipe);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(GROUPS);
    pass.end();
    device.queue.submit([enc.finish()]);
    await device.queue.onSubmittedWorkDone();
    return performance.now() - t0;
  };
  // per path: steps per invocation grown until one dispatch takes ≥ targetMs (first dispatch compiles: untimed)
  const iters = new Map<string, number>();
  for (const path of paths) {
    await run(path, 4);
    let it = 64, ms = await run(path, it);
    while (ms < targetMs && it < 1 << 22) {
      it = Math.ceil(it * Math.min(16, Math.max(2, (1.3 * targetMs) / Math.max(ms, 0.5))));
      ms = await run(path, it);
    }
    iters.set(path, it);
  }
  const perStepNs: Record<string, number[]> = {};
  for (let r = 0; r < rounds; r++) {
    for (const path of paths) {
      const it = iters.get(path)!;
      const ms = await run(path, it);
      (perStepNs[path] ??= []).push((ms * 1e6) / (it * WG * GROUPS)); // ns per invocation-step
    }
  }
  const base = perStepNs.none ? median(perStepNs.none) : NaN;
  console.log(`\n${rounds} interleaved rounds, ${WG * GROUPS} invocations, 1 vec4 load + ${chains} vec4 FMAs per step; medians`);
  console.log(`${'path'.padEnd(18)} ${'Mloads/s'.padStart(10)} ${'GFLOP/s'.padStart(9)} ${'ns/step'.padStart(9)} ${'load ns'.padStart(9)}  vs none`);
  for (const path of paths) {
    const ns = median(perStepNs[path]);
    const loadsPerS = 1e9 / ns; // one vec4 load per invocation-step
    console.log(`${path.padEnd(18)} ${(loadsPerS / 1e6).toFixed(0).padStart(10)} ${((8 * chains) / ns).toFixed(1).padStart(9)} ${ns.toFixed(3).padStart(9)} ${(ns - base).toFixed(3).padStart(9)}  ${(ns / base).toFixed(2)}×`);
  }
  device.destroy();
}
