// The generated pictures the browser views use when no image is picked.
import type { RgbImage } from '../../src/io/rgbImage.ts';

/**
 * A test picture (default 96×128): colour gradients, a checkerboard and a disc, so neighbouring tokens differ.
 * `variant` > 0 moves the disc, shifts the checkerboard and rotates the colours: same size, different content (the
 * explorer's second image and its image set for input-agnostic keys).
 */
export function testPicture(height = 96, width = 128, variant = 0): RgbImage {
  const data = new Uint8Array(height * width * 3);
  const cx = width * (0.65 - 0.17 * (variant % 3)), cy = height * (0.45 + 0.12 * ((variant % 4) - 1.5) / 1.5);
  const radius = height * (0.22 - 0.03 * (variant % 2));
  const shift = variant * 5;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      const disc = (x - cx) ** 2 + (y - cy) ** 2 < radius ** 2;
      const check = (((x + shift) >> 4) + ((y + shift) >> 4)) % 2;
      const rgb = [
        disc ? 240 : (x * 255 / width) & 255,
        disc ? 200 : (y * 200 / height + check * 50) & 255,
        disc ? 40 : ((x + y) * 2) & 255,
      ];
      for (let k = 0; k < 3; k++) data[o + k] = rgb[(k + variant) % 3];
    }
  }
  return { width, height, data, source: variant ? `test picture ${height}×${width} #${variant}` : `test picture ${height}×${width}` };
}
