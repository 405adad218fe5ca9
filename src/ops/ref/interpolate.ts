// float64 reference for `interpolateBilinear`: torch bilinear, align_corners=False, on a channels-last [H, W, C] map.
import { type HostTensor, hostTensor } from '../../gpu/hostTensor.ts';

/**
 * Source indices (i0, i1) and the weight λ of i1 for output index `dst` on an axis of `size` inputs. The coordinate
 * is computed in float32 as torch does for float maps (scale = float(in/out)); the blend itself in float64.
 */
function sourceIndex(dst: number, inSize: number, outSize: number): [number, number, number] {
  const f = Math.fround;
  const scale = f(inSize / outSize);
  const s = Math.max(f(f(scale * f(dst + 0.5)) - 0.5), 0);
  const i0 = Math.min(Math.floor(s), inSize - 1);
  const i1 = i0 < inSize - 1 ? i0 + 1 : i0;
  return [i0, i1, Math.min(Math.max(f(s - i0), 0), 1)];
}

export function interpolateBilinear(x: HostTensor, outH: number, outW: number): HostTensor {
  const [inH, inW, c] = x.shape;
  const y = hostTensor([outH, outW, c]);
  for (let oy = 0; oy < outH; oy++) {
    const [y0, y1, ly] = sourceIndex(oy, inH, outH);
    for (let ox = 0; ox < outW; ox++) {
      const [x0, x1, lx] = sourceIndex(ox, inW, outW);
      for (let ch = 0; ch < c; ch++) {
        const at = (yy: number, xx: number) => x.data[(yy * inW + xx) * c + ch];
        y.data[(oy * outW + ox) * c + ch] = (1 - ly) * ((1 - lx) * at(y0, x0) + lx * at(y0, x1)) + ly * ((1 - lx) * at(y1, x0) + lx * at(y1, x1));
      }
    }
  }
  return y;
}
