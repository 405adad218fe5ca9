// Elementwise activations on f32 (HF ACT2FN semantics), selected by the ACT override:
//   0 silu        x·σ(x)
//   1 gelu        0.5·x·(1 + erf(x/√2))                      exact GELU ("gelu"), erf below
//   2 gelu_tanh   0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))  ("gelu_pytorch_tanh")
//   3 quick_gelu  x·σ(1.702·x)
// `main`: out = act(x). `gated`: out = act(gate)·up (HF gated MLP: down(silu(gate(x)) ⊙ up(x))).
// `gated_fused`: the same from one [rows, 2I] tensor whose first I columns are gate, the rest up.
// `gated_fused_h`: gated_fused into an f16 out (the f16 activation path): halves packed two per u32, rounded to
// nearest even from the f32 product (include/pack16.wgsl); I even, n and out_off count elements, one word per invocation.
// A dispatch covers n outputs of one run of rows; in_off / up_off / out_off are the element offsets of that run's
// first row in the bound chunk of x (or gate, or gate_up), up and out (0 unless the tensors are row-chunked).
struct Params { n: u32, inner: u32, row_stride: u32, in_off: u32, up_off: u32, out_off: u32 }

override ACT: u32 = 0u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gate: array<f32>;
@group(0) @binding(3) var<storage, read> up: array<f32>;
@group(0) @binding(4) var<storage, read> gate_up: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<storage, read_write> out16: array<u32>;

//! include pack16

// σ(x) without overflow: exp(−x) → inf gives 0
fn sigmoid(v: f32) -> f32 { return 1.0 / (1.0 + exp(-v)); }

// 1 + erf(z) in f32 without cancellation for negative z:
//   |z| < 1:       1 + z·P(z²)                        (P degree 6)
//   1 ≤ |z| < 6:   erfc(|z|) = e^(−z²)·R((|z| − 3.5)/2.5), R ≈ erfcx (degree 18);  1 + erf = 2 − erfc for z > 0
//   |z| ≥ 6:       0 or 2                              (erfc(6) = 2e−17)
// Coefficients are least-squares fits on Chebyshev nodes in float64, made for this file; their own error is
// < 2e−10 relative, so f32 rounding dominates.
fn one_plus_erf(v: f32) -> f32 {
  let a = abs(v);
  if (a < 1.0) {
    let t = v * v;
    return 1.0 + v * fma(fma(fma(fma(fma(fma(7.933493869722772e-05, t, -0.0008034846647285737), t, 0.005191218377441894), t, -0.026855399452375747), t, 0.11283625725102546), t, -0.376126298776786), t, 1.1283791665931544);
  }
  if (a >= 6.0) { return select(0.0, 2.0, v > 0.0); }
  let z = (a - 3.5) / 2.5;
  let erfc = exp(-a * a) * fma(fma(fma(fma(fma(fma(fma(fma(fma(fma(fma(fma(fma(fma(fma(fma(fma(fma(9.836272532999459e-06, z, -2.0223656996831172e-05), z, -3.297093260791924e-06), z, 4.241730129231733e-06), z, 7.94944899526319e-05), z, -0.00015349347330026862), z, 0.0002079399364627266), z, -0.0004065495854402645), z, 0.0008298341226418895), z, -0.0015434460087978285), z, 0.0028012402464141686), z, -0.005025477185420544), z, 0.008833751509284431), z, -0.015182842033588063), z, 0.025495533633041165), z, -0.04176676903994256), z, 0.0666320832517518), z, -0.10330894490523992), z, 0.1552936556048584);
  return select(erfc, 2.0 - erfc, v > 0.0);
}

fn act(v: f32) -> f32 {
  switch ACT {
    case 0u: { return v * sigmoid(v); }
    case 1u: { return 0.5 * v * one_plus_erf(v * 0.7071067811865476); }
    // 1 + tanh(u) = 2σ(2u): no cancellation for negative u, no inf/inf for large |u|
    case 2u: { return v * sigmoid(1.5957691216057308 * (v + 0.044715 * v * v * v)); }
    default: { return v * sigmoid(1.702 * v); }
  }
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * params.row_stride;
  if (i >= params.n) { return; }
  out[params.out_off + i] = act(x[params.in_off + i]);
}

@compute @workgroup_size(256)
fn gated(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * params.row_stride;
  if (i >= params.n) { return; }
  out[params.out_off + i] = act(gate[params.in_off + i]) * up[params.up_off + i];
}

@compute @workgroup_size(256)
fn gated_fused(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * params.row_stride;
  if (i >= params.n) { return; }
  out[params.out_off + i] = gated_at(i);
}

fn gated_at(i: u32) -> f32 {
  let r = i / params.inner;
  let c = i % params.inner;
  let base = params.in_off + r * 2u * params.inner;
  return act(gate_up[base + c]) * gate_up[base + params.inner + c];
}

@compute @workgroup_size(256)
fn gated_fused_h(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j = gid.x + gid.y * params.row_stride;
  if (2u * j >= params.n) { return; }
  out16[(params.out_off + 2u * j) / 2u] = pack_f16_rne(gated_at(2u * j), gated_at(2u * j + 1u));
}
