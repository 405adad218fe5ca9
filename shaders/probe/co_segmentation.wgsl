// Saliency voting of co-segmentation (Amir et al.; protocols §3.2) over pooled descriptors with cluster labels.
// Image m holds descriptors offset[m] .. offset[m] + count[m] − 1.
//   votes:      vote[m·k + c] = 1 if the mean saliency of image m's descriptors in cluster c exceeds the threshold
//               (an empty cluster gives no vote)                                   (one invocation per (m, c))
//   foreground: fg[i] = 1 if descriptor i's cluster has at least min_votes votes   (one per descriptor)
struct Params { n: u32, k: u32, images: u32, min_votes: u32, row_stride: u32, threshold: f32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> labels: array<u32>;     // [n]
@group(0) @binding(2) var<storage, read> saliency: array<f32>;   // [n]
@group(0) @binding(3) var<storage, read> ranges: array<u32>;     // [images, 2] (offset, count)
@group(0) @binding(4) var<storage, read_write> vote: array<u32>; // [images, k]
@group(0) @binding(5) var<storage, read> vote_in: array<u32>;    // [images, k]
@group(0) @binding(6) var<storage, read_write> fg: array<u32>;   // [n]

@compute @workgroup_size(64)
fn votes(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= params.images * params.k) { return; }
  let m = i / params.k;
  let c = i % params.k;
  var s = 0.0;
  var count = 0u;
  for (var j = ranges[2u * m]; j < ranges[2u * m] + ranges[2u * m + 1u]; j += 1u) {
    if (labels[j] == c) { s += saliency[j]; count += 1u; }
  }
  vote[i] = select(0u, 1u, count > 0u && s / f32(max(count, 1u)) > params.threshold);
}

@compute @workgroup_size(64)
fn foreground(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * params.row_stride;
  if (i >= params.n) { return; }
  let c = labels[i];
  var v = 0u;
  for (var m = 0u; m < params.images; m += 1u) { v += vote_in[m * params.k + c]; }
  fg[i] = select(0u, 1u, v >= params.min_votes);
}
