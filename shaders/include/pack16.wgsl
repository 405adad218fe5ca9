// f32 → IEEE binary16 bits, round to nearest even, with f16 subnormals, overflow to ±inf and NaN kept (quiet):
// integer arithmetic only, so every adapter rounds alike (WGSL lets f16(x) and pack2x16float pick either
// neighbour). Included by kernels that write an f16 KV cache or f16 activations (`//! include pack16`); matches the host's
// f32ToF16Bits (src/gpu/dtype.ts) bit for bit.
fn f16_bits_rne(value: f32) -> u32 {
  let u = bitcast<u32>(value);
  let sign = (u >> 16u) & 0x8000u;
  let a = u & 0x7fffffffu;
  if (a > 0x7f800000u) { return sign | 0x7e00u; }   // NaN
  if (a >= 0x477ff000u) { return sign | 0x7c00u; }  // ≥ 65520 rounds past 65504: inf
  if (a >= 0x38800000u) {
    // normal half: rebias the exponent (127 → 15), keep 10 mantissa bits; a carry moves into the exponent
    let r = a - 0x38000000u;
    let m = r >> 13u;
    let rest = r & 0x1fffu;
    return sign | (m + select(0u, 1u, rest > 0x1000u || (rest == 0x1000u && (m & 1u) == 1u)));
  }
  if (a <= 0x33000000u) { return sign; }            // ≤ 2^-25 (the tie goes to even 0)
  // subnormal half: the significand in units of 2^-24
  let shift = 126u - (a >> 23u);                    // 14..24
  let mant = (a & 0x7fffffu) | 0x800000u;
  let m = mant >> shift;
  let rest = mant & ((1u << shift) - 1u);
  let half = 1u << (shift - 1u);
  return sign | (m + select(0u, 1u, rest > half || (rest == half && (m & 1u) == 1u)));
}

// two elements in one word: a in the low half (the even element), b in the high half
fn pack_f16_rne(a: f32, b: f32) -> u32 {
  return f16_bits_rne(a) | (f16_bits_rne(b) << 16u);
}
