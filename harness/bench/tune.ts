// The short measured tuning run: each kernel variant of src/gpu/tuning.ts timed on a representative shape on this
// adapter (prefill 256×1024×1024, decode 1×4096×4096, bf16 weights as the checkpoints have them), the fastest
// kept and cached by adapter identity. A few seconds on a software adapter.
import type { Gpu } from '../../src/gpu/device.ts';
import { Tensor } from '../../src/gpu/tensor.ts';
import { type GemvVariant, type KernelChoice, type MatmulTileVariant, setKernelChoice } from '../../src/gpu/tuning.ts';
import { matmul } from '../../src/ops/matmul.ts';
import { timeStage } from './timing.ts';

async function fastest<V extends MatmulTileVariant | GemvVariant>(gpu: Gpu, variants: readonly V[], m: number, n: number, k: number, reps: number, measured: Record<string, number>): Promise<V> {
  const x = Tensor.from(gpu, 'f32', [m, k], new Float32Array(m * k).fill(0.5), 'tune x');
  const w = Tensor.empty(gpu, 'bf16', [n, k], 'tune w');
  const y = Tensor.empty(gpu, 'f32', [m, n], 'tune y');
  let best = variants[0], bestMs = Infinity;
  for (const v of variants) {
    const ms = await timeStage(gpu, reps, (stage) => { matmul(stage, x, w, { out: y, variant: v, path: m === 1 ? 'gemv' : 'tiled' }); });
    measured[`${m === 1 ? 'gemv' : 'tile'} ${v} ${m}×${n}×${k}`] = ms;
    if (ms < bestMs) { best = v; bestMs = ms; }
  }
  [x, w, y].forEach((t) => t.dispose());
  return best;
}

/** Time every variant, keep the fastest for this adapter (and cache it when `persist`). */
export async function tuneKernels(gpu: Gpu, opts: { reps?: number; persist?: boolean } = {}): Promise<KernelChoice & { cachedIn: string | null }> {
  const reps = opts.reps ?? 3;
  const measured: Record<string, number> = {};
  const matmulTile = await fastest(gpu, ['reg16', 'wg64'] as const, 256, 1024, 1024, reps, measured);
  const gemv = await fastest(gpu, ['rows', 'split'] as const, 1, 4096, 4096, reps, measured);
  const choice: KernelChoice = { matmulTile, gemv, source: 'tuned', measured };
  const cachedIn = setKernelChoice(gpu, choice, opts.persist ?? true);
  return { ...choice, cachedIn };
}

export function tuningText(c: KernelChoice): string {
  const m = c.measured ? Object.entries(c.measured).map(([k, v]) => `${k}: ${v.toFixed(1)} ms`).join('; ') : 'no timings';
  return `kernel choice (${c.source}): matmul prefill ${c.matmulTile}, decode ${c.gemv} (${m})`;
}
