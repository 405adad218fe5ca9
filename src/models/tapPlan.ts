// Which taps a forward must keep, from their canonical names (see model.ts): the vision tower output and per-layer
// outputs, the projector output, cache views, pre-RoPE keys and LM layer outputs. Unknown names and layers that do
// not exist are errors listing what exists.
import type { TapName } from './model.ts';

export interface TapPlan {
  vision: boolean;
  /** vision.layers.{i}.out (vision layers / blocks). */
  visionLayers: Set<number>;
  projector: boolean;
  /** lm.layers.{i}.attn.k|v: views of the cache. */
  cache: TapName[];
  preRope: Set<number>;
  hidden: Set<number>;
}

export function planTaps(names: readonly TapName[], visionLayers: number, lmLayers: number, model: string): TapPlan {
  const plan: TapPlan = { vision: false, visionLayers: new Set(), projector: false, cache: [], preRope: new Set(), hidden: new Set() };
  const layer = (s: string, n: number, name: string) => {
    const i = Number(s);
    if (i >= n) throw new Error(`tap ${name}: layer ${i} does not exist (${n} layers run)`);
    return i;
  };
  for (const name of names) {
    let m: RegExpExecArray | null;
    if (name === 'vision.out') plan.vision = true;
    else if (name === 'projector.out') plan.projector = true;
    else if ((m = /^vision\.layers\.(\d+)\.out$/.exec(name))) plan.visionLayers.add(layer(m[1], visionLayers, name));
    else if ((m = /^lm\.layers\.(\d+)\.attn\.(k|v)$/.exec(name))) { layer(m[1], lmLayers, name); plan.cache.push(name); }
    else if ((m = /^lm\.layers\.(\d+)\.attn\.k_pre_rope$/.exec(name))) plan.preRope.add(layer(m[1], lmLayers, name));
    else if ((m = /^lm\.layers\.(\d+)\.out$/.exec(name))) plan.hidden.add(layer(m[1], lmLayers, name));
    else {
      throw new Error(`unknown tap ${JSON.stringify(name)}: ${model} taps are vision.out, vision.layers.{i}.out, projector.out, ` +
        'lm.layers.{i}.attn.k, lm.layers.{i}.attn.v, lm.layers.{i}.attn.k_pre_rope, lm.layers.{i}.out');
    }
  }
  return plan;
}
