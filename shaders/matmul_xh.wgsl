// The matmul kernels of shaders/matmul.wgsl (same entries, bindings and Params; include/matmul_body.wgsl) over an
// f16 activation x: IEEE halves packed two per u32 (element 2i in the low half), as the f16 activation path stores
// x̂ and the gated MLP product (src/models/lm/decoder.ts actDtype). Each half is widened to f32 by
// unpack2x16float (exact) at the load; products and sums stay f32. Core WGSL (no `enable f16`): compiled on
// every adapter.

@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read> x4: array<vec2<u32>>;

fn x_vec4(i: u32) -> vec4<f32> { let h = x4[i]; return vec4<f32>(unpack2x16float(h.x), unpack2x16float(h.y)); }
fn x_elem(e: u32) -> f32 { return unpack2x16float(x[e >> 1u] >> ((e & 1u) * 16u)).x; }

//! include matmul_body
