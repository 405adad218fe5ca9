// Pictures a person would rather look at than numbers: a label mask blended over its image, predicted vs true
// masks side by side, keypoint matches between two images. Plain RGB pixel work; PNG encoding is io/image.ts.
import type { RgbImage } from '../io/rgbImage.ts';

const PALETTE: readonly [number, number, number][] = [
  [0, 0, 0], [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48], [145, 30, 180],
  [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 212], [0, 128, 128], [220, 190, 255], [170, 110, 40],
];

export function labelColour(label: number): [number, number, number] {
  if (label === 255) return [255, 255, 255];
  return PALETTE[label % PALETTE.length];
}

/** The image with each non-zero label blended in its colour (alpha 0.5); label 0 leaves the pixel as it is. */
export function maskOverlay(img: RgbImage, labels: ArrayLike<number>, alpha = 0.5): RgbImage {
  if (labels.length !== img.width * img.height) throw new Error(`maskOverlay: ${labels.length} labels for a ${img.width}×${img.height} image`);
  const data = new Uint8Array(img.data);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (!l) continue;
    const c = labelColour(l);
    for (let k = 0; k < 3; k++) data[i * 3 + k] = Math.round((1 - alpha) * data[i * 3 + k] + alpha * c[k]);
  }
  return { width: img.width, height: img.height, data };
}

/** Images side by side (top-aligned, black filler), with `gap` pixels between. */
export function sideBySide(images: readonly RgbImage[], gap = 4): RgbImage {
  const width = images.reduce((a, im) => a + im.width, 0) + gap * (images.length - 1);
  const height = Math.max(...images.map((im) => im.height));
  const data = new Uint8Array(width * height * 3);
  let x0 = 0;
  for (const im of images) {
    for (let y = 0; y < im.height; y++) data.set(im.data.subarray(y * im.width * 3, (y + 1) * im.width * 3), (y * width + x0) * 3);
    x0 += im.width + gap;
  }
  return { width, height, data };
}

function plot(img: { width: number; height: number; data: Uint8Array }, x: number, y: number, c: readonly number[]): void {
  const xi = Math.round(x), yi = Math.round(y);
  if (xi < 0 || yi < 0 || xi >= img.width || yi >= img.height) return;
  img.data.set(c, (yi * img.width + xi) * 3);
}

/** Keypoint matches: source and target side by side, a line from each source point to its predicted target point
 * (green when within the PCK threshold of the truth, red otherwise). */
export function matchesOverlay(src: RgbImage, trg: RgbImage, matches: readonly { src: [number, number]; pred: [number, number]; correct: boolean }[]): RgbImage {
  const gap = 4;
  const canvas = sideBySide([src, trg], gap);
  const off = src.width + gap;
  for (const m of matches) {
    const colour = m.correct ? [40, 220, 40] : [230, 30, 30];
    const [x0, y0] = m.src, [x1, y1] = [m.pred[0] + off, m.pred[1]];
    const steps = Math.max(1, Math.ceil(Math.hypot(x1 - x0, y1 - y0)));
    for (let s = 0; s <= steps; s++) plot(canvas, x0 + ((x1 - x0) * s) / steps, y0 + ((y1 - y0) * s) / steps, colour);
    for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) { plot(canvas, x0 + dx, y0 + dy, colour); plot(canvas, x1 + dx, y1 + dy, colour); }
  }
  return canvas;
}
