// Attention over an f16 KV cache (needs shader-f16; compiled only where the device has it): the kernels of
// shaders/attention.wgsl (include/attention_flash.wgsl) with K and V read as vec4<f16> and widened to f32 — scores,
// the online softmax and the accumulation stay f32. Same bindings and entries (main, split, combine).
enable f16;

@group(0) @binding(2) var<storage, read> k: array<vec4<f16>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<f16>>;

fn load_k(i: u32) -> vec4<f32> { return vec4<f32>(k[i]); }
fn load_v(i: u32) -> vec4<f32> { return vec4<f32>(v[i]); }

//! include attention_flash
