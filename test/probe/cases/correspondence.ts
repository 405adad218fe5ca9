// Cases for `correspondence` (shaders/probe/correspondence.wgsl): 7×9 and 5×6 grids with d = 33 at awkward image
// sizes (up- and downsampling, different source and target sizes). Tie-aware: the reference's cosine at the GPU's
// predicted pixel must equal the reference maximum, and the GPU's score must match it.
import { Stage } from '../../../src/gpu/stage.ts';
import { Tensor } from '../../../src/gpu/tensor.ts';
import { hostTensor } from '../../../src/gpu/hostTensor.ts';
import { correspondence, type ImageSize } from '../../../src/probe/correspondence.ts';
import { correspondence as correspondenceRef } from '../../../src/probe/ref/correspondence.ts';
import type { OpCase } from '../../ops/opCase.ts';

const list: [number[], ImageSize, number[], ImageSize][] = [
  [[7, 9, 33], { height: 45, width: 61 }, [5, 6, 33], { height: 37, width: 29 }],
  [[4, 4, 16], { height: 3, width: 5 }, [7, 9, 16], { height: 7, width: 9 }],
];

export const cases: OpCase[] = list.map(([ss, sSize, ts, tSize]) => ({
  op: 'correspondence',
  name: `correspondence src[${ss.join('×')}]@${sSize.height}×${sSize.width} -> trg[${ts.join('×')}]@${tSize.height}×${tSize.width}, 11 keypoints`,
  tol: { atol: 2e-5, rtol: 0 }, // cosines in [−1, 1]; the norm comes from the 2×2 Gram expansion in f32
  async run(gpu, rng) {
    const sv = rng.normals(ss.reduce((a, b) => a * b, 1)).map(Math.fround);
    const tv = rng.normals(ts.reduce((a, b) => a * b, 1)).map(Math.fround);
    const kps = Array.from({ length: 11 }, () => [rng.int(0, sSize.width), rng.int(0, sSize.height)] as [number, number]);
    kps[0] = [sSize.width - 1, sSize.height - 1]; // the far corner: clamped neighbours
    const src = Tensor.from(gpu, 'f32', ss, sv, 'source fmap'), trg = Tensor.from(gpu, 'f32', ts, tv, 'target fmap');
    const stage = new Stage(gpu, 'test correspondence');
    const c = await correspondence(stage, src, sSize, trg, tSize, kps);
    await stage.submit();
    const px = await c.pixels.read(), sc = await c.scores.read();
    c.dispose(); src.dispose(); trg.dispose();
    const ref = correspondenceRef(hostTensor(ss, sv), sSize, hostTensor(ts, tv), tSize, kps);
    const atGpu = kps.map((_, i) => ref.maps[i][px[2 * i + 1] * tSize.width + px[2 * i]]);
    return { got: [...atGpu, ...sc], want: [...ref.scores, ...ref.scores] };
  },
}));

