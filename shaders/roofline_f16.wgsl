// Peak f16 FMA throughput from registers only (needs shader-f16): 8 independent vec4<f16> chains a ← a·b + c for
// `iters` steps per invocation, 64 flops per step. Same Params and sink as shaders/roofline.wgsl.
enable f16;

struct Params {
  iters: u32,
  n4: u32,
  b: f32,
  c: f32,
}

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read_write> sink: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn fma_vec4h(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = gid.x + gid.y * nwg.x * WG;
  let b = vec4<f16>(f16(params.b));
  let c = vec4<f16>(f16(params.c));
  let s = f16(f32(g % 1024u) * 1e-4);
  var a0 = vec4<f16>(s); var a1 = a0 + 0.1h; var a2 = a0 + 0.2h; var a3 = a0 + 0.3h;
  var a4 = a0 + 0.4h; var a5 = a0 + 0.5h; var a6 = a0 + 0.6h; var a7 = a0 + 0.7h;
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
  sink[g] = vec4<f32>(((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)));
}
