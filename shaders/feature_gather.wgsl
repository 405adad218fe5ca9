// Feature gather onto a patch grid: the source is viewed as [groups, group_rows, dim] (a KV-cache layer
// [kv_heads, capacity, head_dim], or a row tensor [rows, dim] as one group). For every output cell c and selected
// group j:  out[c, j·dim + e] = src[sel[j], pos[c], e]   (heads concatenated along the feature axis);
// cells whose pos is 0xffffffff (no token: outside the image, a newline) are written as 0. The source is f32 or
// f16 (SRC_DTYPE 0 / 1, an f16 KV cache packed two halves per word); the output is f32 (f16 widens exactly).
struct Params {
  cells: u32,      // output rows (grid cells)
  n_sel: u32,      // selected groups (heads)
  dim: u32,        // features per group
  group_rows: u32, // rows per group in src (cache capacity, or the row count)
  row_stride: u32, // invocations per grid row (2D dispatch)
}

@group(0) @binding(0) var<uniform> params: Params;
override SRC_DTYPE: u32 = 0u;

@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read> pos: array<u32>;
@group(0) @binding(3) var<storage, read> sel: array<u32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

//! include unpack16

fn src_at(e: u32) -> f32 {
  if (SRC_DTYPE == 0u) { return bitcast<f32>(src[e]); }
  return unpack16_at(src[e >> 1u], e, SRC_DTYPE);
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * params.row_stride;
  let width = params.n_sel * params.dim;
  if (i >= params.cells * width) { return; }
  let c = i / width;
  let j = (i % width) / params.dim;
  let e = i % params.dim;
  let p = pos[c];
  if (p >= params.group_rows) { out[i] = 0.0; return; }
  out[i] = src_at((sel[j] * params.group_rows + p) * params.dim + e);
}
