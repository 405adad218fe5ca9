// float64 references for `topK` and `nearestNeighbours` (src/probe/nearestNeighbours.ts): a stable sort by score,
// masked, NaN and −∞ columns skipped, empty slots NO_NEIGHBOUR / −∞.
import type { HostTensor } from '../../gpu/hostTensor.ts';
import { NO_NEIGHBOUR } from '../nearestNeighbours.ts';
import { l2Normalize, rowDots } from './similarity.ts';

export interface HostTopK { indices: Uint32Array; scores: Float64Array }

export function topK(scores: HostTensor, k: number, opts: { keyMask?: ArrayLike<number> } = {}): HostTopK {
  const [rows, m] = scores.shape;
  const indices = new Uint32Array(rows * k).fill(NO_NEIGHBOUR);
  const out = new Float64Array(rows * k).fill(-Infinity);
  for (let r = 0; r < rows; r++) {
    const cand: number[] = [];
    for (let j = 0; j < m; j++) {
      const v = scores.data[r * m + j];
      if ((opts.keyMask && opts.keyMask[j] === 0) || Number.isNaN(v) || v === -Infinity) continue;
      cand.push(j);
    }
    cand.sort((a, b) => scores.data[r * m + b] - scores.data[r * m + a] || a - b);
    for (let t = 0; t < Math.min(k, cand.length); t++) {
      indices[r * k + t] = cand[t];
      out[r * k + t] = scores.data[r * m + cand[t]];
    }
  }
  return { indices, scores: out };
}

export function nearestNeighbours(query: HostTensor, keys: HostTensor, k: number, opts: { metric?: 'cosine' | 'dot'; keyMask?: ArrayLike<number> } = {}): HostTopK {
  const cosine = (opts.metric ?? 'cosine') === 'cosine';
  const s = cosine ? rowDots(l2Normalize(query), l2Normalize(keys)) : rowDots(query, keys);
  return topK(s, k, { keyMask: opts.keyMask });
}
