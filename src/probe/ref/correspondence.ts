// float64 reference for `correspondence` (src/probe/correspondence.ts), DIFT's SPair procedure literally: both
// maps upsampled to image size, source feature at [y, x], cosine with every target pixel, hard argmax (lowest index).
import type { HostTensor } from '../../gpu/hostTensor.ts';
import type { ImageSize } from '../correspondence.ts';
import { bilinearUpsample } from './upsample.ts';

/** Per keypoint: predicted (x, y), its cosine, and the full cosine map over target pixels (for tie-aware checks). */
export function correspondence(
  source: HostTensor, sourceSize: ImageSize, target: HostTensor, targetSize: ImageSize, keypoints: ArrayLike<readonly [number, number]>,
): { pixels: [number, number][]; scores: number[]; maps: Float64Array[] } {
  const d = source.shape[2];
  const su = bilinearUpsample(source, sourceSize.height, sourceSize.width);
  const tu = bilinearUpsample(target, targetSize.height, targetSize.width);
  const pix = targetSize.height * targetSize.width;
  const tnorm = new Float64Array(pix);
  for (let p = 0; p < pix; p++) {
    let s = 0;
    for (let e = 0; e < d; e++) s += tu.data[p * d + e] ** 2;
    tnorm[p] = Math.sqrt(s);
  }
  const pixels: [number, number][] = [], scores: number[] = [], maps: Float64Array[] = [];
  for (let i = 0; i < keypoints.length; i++) {
    const [x, y] = keypoints[i];
    const q = su.data.subarray((y * sourceSize.width + x) * d, (y * sourceSize.width + x + 1) * d);
    const qn = Math.max(Math.sqrt(q.reduce((a, v) => a + v * v, 0)), 1e-12);
    const map = new Float64Array(pix);
    let best = 0;
    for (let p = 0; p < pix; p++) {
      let s = 0;
      for (let e = 0; e < d; e++) s += q[e] * tu.data[p * d + e];
      map[p] = tnorm[p] > 0 ? s / (qn * Math.max(tnorm[p], 1e-12)) : 0;
      if (map[p] > map[best]) best = p;
    }
    pixels.push([best % targetSize.width, Math.floor(best / targetSize.width)]);
    scores.push(map[best]);
    maps.push(map);
  }
  return { pixels, scores, maps };
}
