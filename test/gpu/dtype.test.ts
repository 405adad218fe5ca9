// Host-side dtype encodings against known bit patterns.
import { bf16BitsToF32, decode, encode, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits, roundTo } from '../../src/gpu/dtype.ts';
import { assertEquals } from './assert.ts';

Deno.test('f16 bits of known values (IEEE binary16, round to nearest even)', () => {
  const cases: [number, number][] = [
    [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [65504, 0x7bff], [65520, 0x7c00], [Infinity, 0x7c00],
    [2 ** -24, 0x0001], [2 ** -25, 0x0000], [3 * 2 ** -25, 0x0002], [0.1, 0x2e66], [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02],
  ];
  for (const [x, bits] of cases) assertEquals(f32ToF16Bits(x), bits, `f16(${x})`);
  assertEquals(f16BitsToF32(0x3555), 0.333251953125);
  assertEquals(Number.isNaN(f16BitsToF32(f32ToF16Bits(NaN))), true);
});

Deno.test('bf16 bits of known values (round to nearest even, like torch)', () => {
  const cases: [number, number][] = [[1, 0x3f80], [-1, 0xbf80], [0.1, 0x3dcd], [1 + 2 ** -8, 0x3f80], [1 + 3 * 2 ** -8, 0x3f82], [3.4e38, 0x7f80]];
  for (const [x, bits] of cases) assertEquals(f32ToBf16Bits(x), bits, `bf16(${x})`);
  assertEquals(bf16BitsToF32(0x4049), 3.140625);
  assertEquals(roundTo('bf16', Math.PI), 3.140625);
});

Deno.test('encode packs 16-bit kinds two per u32, low half first, odd counts padded', () => {
  const bytes = encode('bf16', [1, -1, 0.1]);
  assertEquals(bytes.byteLength, 8);
  const u32 = new Uint32Array(bytes.buffer);
  assertEquals(u32[0], (0xbf80 << 16 | 0x3f80) >>> 0);
  assertEquals(u32[1], 0x3dcd);
  assertEquals([...decode('bf16', bytes, 3)], [1, -1, bf16BitsToF32(0x3dcd)]);
  assertEquals([...decode('f16', encode('f16', [0.5, 2, 3]), 3)], [0.5, 2, 3]);
});
