// y = x·Wᵀ + b  (nn.Linear): x f32 [M, K], W [N, K] in f32 | f16 | bf16 (16-bit kinds packed two per u32),
// optional bias [N], y f32 [M, N]. W may be one row-chunk of a larger matrix: it holds rows
// n_offset .. n_offset + n_rows − 1 of the full weight and writes those output columns.
//
// Register-blocked, barrier-free: each invocation computes a TM×TN block of y, streaming 4 consecutive K
// elements of TM rows of x and TN rows of W per step (vec4 loads, 4·TM·TN FMAs per 4·(TM+TN) values read).
// On CPU adapters (llvmpipe/SwiftShader) workgroup memory is plain memory and barriers are expensive, so the
// cache does the tiling; on discrete GPUs the same blocking keeps the FMA:load ratio high.
//   tile_f32 / tile_16: K % 4 == 0 (every real model), vec4 loads; tile_any: any K, scalar loads.
//   gemv_f32 / gemv_16 / gemv_any: M = 1 (decode), TN outputs per invocation.

struct Params {
  m: u32,
  n: u32,         // full output width (row stride of y)
  k: u32,
  n_offset: u32,  // first weight row held by this chunk
  n_rows: u32,    // weight rows held by this chunk
  has_bias: u32,
}

override W_DTYPE: u32 = 0u;   // 0 f32, 1 f16, 2 bf16
override B_DTYPE: u32 = 0u;
override WG: u32 = 8u;        // invocations per workgroup (along N)

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> w: array<u32>;
@group(0) @binding(4) var<storage, read> w4f: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> w4h: array<vec2<u32>>;
@group(0) @binding(6) var<storage, read> bias: array<u32>;
@group(0) @binding(7) var<storage, read_write> y: array<f32>;

const TM: u32 = 8u;
const TN: u32 = 4u;

// one element of a packed 16-bit word: e selects the half
fn half_at(word: u32, e: u32, dt: u32) -> f32 {
  let h = (word >> ((e & 1u) * 16u)) & 0xffffu;
  if (dt == 1u) { return unpack2x16float(h).x; }
  return bitcast<f32>(h << 16u);
}

fn w_scalar(e: u32) -> f32 {
  if (W_DTYPE == 0u) { return bitcast<f32>(w[e]); }
  return half_at(w[e >> 1u], e, W_DTYPE);
}

// 4 consecutive 16-bit weights starting at element e (e % 4 == 0)
fn w_vec_16(e: u32) -> vec4<f32> {
  let ab = w4h[e >> 2u];
  if (W_DTYPE == 1u) { return vec4<f32>(unpack2x16float(ab.x), unpack2x16float(ab.y)); }
  return bitcast<vec4<f32>>(vec4<u32>(ab.x << 16u, ab.x & 0xffff0000u, ab.y << 16u, ab.y & 0xffff0000u));
}

fn w_vec_any(e: u32) -> vec4<f32> {
  return vec4<f32>(w_scalar(e), w_scalar(e + 1u), w_scalar(e + 2u), w_scalar(e + 3u));
}

fn bias_at(n: u32) -> f32 {
  if (params.has_bias == 0u) { return 0.0; }
  if (B_DTYPE == 0u) { return bitcast<f32>(bias[n]); }
  return half_at(bias[n >> 1u], n, B_DTYPE);
}

fn store_block(r0: u32, c0: u32, acc: array<vec4<f32>, TM>, rows: u32) {
  for (var j = 0u; j < TN; j++) {
    let c = c0 + j;
    if (c >= params.n_rows) { continue; }
    let n = params.n_offset + c;
    let b = bias_at(n);
    for (var i = 0u; i < rows; i++) {
      let r = r0 + i;
      if (r < params.m) { y[r * params.n + n] = acc[i][j] + b; }
    }
  }
}

// Σ_k over K in steps of 4 for a TM×TN block; LOAD_W selects how W is read
@compute @workgroup_size(WG)
fn tile_f32(@builtin(global_invocation_id) gid: vec3<u32>) {
  let k = params.k;
  let c0 = gid.x * TN;
  let r0 = gid.y * TM;
  var acc: array<vec4<f32>, TM>;
  var xr: array<u32, TM>;
  var wr: array<u32, TN>;
  for (var i = 0u; i < TM; i++) { xr[i] = (min(r0 + i, params.m - 1u) * k) >> 2u; }
  for (var j = 0u; j < TN; j++) { wr[j] = (min(c0 + j, params.n_rows - 1u) * k) >> 2u; }
  for (var q = 0u; q < k / 4u; q++) {
    let w0 = w4f[wr[0] + q]; let w1 = w4f[wr[1] + q]; let w2 = w4f[wr[2] + q]; let w3 = w4f[wr[3] + q];
    for (var i = 0u; i < TM; i++) {
      let a = x4[xr[i] + q];
      acc[i] += vec4<f32>(dot(a, w0), dot(a, w1), dot(a, w2), dot(a, w3));
    }
  }
  store_block(r0, c0, acc, TM);
}

@compute @workgroup_size(WG)
fn tile_16(@builtin(global_invocation_id) gid: vec3<u32>) {
  let k = params.k;
  let c0 = gid.x * TN;
  let r0 = gid.y * TM;
  var acc: array<vec4<f32>, TM>;
  var xr: array<u32, TM>;
  var wr: array<u32, TN>;
  for (var i = 0u; i < TM; i++) { xr[i] = (min(r0 + i, params.m - 1u) * k) >> 2u; }
  for (var j = 0u; j < TN; j++) { wr[j] = min(c0 + j, params.n_rows - 1u) * k; }
  for (var q = 0u; q < k / 4u; q++) {
    let e = 4u * q;
    let w0 = w_vec_16(wr[0] + e); let w1 = w_vec_16(wr[1] + e); let w2 = w_vec_16(wr[2] + e); let w3 = w_vec_16(wr[3] + e);
    for (var i = 0u; i < TM; i++) {
      let a = x4[xr[i] + q];
      acc[i] += vec4<f32>(dot(a, w0), dot(a, w1), dot(a, w2), dot(a, w3));
    }
  }
  store_block(r0, c0, acc, TM);
}

@compute @workgroup_size(WG)
fn tile_any(@builtin(global_invocation_id) gid: vec3<u32>) {
  let k = params.k;
  let c0 = gid.x * TN;
  let r0 = gid.y * TM;
  var acc: array<vec4<f32>, TM>;
  var xr: array<u32, TM>;
  var wr: array<u32, TN>;
  for (var i = 0u; i < TM; i++) { xr[i] = min(r0 + i, params.m - 1u) * k; }
  for (var j = 0u; j < TN; j++) { wr[j] = min(c0 + j, params.n_rows - 1u) * k; }
  for (var kk = 0u; kk < k; kk++) {
    let wv = vec4<f32>(w_scalar(wr[0] + kk), w_scalar(wr[1] + kk), w_scalar(wr[2] + kk), w_scalar(wr[3] + kk));
    for (var i = 0u; i < TM; i++) { acc[i] = fma(vec4<f32>(x[xr[i] + kk]), wv, acc[i]); }
  }
  store_block(r0, c0, acc, TM);
}

// Decode: one row of x; each invocation reduces TN weight rows over all of K.
fn gemv_store(c0: u32, s: vec4<f32>) {
  var acc: array<vec4<f32>, TM>;
  acc[0] = s;
  store_block(0u, c0, acc, 1u);
}

@compute @workgroup_size(WG)
fn gemv_f32(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let c0 = (gid.x + gid.y * nwg.x * WG) * TN;
  if (c0 >= params.n_rows) { return; }
  let k4 = params.k / 4u;
  var wr: array<u32, TN>;
  for (var j = 0u; j < TN; j++) { wr[j] = min(c0 + j, params.n_rows - 1u) * k4; }
  var s = vec4<f32>(0.0);
  for (var q = 0u; q < k4; q++) {
    let a = x4[q];
    s += vec4<f32>(dot(a, w4f[wr[0] + q]), dot(a, w4f[wr[1] + q]), dot(a, w4f[wr[2] + q]), dot(a, w4f[wr[3] + q]));
  }
  gemv_store(c0, s);
}

@compute @workgroup_size(WG)
fn gemv_16(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let c0 = (gid.x + gid.y * nwg.x * WG) * TN;
  if (c0 >= params.n_rows) { return; }
  let k = params.k;
  var wr: array<u32, TN>;
  for (var j = 0u; j < TN; j++) { wr[j] = min(c0 + j, params.n_rows - 1u) * k; }
  var s = vec4<f32>(0.0);
  for (var q = 0u; q < k / 4u; q++) {
    let a = x4[q];
    let e = 4u * q;
    s += vec4<f32>(dot(a, w_vec_16(wr[0] + e)), dot(a, w_vec_16(wr[1] + e)), dot(a, w_vec_16(wr[2] + e)), dot(a, w_vec_16(wr[3] + e)));
  }
  gemv_store(c0, s);
}

@compute @workgroup_size(WG)
fn gemv_any(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let c0 = (gid.x + gid.y * nwg.x * WG) * TN;
  if (c0 >= params.n_rows) { return; }
  let k = params.k;
  var wr: array<u32, TN>;
  for (var j = 0u; j < TN; j++) { wr[j] = min(c0 + j, params.n_rows - 1u) * k; }
  var s = vec4<f32>(0.0);
  for (var kk = 0u; kk < k; kk++) {
    s = fma(vec4<f32>(x[kk]), vec4<f32>(w_scalar(wr[0] + kk), w_scalar(wr[1] + kk), w_scalar(wr[2] + kk), w_scalar(wr[3] + kk)), s);
  }
  gemv_store(c0, s);
}
