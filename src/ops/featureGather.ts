// Lay features onto a patch grid straight from where the forward left them: a KV-cache layer
// [kv_heads, capacity, head_dim] (chosen heads concatenated) or a row tensor [rows, dim]. See
// shaders/feature_gather.wgsl. Cells with no token (position NO_TOKEN) come out as zeros. An f16 source (an f16 KV
// cache) comes out as f32, exactly.
import { OpArgumentError } from '../gpu/errors.ts';
import type { Stage } from '../gpu/stage.ts';
import { Tensor } from '../gpu/tensor.ts';
import { floatDTypeCode } from '../gpu/dtype.ts';
import { expectDType, expectRank } from './check.ts';
import { grid1d } from './grid.ts';

export const NO_TOKEN = 0xffffffff;

/**
 * out[c, j·d + e] = src[heads[j], positions[c], e]. `src` is [groups, rows, d] (3D) or [rows, d] (2D, one group);
 * `positions` u32 [cells]; `heads` the group indices to concatenate (default all). Returns [cells, heads·d].
 */
export function featureGather(stage: Stage, src: Tensor<'f32' | 'f16'>, positions: Tensor<'u32'>, heads?: readonly number[]): Tensor<'f32'> {
  const op = 'featureGather';
  expectDType(op, 'src', src, ['f32', 'f16']);
  expectRank(op, 'src', src, [2, 3]);
  expectDType(op, 'positions', positions, ['u32']);
  const [groups, rows, dim] = src.rank === 3 ? src.shape : [1, src.shape[0], src.shape[1]];
  const sel = heads ?? Array.from({ length: groups }, (_, i) => i);
  if (sel.length === 0) throw new OpArgumentError(op, 'no heads selected');
  for (const h of sel) {
    if (!Number.isInteger(h) || h < 0 || h >= groups) throw new OpArgumentError(op, `head ${h} outside 0..${groups - 1} of ${src.label}`);
  }
  const cells = positions.numel;
  const out = Tensor.empty(stage.gpu, 'f32', [cells, sel.length * dim], `features(${src.label})`);
  const selT = Tensor.from(stage.gpu, 'u32', [sel.length], sel, 'feature heads');
  const kernel = stage.gpu.kernels.get('feature_gather', 'main', src.dtype === 'f32' ? {} : { SRC_DTYPE: floatDTypeCode(src.dtype) });
  const { workgroups, rowStride } = grid1d(out.numel, 256);
  stage.dispatch(kernel, {
    label: `featureGather ${cells} cells × ${sel.length} heads × ${dim} from ${src.label}`,
    bindings: { src: src.buffer(op), pos: positions.buffer(op), sel: selT.buffer(op), out: out.buffer(op) },
    uniforms: { cells, n_sel: sel.length, dim, group_rows: rows, row_stride: rowStride },
    workgroups,
  });
  stage.onDone(() => selT.dispose());
  return out;
}
