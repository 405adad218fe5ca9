// The generated picture the browser views use when no image is picked.
import type { RgbImage } from '../../src/io/rgbImage.ts';

/** A 96×128 test picture: colour gradients, a checkerboard and a disc, so neighbouring tokens differ. */
export function testPicture(height = 96, width = 128): RgbImage {
  const data = new Uint8Array(height * width * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      const disc = (x - width * 0.65) ** 2 + (y - height * 0.45) ** 2 < (height * 0.22) ** 2;
      const check = ((x >> 4) + (y >> 4)) % 2;
      data[o] = disc ? 240 : (x * 255 / width) & 255;
      data[o + 1] = disc ? 200 : (y * 200 / height + check * 50) & 255;
      data[o + 2] = disc ? 40 : ((x + y) * 2) & 255;
    }
  }
  return { width, height, data, source: `test picture ${height}×${width}` };
}
