// One forward per image, then every (tap, layer) feature map the run asks for, gathered on the GPU from the cache
// and the taps; the forward's cache is freed once the maps are taken. With input-agnostic keys known, the image is
// first planned (a forward without taps gives its spans) and then run with those keys blocked.
import { type FeatureMap, features } from '../capture/features.ts';
import { canonicalTap, isLayered, type ShortTap, type TapName } from '../capture/taps.ts';
import type { RgbImage } from '../io/rgbImage.ts';
import type { ForwardResult, PrefillRequest } from '../models/model.ts';
import { blockAgnosticKeys } from '../capture/interventions.ts';
import { statKey } from './resultsLog.ts';
import type { ProbeContext } from './task.ts';

export interface SweepEntry {
  tap: ShortTap;
  layer: number | null;
  /** statKey(tap, layer): the key of this entry's statistics. */
  key: string;
}

/** Every (tap, layer) of the run: layered taps once per layer, the others once. */
export function sweepEntries(ctx: Pick<ProbeContext, 'taps' | 'layers'>): SweepEntry[] {
  return ctx.taps.flatMap((tap): SweepEntry[] =>
    isLayered(tap) ? ctx.layers.map((layer) => ({ tap, layer, key: statKey(tap, layer) })) : [{ tap, layer: null, key: statKey(tap, null) }]
  );
}

export interface ImageSweep {
  maps: Map<string, FeatureMap>;
  /** The forward (cache included) when `keepForward` was asked; else null (already freed). */
  forward: ForwardResult | null;
  dispose(): void;
}

/** The taps the forward must keep for these entries (cache taps need nothing extra). */
function forwardTaps(entries: readonly SweepEntry[]): TapName[] {
  return entries.filter((e) => e.tap !== 'siglip' && !(e.tap === 'lm.value' || e.tap === 'lm.key'))
    .map((e) => canonicalTap(e.tap, e.layer ?? undefined));
}

/** Run the model on one image (with the run's prefix and blocking) and gather every entry's feature map. */
export async function sweepImage(ctx: ProbeContext, image: RgbImage, opts: { prompt?: string; keepForward?: boolean } = {}): Promise<ImageSweep> {
  const entries = sweepEntries(ctx);
  const prompt = opts.prompt ?? 'Describe the image.';
  const req: PrefillRequest = { images: [image], prompt, prefix: ctx.prefix, taps: forwardTaps(entries), logits: 'last' };
  const needModel = entries.some((e) => e.tap !== 'siglip') || opts.keepForward;
  const maps = new Map<string, FeatureMap>();
  let forward: ForwardResult | null = null;
  const disposeAll = () => {
    for (const m of maps.values()) m.dispose();
    if (forward) forward.dispose();
  };
  try {
    if (needModel) {
      if (ctx.agnostic) {
        const plan = await ctx.model.prefill({ ...req, taps: [] });
        const block = blockAgnosticKeys(ctx.agnostic, plan.spans.images[0], plan.spans.length);
        plan.dispose();
        if (block) req.block = block;
      }
      forward = await ctx.model.prefill(req);
      for (const e of entries) {
        if (e.tap === 'siglip') continue;
        maps.set(e.key, await features(forward, { tap: canonicalTap(e.tap, e.layer ?? undefined), grid: e.tap === 'vision' && forward.spans.images[0].baseGrid ? 'base' : ctx.grid }));
      }
    }
    if (entries.some((e) => e.tap === 'siglip')) {
      if (!ctx.siglip) throw new Error('tap siglip asked for, but no standalone SigLIP encoder was given (--siglip DIR)');
      maps.set(statKey('siglip', null), await ctx.siglip.features(image));
    }
  } catch (e) {
    disposeAll();
    throw e;
  }
  if (forward && !opts.keepForward) {
    forward.dispose();
    forward = null;
  }
  return { maps, forward, dispose: disposeAll };
}
