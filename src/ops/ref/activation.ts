// float64 references for the activations.
import type { Activation } from '../activation.ts';
import { type HostTensor, hostTensor } from '../../gpu/hostTensor.ts';

/** erf to ~1e-15 (Abramowitz–Stegun 7.1.26 is far too coarse for a reference): series for |x| < 2.5,
 *  continued fraction for erfc beyond. */
export function erf(x: number): number {
  const a = Math.abs(x);
  if (a < 2.5) {
    // erf(x) = 2/√π Σ (−1)^n x^(2n+1) / (n! (2n+1))
    let term = a, sum = a;
    for (let n = 1; n < 100; n++) {
      term *= -(a * a) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(a) = e^{−a²}/√π · 1/(a + 1/2/(a + 1/(a + 3/2/(a + 2/(a + ...))))) (Lentz-free backward evaluation)
  let f = a;
  for (let k = 60; k >= 1; k--) f = a + (k / 2) / f;
  const erfc = Math.exp(-a * a) / Math.sqrt(Math.PI) / f;
  return Math.sign(x) * (1 - erfc);
}

export function act(kind: Activation, v: number): number {
  const sigmoid = (t: number) => 1 / (1 + Math.exp(-t));
  switch (kind) {
    case 'silu': return v * sigmoid(v);
    case 'gelu': return 0.5 * v * (1 + erf(v / Math.SQRT2));
    case 'gelu_tanh': return 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
    case 'quick_gelu': return v * sigmoid(1.702 * v);
  }
}

export function activation(kind: Activation, x: HostTensor): HostTensor {
  return hostTensor(x.shape, Array.from(x.data, (v) => act(kind, v)));
}

export function gatedActivation(kind: Activation, gate: HostTensor, up: HostTensor): HostTensor {
  return hostTensor(gate.shape, Array.from(gate.data, (g, i) => act(kind, g) * up.data[i]));
}
