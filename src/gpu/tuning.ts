// Which kernel variant an op uses on this adapter: chosen by a short measured tuning run (harness/bench/tune.ts,
// `kvscope tune`, and `bench kernels` when none is cached) and cached by adapter identity; until then the
// defaults below (the variants measured fastest on CPU adapters, which are what CI has).
import { readAdapterCache, writeAdapterCache } from './adapterCache.ts';
import type { Gpu } from './device.ts';

/**
 * Prefill matmul: `reg16` 16×16 register tiles, no workgroup memory; `reg32` 32×32 register tiles for 16-bit
 * weights with K % 4 == 0 (f32 weights and other K take the 16×16 tiles); `wg64` 64×64 workgroup-memory tiles.
 * (The register tiles with 64 invocations per workgroup instead of 8 were tried and measured slower on llvmpipe:
 * docs/bench-llvmpipe.txt.)
 */
export type MatmulTileVariant = 'reg16' | 'reg32' | 'wg64';
export const MATMUL_TILE_VARIANTS: readonly MatmulTileVariant[] = ['reg16', 'reg32', 'wg64'];
/**
 * Decode matmul: `rows` one invocation per 4 weight rows over all K; `split` a workgroup per 4 rows, split K, tree
 * reduction in workgroup memory; `subgroup` the same split with subgroupAdd reductions (matmul_subgroups.wgsl, only
 * where `subgroups` is offered and its self-test passed).
 */
export type GemvVariant = 'rows' | 'split' | 'subgroup';
/**
 * Prefill attention over an f32 cache: `flash` the one-pass online-softmax kernel (attention.wgsl); `tiled` scores,
 * softmax and P·V as register-tiled passes over chunks of queries (attention_tiled.wgsl, scores held per chunk).
 */
export type AttentionVariant = 'flash' | 'tiled';

export interface KernelChoice {
  matmulTile: MatmulTileVariant;
  gemv: GemvVariant;
  attention: AttentionVariant;
  /** where the choice came from */
  source: 'default' | 'tuned' | 'cache';
  /** the tuning run's timings (ms) per variant, when tuned */
  measured?: Record<string, number>;
}

export const TUNING_CACHE = 'tuning';
export const DEFAULT_CHOICE: KernelChoice = { matmulTile: 'reg16', gemv: 'rows', attention: 'tiled', source: 'default' };

const choices = new WeakMap<Gpu, KernelChoice>();

function valid(c: unknown): c is KernelChoice {
  const o = c as KernelChoice | null;
  return !!o && MATMUL_TILE_VARIANTS.includes(o.matmulTile) && (o.gemv === 'rows' || o.gemv === 'split' || o.gemv === 'subgroup') &&
    (o.attention === 'flash' || o.attention === 'tiled');
}

/** This adapter's choice: set in this process, else cached for its identity, else the defaults. */
export function kernelChoice(gpu: Gpu): KernelChoice {
  let c = choices.get(gpu);
  if (!c) {
    const cached = readAdapterCache<KernelChoice>(gpu, TUNING_CACHE);
    c = valid(cached) ? { ...cached, source: 'cache' } : DEFAULT_CHOICE;
    choices.set(gpu, c);
  }
  return c;
}

/** Use `choice` on this adapter from now on; `persist` also caches it for the adapter's identity. */
export function setKernelChoice(gpu: Gpu, choice: KernelChoice, persist = false): string | null {
  if (!valid(choice)) throw new Error(`kernel choice ${JSON.stringify(choice)} names an unknown variant`);
  choices.set(gpu, choice);
  return persist ? writeAdapterCache(gpu, TUNING_CACHE, choice) : null;
}
