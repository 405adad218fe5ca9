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
