// Write S new key or value rows into a preallocated KV cache at a position (the cache's [kv_head][pos][dim] layout).
// An f16 cache gets the rows rounded to nearest even (shaders/kv_write.wgsl `main_f16`).
import { OpArgumentError } from '../gpu/errors.ts';
import type { Stage } from '../gpu/stage.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { expectDType, expectRank } from './check.ts';
import { grid1d } from './grid.ts';

/** cache[h, start + s, :] = src[s, h, :] for s < S; src is [S, kvHeads, headDim] (or [S, kvHeads·headDim]). */
export function kvWrite(stage: Stage, src: Tensor<'f32'>, cache: Tensor<'f32' | 'f16'>, start: number): void {
  expectDType('kvWrite', 'src', src, ['f32']);
  expectDType('kvWrite', 'cache', cache, ['f32', 'f16']);
  expectRank('kvWrite', 'cache', cache, [3]);
  const [kvHeads, capacity, headDim] = cache.shape;
  const seq = src.shape[0];
  if (src.numel !== seq * kvHeads * headDim) {
    throw new OpArgumentError('kvWrite', `src (${src.label}) [${src.shape.join(', ')}] does not hold ${seq} rows of ${kvHeads} heads × ${headDim} for cache ${cache.label}`);
  }
  if (!Number.isInteger(start) || start < 0 || start + seq > capacity) {
    throw new OpArgumentError('kvWrite', `positions ${start}..${start + seq - 1} are outside cache ${cache.label} of capacity ${capacity}`);
  }
  const f16 = cache.dtype === 'f16';
  if (f16 && headDim % 2 !== 0) throw new OpArgumentError('kvWrite', `an f16 cache needs an even head_dim (two halves per word), ${cache.label} has ${headDim}`);
  const kernel = stage.gpu.kernels.get('kv_write', f16 ? 'main_f16' : 'main');
  const { workgroups, rowStride } = grid1d(f16 ? src.numel / 2 : src.numel, 256);
  stage.dispatch(kernel, {
    label: `kvWrite ${seq} rows at ${start} into ${cache.label}${f16 ? ' (f16)' : ''}`,
    bindings: { src: src.buffer('kvWrite'), [f16 ? 'cache16' : 'cache']: cache.buffer('kvWrite') },
    uniforms: { seq, kv_heads: kvHeads, head_dim: headDim, capacity, start, row_stride: rowStride },
    workgroups,
  });
}
