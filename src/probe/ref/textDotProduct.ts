// float64 references for `textDotProduct`, `scoreMask` and `scoreLabels` (src/probe/textDotProduct.ts).
import type { HostTensor } from '../../gpu/hostTensor.ts';
import { l2Normalize, rowDots } from './similarity.ts';

export function textDotProduct(features: HostTensor, text: HostTensor, opts: { cosine?: boolean } = {}): HostTensor {
  return opts.cosine ? rowDots(l2Normalize(features), l2Normalize(text)) : rowDots(features, text);
}

export function scoreMask(scores: ArrayLike<number>, threshold: number, mask?: ArrayLike<number>): Uint32Array {
  return Uint32Array.from({ length: scores.length }, (_, i) => (!mask || mask[i] !== 0) && scores[i] > threshold ? 1 : 0);
}

export function scoreLabels(scores: HostTensor, opts: { threshold?: number; mask?: ArrayLike<number> } = {}): Uint32Array {
  const c = scores.shape[scores.shape.length - 1];
  const cells = scores.data.length / c;
  const thr = opts.threshold ?? -Infinity;
  return Uint32Array.from({ length: cells }, (_, i) => {
    let best = 0;
    for (let j = 1; j < c; j++) if (scores.data[i * c + j] > scores.data[i * c + best]) best = j;
    return (!opts.mask || opts.mask[i] !== 0) && scores.data[i * c + best] > thr ? best + 1 : 0;
  });
}
