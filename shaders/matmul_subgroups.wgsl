// Decode y = x·Wᵀ + b (M = 1, K % 4 == 0) with subgroup reductions: compiled only where the device offers
// `subgroups` (SHADER_FEATURES in src/gpu/shaderList.ts), used only where its self-test passed
// (src/gpu/selfTest.ts). Same bindings and Params as matmul.wgsl's gemv_split_*: one workgroup of WG invocations
// per TN = 4 weight rows; invocation i sums the vec4 indices i, i + WG, … of each row, subgroupAdd reduces each
// subgroup, and the subgroup sums meet in workgroup memory: each invocation posts its subgroup's sum and its lane
// id, invocation 0 adds those posted by lane 0s (no layout of subgroups over the workgroup is assumed). One
// barrier, where gemv_split_* has log2(WG) + 1.
enable subgroups;

struct Params {
  m: u32,
  n: u32,
  k: u32,
  n_offset: u32,
  n_rows: u32,
  has_bias: u32,
  x_row0: u32,
  y_row0: u32,
}

override W_DTYPE: u32 = 0u;   // 0 f32, 1 f16, 2 bf16
override B_DTYPE: u32 = 0u;
override WG: u32 = 64u;       // invocations per workgroup, ≤ 256

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> w4f: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> w4h: array<vec2<u32>>;
@group(0) @binding(6) var<storage, read> bias: array<u32>;
@group(0) @binding(7) var<storage, read_write> y: array<f32>;

const TN: u32 = 4u;

//! include unpack16

fn bias_at(n: u32) -> f32 {
  if (params.has_bias == 0u) { return 0.0; }
  if (B_DTYPE == 0u) { return bitcast<f32>(bias[n]); }
  return unpack16_at(bias[n >> 1u], n, B_DTYPE);
}

var<workgroup> part: array<vec4<f32>, 256>;
var<workgroup> lanes: array<u32, 256>;

// s: this invocation's partial sums of rows c0 .. c0+3
fn reduce_store(s: vec4<f32>, c0: u32, li: u32, lane: u32) {
  part[li] = subgroupAdd(s);
  lanes[li] = lane;
  workgroupBarrier();
  if (li == 0u) {
    var total = vec4<f32>(0.0);
    for (var i = 0u; i < WG; i++) {
      if (lanes[i] == 0u) { total += part[i]; }
    }
    for (var j = 0u; j < TN; j++) {
      let c = c0 + j;
      if (c < params.n_rows) {
        let n = params.n_offset + c;
        y[params.y_row0 * params.n + n] = total[j] + bias_at(n);
      }
    }
  }
}

@compute @workgroup_size(WG)
fn gemv_sg_f32(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32,
               @builtin(subgroup_invocation_id) lane: u32) {
  let c0 = (wg.x + wg.y * nwg.x) * TN;
  let k4 = params.k / 4u;
  let xb = params.x_row0 * k4;
  let last = params.n_rows - 1u;
  let w0 = min(c0, last) * k4; let w1 = min(c0 + 1u, last) * k4; let w2 = min(c0 + 2u, last) * k4; let w3 = min(c0 + 3u, last) * k4;
  var s = vec4<f32>(0.0);
  for (var q = li; q < k4; q += WG) {
    let a = x4[xb + q];
    s += vec4<f32>(dot(a, w4f[w0 + q]), dot(a, w4f[w1 + q]), dot(a, w4f[w2 + q]), dot(a, w4f[w3 + q]));
  }
  reduce_store(s, c0, li, lane);
}

@compute @workgroup_size(WG)
fn gemv_sg_16(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32,
              @builtin(subgroup_invocation_id) lane: u32) {
  let c0 = (wg.x + wg.y * nwg.x) * TN;
  let k = params.k; let k4 = k / 4u;
  let xb = params.x_row0 * k4;
  let last = params.n_rows - 1u;
  let w0 = min(c0, last) * k; let w1 = min(c0 + 1u, last) * k; let w2 = min(c0 + 2u, last) * k; let w3 = min(c0 + 3u, last) * k;
  var s = vec4<f32>(0.0);
  for (var q = li; q < k4; q += WG) {
    let a = x4[xb + q];
    let e = 4u * q;
    s += vec4<f32>(dot(a, unpack16_vec4(w4h[(w0 + e) >> 2u], W_DTYPE)), dot(a, unpack16_vec4(w4h[(w1 + e) >> 2u], W_DTYPE)),
                   dot(a, unpack16_vec4(w4h[(w2 + e) >> 2u], W_DTYPE)), dot(a, unpack16_vec4(w4h[(w3 + e) >> 2u], W_DTYPE)));
  }
  reduce_store(s, c0, li, lane);
}
