// Binary logistic regression p = σ(w·x̃ + b) trained full-batch on the GPU, x̃ = (x − μ)·s the standardised
// features (μ = column mean, s = 1/√(var + eps), population variance; μ = 0, s = 1 without standardisation).
// Loss: mean binary cross-entropy + ½λ‖w‖² (no decay on b).
//   moments:  stats[e] = μ_e, stats[d + e] = s_e                                  (one invocation per column)
//   residual: r_i = σ(w·x̃_i + b) − y_i                                            (one per row)
//   step:     g_e = (1/n) Σ_i r_i x̃_ie + λ w_e (g_b = mean r); Adam (β₁, β₂, eps, bias-corrected through
//             c1 = 1/(1 − β₁ᵗ), c2 = 1/(1 − β₂ᵗ)) or plain gradient descent        (one per weight, bias at e = d)
//   predict:  p_i = σ(w·x̃_i + b) for query rows
struct Params {
  n: u32, d: u32,
  standardize: u32,
  adam: u32,
  row_stride: u32,
  lr: f32, weight_decay: f32,
  beta1: f32, beta2: f32, adam_eps: f32, c1: f32, c2: f32,
  var_eps: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;          // [n, d]
@group(0) @binding(2) var<storage, read> y: array<f32>;          // [n] in {0, 1}
@group(0) @binding(3) var<storage, read_write> stats: array<f32>;  // [2, d]
@group(0) @binding(4) var<storage, read> stats_in: array<f32>;   // [2, d]
@group(0) @binding(5) var<storage, read_write> resid: array<f32>;  // [n]
@group(0) @binding(6) var<storage, read> resid_in: array<f32>;   // [n]
@group(0) @binding(7) var<storage, read_write> theta: array<f32>;  // [d + 1] w then b
@group(0) @binding(8) var<storage, read> theta_in: array<f32>;   // [d + 1]
@group(0) @binding(9) var<storage, read_write> moment1: array<f32>; // [d + 1]
@group(0) @binding(10) var<storage, read_write> moment2: array<f32>; // [d + 1]
@group(0) @binding(11) var<storage, read_write> prob: array<f32>;  // [n]

fn std_x(i: u32, e: u32) -> f32 { return (x[i * params.d + e] - stats_in[e]) * stats_in[params.d + e]; }

fn logit(i: u32) -> f32 {
  var z = theta_in[params.d];
  for (var e = 0u; e < params.d; e += 1u) { z += theta_in[e] * std_x(i, e); }
  return z;
}

fn sigmoid(z: f32) -> f32 {
  if (z >= 0.0) { return 1.0 / (1.0 + exp(-z)); }
  let t = exp(z);
  return t / (1.0 + t);
}

@compute @workgroup_size(64)
fn moments(@builtin(global_invocation_id) gid: vec3<u32>) {
  let e = gid.x;
  if (e >= params.d) { return; }
  if (params.standardize == 0u) { stats[e] = 0.0; stats[params.d + e] = 1.0; return; }
  var s = 0.0;
  for (var i = 0u; i < params.n; i += 1u) { s += x[i * params.d + e]; }
  let mu = s / f32(params.n);
  var v = 0.0;
  for (var i = 0u; i < params.n; i += 1u) { let t = x[i * params.d + e] - mu; v += t * t; }
  stats[e] = mu;
  stats[params.d + e] = 1.0 / sqrt(v / f32(params.n) + params.var_eps);
}

@compute @workgroup_size(64)
fn residual(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * params.row_stride;
  if (i >= params.n) { return; }
  resid[i] = sigmoid(logit(i)) - y[i];
}

@compute @workgroup_size(64)
fn step(@builtin(global_invocation_id) gid: vec3<u32>) {
  let e = gid.x;
  if (e > params.d) { return; }
  var g = 0.0;
  if (e == params.d) {
    for (var i = 0u; i < params.n; i += 1u) { g += resid_in[i]; }
    g /= f32(params.n);
  } else {
    for (var i = 0u; i < params.n; i += 1u) { g += resid_in[i] * std_x(i, e); }
    g = g / f32(params.n) + params.weight_decay * theta[e];
  }
  if (params.adam == 0u) { theta[e] -= params.lr * g; return; }
  let m = params.beta1 * moment1[e] + (1.0 - params.beta1) * g;
  let v = params.beta2 * moment2[e] + (1.0 - params.beta2) * g * g;
  moment1[e] = m;
  moment2[e] = v;
  theta[e] -= params.lr * (m * params.c1) / (sqrt(v * params.c2) + params.adam_eps);
}

@compute @workgroup_size(64)
fn predict(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * params.row_stride;
  if (i >= params.n) { return; }
  prob[i] = sigmoid(logit(i));
}
