// Attention for prefill as three register-tiled passes over a chunk of queries (src/ops/attentionTiled.ts), the
// variant for adapters where the flash kernel (attention.wgsl) is bound by its loads rather than its FMAs:
//   scores   S[g, p, j] = scale · q_p·k_j       for the chunk's (query, head) pairs p of KV head g, keys j
//   softmax  P[g, p, j] = e^{S − max} over the keys pair p may see (0 elsewhere, every column of the row written),
//            rowinv[g, p] = 1 / Σ_j P[g, p, j]
//   pv       out[p]     = rowinv[g, p] · Σ_j P[g, p, j] · v_j
// Same tensors and masks as attention.wgsl: q [S_q, n_heads, d], k/v [n_kv_heads, capacity, d] (positions ≥ kv_len
// ignored), out [S_q, n_heads·d]; causal, cu_seqlens segments, blocking spec (qbits[i] & kbits[j] ≠ 0: blocked);
// a query that may see no key gets zeros. Pair p of a chunk starting at query q0: query q0 + p / G, head g·G + p % G
// (G = n_heads / n_kv_heads), so a GQA group's query heads share every key and value row.
// scores and pv are matmuls with 16×16 register tiles per invocation (as matmul.wgsl's tile_f32: per step 32 vec4
// loads feed 1024 FMAs, no workgroup memory), each tile skipping the keys none of its 16 rows may see (causal).
// The scores of one chunk are bounded by the op (≤ one storage binding), so memory stays O(chunk · keys).

struct Params {
  s_q: u32,
  n_heads: u32,
  n_kv_heads: u32,
  head_dim: u32,
  capacity: u32,
  kv_len: u32,
  q_start: u32,
  causal: u32,
  has_segments: u32,
  n_segments: u32,
  has_block: u32,
  q0: u32,       // first query of this chunk
  n_rows: u32,   // pairs per KV head in this chunk
  stride: u32,   // row stride of S/P (kv_len rounded up to 4)
  scale: f32,
}

override WG: u32 = 8u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> segments: array<u32>;
@group(0) @binding(5) var<storage, read> qbits: array<u32>;
@group(0) @binding(6) var<storage, read> kbits: array<u32>;
@group(0) @binding(7) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> s: array<f32>;
@group(0) @binding(9) var<storage, read> p4: array<vec4<f32>>;
// per row of S: 1 / Σ_j e^{s_j − max} (0 for a pair that may see no key), written by softmax, applied by pv
@group(0) @binding(10) var<storage, read_write> rowinv: array<f32>;
// S as vec4 (4 keys of a row; the stride is a multiple of 4), written by scores
@group(0) @binding(11) var<storage, read_write> s4: array<vec4<f32>>;

fn group_size() -> u32 { return params.n_heads / params.n_kv_heads; }

// [lo, hi) of the keys query i (of the whole call) may see before the blocking spec
fn key_range(i: u32) -> vec2<u32> {
  var lo = 0u;
  var hi = params.kv_len;
  let pos = params.q_start + i;
  if (params.causal != 0u) { hi = min(hi, pos + 1u); }
  if (params.has_segments != 0u) {
    var sg = 0u;
    for (var t = 1u; t <= params.n_segments; t++) { if (segments[t] <= pos) { sg = t; } }
    sg = min(sg, params.n_segments - 1u);
    lo = max(lo, segments[sg]);
    hi = min(hi, segments[sg + 1u]);
  }
  return vec2<u32>(lo, max(lo, hi));
}

// the query of chunk pair p
fn pair_query(p: u32) -> u32 { return params.q0 + p / group_size(); }
// vec4 offset of pair p's q (or out) row in KV head g
fn pair_row(p: u32, g: u32) -> u32 {
  let gs = group_size();
  return ((params.q0 + p / gs) * params.n_heads + g * gs + p % gs) * (params.head_dim / 4u);
}

// the union [lo, hi) of the key ranges of chunk pairs r0 .. r0+15 (those that exist)
fn tile_keys(r0: u32) -> vec2<u32> {
  let last = min(r0 + 15u, params.n_rows - 1u);
  var lo = params.kv_len;
  var hi = 0u;
  // ranges depend on the query only: the tile's queries are pair_query(r0) .. pair_query(last)
  for (var i = pair_query(r0); i <= pair_query(last); i++) {
    let r = key_range(i);
    if (r.y > r.x) { lo = min(lo, r.x); hi = max(hi, r.y); }
  }
  return vec2<u32>(lo, max(lo, hi));
}

var<private> a00: mat4x4<f32>; var<private> a01: mat4x4<f32>; var<private> a02: mat4x4<f32>; var<private> a03: mat4x4<f32>;
var<private> a10: mat4x4<f32>; var<private> a11: mat4x4<f32>; var<private> a12: mat4x4<f32>; var<private> a13: mat4x4<f32>;
var<private> a20: mat4x4<f32>; var<private> a21: mat4x4<f32>; var<private> a22: mat4x4<f32>; var<private> a23: mat4x4<f32>;
var<private> a30: mat4x4<f32>; var<private> a31: mat4x4<f32>; var<private> a32: mat4x4<f32>; var<private> a33: mat4x4<f32>;

fn zero_tile() {
  let z = mat4x4<f32>();
  a00 = z; a01 = z; a02 = z; a03 = z; a10 = z; a11 = z; a12 = z; a13 = z;
  a20 = z; a21 = z; a22 = z; a23 = z; a30 = z; a31 = z; a32 = z; a33 = z;
}

// A_ij += Xᵢ·Wⱼ for row blocks x (as rows×4) and column blocks w (as 4×cols), given already in product form
fn accumulate(x0: mat4x4<f32>, x1: mat4x4<f32>, x2: mat4x4<f32>, x3: mat4x4<f32>,
              w0: mat4x4<f32>, w1: mat4x4<f32>, w2: mat4x4<f32>, w3: mat4x4<f32>) {
  a00 += x0 * w0; a01 += x0 * w1; a02 += x0 * w2; a03 += x0 * w3;
  a10 += x1 * w0; a11 += x1 * w1; a12 += x1 * w2; a13 += x1 * w3;
  a20 += x2 * w0; a21 += x2 * w1; a22 += x2 * w2; a23 += x2 * w3;
  a30 += x3 * w0; a31 += x3 * w1; a32 += x3 * w2; a33 += x3 * w3;
}

// ---- scores: invocation (gid.x, gid.y) owns keys 16·gid.x .. +15 and chunk pairs 16·gid.y .. +15 of KV head wg.z ----
// a_ij[b][a] = scale · q(pair 4i + a) · k(key 4j + b)

fn q_rows(r: u32, g: u32) -> vec4<u32> {
  let last = params.n_rows - 1u;
  return vec4<u32>(pair_row(min(r, last), g), pair_row(min(r + 1u, last), g), pair_row(min(r + 2u, last), g), pair_row(min(r + 3u, last), g));
}
fn k_rows(c: u32, g: u32) -> vec4<u32> {
  let jc = min(vec4<u32>(c) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(params.kv_len - 1u));
  return (vec4<u32>(g * params.capacity) + jc) * (params.head_dim / 4u);
}
fn quads_q(rows: vec4<u32>, t: u32) -> mat4x4<f32> { return mat4x4<f32>(q[rows.x + t], q[rows.y + t], q[rows.z + t], q[rows.w + t]); }
fn quads_k(rows: vec4<u32>, t: u32) -> mat4x4<f32> { return mat4x4<f32>(k[rows.x + t], k[rows.y + t], k[rows.z + t], k[rows.w + t]); }

// keys c0 .. c0+3 of rows r0 .. r0+3 as one vec4 per row (c0 % 4 == 0; columns past kv_len are padding that
// softmax overwrites with 0)
fn store_s(r0: u32, c0: u32, g: u32, a: mat4x4<f32>) {
  if (c0 >= params.kv_len) { return; }
  let t = transpose(a) * params.scale;  // t[i] = row r0 + i
  for (var i = 0u; i < 4u; i++) {
    let r = r0 + i;
    if (r < params.n_rows) { s4[((g * params.n_rows + r) * params.stride + c0) / 4u] = t[i]; }
  }
}

@compute @workgroup_size(WG)
fn scores(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>) {
  let g = wg.z;
  let r0 = 16u * gid.y;
  let c0 = 16u * gid.x;
  if (r0 >= params.n_rows || c0 >= params.kv_len) { return; }
  let keys = tile_keys(r0);
  // keys none of the tile's rows may see are never read by softmax: not computed
  if (c0 + 16u <= keys.x || c0 >= keys.y) { return; }
  let d4 = params.head_dim / 4u;
  zero_tile();
  let x0 = q_rows(r0, g); let x1 = q_rows(r0 + 4u, g); let x2 = q_rows(r0 + 8u, g); let x3 = q_rows(r0 + 12u, g);
  let w0 = k_rows(c0, g); let w1 = k_rows(c0 + 4u, g); let w2 = k_rows(c0 + 8u, g); let w3 = k_rows(c0 + 12u, g);
  for (var t = 0u; t < d4; t++) {
    accumulate(transpose(quads_q(x0, t)), transpose(quads_q(x1, t)), transpose(quads_q(x2, t)), transpose(quads_q(x3, t)),
               quads_k(w0, t), quads_k(w1, t), quads_k(w2, t), quads_k(w3, t));
  }
  store_s(r0, c0, g, a00); store_s(r0, c0 + 4u, g, a01); store_s(r0, c0 + 8u, g, a02); store_s(r0, c0 + 12u, g, a03);
  store_s(r0 + 4u, c0, g, a10); store_s(r0 + 4u, c0 + 4u, g, a11); store_s(r0 + 4u, c0 + 8u, g, a12); store_s(r0 + 4u, c0 + 12u, g, a13);
  store_s(r0 + 8u, c0, g, a20); store_s(r0 + 8u, c0 + 4u, g, a21); store_s(r0 + 8u, c0 + 8u, g, a22); store_s(r0 + 8u, c0 + 12u, g, a23);
  store_s(r0 + 12u, c0, g, a30); store_s(r0 + 12u, c0 + 4u, g, a31); store_s(r0 + 12u, c0 + 8u, g, a32); store_s(r0 + 12u, c0 + 12u, g, a33);
}

// ---- softmax: one invocation per row (chunk pair gid.x of KV head gid.y), in place over S ----
fn visible(qb: u32, j: u32) -> bool {
  if (params.has_block == 0u) { return true; }
  return (qb & kbits[j]) == 0u;
}

@compute @workgroup_size(WG)
fn softmax(@builtin(global_invocation_id) gid: vec3<u32>) {
  let p = gid.x;
  let g = gid.y;
  if (p >= params.n_rows) { return; }
  let i = pair_query(p);
  let keys = key_range(i);
  var qb = 0u;
  if (params.has_block != 0u) { qb = qbits[i]; }
  let base = (g * params.n_rows + p) * params.stride;
  // the max over the keys this pair may see, then e^{s − max} (0 elsewhere) and their sum; pv divides by the sum
  var m = -3.0e38;
  for (var j = keys.x; j < keys.y; j++) {
    if (visible(qb, j)) { m = max(m, s[base + j]); }
  }
  var l = 0.0;
  for (var j = 0u; j < params.stride; j++) {
    var e = 0.0;
    if (j >= keys.x && j < keys.y && visible(qb, j)) { e = exp(s[base + j] - m); }
    l += e;
    s[base + j] = e;
  }
  var inv = 0.0;
  if (l > 0.0) { inv = 1.0 / l; }
  rowinv[g * params.n_rows + p] = inv;
}

// ---- pv: invocation (gid.x, gid.y) owns head dims 16·gid.x .. +15 and chunk pairs 16·gid.y .. +15 of KV head wg.z ----
// a_ij[b][a] = Σ_j P(pair 4i + a, j) · v(j, dim 4j' + b); keys in steps of 4 over the tile's union of ranges

fn p_rows(r: u32, g: u32) -> vec4<u32> {
  let rc = min(vec4<u32>(r) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(params.n_rows - 1u));
  return (vec4<u32>(g * params.n_rows) + rc) * (params.stride / 4u);
}
fn quads_p(rows: vec4<u32>, t: u32) -> mat4x4<f32> { return mat4x4<f32>(p4[rows.x + t], p4[rows.y + t], p4[rows.z + t], p4[rows.w + t]); }
// V block: column b = v(key j + b) at dims 4·c4 .. 4·c4 + 3, keys clamped to kv_len − 1 (their P is 0)
fn quads_v(j: u32, c4: u32, g: u32) -> mat4x4<f32> {
  let d4 = params.head_dim / 4u;
  let jc = min(vec4<u32>(j) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(params.kv_len - 1u));
  let rows = (vec4<u32>(g * params.capacity) + jc) * d4 + vec4<u32>(c4);
  return mat4x4<f32>(v[rows.x], v[rows.y], v[rows.z], v[rows.w]);
}

fn store_o(r0: u32, c4: u32, g: u32, a: mat4x4<f32>) {
  for (var i = 0u; i < 4u; i++) {
    let r = r0 + i;
    if (r < params.n_rows && c4 < params.head_dim / 4u) {
      out[pair_row(r, g) + c4] = vec4<f32>(a[0][i], a[1][i], a[2][i], a[3][i]) * rowinv[g * params.n_rows + r];
    }
  }
}

@compute @workgroup_size(WG)
fn pv(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>) {
  let g = wg.z;
  let r0 = 16u * gid.y;
  let c0 = 4u * gid.x;  // first vec4 of head dims
  let d4 = params.head_dim / 4u;
  if (r0 >= params.n_rows || c0 >= d4) { return; }
  let keys = tile_keys(r0);
  zero_tile();
  let x0 = p_rows(r0, g); let x1 = p_rows(r0 + 4u, g); let x2 = p_rows(r0 + 8u, g); let x3 = p_rows(r0 + 12u, g);
  // dims past head_dim (d % 16 ≠ 0) read a clamped vec4 and are not stored
  let c1 = min(c0 + 1u, d4 - 1u); let c2 = min(c0 + 2u, d4 - 1u); let c3 = min(c0 + 3u, d4 - 1u);
  for (var j = keys.x & ~3u; j < keys.y; j += 4u) {
    let t = j / 4u;
    // (rows × keys)·(keys × dims): Xᵢ = P rows as matrix rows, Wⱼ = v rows as matrix rows
    accumulate(transpose(quads_p(x0, t)), transpose(quads_p(x1, t)), transpose(quads_p(x2, t)), transpose(quads_p(x3, t)),
               transpose(quads_v(j, c0, g)), transpose(quads_v(j, c1, g)), transpose(quads_v(j, c2, g)), transpose(quads_v(j, c3, g)));
  }
  // a_ij = Xᵢ·Wⱼ: [col][row] = [dim][pair]
  store_o(r0, c0, g, a00); store_o(r0, c0 + 1u, g, a01); store_o(r0, c0 + 2u, g, a02); store_o(r0, c0 + 3u, g, a03);
  store_o(r0 + 4u, c0, g, a10); store_o(r0 + 4u, c0 + 1u, g, a11); store_o(r0 + 4u, c0 + 2u, g, a12); store_o(r0 + 4u, c0 + 3u, g, a13);
  store_o(r0 + 8u, c0, g, a20); store_o(r0 + 8u, c0 + 1u, g, a21); store_o(r0 + 8u, c0 + 2u, g, a22); store_o(r0 + 8u, c0 + 3u, g, a23);
  store_o(r0 + 12u, c0, g, a30); store_o(r0 + 12u, c0 + 1u, g, a31); store_o(r0 + 12u, c0 + 2u, g, a32); store_o(r0 + 12u, c0 + 3u, g, a33);
}
