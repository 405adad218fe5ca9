// Label propagation between video frames on a patch grid [h, w] (DINO's DAVIS protocol). Features are unit
// rows; the context is n_ctx frames (the first frame and the most recent ones) with soft label maps.
//   window_affinity: aff[t, f·win + j] = cos(target_t, ctx_f[s]) for the j-th source s of the (2·ry+1)×(2·rx+1)
//                    window around t (|Δrow| ≤ ry, |Δcol| ≤ rx); −∞ outside the grid, at masked sources and at
//                    masked targets. One invocation per entry.
//   transfer:        with kth[t] = the k-th largest affinity of row t (from top-k; its last finite one when
//                    fewer) every source scoring ≥ kth (ties kept, as DINO) gets weight e^((a − a_max)/τ); the
//                    target's soft label is Σ weight·label / Σ weight; zeros where t has no candidate.
//                    One invocation per (target, label).
struct Params {
  h: u32, w: u32, d: u32,
  n_ctx: u32,
  ry: u32, rx: u32,
  n_labels: u32,
  k: u32,
  has_ctx_mask: u32,
  has_target_mask: u32,
  row_stride: u32,
  inv_temperature: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> target_feat: array<f32>;  // [h·w, d], unit rows
@group(0) @binding(2) var<storage, read> ctx_feat: array<f32>;     // [n_ctx, h·w, d], unit rows
@group(0) @binding(3) var<storage, read> ctx_mask: array<u32>;     // [n_ctx, h·w]
@group(0) @binding(4) var<storage, read> target_mask: array<u32>;  // [h·w]
@group(0) @binding(5) var<storage, read_write> aff: array<f32>;    // [h·w, n_ctx·win]
@group(0) @binding(6) var<storage, read> aff_in: array<f32>;       // [h·w, n_ctx·win]
@group(0) @binding(7) var<storage, read> top_score: array<f32>;    // [h·w, k] descending
@group(0) @binding(8) var<storage, read> ctx_labels: array<f32>;   // [n_ctx, h·w, n_labels]
@group(0) @binding(9) var<storage, read_write> soft: array<f32>;   // [h·w, n_labels]

const NEG_INF_BITS: u32 = 0xff800000u;
// −∞ made at run time: a constant −∞ is not representable in WGSL (Tint rejects it; naga lets it through)
var<private> neg_inf_bits: u32 = NEG_INF_BITS;

fn window_side_x() -> u32 { return 2u * params.rx + 1u; }
fn window_cells() -> u32 { return (2u * params.ry + 1u) * window_side_x(); }

// grid cell of window entry j around target cell t, or 0xffffffff outside the grid
fn window_source(t: u32, j: u32) -> u32 {
  let ty = i32(t / params.w);
  let tx = i32(t % params.w);
  let sy = ty + i32(j / window_side_x()) - i32(params.ry);
  let sx = tx + i32(j % window_side_x()) - i32(params.rx);
  if (sy < 0 || sx < 0 || sy >= i32(params.h) || sx >= i32(params.w)) { return 0xffffffffu; }
  return u32(sy) * params.w + u32(sx);
}

@compute @workgroup_size(256)
fn window_affinity(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * params.row_stride;
  let hw = params.h * params.w;
  let win = window_cells();
  let width = params.n_ctx * win;
  if (i >= hw * width) { return; }
  let t = i / width;
  let f = (i % width) / win;
  let s = window_source(t, i % win);
  var a = bitcast<f32>(neg_inf_bits);
  let target_ok = params.has_target_mask == 0u || target_mask[t] != 0u;
  if (s != 0xffffffffu && target_ok && (params.has_ctx_mask == 0u || ctx_mask[f * hw + s] != 0u)) {
    let d = params.d;
    var acc = 0.0;
    for (var e = 0u; e < d; e += 1u) { acc += target_feat[t * d + e] * ctx_feat[(f * hw + s) * d + e]; }
    a = acc;
  }
  aff[i] = a;
}

@compute @workgroup_size(64)
fn transfer(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * params.row_stride;
  let hw = params.h * params.w;
  if (i >= hw * params.n_labels) { return; }
  let t = i / params.n_labels;
  let c = i % params.n_labels;
  let top = top_score[t * params.k];
  if (bitcast<u32>(top) == NEG_INF_BITS) { soft[i] = 0.0; return; }
  var kth = top;
  for (var j = 1u; j < params.k; j += 1u) {
    let v = top_score[t * params.k + j];
    if (bitcast<u32>(v) != NEG_INF_BITS) { kth = v; }
  }
  let win = window_cells();
  let width = params.n_ctx * win;
  var num = 0.0;
  var den = 0.0;
  for (var j = 0u; j < width; j += 1u) {
    let a = aff_in[t * width + j];
    if (a >= kth) {
      let wgt = exp((a - top) * params.inv_temperature);
      let f = j / win;
      let s = window_source(t, j % win);
      num += wgt * ctx_labels[(f * hw + s) * params.n_labels + c];
      den += wgt;
    }
  }
  soft[i] = num / den;
}
