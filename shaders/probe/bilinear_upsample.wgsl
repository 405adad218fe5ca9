// Bilinear resize of a feature map x [h, w, d] to y [out_h, out_w, d] (f32), align_corners = False as torch
// F.interpolate: source coordinate s = (o + ½)·(in/out) − ½, clamped at 0; y = the 4-neighbour lerp at s, the
// upper neighbour clamped to the last row/column. One invocation per output element.
struct Params { h: u32, w: u32, d: u32, out_h: u32, out_w: u32, row_stride: u32, scale_y: f32, scale_x: f32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * params.row_stride;
  if (i >= params.out_h * params.out_w * params.d) { return; }
  let e = i % params.d;
  let cell = i / params.d;
  let oy = cell / params.out_w;
  let ox = cell % params.out_w;
  let sy = max(params.scale_y * (f32(oy) + 0.5) - 0.5, 0.0);
  let sx = max(params.scale_x * (f32(ox) + 0.5) - 0.5, 0.0);
  let y0 = min(u32(sy), params.h - 1u);
  let x0 = min(u32(sx), params.w - 1u);
  let y1 = min(y0 + 1u, params.h - 1u);
  let x1 = min(x0 + 1u, params.w - 1u);
  let ly = sy - f32(y0);
  let lx = sx - f32(x0);
  let d = params.d;
  let top = (1.0 - lx) * x[(y0 * params.w + x0) * d + e] + lx * x[(y0 * params.w + x1) * d + e];
  let bot = (1.0 - lx) * x[(y1 * params.w + x0) * d + e] + lx * x[(y1 * params.w + x1) * d + e];
  y[i] = (1.0 - ly) * top + ly * bot;
}
