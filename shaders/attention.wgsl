// Attention over the KV cache, flash style: softmax(q·kᵀ·scale + mask)·v with an online softmax (running max m,
// running sum l, rescaled accumulator), so the score matrix is never materialised.
//   q    [S_q, n_heads, d]            (the q projection, after RoPE)
//   k, v [n_kv_heads, capacity, d]    (the cache; positions ≥ kv_len are ignored)
//   out  [S_q, n_heads·d]
// GQA: query head h reads kv head h / (n_heads / n_kv_heads), straight from the cache layout.
// Masks, all optional and combined: causal (query i sees keys ≤ q_start + i); block-diagonal segments
// (cu_seqlens: query position p sees only keys of its own segment — Qwen2.5-VL window attention); a blocking
// spec (query i may not see key j when qbits[i] & kbits[j] ≠ 0 — the study's interventions).
// A query that may see no key at all gets zeros.
//
// `main`: one invocation per two queries of one head (each key and value row read serves both); the invocations of
// a workgroup are consecutive queries of one head, so they read the same key rows at the same time. `split` + `combine`: flash-decoding for few queries over a long
// cache — each invocation reduces one slice of the keys to (m, l, acc), `combine` merges the slices.

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
  splits: u32,      // key slices per (query, head) for split/combine
  scale: f32,
}

override WG: u32 = 8u;
const MAX_D4: u32 = 32u;  // head_dim ≤ 128

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> segments: array<u32>;
@group(0) @binding(5) var<storage, read> qbits: array<u32>;
@group(0) @binding(6) var<storage, read> kbits: array<u32>;
@group(0) @binding(7) var<storage, read_write> out: array<vec4<f32>>;
// split partials: per (query, head, slice): d/4 vec4 of acc, then one vec4 (m, l, 0, 0)
@group(0) @binding(8) var<storage, read_write> partials: array<vec4<f32>>;

// [lo, hi) of the keys query i may see before the blocking spec
fn key_range(i: u32) -> vec2<u32> {
  var lo = 0u;
  var hi = params.kv_len;
  let pos = params.q_start + i;
  if (params.causal != 0u) { hi = min(hi, pos + 1u); }
  if (params.has_segments != 0u) {
    // the segment holding pos: cu[s] ≤ pos < cu[s+1]
    var s = 0u;
    for (var t = 1u; t <= params.n_segments; t++) { if (segments[t] <= pos) { s = t; } }
    s = min(s, params.n_segments - 1u);
    lo = max(lo, segments[s]);
    hi = min(hi, segments[s + 1u]);
  }
  return vec2<u32>(lo, max(lo, hi));
}

struct Partial { m: f32, l: f32 }

// online softmax over keys [lo, hi) for query i, head h; acc receives Σ p_j·v_j (unnormalised)
fn attend(i: u32, h: u32, lo: u32, hi: u32, acc: ptr<function, array<vec4<f32>, MAX_D4>>) -> Partial {
  let d4 = params.head_dim / 4u;
  let kvh = h / (params.n_heads / params.n_kv_heads);
  var qv: array<vec4<f32>, MAX_D4>;
  let qbase = (i * params.n_heads + h) * d4;
  for (var t = 0u; t < d4; t++) { qv[t] = q[qbase + t] * params.scale; }
  var qb = 0u;
  if (params.has_block != 0u) { qb = qbits[i]; }
  var m = -3.0e38;
  var l = 0.0;
  for (var t = 0u; t < d4; t++) { (*acc)[t] = vec4<f32>(0.0); }
  let kvbase = kvh * params.capacity;
  // keys in blocks of 4: four scores, one rescale of the accumulator per block
  for (var j0 = lo; j0 < hi; j0 += 4u) {
    var sc = vec4<f32>(-3.0e38);
    var ok = vec4<bool>(false);
    for (var u = 0u; u < 4u; u++) {
      let j = j0 + u;
      if (j >= hi) { break; }
      if (params.has_block != 0u && (qb & kbits[j]) != 0u) { continue; }
      let row = (kvbase + j) * d4;
      var s4 = vec4<f32>(0.0);
      for (var t = 0u; t < d4; t++) { s4 = fma(qv[t], k[row + t], s4); }
      sc[u] = s4.x + s4.y + s4.z + s4.w;
      ok[u] = true;
    }
    if (!any(ok)) { continue; }
    let m_new = max(m, max(max(sc.x, sc.y), max(sc.z, sc.w)));
    let corr = exp(m - m_new);
    let p = select(vec4<f32>(0.0), exp(sc - vec4<f32>(m_new)), ok);
    l = l * corr + p.x + p.y + p.z + p.w;
    let r0 = (kvbase + j0) * d4;
    let r1 = r0 + select(0u, d4, ok.y);
    let r2 = r0 + select(0u, 2u * d4, ok.z);
    let r3 = r0 + select(0u, 3u * d4, ok.w);
    for (var t = 0u; t < d4; t++) {
      var a = (*acc)[t] * corr;
      a = fma(vec4<f32>(p.x), v[r0 + t], a);
      a = fma(vec4<f32>(p.y), v[r1 + t], a);
      a = fma(vec4<f32>(p.z), v[r2 + t], a);
      a = fma(vec4<f32>(p.w), v[r3 + t], a);
      (*acc)[t] = a;
    }
    m = m_new;
  }
  return Partial(m, l);
}

// Two queries (i, i+1) of one head per invocation: every key and value row read serves both.
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i0 = 2u * gid.x;
  let h = gid.y;
  if (i0 >= params.s_q) { return; }
  let two = i0 + 1u < params.s_q;
  let d4 = params.head_dim / 4u;
  let kvh = h / (params.n_heads / params.n_kv_heads);
  let r0 = key_range(i0);
  var r1 = r0;
  if (two) { r1 = key_range(i0 + 1u); }
  var qa: array<vec4<f32>, MAX_D4>;
  var qb: array<vec4<f32>, MAX_D4>;
  var acc_a: array<vec4<f32>, MAX_D4>;
  var acc_b: array<vec4<f32>, MAX_D4>;
  let qbase = (i0 * params.n_heads + h) * d4;
  for (var t = 0u; t < d4; t++) {
    qa[t] = q[qbase + t] * params.scale;
    if (two) { qb[t] = q[qbase + params.n_heads * d4 + t] * params.scale; }
  }
  var bits_a = 0u;
  var bits_b = 0u;
  if (params.has_block != 0u) { bits_a = qbits[i0]; if (two) { bits_b = qbits[i0 + 1u]; } }
  var ma = -3.0e38; var la = 0.0;
  var mb = -3.0e38; var lb = 0.0;
  let lo = min(r0.x, r1.x);
  let hi = max(r0.y, r1.y);
  let kvbase = kvh * params.capacity;
  for (var j = lo; j < hi; j++) {
    var ok_a = j >= r0.x && j < r0.y;
    var ok_b = two && j >= r1.x && j < r1.y;
    if (params.has_block != 0u) {
      let kb = kbits[j];
      ok_a = ok_a && (bits_a & kb) == 0u;
      ok_b = ok_b && (bits_b & kb) == 0u;
    }
    if (!ok_a && !ok_b) { continue; }
    let row = (kvbase + j) * d4;
    var sa4 = vec4<f32>(0.0);
    var sb4 = vec4<f32>(0.0);
    for (var t = 0u; t < d4; t++) {
      let kv = k[row + t];
      sa4 = fma(qa[t], kv, sa4);
      sb4 = fma(qb[t], kv, sb4);
    }
    // online softmax per query; a query that may not see key j keeps its state (p = 0, no rescale)
    var ca = 1.0; var pa = 0.0;
    if (ok_a) {
      let s = sa4.x + sa4.y + sa4.z + sa4.w;
      let mn = max(ma, s);
      ca = exp(ma - mn); pa = exp(s - mn); ma = mn;
      la = la * ca + pa;
    }
    var cb = 1.0; var pb = 0.0;
    if (ok_b) {
      let s = sb4.x + sb4.y + sb4.z + sb4.w;
      let mn = max(mb, s);
      cb = exp(mb - mn); pb = exp(s - mn); mb = mn;
      lb = lb * cb + pb;
    }
    for (var t = 0u; t < d4; t++) {
      let vv = v[row + t];
      acc_a[t] = fma(vec4<f32>(pa), vv, acc_a[t] * ca);
      acc_b[t] = fma(vec4<f32>(pb), vv, acc_b[t] * cb);
    }
  }
  var inv_a = 0.0;
  if (la > 0.0) { inv_a = 1.0 / la; }
  var inv_b = 0.0;
  if (lb > 0.0) { inv_b = 1.0 / lb; }
  let obase = (i0 * params.n_heads + h) * d4;
  for (var t = 0u; t < d4; t++) {
    out[obase + t] = acc_a[t] * inv_a;
    if (two) { out[obase + params.n_heads * d4 + t] = acc_b[t] * inv_b; }
  }
}

@compute @workgroup_size(WG)
fn split(@builtin(global_invocation_id) gid: vec3<u32>) {
  let sl = gid.x;     // key slice
  let h = gid.y;
  let i = gid.z;
  if (sl >= params.splits) { return; }
  let r = key_range(i);
  let per = (r.y - r.x + params.splits - 1u) / params.splits;
  let lo = min(r.x + sl * per, r.y);
  let hi = min(lo + per, r.y);
  var acc: array<vec4<f32>, MAX_D4>;
  let p = attend(i, h, lo, hi, &acc);
  let d4 = params.head_dim / 4u;
  let base = ((i * params.n_heads + h) * params.splits + sl) * (d4 + 1u);
  for (var t = 0u; t < d4; t++) { partials[base + t] = acc[t]; }
  partials[base + d4] = vec4<f32>(p.m, p.l, 0.0, 0.0);
}

@compute @workgroup_size(WG)
fn combine(@builtin(global_invocation_id) gid: vec3<u32>) {
  let h = gid.x;
  let i = gid.y;
  if (h >= params.n_heads) { return; }
  let d4 = params.head_dim / 4u;
  let base = (i * params.n_heads + h) * params.splits * (d4 + 1u);
  // global max over slices, then Σ_s e^{m_s − M}·acc_s / Σ_s e^{m_s − M}·l_s
  var mx = -3.0e38;
  for (var s = 0u; s < params.splits; s++) {
    let ml = partials[base + s * (d4 + 1u) + d4];
    if (ml.y > 0.0) { mx = max(mx, ml.x); }
  }
  var l = 0.0;
  var acc: array<vec4<f32>, MAX_D4>;
  for (var s = 0u; s < params.splits; s++) {
    let ml = partials[base + s * (d4 + 1u) + d4];
    if (ml.y <= 0.0) { continue; }
    let c = exp(ml.x - mx);
    l += c * ml.y;
    for (var t = 0u; t < d4; t++) { acc[t] = fma(vec4<f32>(c), partials[base + s * (d4 + 1u) + t], acc[t]); }
  }
  var inv = 0.0;
  if (l > 0.0) { inv = 1.0 / l; }
  let obase = (i * params.n_heads + h) * d4;
  for (var t = 0u; t < d4; t++) { out[obase + t] = acc[t] * inv; }
}
