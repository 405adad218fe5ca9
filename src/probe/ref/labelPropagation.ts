// float64 reference for `labelPropagation` and `propagateVideo` (src/probe/labelPropagation.ts), written as DINO's
// steps: cosine affinities to every context source, a |Δrow|, |Δcol| ≤ r window, the k largest over all context
// frames jointly with entries equal to the k-th kept, weights e^(a/τ) normalised to 1, label transfer.
import { type HostTensor, hostTensor } from '../../gpu/hostTensor.ts';
import { DINO_PROPAGATION, type LabelPropagationOptions } from '../labelPropagation.ts';
import { l2Normalize } from './similarity.ts';

export interface HostContext {
  /** [n_ctx, h, w, d] unit rows. */
  features: HostTensor;
  /** [n_ctx, h, w, n_labels]. */
  labels: HostTensor;
  mask?: ArrayLike<number>;
}

export function labelPropagation(target: HostTensor, context: HostContext, opts: LabelPropagationOptions & { targetMask?: ArrayLike<number> } = {}): HostTensor {
  const [h, w, d] = target.shape;
  const nCtx = context.features.shape[0];
  const nl = context.labels.shape[3];
  const r = opts.neighbourhood ?? DINO_PROPAGATION.neighbourhood;
  const k = opts.topk ?? DINO_PROPAGATION.topk;
  const tau = opts.temperature ?? DINO_PROPAGATION.temperature;
  const hw = h * w;
  const soft = hostTensor([h, w, nl]);
  for (let t = 0; t < hw; t++) {
    if (opts.targetMask && opts.targetMask[t] === 0) continue;
    const ty = Math.floor(t / w), tx = t % w;
    const cand: { a: number; f: number; s: number }[] = [];
    for (let f = 0; f < nCtx; f++) {
      for (let s = 0; s < hw; s++) {
        const sy = Math.floor(s / w), sx = s % w;
        if (Math.abs(sy - ty) > r || Math.abs(sx - tx) > r) continue;
        if (context.mask && context.mask[f * hw + s] === 0) continue;
        let a = 0;
        for (let e = 0; e < d; e++) a += target.data[t * d + e] * context.features.data[(f * hw + s) * d + e];
        cand.push({ a, f, s });
      }
    }
    if (!cand.length) continue;
    const sorted = cand.map((c) => c.a).sort((x, y) => y - x);
    const kth = sorted[Math.min(k, sorted.length) - 1], top = sorted[0];
    let den = 0;
    const num = new Float64Array(nl);
    for (const c of cand) {
      if (c.a < kth) continue;
      const wgt = Math.exp((c.a - top) / tau);
      den += wgt;
      for (let l = 0; l < nl; l++) num[l] += wgt * context.labels.data[(c.f * hw + c.s) * nl + l];
    }
    for (let l = 0; l < nl; l++) soft.data[t * nl + l] = num[l] / den;
  }
  return soft;
}

/** DINO's queue: frame 0 with its labels + the nLast most recent predicted frames. Returns frames 1..T−1. */
export function propagateVideo(frames: readonly HostTensor[], firstLabels: HostTensor, opts: LabelPropagationOptions & { nLastFrames?: number; masks?: ArrayLike<number>[] } = {}): HostTensor[] {
  const nLast = opts.nLastFrames ?? DINO_PROPAGATION.nLastFrames;
  const [h, w, d] = frames[0].shape;
  const nl = firstLabels.shape[2];
  const unit = frames.map((f, i) => l2Normalize(f, { mask: opts.masks?.[i] }));
  const queue: { f: HostTensor; l: HostTensor; m?: ArrayLike<number> }[] = [];
  const out: HostTensor[] = [];
  for (let t = 1; t < frames.length; t++) {
    const ctx = [{ f: unit[0], l: firstLabels, m: opts.masks?.[0] }, ...queue];
    const hw = h * w;
    const feats = hostTensor([ctx.length, h, w, d]);
    const labels = hostTensor([ctx.length, h, w, nl]);
    const mask = opts.masks ? new Uint32Array(ctx.length * hw) : undefined;
    ctx.forEach((c, i) => {
      feats.data.set(c.f.data, i * hw * d);
      labels.data.set(c.l.data, i * hw * nl);
      if (mask) mask.set(Array.from(c.m!), i * hw);
    });
    const soft = labelPropagation(unit[t], { features: feats, labels, mask }, { ...opts, targetMask: opts.masks?.[t] });
    out.push(soft);
    if (queue.length === nLast) queue.shift();
    queue.push({ f: unit[t], l: soft, m: opts.masks?.[t] });
  }
  return out;
}
