// Semantic correspondence as DIFT evaluates SPair-71k (protocols §2.2): both feature maps are bilinearly upsampled
// to their image sizes (align_corners = False), the source feature at each keypoint is compared by cosine with
// every target pixel, and the prediction is the hard argmax. The upsampled maps are never built: see
// shaders/probe/correspondence.wgsl for the exact 4-neighbour form. Only the predicted pixels are small enough to read.
import { OpArgumentError } from '../gpu/errors.ts';
import type { Stage } from '../gpu/stage.ts';
import { Tensor } from '../gpu/tensor.ts';
import { expectDType, expectRank } from '../ops/check.ts';
import { matmul } from '../ops/matmul.ts';
import { asRows, l2Normalize } from './similarity.ts';
import { expectSize } from './upsample.ts';

export interface ImageSize { height: number; width: number }

export interface Correspondence {
  /** [points, 2] predicted target pixel (x, y), u32. */
  pixels: Tensor<'u32'>;
  /** [points] cosine similarity at the prediction. */
  scores: Tensor<'f32'>;
  dispose(): void;
}

const WG = 64; // shaders/probe/correspondence.wgsl

/**
 * For source keypoints (integer pixel (x, y) in the source image), the target pixel of highest cosine similarity.
 * source [h, w, d] and target [h', w', d] are feature maps over images of the given sizes.
 */
export async function correspondence(
  stage: Stage, source: Tensor<'f32'>, sourceSize: ImageSize, target: Tensor<'f32'>, targetSize: ImageSize,
  keypoints: ArrayLike<readonly [number, number]>,
): Promise<Correspondence> {
  const op = 'correspondence';
  expectDType(op, 'source', source, ['f32']);
  expectDType(op, 'target', target, ['f32']);
  expectRank(op, 'source', source, [3]);
  expectRank(op, 'target', target, [3]);
  expectSize(op, 'sourceSize', sourceSize.height, sourceSize.width);
  expectSize(op, 'targetSize', targetSize.height, targetSize.width);
  const [sh, sw, d] = source.shape;
  const [th, tw, td] = target.shape;
  if (td !== d) throw new OpArgumentError(op, `source (${source.label}) has ${d} features per cell, target (${target.label}) ${td}`);
  const n = keypoints.length;
  if (n === 0) throw new OpArgumentError(op, 'no keypoints given');
  const pts = new Uint32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const [x, y] = keypoints[i];
    if (!Number.isInteger(x) || !Number.isInteger(y) || x < 0 || y < 0 || x >= sourceSize.width || y >= sourceSize.height) {
      throw new OpArgumentError(op, `keypoint ${i} (${x}, ${y}) is not an integer pixel of the ${sourceSize.width}×${sourceSize.height} (w×h) source image`);
    }
    pts[2 * i] = x;
    pts[2 * i + 1] = y;
  }
  const gpu = stage.gpu;
  const points = Tensor.from(gpu, 'u32', [n, 2], pts, 'source keypoints');
  const sampled = Tensor.empty(gpu, 'f32', [n, d], 'source keypoint features');
  const common = { d, n_points: n };
  const sampleUniforms = { ...common, h: sh, w: sw, out_h: sourceSize.height, out_w: sourceSize.width, scale_y: sh / sourceSize.height, scale_x: sw / sourceSize.width };
  const targetUniforms = { ...common, h: th, w: tw, out_h: targetSize.height, out_w: targetSize.width, scale_y: th / targetSize.height, scale_x: tw / targetSize.width };
  stage.dispatch(gpu.kernels.get('probe/correspondence', 'sample_points'), {
    label: `correspondence sample ${n} keypoints of [${sh}×${sw}×${d}] at ${sourceSize.height}×${sourceSize.width}`,
    bindings: { fmap: source.buffer(op), points: points.buffer(op), sampled: sampled.buffer(op) },
    uniforms: sampleUniforms, workgroups: [Math.ceil((n * d) / WG)],
  });
  const gram = Tensor.empty(gpu, 'f32', [th * tw, 5], 'target quad gram');
  stage.dispatch(gpu.kernels.get('probe/correspondence', 'quad_gram'), {
    label: `correspondence quad gram of [${th}×${tw}×${d}]`,
    bindings: { fmap: target.buffer(op), gram: gram.buffer(op) },
    uniforms: targetUniforms, workgroups: [Math.ceil((th * tw) / WG)],
  });
  const unit = await l2Normalize(stage, sampled);
  const dots = await matmul(stage, unit, asRows(target)); // [n, h'·w'] = u·f_q
  const pixel = Tensor.empty(gpu, 'u32', [n], 'best target pixel');
  const scores = Tensor.empty(gpu, 'f32', [n], 'best target cosine');
  stage.dispatch(gpu.kernels.get('probe/correspondence', 'best_pixel'), {
    label: `correspondence argmax of ${n} keypoints over ${targetSize.height}×${targetSize.width} target pixels`,
    bindings: { dots: dots.buffer(op), gram_in: gram.buffer(op), best_index: pixel.buffer(op), best_score: scores.buffer(op) },
    uniforms: targetUniforms, workgroups: [n],
  });
  const pixels = await pixelCoordinates(stage, pixel, targetSize.width);
  stage.onDone(() => [points, sampled, gram, unit, dots, pixel].forEach((t) => t.dispose()));
  return { pixels, scores, dispose: () => { pixels.dispose(); scores.dispose(); } };
}

/** Row-major pixel indices [n] -> (x, y) [n, 2], on the GPU. */
async function pixelCoordinates(stage: Stage, index: Tensor<'u32'>, width: number): Promise<Tensor<'u32'>> {
  const out = Tensor.empty(stage.gpu, 'u32', [index.numel, 2], 'predicted pixels');
  stage.dispatch(stage.gpu.kernels.get('probe/correspondence', 'pixel_xy'), {
    label: `correspondence pixel (x, y) of ${index.numel} indices`,
    bindings: { best_index_in: index.buffer('correspondence'), pixel_xy_out: out.buffer('correspondence') },
    uniforms: { h: 1, w: 1, d: 1, out_h: 1, out_w: width, n_points: index.numel, scale_y: 1, scale_x: 1 },
    workgroups: [Math.ceil(index.numel / WG)],
  });
  return out;
}
