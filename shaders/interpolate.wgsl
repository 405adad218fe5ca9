// Bilinear resize of a channels-last feature map [in_h, in_w, C] -> [out_h, out_w, C], as torch
// `F.interpolate(mode="bilinear", align_corners=False, antialias=False)` given an output size:
//   src = max(scale·(dst + 0.5) − 0.5, 0) with scale = in/out per axis;  i0 = min(floor(src), in − 1),
//   i1 = i0 + (i0 < in − 1),  λ = src − i0;
//   out[y, x, c] = (1−λy)·((1−λx)·in[y0, x0, c] + λx·in[y0, x1, c]) + λy·((1−λx)·in[y1, x0, c] + λx·in[y1, x1, c]).
// One invocation per output element (LLaVA-OneVision's anyres_max downscale of the projected crop-grid features).
// A dispatch writes n elements: output pixels out_p0.. (pixel p = oy·out_w + ox) of the bound y, which holds pixels
// from out_base on; the bound x holds input rows from in_y0 on (a band of a map past one storage binding; else 0).
struct Params {
  in_h: u32, in_w: u32, channels: u32,
  out_h: u32, out_w: u32,
  scale_h: f32, scale_w: f32,
  row_stride: u32,
  n: u32, out_p0: u32, out_base: u32, in_y0: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

// Source index pair and weight of the second along one axis.
fn source(dst: u32, scale: f32, size: u32) -> vec3<f32> {
  let s = max(scale * (f32(dst) + 0.5) - 0.5, 0.0);
  let i0 = min(u32(floor(s)), size - 1u);
  let i1 = i0 + select(0u, 1u, i0 < size - 1u);
  let lambda = clamp(s - f32(i0), 0.0, 1.0);
  return vec3<f32>(f32(i0), f32(i1), lambda);
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * params.row_stride;
  let c_n = params.channels;
  if (i >= params.n) { return; }
  let c = i % c_n;
  let p = params.out_p0 + i / c_n;
  let ox = p % params.out_w;
  let oy = p / params.out_w;
  let sy = source(oy, params.scale_h, params.in_h);
  let sx = source(ox, params.scale_w, params.in_w);
  let y0 = u32(sy.x) - params.in_y0; let y1 = u32(sy.y) - params.in_y0; let ly = sy.z;
  let x0 = u32(sx.x); let x1 = u32(sx.y); let lx = sx.z;
  let w = params.in_w;
  let v00 = x[(y0 * w + x0) * c_n + c];
  let v01 = x[(y0 * w + x1) * c_n + c];
  let v10 = x[(y1 * w + x0) * c_n + c];
  let v11 = x[(y1 * w + x1) * c_n + c];
  y[(p - params.out_base) * c_n + c] = (1.0 - ly) * ((1.0 - lx) * v00 + lx * v01) + ly * ((1.0 - lx) * v10 + lx * v11);
}
