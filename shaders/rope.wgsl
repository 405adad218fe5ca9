// Rotary position embedding, rotate-half convention (element i pairs with i + d/2), on x [S, H, d] (f32):
//   x'_i = x_i·cos θ_i − x_{i+d/2}·sin θ_i,   x'_{i+d/2} = x_{i+d/2}·cos θ_i + x_i·sin θ_i,   i < d/2
// with θ_i = pos_{axis(i)}[s] · inv_freq[i], the product in f32 as HF computes `freqs`. One kernel serves:
//   1D RoPE (one position stream), Qwen2.5-VL M-RoPE (three streams t/h/w chosen by mrope_section),
//   Qwen2.5-VL vision 2D RoPE (row/col streams). inv_freq [d/2] is computed on the host (see src/ops/rope.ts).
// cos/sin of large angles (positions up to 32k) are range-reduced by 2π in three parts (Cody–Waite) first.
struct Params {
  seq: u32,
  heads: u32,
  half: u32,          // d/2
  sec0: u32,          // pair index i uses axis 0 if i < sec0, axis 1 if i < sec0 + sec1, else axis 2
  sec1: u32,
  pos_axis_stride: u32,
  pos_seq_stride: u32,
  row_stride: u32,    // invocations per grid row
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> positions: array<i32>;
@group(0) @binding(2) var<storage, read> inv_freq: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read_write> xio: array<f32>;

const TWO_PI_A: f32 = 6.28125;              // 2π split so that k·A is exact for |k| < 2^15
const TWO_PI_B: f32 = 0.0019353071693331003;  // f32(2π − A)
const TWO_PI_C: f32 = 1.0253131677018246e-11;  // f32(2π − A − B)

fn cos_sin(theta: f32) -> vec2<f32> {
  let kq = round(theta * 0.15915494309189535);
  let r = ((theta - kq * TWO_PI_A) - kq * TWO_PI_B) - kq * TWO_PI_C;
  return vec2<f32>(cos(r), sin(r));
}

// (flat index of x_i, cos θ, sin θ) for invocation g, or index 0xffffffff when out of range
fn pair(g: u32) -> vec4<f32> {
  let i = g % params.half;
  let sh = g / params.half;       // s·H + h
  let s = sh / params.heads;
  var axis = 0u;
  if (i >= params.sec0) { axis = 1u; }
  if (i >= params.sec0 + params.sec1) { axis = 2u; }
  let pos = positions[axis * params.pos_axis_stride + s * params.pos_seq_stride];
  let theta = f32(pos) * inv_freq[i];
  let cs = cos_sin(theta);
  let idx = sh * 2u * params.half + i;
  return vec4<f32>(bitcast<f32>(idx), cs.x, cs.y, 0.0);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let g = gid.x + gid.y * params.row_stride;
  if (g >= params.seq * params.heads * params.half) { return; }
  let p = pair(g);
  let a = bitcast<u32>(p.x);
  let b = a + params.half;
  let x1 = x[a];
  let x2 = x[b];
  out[a] = x1 * p.y - x2 * p.z;
  out[b] = x2 * p.y + x1 * p.z;
}

@compute @workgroup_size(64)
fn in_place(@builtin(global_invocation_id) gid: vec3<u32>) {
  let g = gid.x + gid.y * params.row_stride;
  if (g >= params.seq * params.heads * params.half) { return; }
  let p = pair(g);
  let a = bitcast<u32>(p.x);
  let b = a + params.half;
  let x1 = xio[a];
  let x2 = xio[b];
  xio[a] = x1 * p.y - x2 * p.z;
  xio[b] = x2 * p.y + x1 * p.z;
}
