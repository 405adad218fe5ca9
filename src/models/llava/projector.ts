// LLaVA's multimodal projector on the GPU (HF LlavaOnevisionMultiModalProjector / LlavaNextMultiModalProjector):
//   y = linear_2(act(linear_1(x))), act = projector_hidden_act ("gelu": exact erf GELU), per vision token.
import type { Gpu } from '../../gpu/device.ts';
import type { Stage } from '../../gpu/stage.ts';
import type { Tensor } from '../../gpu/tensor.ts';
import { type Activation, activation, activationFromConfig } from '../../ops/activation.ts';
import { matmul } from '../../ops/matmul.ts';
import type { Weights } from '../weights.ts';

export interface ProjectorSpec {
  /** e.g. 'model.multi_modal_projector.' */
  prefix: string;
  /** Vision feature width (Hv × number of feature layers) and the LM width. */
  inDim: number;
  hidden: number;
  bias: boolean;
  act: string;
}

export class Projector {
  private constructor(
    readonly spec: ProjectorSpec,
    private readonly w1: Tensor, private readonly b1: Tensor | null,
    private readonly w2: Tensor, private readonly b2: Tensor | null,
    private readonly act: Activation,
  ) {}

  static async load(gpu: Gpu, weights: Weights, spec: ProjectorSpec): Promise<Projector> {
    const p = spec.prefix;
    const w1 = await weights.gpu(gpu, `${p}linear_1.weight`, [spec.hidden, spec.inDim]);
    const b1 = spec.bias ? await weights.gpu(gpu, `${p}linear_1.bias`, [spec.hidden]) : null;
    const w2 = await weights.gpu(gpu, `${p}linear_2.weight`, [spec.hidden, spec.hidden]);
    const b2 = spec.bias ? await weights.gpu(gpu, `${p}linear_2.bias`, [spec.hidden]) : null;
    return new Projector(spec, w1, b1, w2, b2, activationFromConfig(spec.act, 'projector_hidden_act'));
  }

  /** [n, inDim] -> [n, hidden]. */
  forward(stage: Stage, x: Tensor<'f32'>): Tensor<'f32'> {
    const h = matmul(stage, x, this.w1, { bias: this.b1 ?? undefined });
    const a = activation(stage, this.act, h);
    const y = matmul(stage, a, this.w2, { bias: this.b2 ?? undefined });
    stage.onDone(() => { h.dispose(); a.dispose(); });
    return y;
  }

  dispose(): void {
    for (const t of [this.w1, this.b1, this.w2, this.b2]) t?.dispose();
  }
}
