// k-means on points x [n, d] (f32): k-means++ seeding driven by host uniforms, Lloyd iterations, restarts.
// Centroids of restart r live at cent[(r·k + j)·d + e]; labels of restart r at labels[r·n + i].
//   seed_first:   centroid 0 = point ⌊u₀·n⌋                                         (one invocation per dim)
//   min_distance: D²[i] = min(D²[i], ‖x_i − c_j‖²) (= ‖x_i − c_0‖² when j = 0)      (one per point)
//   sample_next:  centroid j = the first point i with Σ_{i'≤i} D²[i'] > u_j·Σ D²  (k-means++: P(i) ∝ D²[i]);
//                 if rounding leaves none, the last point with D² > 0; if every D² is 0, point ⌊u_j·n⌋.
//                 One workgroup: per_thread sums, a workgroup scan, then a scan inside the per_thread that holds it.
//   assign:       labels[i] = argmin_j ‖x_i − c_j‖² (ties to the lower j), dist[i] = that minimum
//   update:       c_j = mean of its points (an empty cluster keeps its centroid); unit-normalised when
//                 spherical = 1 (cosine k-means). One workgroup per centroid.
//   inertia:      inertia[r] = mean_i dist[i]                                        (one workgroup)
//   select_best:  b = argmin_r inertia[r] (ties to the lower r); best_labels = labels of b, best_cent = cent of b
struct Params {
  n: u32, d: u32, k: u32,
  restart: u32,       // r
  j: u32,             // centroid being seeded
  restarts: u32,
  spherical: u32,
  row_stride: u32,
  u: f32,             // the seeding uniform in [0, 1)
}

const WG: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> cent: array<f32>;      // [restarts, k, d]
@group(0) @binding(3) var<storage, read_write> min_d2: array<f32>;    // [n]
@group(0) @binding(4) var<storage, read_write> labels: array<u32>;    // [restarts, n]
@group(0) @binding(5) var<storage, read_write> dist: array<f32>;      // [n]
@group(0) @binding(6) var<storage, read_write> inertia: array<f32>;   // [restarts]
@group(0) @binding(7) var<storage, read> cent_in: array<f32>;         // [restarts, k, d]
@group(0) @binding(8) var<storage, read> labels_in: array<u32>;       // [restarts, n]
@group(0) @binding(9) var<storage, read> inertia_in: array<f32>;      // [restarts]
@group(0) @binding(10) var<storage, read_write> best_labels: array<u32>; // [n]
@group(0) @binding(11) var<storage, read_write> best_cent: array<f32>;   // [k, d]

fn centroid_base(j: u32) -> u32 { return (params.restart * params.k + j) * params.d; }

fn sq_dist(i: u32, cb: u32) -> f32 {
  var s = 0.0;
  for (var e = 0u; e < params.d; e += 1u) { let t = x[i * params.d + e] - cent[cb + e]; s += t * t; }
  return s;
}

fn copy_point(i: u32, j: u32, e: u32) { cent[centroid_base(j) + e] = x[i * params.d + e]; }

fn uniform_index() -> u32 { return min(u32(params.u * f32(params.n)), params.n - 1u); }

@compute @workgroup_size(64)
fn seed_first(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= params.d) { return; }
  copy_point(uniform_index(), 0u, gid.x);
}

@compute @workgroup_size(64)
fn min_distance(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * params.row_stride;
  if (i >= params.n) { return; }
  let v = sq_dist(i, centroid_base(params.j));
  if (params.j == 0u) { min_d2[i] = v; } else { min_d2[i] = min(min_d2[i], v); }
}

var<workgroup> scan: array<f32, WG>;
var<workgroup> chosen: atomic<u32>;
var<workgroup> last_positive: atomic<u32>; // 1 + the last index with D² > 0, 0 if none

@compute @workgroup_size(WG)
fn sample_next(@builtin(local_invocation_index) lid: u32) {
  let n = params.n;
  let per_thread = (n + WG - 1u) / WG;
  let lo = min(lid * per_thread, n);
  let hi = min(lo + per_thread, n);
  if (lid == 0u) { atomicStore(&chosen, 0xffffffffu); atomicStore(&last_positive, 0u); }
  workgroupBarrier();
  var s = 0.0;
  for (var i = lo; i < hi; i += 1u) {
    s += min_d2[i];
    if (min_d2[i] > 0.0) { atomicMax(&last_positive, i + 1u); }
  }
  scan[lid] = s;
  workgroupBarrier();
  // inclusive Hillis–Steele scan of the per_thread sums
  for (var off = 1u; off < WG; off <<= 1u) {
    var add = 0.0;
    if (lid >= off) { add = scan[lid - off]; }
    workgroupBarrier();
    scan[lid] += add;
    workgroupBarrier();
  }
  let total = scan[WG - 1u];
  let goal = params.u * total;
  var run = scan[lid] - s;
  if (total > 0.0 && run <= goal && goal < scan[lid]) {
    for (var i = lo; i < hi; i += 1u) {
      run += min_d2[i];
      if (run > goal) { atomicMin(&chosen, i); break; }
    }
  }
  workgroupBarrier();
  var pick = atomicLoad(&chosen);
  if (pick == 0xffffffffu) {
    let lp = atomicLoad(&last_positive);
    if (lp > 0u) { pick = lp - 1u; } else { pick = uniform_index(); }
  }
  for (var e = lid; e < params.d; e += WG) { copy_point(pick, params.j, e); }
}

@compute @workgroup_size(64)
fn assign(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * params.row_stride;
  if (i >= params.n) { return; }
  var best = 0u;
  var bv = sq_dist(i, centroid_base(0u));
  for (var j = 1u; j < params.k; j += 1u) {
    let v = sq_dist(i, centroid_base(j));
    if (v < bv) { bv = v; best = j; }
  }
  labels[params.restart * params.n + i] = best;
  dist[i] = bv;
}

var<workgroup> red: array<f32, WG>;

@compute @workgroup_size(WG)
fn update(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let j = wg.x;
  let lb = params.restart * params.n;
  var count = 0u;
  for (var i = 0u; i < params.n; i += 1u) { if (labels[lb + i] == j) { count += 1u; } }
  // an empty cluster keeps its centroid; no early return, so the barriers below stay in uniform control flow
  let filled = count > 0u;
  let cb = centroid_base(j);
  var sq = 0.0;
  for (var e = lid; e < params.d && filled; e += WG) {
    var s = 0.0;
    for (var i = 0u; i < params.n; i += 1u) { if (labels[lb + i] == j) { s += x[i * params.d + e]; } }
    let m = s / f32(count);
    cent[cb + e] = m;
    sq += m * m;
  }
  if (params.spherical == 0u) { return; }
  red[lid] = sq;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h >>= 1u) {
    if (lid < h) { red[lid] += red[lid + h]; }
    workgroupBarrier();
  }
  let inv = 1.0 / max(sqrt(red[0]), 1e-12);
  for (var e = lid; e < params.d && filled; e += WG) { cent[cb + e] *= inv; }
}

@compute @workgroup_size(WG)
fn mean_inertia(@builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  for (var i = lid; i < params.n; i += WG) { s += dist[i]; }
  red[lid] = s;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h >>= 1u) {
    if (lid < h) { red[lid] += red[lid + h]; }
    workgroupBarrier();
  }
  if (lid == 0u) { inertia[params.restart] = red[0] / f32(params.n); }
}

@compute @workgroup_size(64)
fn select_best(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * params.row_stride;
  var b = 0u;
  for (var r = 1u; r < params.restarts; r += 1u) { if (inertia_in[r] < inertia_in[b]) { b = r; } }
  if (i < params.n) { best_labels[i] = labels_in[b * params.n + i]; }
  if (i < params.k * params.d) { best_cent[i] = cent_in[b * params.k * params.d + i]; }
}
