// The matmul kernels (see shaders/matmul.wgsl for what each entry does), over an x read through x_vec4(i) (the i-th
// vec4 of x) and x_elem(e) (element e), which the including shader defines with bindings 1 (x) and 2 (x4):
// shaders/matmul.wgsl for f32 activations, shaders/matmul_xh.wgsl for f16 activations (packed two per u32).
struct Params {
  m: u32,
  n: u32,         // full output width (row stride of y)
  k: u32,
  n_offset: u32,  // first weight row held by this chunk
  n_rows: u32,    // weight rows held by this chunk
  has_bias: u32,
  x_row0: u32,    // first row of x in the bound x buffer
  y_row0: u32,    // first row of y in the bound y buffer
}

override W_DTYPE: u32 = 0u;   // 0 f32, 1 f16, 2 bf16
override B_DTYPE: u32 = 0u;
override WG: u32 = 8u;        // invocations per workgroup (along N)

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(3) var<storage, read> w: array<u32>;
@group(0) @binding(4) var<storage, read> w4f: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> w4h: array<vec2<u32>>;
@group(0) @binding(6) var<storage, read> bias: array<u32>;
@group(0) @binding(7) var<storage, read_write> y: array<f32>;

const TB: u32 = 16u;  // rows and columns of y per tile invocation (4×4 mat4x4 accumulators)
const TN: u32 = 4u;   // weight rows per gemv invocation

//! include unpack16

fn w_scalar(e: u32) -> f32 {
  if (W_DTYPE == 0u) { return bitcast<f32>(w[e]); }
  return unpack16_at(w[e >> 1u], e, W_DTYPE);
}

// 4 consecutive 16-bit weights starting at element e (e % 4 == 0)
fn w_vec_16(e: u32) -> vec4<f32> {
  return unpack16_vec4(w4h[e >> 2u], W_DTYPE);
}

fn bias_at(n: u32) -> f32 {
  if (params.has_bias == 0u) { return 0.0; }
  if (B_DTYPE == 0u) { return bitcast<f32>(bias[n]); }
  return unpack16_at(bias[n >> 1u], n, B_DTYPE);
}

// y[r, n_offset + c] = v + b[n_offset + c] for the in-range (r, c)
fn store_y(r: u32, c: u32, v: f32) {
  if (r < params.m && c < params.n_rows) {
    let n = params.n_offset + c;
    y[(params.y_row0 + r) * params.n + n] = v + bias_at(n);
  }
}

// The tile's accumulators: a_ij[b][a] = Σ_k x[r0 + 4i + a, k] · w[c0 + 4j + b, k]
var<private> a00: mat4x4<f32>; var<private> a01: mat4x4<f32>; var<private> a02: mat4x4<f32>; var<private> a03: mat4x4<f32>;
var<private> a10: mat4x4<f32>; var<private> a11: mat4x4<f32>; var<private> a12: mat4x4<f32>; var<private> a13: mat4x4<f32>;
var<private> a20: mat4x4<f32>; var<private> a21: mat4x4<f32>; var<private> a22: mat4x4<f32>; var<private> a23: mat4x4<f32>;
var<private> a30: mat4x4<f32>; var<private> a31: mat4x4<f32>; var<private> a32: mat4x4<f32>; var<private> a33: mat4x4<f32>;

// One K step of 4: A_ij += X_iᵀ·W_j, X_i = 4 rows of x and W_j = 4 rows of W as matrix columns
fn accumulate(x0: mat4x4<f32>, x1: mat4x4<f32>, x2: mat4x4<f32>, x3: mat4x4<f32>,
              w0: mat4x4<f32>, w1: mat4x4<f32>, w2: mat4x4<f32>, w3: mat4x4<f32>) {
  let t0 = transpose(x0); let t1 = transpose(x1); let t2 = transpose(x2); let t3 = transpose(x3);
  a00 += t0 * w0; a01 += t0 * w1; a02 += t0 * w2; a03 += t0 * w3;
  a10 += t1 * w0; a11 += t1 * w1; a12 += t1 * w2; a13 += t1 * w3;
  a20 += t2 * w0; a21 += t2 * w1; a22 += t2 * w2; a23 += t2 * w3;
  a30 += t3 * w0; a31 += t3 * w1; a32 += t3 * w2; a33 += t3 * w3;
}

fn store_sub(r0: u32, c0: u32, a: mat4x4<f32>) {
  for (var b = 0u; b < 4u; b++) {
    for (var i = 0u; i < 4u; i++) { store_y(r0 + i, c0 + b, a[b][i]); }
  }
}

fn store_tile(r0: u32, c0: u32) {
  store_sub(r0, c0, a00); store_sub(r0, c0 + 4u, a01); store_sub(r0, c0 + 8u, a02); store_sub(r0, c0 + 12u, a03);
  store_sub(r0 + 4u, c0, a10); store_sub(r0 + 4u, c0 + 4u, a11); store_sub(r0 + 4u, c0 + 8u, a12); store_sub(r0 + 4u, c0 + 12u, a13);
  store_sub(r0 + 8u, c0, a20); store_sub(r0 + 8u, c0 + 4u, a21); store_sub(r0 + 8u, c0 + 8u, a22); store_sub(r0 + 8u, c0 + 12u, a23);
  store_sub(r0 + 12u, c0, a30); store_sub(r0 + 12u, c0 + 4u, a31); store_sub(r0 + 12u, c0 + 8u, a32); store_sub(r0 + 12u, c0 + 12u, a33);
}

// first elements of 4 consecutive rows starting at r, clamped to the last row (its values are computed, not
// stored), in a buffer whose row 0 is row `row0` of the bound buffer
fn row_starts(r: u32, last: u32, row0: u32, stride: u32) -> vec4<u32> {
  return (vec4<u32>(row0) + min(vec4<u32>(r) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(last))) * stride;
}
fn x_rows(r: u32, stride: u32) -> vec4<u32> { return row_starts(r, params.m - 1u, params.x_row0, stride); }
fn w_rows(c: u32, stride: u32) -> vec4<u32> { return row_starts(c, params.n_rows - 1u, 0u, stride); }

// X_i / W_j from vec4 storage: columns are rows of the matrix at vec4 index q of each row
fn quads_x4(rows: vec4<u32>, q: u32) -> mat4x4<f32> {
  return mat4x4<f32>(x_vec4(rows.x + q), x_vec4(rows.y + q), x_vec4(rows.z + q), x_vec4(rows.w + q));
}
fn quads_w4f(rows: vec4<u32>, q: u32) -> mat4x4<f32> {
  return mat4x4<f32>(w4f[rows.x + q], w4f[rows.y + q], w4f[rows.z + q], w4f[rows.w + q]);
}
fn quads_w16(rows: vec4<u32>, e: u32) -> mat4x4<f32> {
  return mat4x4<f32>(w_vec_16(rows.x + e), w_vec_16(rows.y + e), w_vec_16(rows.z + e), w_vec_16(rows.w + e));
}

// any K: elements kk .. kk+3 of a row starting at element s, zero past K
fn x_any(s: u32, kk: u32) -> vec4<f32> {
  let ok = vec4<u32>(kk) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(params.k);
  return select(vec4<f32>(0.0), vec4<f32>(x_elem(s + kk), x_elem(s + kk + 1u), x_elem(s + kk + 2u), x_elem(s + kk + 3u)), ok);
}
fn w_any(s: u32, kk: u32) -> vec4<f32> {
  let ok = vec4<u32>(kk) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(params.k);
  return select(vec4<f32>(0.0), vec4<f32>(w_scalar(s + kk), w_scalar(s + kk + 1u), w_scalar(s + kk + 2u), w_scalar(s + kk + 3u)), ok);
}
fn quads_x_any(rows: vec4<u32>, kk: u32) -> mat4x4<f32> {
  return mat4x4<f32>(x_any(rows.x, kk), x_any(rows.y, kk), x_any(rows.z, kk), x_any(rows.w, kk));
}
fn quads_w_any(rows: vec4<u32>, kk: u32) -> mat4x4<f32> {
  return mat4x4<f32>(w_any(rows.x, kk), w_any(rows.y, kk), w_any(rows.z, kk), w_any(rows.w, kk));
}

// y[r0 .. r0+15, c0 .. c0+15] for r0 = 16·gid.y, c0 = 16·gid.x; stride is K/4 (vec4 index) or K (elements)
@compute @workgroup_size(WG)
fn tile_f32(@builtin(global_invocation_id) gid: vec3<u32>) {
  let k4 = params.k / 4u;
  let r0 = gid.y * TB; let c0 = gid.x * TB;
  let x0 = x_rows(r0, k4); let x1 = x_rows(r0 + 4u, k4); let x2 = x_rows(r0 + 8u, k4); let x3 = x_rows(r0 + 12u, k4);
  let w0 = w_rows(c0, k4); let w1 = w_rows(c0 + 4u, k4); let w2 = w_rows(c0 + 8u, k4); let w3 = w_rows(c0 + 12u, k4);
  for (var q = 0u; q < k4; q++) {
    accumulate(quads_x4(x0, q), quads_x4(x1, q), quads_x4(x2, q), quads_x4(x3, q),
               quads_w4f(w0, q), quads_w4f(w1, q), quads_w4f(w2, q), quads_w4f(w3, q));
  }
  store_tile(r0, c0);
}

@compute @workgroup_size(WG)
fn tile_16(@builtin(global_invocation_id) gid: vec3<u32>) {
  let k = params.k; let k4 = k / 4u;
  let r0 = gid.y * TB; let c0 = gid.x * TB;
  let x0 = x_rows(r0, k4); let x1 = x_rows(r0 + 4u, k4); let x2 = x_rows(r0 + 8u, k4); let x3 = x_rows(r0 + 12u, k4);
  let w0 = w_rows(c0, k); let w1 = w_rows(c0 + 4u, k); let w2 = w_rows(c0 + 8u, k); let w3 = w_rows(c0 + 12u, k);
  for (var q = 0u; q < k4; q++) {
    let e = 4u * q;
    accumulate(quads_x4(x0, q), quads_x4(x1, q), quads_x4(x2, q), quads_x4(x3, q),
               quads_w16(w0, e), quads_w16(w1, e), quads_w16(w2, e), quads_w16(w3, e));
  }
  store_tile(r0, c0);
}

@compute @workgroup_size(WG)
fn tile_any(@builtin(global_invocation_id) gid: vec3<u32>) {
  let k = params.k;
  let r0 = gid.y * TB; let c0 = gid.x * TB;
  let x0 = x_rows(r0, k); let x1 = x_rows(r0 + 4u, k); let x2 = x_rows(r0 + 8u, k); let x3 = x_rows(r0 + 12u, k);
  let w0 = w_rows(c0, k); let w1 = w_rows(c0 + 4u, k); let w2 = w_rows(c0 + 8u, k); let w3 = w_rows(c0 + 12u, k);
  for (var kk = 0u; kk < k; kk += 4u) {
    accumulate(quads_x_any(x0, kk), quads_x_any(x1, kk), quads_x_any(x2, kk), quads_x_any(x3, kk),
               quads_w_any(w0, kk), quads_w_any(w1, kk), quads_w_any(w2, kk), quads_w_any(w3, kk));
  }
  store_tile(r0, c0);
}

// Prefill, 32×32 register tiles (`reg32`), 16-bit weights: as tile_16 but each invocation owns a 32×32 block of y
// (8×8 mat4x4 accumulators, function-local named variables) and reads 64 vec4s per K step of 4 for 4096 FMAs —
// twice the FMA:load ratio of the 16×16 tile, for adapters where a storage load costs many FMAs (llvmpipe: inside
// a loop every load is a per-lane scalar loop). K % 4 == 0 only. f32 weights and other K keep the 16×16 tile_*:
// the f32 form of this kernel took llvmpipe (LLVM 15) ~4 minutes to compile on a loaded 2-core machine, against
// ~20 s for this one.
const T32: u32 = 32u;

@compute @workgroup_size(WG)
fn tile32_16(@builtin(global_invocation_id) gid: vec3<u32>) {
  let k4 = params.k / 4u;
  let r0 = gid.y * T32; let c0 = gid.x * T32;
  let xr0 = x_rows(r0 + 0u, k4);
  let xr1 = x_rows(r0 + 4u, k4);
  let xr2 = x_rows(r0 + 8u, k4);
  let xr3 = x_rows(r0 + 12u, k4);
  let xr4 = x_rows(r0 + 16u, k4);
  let xr5 = x_rows(r0 + 20u, k4);
  let xr6 = x_rows(r0 + 24u, k4);
  let xr7 = x_rows(r0 + 28u, k4);
  let wr0 = w_rows(c0 + 0u, params.k);
  let wr1 = w_rows(c0 + 4u, params.k);
  let wr2 = w_rows(c0 + 8u, params.k);
  let wr3 = w_rows(c0 + 12u, params.k);
  let wr4 = w_rows(c0 + 16u, params.k);
  let wr5 = w_rows(c0 + 20u, params.k);
  let wr6 = w_rows(c0 + 24u, params.k);
  let wr7 = w_rows(c0 + 28u, params.k);
  var a00 = mat4x4<f32>(); var a01 = mat4x4<f32>(); var a02 = mat4x4<f32>(); var a03 = mat4x4<f32>(); var a04 = mat4x4<f32>(); var a05 = mat4x4<f32>(); var a06 = mat4x4<f32>(); var a07 = mat4x4<f32>();
  var a10 = mat4x4<f32>(); var a11 = mat4x4<f32>(); var a12 = mat4x4<f32>(); var a13 = mat4x4<f32>(); var a14 = mat4x4<f32>(); var a15 = mat4x4<f32>(); var a16 = mat4x4<f32>(); var a17 = mat4x4<f32>();
  var a20 = mat4x4<f32>(); var a21 = mat4x4<f32>(); var a22 = mat4x4<f32>(); var a23 = mat4x4<f32>(); var a24 = mat4x4<f32>(); var a25 = mat4x4<f32>(); var a26 = mat4x4<f32>(); var a27 = mat4x4<f32>();
  var a30 = mat4x4<f32>(); var a31 = mat4x4<f32>(); var a32 = mat4x4<f32>(); var a33 = mat4x4<f32>(); var a34 = mat4x4<f32>(); var a35 = mat4x4<f32>(); var a36 = mat4x4<f32>(); var a37 = mat4x4<f32>();
  var a40 = mat4x4<f32>(); var a41 = mat4x4<f32>(); var a42 = mat4x4<f32>(); var a43 = mat4x4<f32>(); var a44 = mat4x4<f32>(); var a45 = mat4x4<f32>(); var a46 = mat4x4<f32>(); var a47 = mat4x4<f32>();
  var a50 = mat4x4<f32>(); var a51 = mat4x4<f32>(); var a52 = mat4x4<f32>(); var a53 = mat4x4<f32>(); var a54 = mat4x4<f32>(); var a55 = mat4x4<f32>(); var a56 = mat4x4<f32>(); var a57 = mat4x4<f32>();
  var a60 = mat4x4<f32>(); var a61 = mat4x4<f32>(); var a62 = mat4x4<f32>(); var a63 = mat4x4<f32>(); var a64 = mat4x4<f32>(); var a65 = mat4x4<f32>(); var a66 = mat4x4<f32>(); var a67 = mat4x4<f32>();
  var a70 = mat4x4<f32>(); var a71 = mat4x4<f32>(); var a72 = mat4x4<f32>(); var a73 = mat4x4<f32>(); var a74 = mat4x4<f32>(); var a75 = mat4x4<f32>(); var a76 = mat4x4<f32>(); var a77 = mat4x4<f32>();
  for (var q = 0u; q < k4; q++) {
    let e = 4u * q;
    let t0 = transpose(quads_x4(xr0, q));
    let t1 = transpose(quads_x4(xr1, q));
    let t2 = transpose(quads_x4(xr2, q));
    let t3 = transpose(quads_x4(xr3, q));
    let t4 = transpose(quads_x4(xr4, q));
    let t5 = transpose(quads_x4(xr5, q));
    let t6 = transpose(quads_x4(xr6, q));
    let t7 = transpose(quads_x4(xr7, q));
    let u0 = quads_w16(wr0, e);
    let u1 = quads_w16(wr1, e);
    let u2 = quads_w16(wr2, e);
    let u3 = quads_w16(wr3, e);
    let u4 = quads_w16(wr4, e);
    let u5 = quads_w16(wr5, e);
    let u6 = quads_w16(wr6, e);
    let u7 = quads_w16(wr7, e);
    a00 += t0 * u0; a01 += t0 * u1; a02 += t0 * u2; a03 += t0 * u3; a04 += t0 * u4; a05 += t0 * u5; a06 += t0 * u6; a07 += t0 * u7;
    a10 += t1 * u0; a11 += t1 * u1; a12 += t1 * u2; a13 += t1 * u3; a14 += t1 * u4; a15 += t1 * u5; a16 += t1 * u6; a17 += t1 * u7;
    a20 += t2 * u0; a21 += t2 * u1; a22 += t2 * u2; a23 += t2 * u3; a24 += t2 * u4; a25 += t2 * u5; a26 += t2 * u6; a27 += t2 * u7;
    a30 += t3 * u0; a31 += t3 * u1; a32 += t3 * u2; a33 += t3 * u3; a34 += t3 * u4; a35 += t3 * u5; a36 += t3 * u6; a37 += t3 * u7;
    a40 += t4 * u0; a41 += t4 * u1; a42 += t4 * u2; a43 += t4 * u3; a44 += t4 * u4; a45 += t4 * u5; a46 += t4 * u6; a47 += t4 * u7;
    a50 += t5 * u0; a51 += t5 * u1; a52 += t5 * u2; a53 += t5 * u3; a54 += t5 * u4; a55 += t5 * u5; a56 += t5 * u6; a57 += t5 * u7;
    a60 += t6 * u0; a61 += t6 * u1; a62 += t6 * u2; a63 += t6 * u3; a64 += t6 * u4; a65 += t6 * u5; a66 += t6 * u6; a67 += t6 * u7;
    a70 += t7 * u0; a71 += t7 * u1; a72 += t7 * u2; a73 += t7 * u3; a74 += t7 * u4; a75 += t7 * u5; a76 += t7 * u6; a77 += t7 * u7;
  }
  store_sub(r0 + 0u, c0 + 0u, a00); store_sub(r0 + 0u, c0 + 4u, a01); store_sub(r0 + 0u, c0 + 8u, a02); store_sub(r0 + 0u, c0 + 12u, a03); store_sub(r0 + 0u, c0 + 16u, a04); store_sub(r0 + 0u, c0 + 20u, a05); store_sub(r0 + 0u, c0 + 24u, a06); store_sub(r0 + 0u, c0 + 28u, a07);
  store_sub(r0 + 4u, c0 + 0u, a10); store_sub(r0 + 4u, c0 + 4u, a11); store_sub(r0 + 4u, c0 + 8u, a12); store_sub(r0 + 4u, c0 + 12u, a13); store_sub(r0 + 4u, c0 + 16u, a14); store_sub(r0 + 4u, c0 + 20u, a15); store_sub(r0 + 4u, c0 + 24u, a16); store_sub(r0 + 4u, c0 + 28u, a17);
  store_sub(r0 + 8u, c0 + 0u, a20); store_sub(r0 + 8u, c0 + 4u, a21); store_sub(r0 + 8u, c0 + 8u, a22); store_sub(r0 + 8u, c0 + 12u, a23); store_sub(r0 + 8u, c0 + 16u, a24); store_sub(r0 + 8u, c0 + 20u, a25); store_sub(r0 + 8u, c0 + 24u, a26); store_sub(r0 + 8u, c0 + 28u, a27);
  store_sub(r0 + 12u, c0 + 0u, a30); store_sub(r0 + 12u, c0 + 4u, a31); store_sub(r0 + 12u, c0 + 8u, a32); store_sub(r0 + 12u, c0 + 12u, a33); store_sub(r0 + 12u, c0 + 16u, a34); store_sub(r0 + 12u, c0 + 20u, a35); store_sub(r0 + 12u, c0 + 24u, a36); store_sub(r0 + 12u, c0 + 28u, a37);
  store_sub(r0 + 16u, c0 + 0u, a40); store_sub(r0 + 16u, c0 + 4u, a41); store_sub(r0 + 16u, c0 + 8u, a42); store_sub(r0 + 16u, c0 + 12u, a43); store_sub(r0 + 16u, c0 + 16u, a44); store_sub(r0 + 16u, c0 + 20u, a45); store_sub(r0 + 16u, c0 + 24u, a46); store_sub(r0 + 16u, c0 + 28u, a47);
  store_sub(r0 + 20u, c0 + 0u, a50); store_sub(r0 + 20u, c0 + 4u, a51); store_sub(r0 + 20u, c0 + 8u, a52); store_sub(r0 + 20u, c0 + 12u, a53); store_sub(r0 + 20u, c0 + 16u, a54); store_sub(r0 + 20u, c0 + 20u, a55); store_sub(r0 + 20u, c0 + 24u, a56); store_sub(r0 + 20u, c0 + 28u, a57);
  store_sub(r0 + 24u, c0 + 0u, a60); store_sub(r0 + 24u, c0 + 4u, a61); store_sub(r0 + 24u, c0 + 8u, a62); store_sub(r0 + 24u, c0 + 12u, a63); store_sub(r0 + 24u, c0 + 16u, a64); store_sub(r0 + 24u, c0 + 20u, a65); store_sub(r0 + 24u, c0 + 24u, a66); store_sub(r0 + 24u, c0 + 28u, a67);
  store_sub(r0 + 28u, c0 + 0u, a70); store_sub(r0 + 28u, c0 + 4u, a71); store_sub(r0 + 28u, c0 + 8u, a72); store_sub(r0 + 28u, c0 + 12u, a73); store_sub(r0 + 28u, c0 + 16u, a74); store_sub(r0 + 28u, c0 + 20u, a75); store_sub(r0 + 28u, c0 + 24u, a76); store_sub(r0 + 28u, c0 + 28u, a77);
}

// Decode: one row of x; each invocation reduces TN weight rows over all of K.
fn gemv_store(c0: u32, s: vec4<f32>) {
  for (var j = 0u; j < 4u; j++) { store_y(0u, c0 + j, s[j]); }
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
    let a = x_vec4(params.x_row0 * (params.k / 4u) + q);
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
    let a = x_vec4(params.x_row0 * (params.k / 4u) + q);
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
    s = fma(vec4<f32>(x_elem(params.x_row0 * k + kk)), vec4<f32>(w_scalar(wr[0] + kk), w_scalar(wr[1] + kk), w_scalar(wr[2] + kk), w_scalar(wr[3] + kk)), s);
  }
  gemv_store(c0, s);
}

// ---- GPU-shaped variants (chosen per adapter by the tuning run, src/gpu/tuning.ts) ----

// Prefill, workgroup-memory tiles: a 16×16 workgroup computes a 64×64 block of y, each invocation a 4×4 register
// tile; K goes in steps of 16, each step staging 64 rows × 16 of x and of W in workgroup memory (one element per
// invocation per row quarter, masked past M, N and K, any W dtype) between barriers. What a discrete GPU wants;
// on CPU adapters the barriers are emulated.
const WB: u32 = 64u;  // y block side
const WK: u32 = 16u;  // K step
var<workgroup> xs: array<f32, 1024>;  // [64 rows][16 k]
var<workgroup> ws: array<f32, 1024>;  // [64 cols][16 k]

@compute @workgroup_size(16, 16)
fn wgtile(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let r0 = wg.y * WB; let c0 = wg.x * WB;
  let t = lid.y * 16u + lid.x;  // 0..255
  let lr = t / WK; let lk = t % WK;  // staging: rows lr, lr + 16, lr + 32, lr + 48 at column lk
  var acc: array<vec4<f32>, 4>;  // acc[i][j] = y[r0 + 4·lid.y + i, c0 + 4·lid.x + j]
  for (var kt = 0u; kt < params.k; kt += WK) {
    let kk = kt + lk;
    for (var q = 0u; q < 4u; q++) {
      let r = r0 + lr + 16u * q;
      let c = c0 + lr + 16u * q;
      var xv = 0.0; var wv = 0.0;
      if (r < params.m && kk < params.k) { xv = x_elem((params.x_row0 + r) * params.k + kk); }
      if (c < params.n_rows && kk < params.k) { wv = w_scalar(c * params.k + kk); }
      xs[(lr + 16u * q) * WK + lk] = xv;
      ws[(lr + 16u * q) * WK + lk] = wv;
    }
    workgroupBarrier();
    for (var k = 0u; k < WK; k++) {
      let wv = vec4<f32>(ws[(4u * lid.x) * WK + k], ws[(4u * lid.x + 1u) * WK + k], ws[(4u * lid.x + 2u) * WK + k], ws[(4u * lid.x + 3u) * WK + k]);
      for (var i = 0u; i < 4u; i++) { acc[i] = fma(vec4<f32>(xs[(4u * lid.y + i) * WK + k]), wv, acc[i]); }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    for (var j = 0u; j < 4u; j++) { store_y(r0 + 4u * lid.y + i, c0 + 4u * lid.x + j, acc[i][j]); }
  }
}

// Decode, split-K: one workgroup of WG invocations per TN weight rows; invocation i sums the vec4 indices
// i, i + WG, i + 2·WG, … of each row (K % 4 == 0), then a tree reduction in workgroup memory. Many invocations per
// row, where `gemv_*` has one: for adapters with more lanes than output rows.
var<workgroup> red: array<vec4<f32>, 256>;  // WG ≤ 256, a power of two

fn gemv_split_reduce(li: u32, s: vec4<f32>, c0: u32) {
  red[li] = s;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h >>= 1u) {
    if (li < h) { red[li] += red[li + h]; }
    workgroupBarrier();
  }
  if (li == 0u) { gemv_store(c0, red[0]); }
}

@compute @workgroup_size(WG)
fn gemv_split_f32(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let c0 = (wg.x + wg.y * nwg.x) * TN;
  let k4 = params.k / 4u;
  let xb = params.x_row0 * k4;
  let last = params.n_rows - 1u;
  let w0 = min(c0, last) * k4; let w1 = min(c0 + 1u, last) * k4; let w2 = min(c0 + 2u, last) * k4; let w3 = min(c0 + 3u, last) * k4;
  var s = vec4<f32>(0.0);
  for (var q = lid.x; q < k4; q += WG) {
    let a = x_vec4(xb + q);
    s += vec4<f32>(dot(a, w4f[w0 + q]), dot(a, w4f[w1 + q]), dot(a, w4f[w2 + q]), dot(a, w4f[w3 + q]));
  }
  gemv_split_reduce(lid.x, s, c0);
}

@compute @workgroup_size(WG)
fn gemv_split_16(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let c0 = (wg.x + wg.y * nwg.x) * TN;
  let k = params.k; let k4 = k / 4u;
  let xb = params.x_row0 * k4;
  let last = params.n_rows - 1u;
  let w0 = min(c0, last) * k; let w1 = min(c0 + 1u, last) * k; let w2 = min(c0 + 2u, last) * k; let w3 = min(c0 + 3u, last) * k;
  var s = vec4<f32>(0.0);
  for (var q = lid.x; q < k4; q += WG) {
    let a = x_vec4(xb + q);
    let e = 4u * q;
    s += vec4<f32>(dot(a, w_vec_16(w0 + e)), dot(a, w_vec_16(w1 + e)), dot(a, w_vec_16(w2 + e)), dot(a, w_vec_16(w3 + e)));
  }
  gemv_split_reduce(lid.x, s, c0);
}
