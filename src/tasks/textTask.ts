// What the two text segmentation tasks (ImageNet-S, RefCOCO; protocols.md §1.3, §1.4, §3.3) share: LM taps only
// (projector, vision and siglip have no text counterpart), the protocol notes, overlay files.
import { isLayered } from '../capture/taps.ts';
import type { RgbImage } from '../io/rgbImage.ts';
import { type ImageSweep, type SweepEntry, sweepEntries, sweepImage } from './featureSweep.ts';
import type { ProbeContext } from './task.ts';
import type { TextProbeOptions } from './textRegions.ts';
import { textEntries } from './textVectors.ts';

export function textNotes(kind: string, template: string, opts: TextProbeOptions, skipped: boolean): string[] {
  const thr = opts.threshold ?? 'otsu';
  return [
    `Text representation: the last token of the user text "${template}" (${kind} filled in) in a text-only forward through the MLM, ` +
      'read at the same layer as the image features: cached value (lm.value), cached key after RoPE at its own position (lm.key), key before RoPE (lm.key_pre_rope), residual stream (lm.hidden); all KV heads concatenated. No prefix, no blocking in the text forward.',
    `Region: ${opts.cosine ?? true ? 'cosine' : 'dot product'} of every image cell with the candidates; a cell takes its best candidate when that score exceeds the image's ` +
      `${thr === 'otsu' ? 'Otsu threshold on the best-score map of its valid cells' : thr === 'mean+std' ? 'mean + std of the best-score map' : `fixed threshold ${thr.fixed}`}, else background; cells painted onto their pixel rectangles (nearest), scored at GT resolution.`,
    ...(skipped ? ['Taps without an LM layer (projector, vision, siglip) have no text representation in their space: not evaluated.'] : []),
  ];
}

export function lmOnly(ctx: ProbeContext, task: string): ProbeContext {
  const taps = ctx.taps.filter((t) => isLayered(t));
  if (!taps.length) throw new Error(`${task}: text segmentation needs an LM tap (lm.value, lm.key, lm.key_pre_rope, lm.hidden); asked: ${ctx.taps.join(', ')}`);
  return { ...ctx, taps };
}

/** One image swept over the LM taps (the entries a text vector exists for), handed to `fn`, then released. */
export async function withTextSweep<T>(ctx: ProbeContext, task: string, image: RgbImage, fn: (entries: SweepEntry[], sweep: ImageSweep) => Promise<T>): Promise<T> {
  const lctx = lmOnly(ctx, task);
  const entries = textEntries(sweepEntries(lctx));
  const sweep = await sweepImage(lctx, image);
  try {
    return await fn(entries, sweep);
  } finally {
    sweep.dispose();
  }
}
