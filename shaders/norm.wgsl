// Row norms, one workgroup per row of x [rows, D] (f32), weight/bias [D] in f32 | f16 | bf16 (packed):
//   rms_norm:   y = x · rsqrt(mean(x²) + eps) · w                       (HF Qwen2RMSNorm / LlamaRMSNorm)
//   layer_norm: y = (x − mean) · rsqrt(mean((x − mean)²) + eps) · w + b  (two passes: mean, then centred variance)
//   add_rms_norm: sum_out = x + resid (the residual add, written out), then y = rms_norm(sum_out): one pass instead of two
//               dispatches, the same f32 operations in the same order (bit-identical to add, then rms_norm)
//   rms_norm_h, add_rms_norm_h: the same into an f16 y (the f16 activation path), halves packed two per u32 and rounded to nearest
//               even from the f32 result (include/pack16.wgsl); D even, each invocation writes whole words.
struct Params { rows: u32, d: u32, eps: f32, row_stride: u32 }

override W_DTYPE: u32 = 0u;
override B_DTYPE: u32 = 0u;
const WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<u32>;
@group(0) @binding(3) var<storage, read> bias: array<u32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> y16: array<u32>;
@group(0) @binding(6) var<storage, read> resid: array<f32>;
@group(0) @binding(7) var<storage, read_write> sum_out: array<f32>;

var<workgroup> red: array<f32, WG>;

//! include unpack16
//! include pack16

fn w_at(i: u32) -> f32 {
  if (W_DTYPE == 0u) { return bitcast<f32>(weight[i]); }
  return unpack16_at(weight[i >> 1u], i, W_DTYPE);
}

fn b_at(i: u32) -> f32 {
  if (B_DTYPE == 0u) { return bitcast<f32>(bias[i]); }
  return unpack16_at(bias[i >> 1u], i, B_DTYPE);
}

// Σ over the workgroup of v (every invocation gets the total)
fn workgroup_sum(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  let total = red[0];
  workgroupBarrier();
  return total;
}

// rsqrt(mean(x²) + eps) of the row starting at element base
fn rms_inv(base: u32, lid: u32) -> f32 {
  var ss = 0.0;
  for (var i = lid; i < params.d; i += WG) { let v = x[base + i]; ss = fma(v, v, ss); }
  return inverseSqrt(workgroup_sum(ss, lid) / f32(params.d) + params.eps);
}

@compute @workgroup_size(WG)
fn rms_norm(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wg.x + wg.y * params.row_stride;
  if (row >= params.rows) { return; }  // uniform per workgroup
  let base = row * params.d;
  let inv = rms_inv(base, lid);
  for (var i = lid; i < params.d; i += WG) { y[base + i] = x[base + i] * inv * w_at(i); }
}

@compute @workgroup_size(WG)
fn rms_norm_h(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wg.x + wg.y * params.row_stride;
  if (row >= params.rows) { return; }
  let base = row * params.d;
  let inv = rms_inv(base, lid);
  for (var j = lid; j < params.d / 2u; j += WG) {
    let i = 2u * j;
    y16[base / 2u + j] = pack_f16_rne(x[base + i] * inv * w_at(i), x[base + i + 1u] * inv * w_at(i + 1u));
  }
}

// add_rms_norm: sum_out = x + resid over the row, and rsqrt(mean(sum²) + eps); the output passes recompute the
// (same f32) sum rather than read sum_out back, which another invocation may have written
fn add_rms_inv(base: u32, lid: u32) -> f32 {
  var ss = 0.0;
  for (var i = lid; i < params.d; i += WG) { let v = x[base + i] + resid[base + i]; sum_out[base + i] = v; ss = fma(v, v, ss); }
  return inverseSqrt(workgroup_sum(ss, lid) / f32(params.d) + params.eps);
}

@compute @workgroup_size(WG)
fn add_rms_norm(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wg.x + wg.y * params.row_stride;
  if (row >= params.rows) { return; }
  let base = row * params.d;
  let inv = add_rms_inv(base, lid);
  for (var i = lid; i < params.d; i += WG) { y[base + i] = (x[base + i] + resid[base + i]) * inv * w_at(i); }
}

@compute @workgroup_size(WG)
fn add_rms_norm_h(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wg.x + wg.y * params.row_stride;
  if (row >= params.rows) { return; }
  let base = row * params.d;
  let inv = add_rms_inv(base, lid);
  for (var j = lid; j < params.d / 2u; j += WG) {
    let i = base + 2u * j;
    y16[i / 2u] = pack_f16_rne((x[i] + resid[i]) * inv * w_at(2u * j), (x[i + 1u] + resid[i + 1u]) * inv * w_at(2u * j + 1u));
  }
}

@compute @workgroup_size(WG)
fn layer_norm(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wg.x + wg.y * params.row_stride;
  if (row >= params.rows) { return; }
  let base = row * params.d;
  var s = 0.0;
  for (var i = lid; i < params.d; i += WG) { s += x[base + i]; }
  let mean = workgroup_sum(s, lid) / f32(params.d);
  var ss = 0.0;
  for (var i = lid; i < params.d; i += WG) { let c = x[base + i] - mean; ss = fma(c, c, ss); }
  let inv = inverseSqrt(workgroup_sum(ss, lid) / f32(params.d) + params.eps);
  for (var i = lid; i < params.d; i += WG) { y[base + i] = fma((x[base + i] - mean) * inv, w_at(i), b_at(i)); }
}
