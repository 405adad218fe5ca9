// Mean pairwise cosine similarity of each image key position across images (shaders/key_consistency.wgsl): high
// values mark keys that hardly depend on the input, the study's input-agnostic image keys.
import { OpArgumentError } from '../gpu/errors.ts';
import type { Stage } from '../gpu/stage.ts';
import { Tensor } from '../gpu/tensor.ts';
import { expectDType, expectRank } from '../ops/check.ts';

/** keys [N, cells, dim] → [cells] mean pairwise cosine over the N images (0 when fewer than two non-zero keys). */
export async function keyConsistency(stage: Stage, keys: Tensor<'f32'>): Promise<Tensor<'f32'>> {
  const op = 'keyConsistency';
  expectDType(op, 'keys', keys, ['f32']);
  expectRank(op, 'keys', keys, [3]);
  const [n, cells, dim] = keys.shape;
  if (n < 2) throw new OpArgumentError(op, `needs keys of at least 2 images, got ${n}`);
  const out = Tensor.empty(stage.gpu, 'f32', [cells], 'key consistency');
  const kernel = stage.gpu.kernels.get('key_consistency');
  stage.dispatch(kernel, {
    label: `keyConsistency ${n} images × ${cells} cells × ${dim}`,
    bindings: { keys: keys.buffer(op), out: out.buffer(op) },
    uniforms: { n_images: n, cells, dim },
    workgroups: [Math.ceil(cells / 64)],
  });
  return out;
}
