// KV-cache write: rows of a projection output [S, kv_heads, head_dim] go to the preallocated cache
// [kv_heads, capacity, head_dim] at positions start..start+S−1 (HF cache layout; K after RoPE, V as projected).
// `main` writes an f32 cache; `main_f16` an f16 cache (two halves per u32 word, rounded to nearest even), one word
// per invocation (head_dim even, so a word never straddles rows).
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
@group(0) @binding(3) var<storage, read_write> cache16: array<u32>;

//! include pack16

// cache index of src element i ([s][h][d])
fn cache_index(i: u32) -> u32 {
  let d = i % params.head_dim;
  let h = (i / params.head_dim) % params.kv_heads;
  let s = i / (params.head_dim * params.kv_heads);
  return (h * params.capacity + params.start + s) * params.head_dim + d;
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * params.row_stride;
  if (i >= params.seq * params.kv_heads * params.head_dim) { return; }
  cache[cache_index(i)] = src[i];
}

// word w holds src elements 2w, 2w+1 (the same row, d even)
@compute @workgroup_size(256)
fn main_f16(@builtin(global_invocation_id) gid: vec3<u32>) {
  let w = gid.x + gid.y * params.row_stride;
  if (w >= params.seq * params.kv_heads * params.head_dim / 2u) { return; }
  let i = 2u * w;
  cache16[cache_index(i) >> 1u] = pack_f16_rne(src[i], src[i + 1u]);
}
