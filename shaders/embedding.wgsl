// Embedding gather: out[s, :] = table[ids[s], :] for the ids that fall in this row-chunk of the table
// (rows row_start .. row_start + rows − 1); table in f32 | f16 | bf16 (packed), out f32 [S, H].
// Ids outside the whole table (≥ vocab) give a zero row — the shader never reads out of bounds.
struct Params { seq: u32, hidden: u32, row_start: u32, rows: u32, vocab: u32, row_stride: u32 }

override W_DTYPE: u32 = 0u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read> table: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

//! include unpack16

fn table_at(e: u32) -> f32 {
  if (W_DTYPE == 0u) { return bitcast<f32>(table[e]); }
  return unpack16_at(table[e >> 1u], e, W_DTYPE);
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * params.row_stride;
  if (i >= params.seq * params.hidden) { return; }
  let s = i / params.hidden;
  let c = i % params.hidden;
  let id = ids[s];
  if (id >= params.vocab) {
    if (params.row_start == 0u) { out[i] = 0.0; }  // written once, by the first chunk's dispatch
    return;
  }
  if (id < params.row_start || id >= params.row_start + params.rows) { return; }
  out[i] = table_at((id - params.row_start) * params.hidden + c);
}
