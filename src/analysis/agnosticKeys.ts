// Input-agnostic image keys (the study's key artifacts): over a set of images, the image key positions whose keys
// barely change with the input. Per layer, each cell of the image's grid gets the mean pairwise cosine similarity of
// its cached key (all KV heads concatenated) across the images (on the GPU, probe/keyConsistency); cells above
// `threshold` are input-agnostic. kvscope's documented choice where the paper is silent: threshold 0.9 on that
// similarity, layers = all (the report shows where they appear; the paper finds them in later layers), images of
// one size so every image's grid has the same cells. Blocking turns them into an attention-mask intervention
// (capture/interventions.ts: blockAgnosticKeys).
import { features } from '../capture/features.ts';
import type { AgnosticKeys } from '../capture/interventions.ts';
import type { GridChoice } from '../capture/spans.ts';
import { canonicalTap } from '../capture/taps.ts';
import { Stage } from '../gpu/stage.ts';
import { Tensor } from '../gpu/tensor.ts';
import type { RgbImage } from '../io/rgbImage.ts';
import type { MultimodalModel } from '../models/model.ts';
import { copyInto } from '../ops/rows.ts';
import { keyConsistency } from '../probe/keyConsistency.ts';

export interface AgnosticKeyOptions {
  layers: readonly number[];
  threshold?: number;
  grid?: GridChoice;
  prompt?: string;
}

/** Run the model on each image and score every image key cell of every asked layer. */
export async function findAgnosticKeys(model: MultimodalModel, images: readonly RgbImage[], opts: AgnosticKeyOptions): Promise<AgnosticKeys> {
  if (images.length < 2) throw new Error(`input-agnostic keys need at least 2 images, got ${images.length}`);
  const threshold = opts.threshold ?? 0.9;
  const grid = opts.grid ?? 'main';
  const stacks = new Map<number, Tensor<'f32'>>();
  let shape: { rows: number; cols: number; dim: number } | null = null;
  const gpu = model.gpu;
  try {
    for (const [i, img] of images.entries()) {
      const result = await model.prefill({ images: [img], prompt: opts.prompt ?? 'Describe the image.', logits: 'last' });
      try {
        for (const layer of opts.layers) {
          const fm = await features(result, { tap: canonicalTap('lm.key', layer), grid });
          if (!shape) shape = { rows: fm.rows, cols: fm.cols, dim: fm.dim };
          if (fm.rows !== shape.rows || fm.cols !== shape.cols) {
            fm.dispose();
            throw new Error(`input-agnostic keys: image ${i} (${img.source ?? ''}) has a ${fm.rows}×${fm.cols} grid, the first had ${shape.rows}×${shape.cols}; use images of one size`);
          }
          let stack = stacks.get(layer);
          if (!stack) stacks.set(layer, stack = Tensor.empty(gpu, 'f32', [images.length * fm.rows * fm.cols, fm.dim], `keys layer ${layer}`));
          const stage = new Stage(gpu, `stack keys layer ${layer}`);
          await copyInto(stage, fm.features.reshape([fm.rows * fm.cols, fm.dim]), stack, i * fm.rows * fm.cols);
          await stage.submit();
          fm.dispose();
        }
      } finally {
        result.dispose();
      }
    }
    const out: AgnosticKeys = { cells: new Map(), similarity: new Map(), grid: { rows: shape!.rows, cols: shape!.cols, choice: grid }, threshold, images: images.length };
    for (const layer of opts.layers) {
      const stack = stacks.get(layer)!;
      const stage = new Stage(gpu, `key consistency layer ${layer}`);
      const sim = await keyConsistency(stage, stack.reshape([images.length, shape!.rows * shape!.cols, shape!.dim]));
      await stage.submit();
      const host = (await sim.read()) as Float32Array;
      sim.dispose();
      out.similarity.set(layer, host);
      out.cells.set(layer, [...host.keys()].filter((c) => host[c] > threshold));
    }
    return out;
  } finally {
    for (const t of stacks.values()) t.dispose();
  }
}
