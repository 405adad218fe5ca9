// f32 vs f16 KV cache at LLaVA-OneVision-0.5B's attention dims (14 query heads, 2 KV heads, head_dim 64): the
// per-layer cache ops of one decode step (attention of one query over L cached positions, rope into the cache,
// kv_write of V) and of a prefill chunk, both cache dtypes interleaved rep by rep in one process, medians and the
// f32/f16 time ratio. Wall clock per stage of `batch` dispatches (queue idle), on the default adapter. Attention
// is pinned to the flash kernel on both caches (the tiled prefill variant reads f32 caches only), so the ratio is
// the cache dtype's alone.
//   deno run -A harness/bench/kvDtypeBench.ts [--lengths 512,2048,4096] [--reps 7] [--batch 8]
import { acquireGpu } from '../../src/gpu/device.ts';
import { Stage } from '../../src/gpu/stage.ts';
import { Tensor } from '../../src/gpu/tensor.ts';
import { attention } from '../../src/ops/attention.ts';
import { kvWrite } from '../../src/ops/kvWrite.ts';
import { rope } from '../../src/ops/rope.ts';

const HEADS = 14, KV_HEADS = 2, D = 64, THETA = 1e6;

function arg(name: string, fallback: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] : fallback;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const lengths = arg('lengths', '512,2048,4096').split(',').map(Number);
const reps = Number(arg('reps', '7')), batch = Number(arg('batch', '8'));
const gpu = await acquireGpu();
if (!gpu.features.shaderF16) throw new Error(`kv dtype bench: ${gpu.describe()} has no self-tested shader-f16; only f32 caches run here`);
console.log(`device: ${gpu.describe()}; dims ${HEADS}/${KV_HEADS} heads × ${D}; medians of ${reps} reps of ${batch} dispatches per stage, f32 and f16 interleaved`);

const rand = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 0.5);

async function time(fn: (st: Stage) => void): Promise<number> {
  const t0 = performance.now();
  await Stage.run(gpu, 'kv dtype bench', fn);
  await gpu.device.queue.onSubmittedWorkDone();
  return (performance.now() - t0) / batch;
}

console.log('case                                   f32 ms    f16 ms   f32/f16');
for (const L of lengths) {
  const caches = Object.fromEntries((['f32', 'f16'] as const).map((dt) => [dt, {
    k: Tensor.from(gpu, dt, [KV_HEADS, L + 64, D], rand(KV_HEADS * (L + 64) * D), `k ${dt}`),
    v: Tensor.from(gpu, dt, [KV_HEADS, L + 64, D], rand(KV_HEADS * (L + 64) * D), `v ${dt}`),
  }])) as Record<'f32' | 'f16', { k: Tensor<'f32' | 'f16'>; v: Tensor<'f32' | 'f16'> }>;
  for (const sQ of [1, 64]) {
    const q = Tensor.from(gpu, 'f32', [sQ, HEADS, D], rand(sQ * HEADS * D), 'q');
    const kNew = Tensor.from(gpu, 'f32', [sQ, KV_HEADS, D], rand(sQ * KV_HEADS * D), 'k new');
    const pos = Tensor.from(gpu, 'u32', [sQ], Array.from({ length: sQ }, (_, i) => L - sQ + i), 'positions');
    const out = Tensor.empty(gpu, 'f32', [sQ, HEADS * D], 'attn out');
    const ops = {
      attention: (c: { k: Tensor<'f32' | 'f16'>; v: Tensor<'f32' | 'f16'> }) => (st: Stage) => {
        for (let b = 0; b < batch; b++) attention(st, q, c.k, c.v, { kvLength: L, qStart: L - sQ, causal: true, out, variant: 'flash' });
      },
      'rope→cache + kv_write': (c: { k: Tensor<'f32' | 'f16'>; v: Tensor<'f32' | 'f16'> }) => (st: Stage) => {
        for (let b = 0; b < batch; b++) {
          rope(st, kNew, pos, { theta: THETA, into: { cache: c.k, start: L - sQ } });
          kvWrite(st, kNew, c.v, L - sQ);
        }
      },
    };
    for (const [name, op] of Object.entries(ops)) {
      const ms: Record<'f32' | 'f16', number[]> = { f32: [], f16: [] };
      await time(op(caches.f32));
      await time(op(caches.f16)); // first use: pipeline compilation out of the timing
      for (let r = 0; r < reps; r++) for (const dt of (r % 2 ? ['f16', 'f32'] : ['f32', 'f16']) as ('f32' | 'f16')[]) ms[dt].push(await time(op(caches[dt])));
      const a = median(ms.f32), b = median(ms.f16);
      console.log(`${`${name} S_q=${sQ} L=${L}`.padEnd(38)} ${a.toFixed(3).padStart(8)}  ${b.toFixed(3).padStart(8)}  ${(a / b).toFixed(2).padStart(7)}×`);
    }
    [q, kNew, pos, out].forEach((t) => t.dispose());
  }
  for (const c of Object.values(caches)) { c.k.dispose(); c.v.dispose(); }
}
const layerBytes = (dt: 'f32' | 'f16', L: number) => 2 * KV_HEADS * L * D * (dt === 'f16' ? 2 : 4);
console.log(`cache bytes per layer and position (K+V): f32 ${layerBytes('f32', 1)}, f16 ${layerBytes('f16', 1)}; ` +
  `24 layers × 4096 positions: f32 ${(24 * layerBytes('f32', 4096) / 2 ** 20).toFixed(1)} MiB, f16 ${(24 * layerBytes('f16', 4096) / 2 ** 20).toFixed(1)} MiB`);
gpu.destroy();
