// HF `ACT2FN` names (`hidden_act`, `projector_hidden_act`) as the activation references name them, written out for
// the float64 reference so a wrong mapping in the GPU path shows up as a parity failure.
import type { Activation } from '../../ops/activation.ts';

const ACT2FN: Record<string, Activation> = {
  silu: 'silu', swish: 'silu', gelu: 'gelu', quick_gelu: 'quick_gelu',
  // tanh approximation: GELUTanh / NewGELUActivation / FastGELUActivation
  gelu_pytorch_tanh: 'gelu_tanh', gelu_new: 'gelu_tanh', gelu_fast: 'gelu_tanh',
};

export function act2fn(name: string, where: string): Activation {
  const a = ACT2FN[name];
  if (!a) throw new Error(`reference: ${where} '${name}' has no reference activation (${Object.keys(ACT2FN).join(', ')})`);
  return a;
}
