// float64 reference for `bilinearUpsample` (src/probe/upsample.ts): torch bilinear, align_corners = False.
import { type HostTensor, hostTensor } from '../../ops/ref/hostTensor.ts';

/** The two source indices and the weight of the upper one, for output index o of an in → out resize. */
export function sourceIndex(o: number, inSize: number, outSize: number): [number, number, number] {
  const s = Math.max((inSize / outSize) * (o + 0.5) - 0.5, 0);
  const i0 = Math.min(Math.floor(s), inSize - 1);
  return [i0, Math.min(i0 + 1, inSize - 1), s - i0];
}

export function bilinearUpsample(x: HostTensor, height: number, width: number): HostTensor {
  const [h, w, d] = x.shape;
  const y = hostTensor([height, width, d]);
  for (let oy = 0; oy < height; oy++) {
    const [y0, y1, ly] = sourceIndex(oy, h, height);
    for (let ox = 0; ox < width; ox++) {
      const [x0, x1, lx] = sourceIndex(ox, w, width);
      for (let e = 0; e < d; e++) {
        const at = (r: number, c: number) => x.data[(r * w + c) * d + e];
        const top = (1 - lx) * at(y0, x0) + lx * at(y0, x1);
        const bot = (1 - lx) * at(y1, x0) + lx * at(y1, x1);
        y.data[(oy * width + ox) * d + e] = (1 - ly) * top + ly * bot;
      }
    }
  }
  return y;
}
