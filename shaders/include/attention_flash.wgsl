// The flash-attention kernels of shaders/attention.wgsl (the math is described there), shared by its cache dtype
// variants: the including shader declares k and v (@binding(2), @binding(3)) and load_k / load_v (vec4<f32> at a
// vec4 index).
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
// @binding(2) k and @binding(3) v, the cache in its dtype: declared by the including shader with load_k / load_v
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

// pairs per invocation in `main`. On llvmpipe TQ = 8 runs ~20% faster but its first (uncached) compile takes ~55 s,
// TQ = 4 ~13 s, TQ = 2 ~4 s at ~60% of the speed; Mesa caches the compiled shader on disk after that.
const TQ: u32 = 4u;
const TQ_D4: u32 = 128u;  // TQ · MAX_D4
const TQ_4: u32 = 16u;    // TQ · 4

// pair p: query p / G, head kvh·G + p % G
fn pair_query(p: u32) -> u32 { return p / (params.n_heads / params.n_kv_heads); }
fn pair_head(p: u32, kvh: u32) -> u32 { let g = params.n_heads / params.n_kv_heads; return kvh * g + p % g; }
fn n_pairs() -> u32 { return params.s_q * (params.n_heads / params.n_kv_heads); }

// keys [lo, hi) walked by a workgroup holding pairs first..last, then slice sl of params.splits of them
fn workgroup_keys(first: u32, last: u32, sl: u32) -> vec2<u32> {
  let wlo = key_range(pair_query(first)).x;
  let whi = max(wlo, key_range(pair_query(last)).y);
  let per = (whi - wlo + params.splits - 1u) / params.splits;
  let lo = min(wlo + sl * per, whi);
  return vec2<u32>(lo, min(lo + per, whi));
}

// the 4 keys js of a block a pair may see: inside the walked range (< hi), its own range, not blocked
fn block_ok(js: vec4<u32>, hi: u32, own: vec2<u32>, qb: u32, kb: vec4<u32>) -> vec4<bool> {
  return (js < vec4<u32>(hi)) & (js >= vec4<u32>(own.x)) & (js < vec4<u32>(own.y)) & ((vec4<u32>(qb) & kb) == vec4<u32>(0u));
}

// block bits of keys jc (zeros without a blocking spec)
fn key_bits(jc: vec4<u32>) -> vec4<u32> {
  if (params.has_block == 0u) { return vec4<u32>(0u); }
  return vec4<u32>(kbits[jc.x], kbits[jc.y], kbits[jc.z], kbits[jc.w]);
}

struct SoftmaxStep { p: vec4<f32>, corr: f32, m: f32, l: f32 }

// online softmax over one block of scores s: m' = max(m, max_ok s), p = e^{s − m'} (0 where not ok),
// l' = l·e^{m − m'} + Σ p; the accumulator is then rescaled by corr = e^{m − m'}
fn softmax_step(s: vec4<f32>, ok: vec4<bool>, m: f32, l: f32) -> SoftmaxStep {
  let sm = select(vec4<f32>(-3.0e38), s, ok);
  let m_new = max(m, max(max(sm.x, sm.y), max(sm.z, sm.w)));
  let corr = exp(m - m_new);
  let p = select(vec4<f32>(0.0), exp(sm - vec4<f32>(m_new)), ok);
  return SoftmaxStep(p, corr, m_new, l * corr + p.x + p.y + p.z + p.w);
}

// row offsets (in vec4) of the 4 keys of the block at j0 (clamped to hi − 1) in KV head kvh
fn key_rows(j0: u32, hi: u32, kvh: u32) -> vec4<u32> {
  let jc = min(vec4<u32>(j0, j0 + 1u, j0 + 2u, j0 + 3u), vec4<u32>(hi - 1u));
  return (vec4<u32>(kvh * params.capacity) + jc) * (params.head_dim / 4u);
}

// ---- main: TQ pairs per invocation, slots WG apart (a workgroup holds TQ·WG consecutive pairs) ----
fn pair_at(wg: vec3<u32>, lid: vec3<u32>, u: u32) -> u32 { return wg.x * (TQ * WG) + u * WG + lid.x; }

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let d4 = params.head_dim / 4u;
  let kvh = wg.y;
  let np = n_pairs();
  let first = wg.x * (TQ * WG);
  let keys = workgroup_keys(first, min(first + TQ * WG, np) - 1u, 0u);
  let hi = keys.y;
  // each slot's own keys, query bits, scaled query, running max and sum; acc[u·MAX_D4 + t] = Σ_j p_j·v_j
  var own: array<vec2<u32>, TQ>;
  var qb: array<u32, TQ>;
  var qv: array<vec4<f32>, TQ_D4>;
  var acc: array<vec4<f32>, TQ_D4>;
  var m: array<f32, TQ>;
  var l: array<f32, TQ>;
  for (var u = 0u; u < TQ; u++) {
    let p = pair_at(wg, lid, u);
    let pc = min(p, np - 1u);
    let i = pair_query(pc);
    own[u] = select(vec2<u32>(0u), key_range(i), p < np);
    qb[u] = 0u;
    if (params.has_block != 0u) { qb[u] = qbits[i]; }
    m[u] = -3.0e38;
    l[u] = 0.0;
    let qbase = (i * params.n_heads + pair_head(pc, kvh)) * d4;
    for (var t = 0u; t < MAX_D4; t++) {
      if (t >= d4) { break; }
      qv[u * MAX_D4 + t] = q[qbase + t] * params.scale;
      acc[u * MAX_D4 + t] = vec4<f32>(0.0);
    }
  }
  for (var j0 = keys.x; j0 < hi; j0 += 4u) {
    let r = key_rows(j0, hi, kvh);
    var s: array<vec4<f32>, TQ_4>;  // s[4u + c]: partial q_u·k_c (zeroed here: a var in a loop is not re-initialised)
    for (var c = 0u; c < TQ_4; c++) { s[c] = vec4<f32>(0.0); }
    for (var t = 0u; t < MAX_D4; t++) {
      if (t >= d4) { break; }
      let k0 = load_k(r.x + t); let k1 = load_k(r.y + t); let k2 = load_k(r.z + t); let k3 = load_k(r.w + t);
      for (var u = 0u; u < TQ; u++) {
        let qt = qv[u * MAX_D4 + t];
        s[4u * u] = fma(qt, k0, s[4u * u]);
        s[4u * u + 1u] = fma(qt, k1, s[4u * u + 1u]);
        s[4u * u + 2u] = fma(qt, k2, s[4u * u + 2u]);
        s[4u * u + 3u] = fma(qt, k3, s[4u * u + 3u]);
      }
    }
    let js = vec4<u32>(j0, j0 + 1u, j0 + 2u, j0 + 3u);
    let kb = key_bits(min(js, vec4<u32>(hi - 1u)));
    var st: array<SoftmaxStep, TQ>;
    for (var u = 0u; u < TQ; u++) {
      let one = vec4<f32>(1.0);
      let sc = vec4<f32>(dot(s[4u * u], one), dot(s[4u * u + 1u], one), dot(s[4u * u + 2u], one), dot(s[4u * u + 3u], one));
      st[u] = softmax_step(sc, block_ok(js, hi, own[u], qb[u], kb), m[u], l[u]);
      m[u] = st[u].m;
      l[u] = st[u].l;
    }
    for (var t = 0u; t < MAX_D4; t++) {
      if (t >= d4) { break; }
      let v0 = load_v(r.x + t); let v1 = load_v(r.y + t); let v2 = load_v(r.z + t); let v3 = load_v(r.w + t);
      for (var u = 0u; u < TQ; u++) {
        let p = st[u].p;
        var a = acc[u * MAX_D4 + t] * st[u].corr;
        a = fma(vec4<f32>(p.x), v0, a);
        a = fma(vec4<f32>(p.y), v1, a);
        a = fma(vec4<f32>(p.z), v2, a);
        a = fma(vec4<f32>(p.w), v3, a);
        acc[u * MAX_D4 + t] = a;
      }
    }
  }
  // out = acc / l; a query that may see no key has l = 0 and gets zeros
  for (var u = 0u; u < TQ; u++) {
    let p = pair_at(wg, lid, u);
    if (p >= np) { break; }
    var inv = 0.0;
    if (l[u] > 0.0) { inv = 1.0 / l[u]; }
    let obase = (pair_query(p) * params.n_heads + pair_head(p, kvh)) * d4;
    for (var t = 0u; t < MAX_D4; t++) {
      if (t >= d4) { break; }
      out[obase + t] = acc[u * MAX_D4 + t] * inv;
    }
  }
}

// ---- split: one pair per invocation over key slice wg.z; writes (acc, m, l) for `combine` ----
@compute @workgroup_size(WG)
fn split(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let d4 = params.head_dim / 4u;
  let kvh = wg.y;
  let np = n_pairs();
  let p = wg.x * WG + lid.x;
  let pc = min(p, np - 1u);
  let i = pair_query(pc);
  let keys = workgroup_keys(wg.x * WG, min(wg.x * WG + WG, np) - 1u, wg.z);
  let hi = keys.y;
  let own = select(vec2<u32>(0u), key_range(i), p < np);
  var qb = 0u;
  if (params.has_block != 0u) { qb = qbits[i]; }
  var qv: array<vec4<f32>, MAX_D4>;
  var acc: array<vec4<f32>, MAX_D4>;
  let qbase = (i * params.n_heads + pair_head(pc, kvh)) * d4;
  for (var t = 0u; t < MAX_D4; t++) {
    if (t >= d4) { break; }
    qv[t] = q[qbase + t] * params.scale;
    acc[t] = vec4<f32>(0.0);
  }
  var m = -3.0e38;
  var l = 0.0;
  for (var j0 = keys.x; j0 < hi; j0 += 4u) {
    let r = key_rows(j0, hi, kvh);
    var s0 = vec4<f32>(0.0); var s1 = vec4<f32>(0.0); var s2 = vec4<f32>(0.0); var s3 = vec4<f32>(0.0);
    for (var t = 0u; t < MAX_D4; t++) {
      if (t >= d4) { break; }
      let qt = qv[t];
      s0 = fma(qt, load_k(r.x + t), s0);
      s1 = fma(qt, load_k(r.y + t), s1);
      s2 = fma(qt, load_k(r.z + t), s2);
      s3 = fma(qt, load_k(r.w + t), s3);
    }
    let one = vec4<f32>(1.0);
    let js = vec4<u32>(j0, j0 + 1u, j0 + 2u, j0 + 3u);
    let ok = block_ok(js, hi, own, qb, key_bits(min(js, vec4<u32>(hi - 1u))));
    let st = softmax_step(vec4<f32>(dot(s0, one), dot(s1, one), dot(s2, one), dot(s3, one)), ok, m, l);
    m = st.m;
    l = st.l;
    for (var t = 0u; t < MAX_D4; t++) {
      if (t >= d4) { break; }
      var a = acc[t] * st.corr;
      a = fma(vec4<f32>(st.p.x), load_v(r.x + t), a);
      a = fma(vec4<f32>(st.p.y), load_v(r.y + t), a);
      a = fma(vec4<f32>(st.p.z), load_v(r.z + t), a);
      a = fma(vec4<f32>(st.p.w), load_v(r.w + t), a);
      acc[t] = a;
    }
  }
  if (p >= np) { return; }
  let base = ((i * params.n_heads + pair_head(p, kvh)) * params.splits + wg.z) * (d4 + 1u);
  for (var t = 0u; t < d4; t++) { partials[base + t] = acc[t]; }
  partials[base + d4] = vec4<f32>(m, l, 0.0, 0.0);
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
