// Attention over an f16 KV cache: the kernels of shaders/attention.wgsl (include/attention_flash.wgsl) with K and V
// read as two u32 words per 4 halves and widened to f32 by unpack2x16float (exact) — scores, the online softmax and
// the accumulation stay f32. Same bindings and entries (main, split, combine). Core WGSL (no `enable f16`): on
// llvmpipe this decodes faster than vec4<f16> loads (f32/f16 time 1.2–1.5× against 0.8–1.0× at 2–4k positions, one query;
// harness/bench/kvDtypeBench.ts);
// SHADER_FEATURES still compiles it only where shader-f16 passed its self-test, the condition for an f16 cache.

@group(0) @binding(2) var<storage, read> k: array<vec2<u32>>;
@group(0) @binding(3) var<storage, read> v: array<vec2<u32>>;

fn load_k(i: u32) -> vec4<f32> { let w = k[i]; return vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y)); }
fn load_v(i: u32) -> vec4<f32> { let w = v[i]; return vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y)); }

//! include attention_flash
