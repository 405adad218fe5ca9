// Nearest-neighbour correspondence on bilinearly upsampled feature maps without building them (DIFT's SPair
// protocol). A map f [h, w, d] upsampled to [H, W] (align_corners = False) has at pixel p the value
// v(p) = Σ_q a_q f_q over its 4 grid neighbours q, so with a unit query u:
//   u·v(p) = Σ_q a_q (u·f_q)   and   ‖v(p)‖² = Σ_q Σ_q' a_q a_q' (f_q·f_q'),
// which needs the query's dot with every grid cell (a matmul) and each 2×2 quad's Gram matrix.
//   sample_points: u = bilinear sample of the source map at integer pixels (x, y) of an [H, W] image.
//   quad_gram:     per cell (r, c), with neighbours clamped to the grid: ‖f(r,c)‖², f(r,c)·f(r,c+1),
//                  f(r,c)·f(r+1,c), f(r,c)·f(r+1,c+1), f(r,c+1)·f(r+1,c).
//   best_pixel:    per query, argmax over the H·W pixels of cos(u, v(p)) (ties to the lower pixel index;
//                  cos = 0 where v(p) = 0), one workgroup per query.
//   pixel_xy:      the argmax pixel index as (x, y).
struct Params {
  h: u32, w: u32, d: u32,
  out_h: u32, out_w: u32,
  n_points: u32,
  scale_y: f32, scale_x: f32,
}

const WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> fmap: array<f32>;
@group(0) @binding(2) var<storage, read> points: array<u32>;      // [n_points, 2] pixel (x, y)
@group(0) @binding(3) var<storage, read_write> sampled: array<f32>; // [n_points, d]
@group(0) @binding(4) var<storage, read_write> gram: array<f32>;    // [h·w, 5]
@group(0) @binding(5) var<storage, read> dots: array<f32>;          // [n_points, h·w] = u·f_q
@group(0) @binding(6) var<storage, read> gram_in: array<f32>;       // [h·w, 5]
@group(0) @binding(7) var<storage, read_write> best_index: array<u32>; // [n_points] pixel y·W + x
@group(0) @binding(8) var<storage, read_write> best_score: array<f32>; // [n_points]
@group(0) @binding(9) var<storage, read> best_index_in: array<u32>;      // [n_points]
@group(0) @binding(10) var<storage, read_write> pixel_xy_out: array<u32>; // [n_points, 2] (x, y)

struct Lerp { y0: u32, y1: u32, x0: u32, x1: u32, ly: f32, lx: f32 }

// the 4 grid neighbours and weights of output pixel (oy, ox), torch's align_corners = False rule
fn lerp_at(oy: u32, ox: u32) -> Lerp {
  let sy = max(params.scale_y * (f32(oy) + 0.5) - 0.5, 0.0);
  let sx = max(params.scale_x * (f32(ox) + 0.5) - 0.5, 0.0);
  let y0 = min(u32(sy), params.h - 1u);
  let x0 = min(u32(sx), params.w - 1u);
  return Lerp(y0, min(y0 + 1u, params.h - 1u), x0, min(x0 + 1u, params.w - 1u), sy - f32(y0), sx - f32(x0));
}

@compute @workgroup_size(WG)
fn sample_points(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= params.n_points * params.d) { return; }
  let p = i / params.d;
  let e = i % params.d;
  let l = lerp_at(points[2u * p + 1u], points[2u * p]);
  let d = params.d;
  let w = params.w;
  let top = (1.0 - l.lx) * fmap[(l.y0 * w + l.x0) * d + e] + l.lx * fmap[(l.y0 * w + l.x1) * d + e];
  let bot = (1.0 - l.lx) * fmap[(l.y1 * w + l.x0) * d + e] + l.lx * fmap[(l.y1 * w + l.x1) * d + e];
  sampled[i] = (1.0 - l.ly) * top + l.ly * bot;
}

fn cell_dot(a: u32, b: u32) -> f32 {
  var s = 0.0;
  for (var e = 0u; e < params.d; e += 1u) { s += fmap[a * params.d + e] * fmap[b * params.d + e]; }
  return s;
}

@compute @workgroup_size(WG)
fn quad_gram(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= params.h * params.w) { return; }
  let r = c / params.w;
  let col = c % params.w;
  let r1 = min(r + 1u, params.h - 1u);
  let c1 = min(col + 1u, params.w - 1u);
  let w = params.w;
  gram[5u * c] = cell_dot(c, c);
  gram[5u * c + 1u] = cell_dot(c, r * w + c1);
  gram[5u * c + 2u] = cell_dot(c, r1 * w + col);
  gram[5u * c + 3u] = cell_dot(c, r1 * w + c1);
  gram[5u * c + 4u] = cell_dot(r * w + c1, r1 * w + col);
}

var<workgroup> red_v: array<f32, WG>;
var<workgroup> red_i: array<u32, WG>;

@compute @workgroup_size(WG)
fn best_pixel(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let q = wg.x;
  if (q >= params.n_points) { return; }
  let hw = params.h * params.w;
  let w = params.w;
  let total = params.out_h * params.out_w;
  var bv = -3.0e38;
  var bi = 0xffffffffu;
  for (var p = lid; p < total; p += WG) {
    let l = lerp_at(p / params.out_w, p % params.out_w);
    let a = (1.0 - l.ly) * (1.0 - l.lx);
    let b = (1.0 - l.ly) * l.lx;
    let c = l.ly * (1.0 - l.lx);
    let dd = l.ly * l.lx;
    let ia = l.y0 * w + l.x0; let ib = l.y0 * w + l.x1; let ic = l.y1 * w + l.x0; let id = l.y1 * w + l.x1;
    let dot = a * dots[q * hw + ia] + b * dots[q * hw + ib] + c * dots[q * hw + ic] + dd * dots[q * hw + id];
    let n2 = a * a * gram_in[5u * ia] + b * b * gram_in[5u * ib] + c * c * gram_in[5u * ic] + dd * dd * gram_in[5u * id]
      + 2.0 * (a * b * gram_in[5u * ia + 1u] + c * dd * gram_in[5u * ic + 1u] + a * c * gram_in[5u * ia + 2u]
      + b * dd * gram_in[5u * ib + 2u] + a * dd * gram_in[5u * ia + 3u] + b * c * gram_in[5u * ia + 4u]);
    var s = 0.0;
    if (n2 > 0.0) { s = dot / max(sqrt(n2), 1e-12); }
    if (bi == 0xffffffffu || s > bv) { bv = s; bi = p; }
  }
  red_v[lid] = bv;
  red_i[lid] = bi;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h >>= 1u) {
    if (lid < h) {
      let ov = red_v[lid + h];
      let oi = red_i[lid + h];
      if (oi != 0xffffffffu && (red_i[lid] == 0xffffffffu || ov > red_v[lid] || (ov == red_v[lid] && oi < red_i[lid]))) {
        red_v[lid] = ov;
        red_i[lid] = oi;
      }
    }
    workgroupBarrier();
  }
  if (lid == 0u) { best_index[q] = red_i[0]; best_score[q] = red_v[0]; }
}


// pixel_xy: row-major pixel index p of an out_w-wide image -> (p mod out_w, p div out_w)
@compute @workgroup_size(WG)
fn pixel_xy(@builtin(global_invocation_id) gid: vec3<u32>) {
  let q = gid.x;
  if (q >= params.n_points) { return; }
  let p = best_index_in[q];
  pixel_xy_out[2u * q] = p % params.out_w;
  pixel_xy_out[2u * q + 1u] = p / params.out_w;
}
