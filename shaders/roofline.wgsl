// The adapter's own limits, measured: peak f32 FMA throughput from registers only (vec4 and scalar forms), peak
// storage-buffer read bandwidth (a streaming sum), and an empty kernel for per-dispatch overhead.
//   fma_vec4:   each invocation runs 8 independent vec4 chains a ← a·b + c for `iters` steps (a multiple of 4):
//               64 flops per step
//   fma_scalar: 16 independent scalar chains: 32 flops per step
//   read_strided: invocation g sums vec4s g, g + G, g + 2G, … (GPU-style coalesced across invocations)
//   read_chunked: invocation g sums its own contiguous run of vec4s (CPU-style: one cache line after another)
// Every kernel writes one value per invocation so the compiler cannot drop the work.

struct Params {
  iters: u32,    // FMA steps per invocation; vec4s per invocation for read_chunked
  n4: u32,       // vec4s in src
  b: f32,        // chain multiplier (≈ 1, not foldable)
  c: f32,        // chain addend
}

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> sink: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn fma_vec4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = gid.x + gid.y * nwg.x * WG;
  let b = vec4<f32>(params.b);
  let c = vec4<f32>(params.c);
  let s = f32(g) * 1e-7;
  var a0 = vec4<f32>(s); var a1 = a0 + 0.1; var a2 = a0 + 0.2; var a3 = a0 + 0.3;
  var a4 = a0 + 0.4; var a5 = a0 + 0.5; var a6 = a0 + 0.6; var a7 = a0 + 0.7;
  for (var i = 0u; i < params.iters; i += 4u) {  // 4 steps per trip: loop overhead off the FMAs
    a0 = fma(a0, b, c); a1 = fma(a1, b, c); a2 = fma(a2, b, c); a3 = fma(a3, b, c);
    a4 = fma(a4, b, c); a5 = fma(a5, b, c); a6 = fma(a6, b, c); a7 = fma(a7, b, c);
    a0 = fma(a0, b, c); a1 = fma(a1, b, c); a2 = fma(a2, b, c); a3 = fma(a3, b, c);
    a4 = fma(a4, b, c); a5 = fma(a5, b, c); a6 = fma(a6, b, c); a7 = fma(a7, b, c);
    a0 = fma(a0, b, c); a1 = fma(a1, b, c); a2 = fma(a2, b, c); a3 = fma(a3, b, c);
    a4 = fma(a4, b, c); a5 = fma(a5, b, c); a6 = fma(a6, b, c); a7 = fma(a7, b, c);
    a0 = fma(a0, b, c); a1 = fma(a1, b, c); a2 = fma(a2, b, c); a3 = fma(a3, b, c);
    a4 = fma(a4, b, c); a5 = fma(a5, b, c); a6 = fma(a6, b, c); a7 = fma(a7, b, c);
  }
  sink[g] = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7));
}

@compute @workgroup_size(WG)
fn fma_scalar(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = gid.x + gid.y * nwg.x * WG;
  let b = params.b;
  let c = params.c;
  let s = f32(g) * 1e-7;
  var a0 = s; var a1 = s + 0.1; var a2 = s + 0.2; var a3 = s + 0.3; var a4 = s + 0.4; var a5 = s + 0.5; var a6 = s + 0.6; var a7 = s + 0.7;
  var a8 = s + 0.8; var a9 = s + 0.9; var a10 = s + 1.0; var a11 = s + 1.1; var a12 = s + 1.2; var a13 = s + 1.3; var a14 = s + 1.4; var a15 = s + 1.5;
  for (var i = 0u; i < params.iters; i++) {
    a0 = fma(a0, b, c); a1 = fma(a1, b, c); a2 = fma(a2, b, c); a3 = fma(a3, b, c);
    a4 = fma(a4, b, c); a5 = fma(a5, b, c); a6 = fma(a6, b, c); a7 = fma(a7, b, c);
    a8 = fma(a8, b, c); a9 = fma(a9, b, c); a10 = fma(a10, b, c); a11 = fma(a11, b, c);
    a12 = fma(a12, b, c); a13 = fma(a13, b, c); a14 = fma(a14, b, c); a15 = fma(a15, b, c);
  }
  sink[g] = vec4<f32>((a0 + a1) + (a2 + a3) + (a4 + a5) + (a6 + a7), (a8 + a9) + (a10 + a11) + (a12 + a13) + (a14 + a15), 0.0, 0.0);
}

@compute @workgroup_size(WG)
fn read_strided(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let total = nwg.x * nwg.y * WG;
  let g = gid.x + gid.y * nwg.x * WG;
  var s0 = vec4<f32>(0.0); var s1 = vec4<f32>(0.0);
  var i = g;
  for (; i + total < params.n4; i += 2u * total) { s0 += src[i]; s1 += src[i + total]; }
  if (i < params.n4) { s0 += src[i]; }
  sink[g] = s0 + s1;
}

@compute @workgroup_size(WG)
fn read_chunked(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = gid.x + gid.y * nwg.x * WG;
  let start = g * params.iters;
  let end = min(start + params.iters, params.n4);
  var s0 = vec4<f32>(0.0); var s1 = vec4<f32>(0.0); var s2 = vec4<f32>(0.0); var s3 = vec4<f32>(0.0);
  var i = start;
  for (; i + 8u <= end; i += 8u) {
    s0 += src[i] + src[i + 4u]; s1 += src[i + 1u] + src[i + 5u]; s2 += src[i + 2u] + src[i + 6u]; s3 += src[i + 3u] + src[i + 7u];
  }
  for (; i < end; i++) { s0 += src[i]; }
  sink[g] = (s0 + s1) + (s2 + s3);
}

// invocation g sums rows 4g..4g+3 of src seen as [rows, iters] vec4s, the four rows side by side (the decode
// gemv's access pattern: a few contiguous streams per invocation, few invocations)
@compute @workgroup_size(WG)
fn read_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = gid.x + gid.y * nwg.x * WG;
  let rows = params.n4 / params.iters;
  let r0 = 4u * g;
  if (r0 >= rows) { return; }
  let base = array<u32, 4>(r0 * params.iters, min(r0 + 1u, rows - 1u) * params.iters, min(r0 + 2u, rows - 1u) * params.iters, min(r0 + 3u, rows - 1u) * params.iters);
  let live = vec4<f32>(1.0, select(0.0, 1.0, r0 + 1u < rows), select(0.0, 1.0, r0 + 2u < rows), select(0.0, 1.0, r0 + 3u < rows));
  var s = vec4<f32>(0.0);
  for (var q = 0u; q < params.iters; q++) {
    s += vec4<f32>(dot(src[base[0] + q], vec4<f32>(1.0)), dot(src[base[1] + q], vec4<f32>(1.0)), dot(src[base[2] + q], vec4<f32>(1.0)), dot(src[base[3] + q], vec4<f32>(1.0)));
  }
  sink[g] = s * live;
}

// nothing: the cost of a dispatch itself
@compute @workgroup_size(1)
fn empty() {}
