// Softmax over the last dim of x [rows, D] (f32): y = e^(x − max) / Σ e^(x − max); one workgroup per row,
// strided loops so D may be a whole vocabulary (152064).
struct Params { rows: u32, d: u32, row_stride: u32 }

const WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

var<workgroup> red: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wg.x + wg.y * params.row_stride;
  if (row >= params.rows) { return; }
  let base = row * params.d;
  var m = -3.0e38;
  for (var i = lid; i < params.d; i += WG) { m = max(m, x[base + i]); }
  red[lid] = m;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  m = red[0];
  workgroupBarrier();
  var sum = 0.0;
  for (var i = lid; i < params.d; i += WG) { sum += exp(x[base + i] - m); }
  red[lid] = sum;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  let inv = 1.0 / red[0];
  for (var i = lid; i < params.d; i += WG) { y[base + i] = exp(x[base + i] - m) * inv; }
}
