// KV-cache write: rows of a projection output [S, kv_heads, head_dim] go to the preallocated cache
// [kv_heads, capacity, head_dim] at positions start..start+S−1 (HF cache layout; K after RoPE, V as projected).
struct Params {
  seq: u32,        // S new positions
  kv_heads: u32,
  head_dim: u32,
  capacity: u32,   // cache rows per head
  start: u32,      // first position written
  row_stride: u32, // invocations per grid row (2D grid)
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> cache: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * params.row_stride;
  let total = params.seq * params.kv_heads * params.head_dim;
  if (i >= total) { return; }
  // i indexes src as [s][h][d]
  let d = i % params.head_dim;
  let h = (i / params.head_dim) % params.kv_heads;
  let s = i / (params.head_dim * params.kv_heads);
  cache[(h * params.capacity + params.start + s) * params.head_dim + d] = src[i];
}
