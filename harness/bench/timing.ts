// The one timing method of every benchmark table, for kvscope and its peers alike: wall clock from the call that
// encodes and submits the work to the device queue's onSubmittedWorkDone. Inputs are already on the GPU and no
// output is read back, for every implementation. Medians over reps after warmup runs.
import type { Gpu } from '../../src/gpu/device.ts';
import { Stage } from '../../src/gpu/stage.ts';

export const TIMING_METHOD = 'wall clock from the op call (encode + submit) to onSubmittedWorkDone; inputs on the GPU, readback excluded, the same for every implementation';

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

/**
 * Median ms of `call` (which encodes and submits work on `device`) until the device's queue is drained. With
 * `budgetMs`, timed runs stop once they have used that much (at least one is always timed), so a slow
 * implementation at a large shape costs one run, not `reps`.
 */
export async function timeOnQueue(device: GPUDevice, reps: number, call: () => void | Promise<void>, warmup = 1, budgetMs = Infinity): Promise<number> {
  const times: number[] = [];
  await device.queue.onSubmittedWorkDone(); // start from an idle queue
  for (let r = 0; r < warmup + reps; r++) {
    const t0 = performance.now();
    await call();
    await device.queue.onSubmittedWorkDone();
    if (r >= warmup) times.push(performance.now() - t0);
    if (times.length && times.reduce((a, b) => a + b, 0) + times[times.length - 1] > budgetMs) break;
  }
  return median(times);
}

/** Median ms of one kvscope Stage recorded by `record` and submitted, by `timeOnQueue`. */
export function timeStage(gpu: Gpu, reps: number, record: (stage: Stage) => void | Promise<void>, warmup = 1, budgetMs = Infinity): Promise<number> {
  return timeOnQueue(gpu.device, reps, async () => {
    const stage = new Stage(gpu, 'bench');
    await record(stage);
    await stage.submit();
  }, warmup, budgetMs);
}

export const BATCHED_TIMING = 'kvscope rows also "in a batch": N back-to-back dispatches of the same op recorded in one Stage and one submit, as a forward records its ops, time / N, N grown until the batch takes ≥ 10× the submit floor (`bench roofline`: one submit of one empty dispatch); the roofline\'s read kernels are timed the same way (passes in one submit); peers cannot be batched the same way (each call of theirs encodes and submits its own work), so their rows and the peer ratios use the single-submit time';

/**
 * Median ms per op of `n` copies of one op recorded back to back in one Stage (one submit), `record(stage, i)`
 * recording copy i: the submit's fixed cost (`floorMs`) is shared by the n, as in a forward. n starts at what
 * `singleMs` (the op's single-submit time) suggests and grows until the batch takes ≥ 10 × floorMs.
 */
export async function timeStageBatched(gpu: Gpu, reps: number, record: (stage: Stage, i: number) => void, floorMs: number, singleMs: number, maxN = 256, budgetMs = Infinity): Promise<{ ms: number; n: number }> {
  const target = 10 * floorMs;
  const run = (n: number, r: number, warmup: number) => timeStage(gpu, r, (stage) => { for (let i = 0; i < n; i++) record(stage, i); }, warmup, budgetMs);
  let n = Math.min(maxN, Math.max(1, Math.ceil(target / Math.max(singleMs - floorMs, singleMs / 10))));
  let ms = await run(n, 1, 0);
  while (ms < target && n < maxN) {
    n = Math.min(maxN, Math.ceil(n * Math.min(16, Math.max(1.5, (1.2 * target) / Math.max(ms, 1e-3)))));
    ms = await run(n, 1, 0);
  }
  ms = await run(n, reps, 0); // the sizing runs above were the warmup
  return { ms: ms / n, n };
}
