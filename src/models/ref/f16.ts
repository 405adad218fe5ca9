// IEEE binary16 rounding for the reference forwards, written from the format's definition (not the GPU path's bit
// codec): the nearest half-precision value, ties to even; beyond the largest finite half (65504) by half an ulp or
// more → ±Infinity; subnormals below 2^-14 on the fixed 2^-24 grid.

/** `x` rounded to the nearest binary16 value (ties to even), as a number. */
export function roundHalf(x: number): number {
  if (x === 0 || !Number.isFinite(x)) return x;
  const a = Math.abs(x);
  if (a >= 65520) return Math.sign(x) * Infinity;
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  const ulp = 2 ** (Math.max(e, -14) - 10);
  const q = a / ulp, f = Math.floor(q), d = q - f;
  const r = d > 0.5 || (d === 0.5 && f % 2 === 1) ? f + 1 : f;
  return Math.sign(x) * r * ulp;
}
