// argmax over the last dim of x [rows, D] (f32) -> u32 [rows]. Ties go to the lowest index (as torch.argmax);
// NaN is treated as the largest value (torch propagates NaN as the max), the first NaN wins.
struct Params { rows: u32, d: u32, row_stride: u32 }

const WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

var<workgroup> best_v: array<f32, WG>;
var<workgroup> best_i: array<u32, WG>;
var<workgroup> best_nan: array<u32, WG>;

fn is_nan(v: f32) -> bool {
  let b = bitcast<u32>(v);
  return (b & 0x7f800000u) == 0x7f800000u && (b & 0x007fffffu) != 0u;
}

// does candidate (v, i, nan) beat (bv, bi, bnan)?
fn better(v: f32, i: u32, n: bool, bv: f32, bi: u32, bn: bool) -> bool {
  if (n != bn) { return n; }
  if (n) { return i < bi; }
  return v > bv || (v == bv && i < bi);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wg.x + wg.y * params.row_stride;
  if (row >= params.rows) { return; }
  let base = row * params.d;
  var bv = -3.4e38;
  var bi = 0xffffffffu;
  var bn = false;
  for (var i = lid; i < params.d; i += WG) {
    let v = x[base + i];
    let n = is_nan(v);
    if (bi == 0xffffffffu || better(v, i, n, bv, bi, bn)) { bv = v; bi = i; bn = n; }
  }
  best_v[lid] = bv;
  best_i[lid] = bi;
  best_nan[lid] = select(0u, 1u, bn);
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      let oi = best_i[lid + s];
      if (oi != 0xffffffffu && (best_i[lid] == 0xffffffffu ||
          better(best_v[lid + s], oi, best_nan[lid + s] != 0u, best_v[lid], best_i[lid], best_nan[lid] != 0u))) {
        best_v[lid] = best_v[lid + s];
        best_i[lid] = oi;
        best_nan[lid] = best_nan[lid + s];
      }
    }
    workgroupBarrier();
  }
  if (lid == 0u) { out[row] = best_i[0]; }
}
