// Score maps to labels. scores [cells, C] (f32), optional cell mask (u32 [cells]).
//   threshold:  mask[i] = 1 if cell i is valid and scores[i, 0] > threshold, else 0   (C = 1)
//   label:      label[i] = 1 + argmax_c scores[i, c] (ties to the lower c) if valid and the max > threshold,
//               else 0 (background). One invocation per cell.
struct Params { cells: u32, classes: u32, has_mask: u32, row_stride: u32, threshold: f32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> scores: array<f32>;
@group(0) @binding(2) var<storage, read> cell_mask: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<u32>;

fn valid(i: u32) -> bool { return params.has_mask == 0u || cell_mask[i] != 0u; }

@compute @workgroup_size(64)
fn threshold(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * params.row_stride;
  if (i >= params.cells) { return; }
  out[i] = select(0u, 1u, valid(i) && scores[i] > params.threshold);
}

@compute @workgroup_size(64)
fn label(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * params.row_stride;
  if (i >= params.cells) { return; }
  var best = 0u;
  var bv = scores[i * params.classes];
  for (var c = 1u; c < params.classes; c += 1u) {
    let v = scores[i * params.classes + c];
    if (v > bv) { bv = v; best = c; }
  }
  out[i] = select(0u, best + 1u, valid(i) && bv > params.threshold);
}
