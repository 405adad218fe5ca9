// A deterministic test picture for the model tests: gradients plus a checker, so tiles, crops and patches differ.
import type { RgbImage } from '../../src/io/rgbImage.ts';

export function testPicture(height: number, width: number, seed: number): RgbImage {
  const data = new Uint8Array(height * width * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      data[o] = (x * 255 / width + seed * 40) & 255;
      data[o + 1] = (y * 255 / height + ((x >> 2) + (y >> 2)) % 2 * 60) & 255;
      data[o + 2] = (x * y + seed * 17) & 255;
    }
  }
  return { width, height, data, source: `picture ${height}×${width}` };
}
