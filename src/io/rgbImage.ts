// A decoded image as the processors take it: 8-bit RGB, row-major, no alpha (PIL's `convert('RGB')`).
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  /** width·height·3 bytes, R G B per pixel, rows top to bottom. */
  readonly data: Uint8Array;
  /** Where it came from (file name or URL), for error messages. */
  readonly source?: string;
}

/** Check an image is usable: non-zero size and a data length matching it. */
export function checkRgbImage(img: RgbImage, where = img.source ?? 'image'): void {
  if (!(img.width > 0 && img.height > 0) || !Number.isInteger(img.width) || !Number.isInteger(img.height)) {
    throw new Error(`${where}: image of size ${img.width}×${img.height} (width×height); images must be at least 1×1`);
  }
  if (img.data.length !== img.width * img.height * 3) {
    throw new Error(`${where}: ${img.width}×${img.height} RGB needs ${img.width * img.height * 3} bytes, got ${img.data.length}`);
  }
}
