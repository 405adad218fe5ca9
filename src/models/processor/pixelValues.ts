// pixel_values of several images as one tensor: rows (LLaVA tiles / Qwen patch rows) of every image, in order.
import type { ModelInputs } from '../model.ts';

type PixelValues = NonNullable<ModelInputs['pixelValues']>;

/** Concatenate along the first axis; the other axes must agree. Undefined for no images. */
export function concatPixelValues(parts: readonly PixelValues[]): PixelValues | undefined {
  if (!parts.length) return undefined;
  const rest = parts[0].shape.slice(1);
  for (const [i, p] of parts.entries()) {
    if (p.shape.slice(1).join() !== rest.join()) throw new Error(`pixel_values of image ${i} are [${p.shape.join(', ')}], image 0's rows are [${rest.join(', ')}]`);
  }
  const rows = parts.reduce((a, p) => a + p.shape[0], 0);
  const data = new Float32Array(parts.reduce((a, p) => a + p.data.length, 0));
  let at = 0;
  for (const p of parts) { data.set(p.data, at); at += p.data.length; }
  return { shape: [rows, ...rest], data };
}
