// Row L2 normalisation of x [rows, d] (f32): y[r] = x[r] / max(‖x[r]‖₂, eps)  (torch F.normalize).
// With a mask (u32 [rows], has_mask = 1) rows whose mask is 0 are written as zeros. One workgroup per row.
struct Params { rows: u32, d: u32, row_stride: u32, has_mask: u32, eps: f32 }

const WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> mask: array<u32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

var<workgroup> red: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wg.x + wg.y * params.row_stride;
  if (row >= params.rows) { return; }
  let base = row * params.d;
  // Σ x² over the row
  var s = 0.0;
  for (var i = lid; i < params.d; i += WG) { let v = x[base + i]; s += v * v; }
  red[lid] = s;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h >>= 1u) {
    if (lid < h) { red[lid] += red[lid + h]; }
    workgroupBarrier();
  }
  var inv = 1.0 / max(sqrt(red[0]), params.eps);
  if (params.has_mask != 0u && mask[row] == 0u) { inv = 0.0; }
  for (var i = lid; i < params.d; i += WG) { y[base + i] = x[base + i] * inv; }
}
