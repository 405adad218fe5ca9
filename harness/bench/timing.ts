// Median GPU time of a recorded piece of work: timestamp queries when the adapter has them (the sum of the
// stage's dispatch times), otherwise wall clock from submit to onSubmittedWorkDone.
import type { Gpu } from '../../src/gpu/device.ts';
import { Profiler } from '../../src/gpu/profiler.ts';
import { Stage } from '../../src/gpu/stage.ts';

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

export async function timeStage(gpu: Gpu, reps: number, record: (stage: Stage) => Promise<void>, warmup = 1): Promise<number> {
  const profiler = gpu.features.timestampQuery ? new Profiler(gpu, 512) : null;
  const times: number[] = [];
  try {
    for (let r = 0; r < warmup + reps; r++) {
      const stage = new Stage(gpu, 'bench', profiler);
      await record(stage);
      const t0 = performance.now();
      await stage.submit();
      await gpu.device.queue.onSubmittedWorkDone();
      const wall = performance.now() - t0;
      const gpuMs = profiler ? (await profiler.read()).reduce((a, e) => a + e.ms, 0) : wall;
      if (r >= warmup) times.push(gpuMs);
    }
  } finally {
    profiler?.destroy();
  }
  return median(times);
}
