// Self-test for subgroups: subgroupAdd over each subgroup must equal the sum of its lanes' values.
enable subgroups;

struct Params { n: u32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(subgroup_invocation_id) lane: u32,
        @builtin(subgroup_size) size: u32) {
  let i = gid.x;
  let s = subgroupAdd(a[i]);
  // out[i] = the subgroup sum, out[n + i] = the subgroup size this lane saw, out[2n + i] = its lane id
  out[i] = s;
  out[params.n + i] = f32(size);
  out[2u * params.n + i] = f32(lane);
}
