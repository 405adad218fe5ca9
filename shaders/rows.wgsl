// Row copies between 2D views [rows, stride] of 32-bit tensors (f32 or u32, copied as bits):
//   dst[dst_row(r), dst_col0 + c] = src[src_row(r), src_col0 + c]    for r < n_rows, c < width
// with src_row(r) = index[r] (mode 1, gather) or src_row0 + r, and dst_row(r) = index[r] (mode 2, scatter) or
// dst_row0 + r. Indices outside the indexed tensor's rows are skipped (never read or written out of bounds).
// Row-chunked tensors are copied chunk by chunk: index_off is the index entry of row r = 0, and index_base the first
// row the bound chunk of the indexed tensor holds (index[·] − index_base wraps past src_rows / dst_rows when below).
// Slicing, concatenation, gather/scatter of rows (image features into the sequence) and column slices all use it.
struct Params {
  n_rows: u32, width: u32,
  src_stride: u32, src_col0: u32, src_row0: u32, src_rows: u32,
  dst_stride: u32, dst_col0: u32, dst_row0: u32, dst_rows: u32,
  mode: u32, row_stride: u32, index_off: u32, index_base: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read> index: array<u32>;
@group(0) @binding(3) var<storage, read_write> dst: array<u32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * params.row_stride;
  if (i >= params.n_rows * params.width) { return; }
  let r = i / params.width;
  let c = i % params.width;
  var sr = params.src_row0 + r;
  var dr = params.dst_row0 + r;
  if (params.mode == 1u) { sr = index[params.index_off + r] - params.index_base; }
  if (params.mode == 2u) { dr = index[params.index_off + r] - params.index_base; }
  if (sr >= params.src_rows || dr >= params.dst_rows) { return; }
  dst[dr * params.dst_stride + params.dst_col0 + c] = src[sr * params.src_stride + params.src_col0 + c];
}
