// Self-test for shader-f16: f16 arithmetic, conversions and packing must round like IEEE binary16.
enable f16;

struct Params { n: u32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= params.n) { return; }
  let h = f16(a[i]);                 // round to half
  let p = h * f16(1.5) + f16(0.25);  // each op rounds to half
  out[2u * i] = f32(h);
  out[2u * i + 1u] = f32(p);
}
