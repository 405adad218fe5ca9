// Self-test: every invocation writes out[i] = a[i] * scale + f32(i). Checks dispatch, bindings, uniforms.
struct Params { n: u32, scale: f32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= params.n) { return; }
  out[i] = a[i] * params.scale + f32(i);
}
