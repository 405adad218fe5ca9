// The short measured tuning run: each kernel variant of src/gpu/tuning.ts timed on a representative shape on this
// adapter (prefill 256×1024×1024, decode 1×4096×4096, bf16 weights as the checkpoints have them; attention prefill
// 256 queries × 256 keys at 28/4 heads, d 128), the fastest kept and cached by adapter identity. A few seconds on a
// software adapter (plus the first compile of each kernel).
import type { Gpu } from '../../src/gpu/device.ts';
import { Tensor } from '../../src/gpu/tensor.ts';
import { type AttentionVariant, type GemvVariant, type KernelChoice, MATMUL_TILE_VARIANTS, type MatmulTileVariant, setKernelChoice } from '../../src/gpu/tuning.ts';
import { attention } from '../../src/ops/attention.ts';
import { matmul, subgroupGemv } from '../../src/ops/matmul.ts';
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

async function fastestAttention(gpu: Gpu, reps: number, measured: Record<string, number>): Promise<AttentionVariant> {
  const s = 256, heads = 28, kvHeads = 4, d = 128;
  const q = Tensor.from(gpu, 'f32', [s, heads, d], new Float32Array(s * heads * d).map((_, i) => ((i * 7919) % 17) / 17 - 0.5), 'tune q');
  const k = Tensor.from(gpu, 'f32', [kvHeads, s, d], new Float32Array(kvHeads * s * d).map((_, i) => ((i * 104729) % 13) / 13 - 0.5), 'tune k');
  const out = Tensor.empty(gpu, 'f32', [s, heads * d], 'tune attention out');
  let best: AttentionVariant = 'flash', bestMs = Infinity;
  for (const v of ['flash', 'tiled'] as const) {
    const ms = await timeStage(gpu, reps, (stage) => { attention(stage, q, k, k, { kvLength: s, causal: false, out, variant: v }); });
    measured[`attention ${v} ${s}×${s} ${heads}/${kvHeads}×${d}`] = ms;
    if (ms < bestMs) { best = v; bestMs = ms; }
  }
  [q, k, out].forEach((t) => t.dispose());
  return best;
}

/** Time every variant, keep the fastest for this adapter (and cache it when `persist`). */
export async function tuneKernels(gpu: Gpu, opts: { reps?: number; persist?: boolean } = {}): Promise<KernelChoice & { cachedIn: string | null }> {
  const reps = opts.reps ?? 3;
  const measured: Record<string, number> = {};
  const matmulTile = await fastest(gpu, MATMUL_TILE_VARIANTS, 256, 1024, 1024, reps, measured);
  // the subgroup gemv only where `subgroups` is offered and its self-test passed
  const gemvVariants: GemvVariant[] = subgroupGemv(gpu) ? ['rows', 'split', 'subgroup'] : ['rows', 'split'];
  const gemv = await fastest(gpu, gemvVariants, 1, 4096, 4096, reps, measured);
  const attention = await fastestAttention(gpu, reps, measured);
  const choice: KernelChoice = { matmulTile, gemv, attention, source: 'tuned', measured };
  const cachedIn = setKernelChoice(gpu, choice, opts.persist ?? true);
  return { ...choice, cachedIn };
}

export function tuningText(c: KernelChoice): string {
  const m = c.measured ? Object.entries(c.measured).map(([k, v]) => `${k}: ${v.toFixed(1)} ms`).join('; ') : 'no timings';
  return `kernel choice (${c.source}): matmul prefill ${c.matmulTile}, decode ${c.gemv}, attention prefill ${c.attention} (${m})`;
}
