// What a forward leaves to inspect: the KV cache, the sequence spans and the taps it was asked to keep. Every
// model's ForwardResult is one; features, probes and the explorer read activations through it by tap name.
import type { Tensor } from '../gpu/tensor.ts';
import type { KvCache } from './kvCache.ts';
import type { SequenceSpans } from './spans.ts';
import { parseTap, type TapName } from './taps.ts';

export interface Capture {
  cache: KvCache;
  spans: SequenceSpans;
  /** Kept activations by canonical name (cache taps are views of the cache, f16 with an f16 cache). */
  taps: Map<TapName, Tensor<'f32' | 'f16'>>;
}

/** The tensor behind a tap: a cache layer ([kv_heads, capacity, head_dim], in the cache's dtype) or a kept [rows, dim] activation. */
export function tapTensor(c: Capture, name: string): Tensor<'f32' | 'f16'> {
  const tap = parseTap(name);
  if (tap.kind === 'cache') {
    if (tap.layer >= c.cache.layers) throw new Error(`tap ${name}: the model has ${c.cache.layers} layers`);
    return tap.which === 'key' ? c.cache.keys[tap.layer] : c.cache.values[tap.layer];
  }
  const t = c.taps.get(name as TapName);
  if (!t) throw new Error(`tap ${name} was not kept by the forward (ask for it in taps; kept: ${[...c.taps.keys()].join(', ') || 'none'})`);
  return t;
}
