// 16-bit float words packed two per u32 (element e in the low half when e is even): f16 (dt 1) or bf16 (dt 2).
// Included by kernels that read checkpoint-dtype weights (`//! include unpack16`); dt 0 means the word is an f32.

// one element of a packed word: e selects the half; bf16 → f32 is exact (a 16-bit shift)
fn unpack16_at(word: u32, e: u32, dt: u32) -> f32 {
  if (dt == 0u) { return bitcast<f32>(word); }
  let h = (word >> ((e & 1u) * 16u)) & 0xffffu;
  if (dt == 1u) { return unpack2x16float(h).x; }
  return bitcast<f32>(h << 16u);
}

// four consecutive 16-bit elements held in two words
fn unpack16_vec4(ab: vec2<u32>, dt: u32) -> vec4<f32> {
  if (dt == 1u) { return vec4<f32>(unpack2x16float(ab.x), unpack2x16float(ab.y)); }
  return bitcast<vec4<f32>>(vec4<u32>(ab.x << 16u, ab.x & 0xffff0000u, ab.y << 16u, ab.y & 0xffff0000u));
}
