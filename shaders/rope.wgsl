// Rotary position embedding, rotate-half convention (element i pairs with i + d/2), on x [S, H, d] (f32):
//   x'_i = x_i·cos θ_i − x_{i+d/2}·sin θ_i,   x'_{i+d/2} = x_{i+d/2}·cos θ_i + x_i·sin θ_i,   i < d/2
// with θ_i = pos_{axis(i)}[s] · inv_freq[i], the product in f32 as HF computes `freqs`. One kernel serves:
//   1D RoPE (one position stream), Qwen2.5-VL M-RoPE (three streams t/h/w chosen by mrope_section),
//   Qwen2.5-VL vision 2D RoPE (row/col streams). inv_freq [d/2] is computed on the host (see src/ops/rope.ts).
// `to_cache` writes the rotated rows straight into a KV cache [H][capacity][d] at positions start.. (RoPE then
// kv_write in one dispatch); `to_cache_f16` the same into an f16 cache (two halves per u32 word, rounded to
// nearest even): one invocation per two adjacent pairs (i, i+1), so d/2 must be even.
struct Params {
  seq: u32,
  heads: u32,
  half: u32,          // d/2
  sec0: u32,          // pair index i uses axis 0 if i < sec0, axis 1 if i < sec0 + sec1, else axis 2
  sec1: u32,
  pos_axis_stride: u32,
  pos_seq_stride: u32,
  row_stride: u32,    // invocations per grid row
  capacity: u32,      // to_cache: the cache's positions per head ([H][capacity][d])
  start: u32,         // to_cache: cache position of row 0
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> positions: array<i32>;
@group(0) @binding(2) var<storage, read> inv_freq: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read_write> xio: array<f32>;
@group(0) @binding(6) var<storage, read_write> out16: array<u32>;

//! include pack16

// cos θ and sin θ to a few ulp on any adapter: WGSL only promises 2^-11 absolute error for cos/sin (SwiftShader
// is that coarse, and large angles are worse), so reduce θ = qπ/2 + y in three parts (Cody–Waite: A and B have
// 8 significant bits, so q·A and q·B are exact for |q| < 2^16, i.e. |θ| < 102943 — positions to ~100k) and
// evaluate Taylor polynomials on [−π/4, π/4] (truncation < 2e-9).
const HALF_PI_A: f32 = 1.5703125;               // 201·2^-7
const HALF_PI_B: f32 = 0.0004825592041015625;   // 253·2^-19
const HALF_PI_C: f32 = 1.2675908465098473e-06;  // f32(π/2 − A − B)

fn cos_sin(theta: f32) -> vec2<f32> {
  let q = round(theta * 0.6366197723675814);
  let y = ((theta - q * HALF_PI_A) - q * HALF_PI_B) - q * HALF_PI_C;
  let y2 = y * y;
  // sin y = y − y³/3! + y⁵/5! − y⁷/7! + y⁹/9!;  cos y = 1 − y²/2! + y⁴/4! − y⁶/6! + y⁸/8!
  let s = y * fma(y2, fma(y2, fma(y2, fma(y2, 2.7557319e-6, -1.9841270e-4), 8.3333333e-3), -1.6666667e-1), 1.0);
  let c = fma(y2, fma(y2, fma(y2, fma(y2, 2.4801587e-5, -1.3888889e-3), 4.1666667e-2), -0.5), 1.0);
  // quadrant k = q mod 4: (cos, sin)(kπ/2 + y)
  let k = i32(q) & 3;
  if (k == 0) { return vec2<f32>(c, s); }
  if (k == 1) { return vec2<f32>(-s, c); }
  if (k == 2) { return vec2<f32>(-c, -s); }
  return vec2<f32>(s, -c);
}

// One rotation: x_a pairs with x_{a + d/2}, both turned by θ.
struct Pair { a: u32, cs: vec2<f32> }

// The pair for invocation g (g < S·H·d/2): i = g mod d/2, (s, h) from g div d/2, θ = f32(pos · inv_freq[i]).
fn pair(g: u32) -> Pair {
  let i = g % params.half;
  let sh = g / params.half;       // s·H + h
  let s = sh / params.heads;
  var axis = 0u;
  if (i >= params.sec0) { axis = 1u; }
  if (i >= params.sec0 + params.sec1) { axis = 2u; }
  let pos = positions[axis * params.pos_axis_stride + s * params.pos_seq_stride];
  let theta = f32(pos) * inv_freq[i];
  return Pair(sh * 2u * params.half + i, cos_sin(theta));
}

// (x_a, x_b) turned by θ: (x_a·cos θ − x_b·sin θ, x_b·cos θ + x_a·sin θ)
fn rotate(x1: f32, x2: f32, cs: vec2<f32>) -> vec2<f32> {
  return vec2<f32>(x1 * cs.x - x2 * cs.y, x2 * cs.x + x1 * cs.y);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let g = gid.x + gid.y * params.row_stride;
  if (g >= params.seq * params.heads * params.half) { return; }
  let p = pair(g);
  let a = p.a;
  let b = a + params.half;
  let r = rotate(x[a], x[b], p.cs);
  out[a] = r.x;
  out[b] = r.y;
}

@compute @workgroup_size(64)
fn in_place(@builtin(global_invocation_id) gid: vec3<u32>) {
  let g = gid.x + gid.y * params.row_stride;
  if (g >= params.seq * params.heads * params.half) { return; }
  let p = pair(g);
  let a = p.a;
  let b = a + params.half;
  let r = rotate(xio[a], xio[b], p.cs);
  xio[a] = r.x;
  xio[b] = r.y;
}

// x [S, H, d] rotated into cache[h, start + s, :]
@compute @workgroup_size(64)
fn to_cache(@builtin(global_invocation_id) gid: vec3<u32>) {
  let g = gid.x + gid.y * params.row_stride;
  if (g >= params.seq * params.heads * params.half) { return; }
  let p = pair(g);
  let a = p.a;
  let b = a + params.half;
  let r = rotate(x[a], x[b], p.cs);
  let d = 2u * params.half;
  let sh = a / d;
  let s = sh / params.heads;
  let h = sh % params.heads;
  let at = (h * params.capacity + params.start + s) * d + a % d;
  out[at] = r.x;
  out[at + params.half] = r.y;
}

// pairs 2w, 2w+1 of x [S, H, d] rotated into the f16 cache[h, start + s, :]: words a/2 and (a + d/2)/2
@compute @workgroup_size(64)
fn to_cache_f16(@builtin(global_invocation_id) gid: vec3<u32>) {
  let w = gid.x + gid.y * params.row_stride;
  if (w >= params.seq * params.heads * params.half / 2u) { return; }
  let p0 = pair(2u * w);
  let p1 = pair(2u * w + 1u);
  let a = p0.a;
  let r0 = rotate(x[a], x[a + params.half], p0.cs);
  let r1 = rotate(x[a + 1u], x[a + 1u + params.half], p1.cs);
  let d = 2u * params.half;
  let sh = a / d;
  let s = sh / params.heads;
  let h = sh % params.heads;
  let at = (h * params.capacity + params.start + s) * d + a % d;
  out16[at >> 1u] = pack_f16_rne(r0.x, r1.x);
  out16[(at + params.half) >> 1u] = pack_f16_rne(r0.y, r1.y);
}
