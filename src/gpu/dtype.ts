// Element types a Tensor can hold on the GPU, and their host-side encodings.
// 16-bit kinds are packed two per u32 (element 2i in the low half, 2i+1 in the high half),
// which is exactly the little-endian byte layout of a safetensors F16/BF16 tensor.

export type DType = 'f32' | 'f16' | 'bf16' | 'u32' | 'i32';

/** Bytes per element. */
export function bytesPerElement(dtype: DType): number {
  return dtype === 'f16' || dtype === 'bf16' ? 2 : 4;
}

/** Code for the `W_DTYPE`-style override constants in the shaders: 0 f32, 1 f16, 2 bf16. */
export function floatDTypeCode(dtype: DType): number {
  switch (dtype) {
    case 'f32': return 0;
    case 'f16': return 1;
    case 'bf16': return 2;
    default: throw new Error(`expected a float dtype (f32, f16, bf16), found ${dtype}`);
  }
}

const f32View = new Float32Array(1);
const u32View = new Uint32Array(f32View.buffer);

/** f32 -> bf16 bits, round to nearest even (as torch's `.to(torch.bfloat16)`). */
export function f32ToBf16Bits(x: number): number {
  f32View[0] = x;
  const u = u32View[0];
  if ((u & 0x7f800000) === 0x7f800000 && (u & 0x7fffff) !== 0) return 0x7fc0; // NaN
  const rounded = u + 0x7fff + ((u >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

/** bf16 bits -> number (exact). */
export function bf16BitsToF32(h: number): number {
  u32View[0] = (h & 0xffff) << 16;
  return f32View[0];
}

/** f32 -> IEEE half bits, round to nearest even, with subnormals and overflow to inf. */
export function f32ToF16Bits(x: number): number {
  f32View[0] = x;
  const u = u32View[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  let mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let m = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && (m & 1))) m++;
    return sign | m;
  }
  let m = mant >>> 13;
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (m & 1))) {
    m++;
    if (m === 0x400) { m = 0; e++; if (e >= 0x1f) return sign | 0x7c00; }
  }
  return sign | (e << 10) | m;
}

/** IEEE half bits -> number (exact). */
export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Round a number through a dtype (what the GPU will actually see), for references and tests. */
export function roundTo(dtype: DType, x: number): number {
  switch (dtype) {
    case 'f32': return Math.fround(x);
    case 'f16': return f16BitsToF32(f32ToF16Bits(x));
    case 'bf16': return bf16BitsToF32(f32ToBf16Bits(x));
    default: return x;
  }
}

/** Encode host numbers into the on-GPU byte layout of `dtype` (16-bit kinds packed, padded to 4 bytes). */
export function encode(dtype: DType, values: ArrayLike<number>): Uint8Array {
  const n = values.length;
  if (dtype === 'f32') return new Uint8Array(Float32Array.from(values).buffer);
  if (dtype === 'u32') return new Uint8Array(Uint32Array.from(values).buffer);
  if (dtype === 'i32') return new Uint8Array(Int32Array.from(values).buffer);
  const halves = new Uint16Array(n + (n & 1));
  const conv = dtype === 'f16' ? f32ToF16Bits : f32ToBf16Bits;
  for (let i = 0; i < n; i++) halves[i] = conv(values[i]);
  return new Uint8Array(halves.buffer);
}

/** Decode the on-GPU bytes of `count` elements of `dtype` into numbers. */
export function decode(dtype: DType, bytes: Uint8Array, count: number): Float32Array | Uint32Array | Int32Array {
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  if (dtype === 'f32') return new Float32Array(aligned.buffer, aligned.byteOffset, count).slice();
  if (dtype === 'u32') return new Uint32Array(aligned.buffer, aligned.byteOffset, count).slice();
  if (dtype === 'i32') return new Int32Array(aligned.buffer, aligned.byteOffset, count).slice();
  const halves = new Uint16Array(aligned.buffer, aligned.byteOffset, count);
  const out = new Float32Array(count);
  const conv = dtype === 'f16' ? f16BitsToF32 : bf16BitsToF32;
  for (let i = 0; i < count; i++) out[i] = conv(halves[i]);
  return out;
}
