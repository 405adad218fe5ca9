// float64 references for the RoPE forms: θ = f32(pos · inv_freq) exactly as HF forms `freqs` in float32, then
// cos/sin and the rotation in float64.
import { ropeInvFreq } from '../rope.ts';
import { type HostTensor, hostTensor } from '../../gpu/hostTensor.ts';

function rotate(x: HostTensor, angle: (s: number, i: number) => number): HostTensor {
  const [seq, heads, d] = x.shape;
  const half = d / 2;
  const y = hostTensor(x.shape);
  for (let s = 0; s < seq; s++) {
    for (let h = 0; h < heads; h++) {
      const base = (s * heads + h) * d;
      for (let i = 0; i < half; i++) {
        const t = angle(s, i);
        const c = Math.cos(t), sn = Math.sin(t);
        const x1 = x.data[base + i], x2 = x.data[base + i + half];
        y.data[base + i] = x1 * c - x2 * sn;
        y.data[base + i + half] = x2 * c + x1 * sn;
      }
    }
  }
  return y;
}

export function rope(x: HostTensor, positions: HostTensor, opts: { theta: number }): HostTensor {
  const inv = ropeInvFreq(x.shape[2], opts.theta);
  return rotate(x, (s, i) => Math.fround(positions.data[s] * inv[i]));
}

export function mrope(x: HostTensor, positions: HostTensor, opts: { theta: number; mropeSection: readonly [number, number, number] }): HostTensor {
  const [seq, , d] = x.shape;
  const inv = ropeInvFreq(d, opts.theta);
  const [a, b] = opts.mropeSection;
  return rotate(x, (s, i) => Math.fround(positions.data[(i < a ? 0 : i < a + b ? 1 : 2) * seq + s] * inv[i]));
}

export function visionRope2d(x: HostTensor, positions: HostTensor, opts: { theta?: number } = {}): HostTensor {
  const d = x.shape[2];
  const inv = ropeInvFreq(d / 2, opts.theta ?? 10000);
  const q = d / 4;
  return rotate(x, (s, i) => Math.fround(positions.data[s * 2 + (i < q ? 0 : 1)] * inv[i % q]));
}
