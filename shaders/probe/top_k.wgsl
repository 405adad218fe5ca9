// Top-k per row of a score matrix s [rows, m] (f32), k ≤ 32: indices (u32 [rows, k]) and scores (f32 [rows, k])
// in descending score order, ties to the lower column (a stable sort). Columns whose key mask is 0 (has_mask = 1),
// NaN and −∞ scores are never chosen; slots beyond the candidates get index 0xffffffff and score −∞.
// One workgroup per row: each invocation keeps a sorted top-k of its strided columns, then k rounds of a
// workgroup max-reduction over the list heads pop the winners in order.
struct Params { rows: u32, m: u32, k: u32, has_mask: u32, row_stride: u32 }

const WG: u32 = 32u;
const KMAX: u32 = 32u;
const NONE: u32 = 0xffffffffu;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> scores: array<f32>;
@group(0) @binding(2) var<storage, read> key_mask: array<u32>;
@group(0) @binding(3) var<storage, read_write> out_index: array<u32>;
@group(0) @binding(4) var<storage, read_write> out_score: array<f32>;
// −∞ made at run time: a constant −∞ is not representable in WGSL (Tint rejects it; naga lets it through)
var<private> neg_inf_bits: u32 = 0xff800000u;

var<workgroup> head_v: array<f32, WG>;
var<workgroup> head_i: array<u32, WG>;
var<workgroup> head_t: array<u32, WG>;

// does (v, i) rank before (bv, bi)? higher score first, then lower index; NONE ranks last
fn before(v: f32, i: u32, bv: f32, bi: u32) -> bool {
  if (i == NONE) { return false; }
  if (bi == NONE) { return true; }
  return v > bv || (v == bv && i < bi);
}

fn is_candidate(v: f32) -> bool {
  let b = bitcast<u32>(v);
  let nan = (b & 0x7f800000u) == 0x7f800000u && (b & 0x007fffffu) != 0u;
  return !nan && b != 0xff800000u;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wg.x + wg.y * params.row_stride;
  if (row >= params.rows) { return; }
  let k = params.k;
  var lv: array<f32, KMAX>;
  var li: array<u32, KMAX>;
  var cnt = 0u;
  // this invocation's sorted top-k over columns lid, lid + WG, … (increasing, so equal scores keep column order)
  for (var j = lid; j < params.m; j += WG) {
    if (params.has_mask != 0u && key_mask[j] == 0u) { continue; }
    let v = scores[row * params.m + j];
    if (!is_candidate(v)) { continue; }
    var p: u32;
    if (cnt < k) { p = cnt; cnt += 1u; } else if (v > lv[k - 1u]) { p = k - 1u; } else { continue; }
    while (p > 0u && v > lv[p - 1u]) { lv[p] = lv[p - 1u]; li[p] = li[p - 1u]; p -= 1u; }
    lv[p] = v;
    li[p] = j;
  }
  var head = 0u;
  for (var t = 0u; t < k; t += 1u) {
    if (head < cnt) { head_v[lid] = lv[head]; head_i[lid] = li[head]; } else { head_v[lid] = 0.0; head_i[lid] = NONE; }
    head_t[lid] = lid;
    workgroupBarrier();
    for (var h = WG / 2u; h > 0u; h >>= 1u) {
      if (lid < h && before(head_v[lid + h], head_i[lid + h], head_v[lid], head_i[lid])) {
        head_v[lid] = head_v[lid + h];
        head_i[lid] = head_i[lid + h];
        head_t[lid] = head_t[lid + h];
      }
      workgroupBarrier();
    }
    let win_i = head_i[0];
    if (lid == 0u) {
      out_index[row * k + t] = win_i;
      out_score[row * k + t] = select(head_v[0], bitcast<f32>(neg_inf_bits), win_i == NONE);
    }
    if (win_i != NONE && head_t[0] == lid) { head += 1u; }
    workgroupBarrier();
  }
}
