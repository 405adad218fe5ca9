// Residual add: out[i] = a[i] + b[i] (f32). The residual stream of every transformer block.
struct Params { n: u32, row_stride: u32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  // 2D grid so n may exceed 65535 workgroups × 256
  let i = gid.x + gid.y * params.row_stride;
  if (i >= params.n) { return; }
  out[i] = a[i] + b[i];
}
