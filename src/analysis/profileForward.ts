// One profiled prefill (+ N greedy decode steps): a profiler installed on the device so every stage the model
// builds records into it, read back after each phase. The same function runs behind `kvscope profile` and the
// browser app.
import { Profiler } from '../gpu/profiler.ts';
import type { MultimodalModel, PrefillRequest } from '../models/model.ts';
import { type ForwardProfile, type ProfileInput, type Roofline, summarizeProfile } from './forwardProfile.ts';

export interface ProfileForwardOptions {
  /** Greedy decode steps after the prefill (default 0). */
  decode?: number;
  /** Unprofiled prefills first (first-use allocations; default 0). */
  warmup?: number;
  roofline?: Roofline | null;
}

export async function profileForward(model: MultimodalModel, req: PrefillRequest, opts: ProfileForwardOptions = {}): Promise<ForwardProfile> {
  const gpu = model.gpu;
  if (gpu.profiler) throw new Error('profileForward: this device already has a profiler installed (another profile running?)');
  for (let i = 0; i < (opts.warmup ?? 0); i++) {
    (await model.prefill(req)).dispose();
    await gpu.device.queue.onSubmittedWorkDone();
  }
  const decode = opts.decode ?? 0;
  const prof = Profiler.forGpu(gpu);
  const input: ProfileInput = { device: gpu.describe(), mode: prof.mode, entries: [], stages: [], roofline: opts.roofline ?? null, untimed: 0 };
  const collect = async (phase: 'prefill' | 'decode') => {
    await gpu.device.queue.onSubmittedWorkDone();
    if (prof.mode === 'timestamp') input.entries.push({ phase, entries: await prof.read() });
    else input.stages.push({ phase, stages: prof.readStages() });
  };
  gpu.profiler = prof;
  try {
    const result = await model.prefill(req);
    try {
      await collect('prefill');
      if (decode > 0) {
        await model.generate(result, decode + 1);
        await collect('decode');
      }
    } finally {
      result.dispose();
    }
  } finally {
    gpu.profiler = null;
    input.untimed = prof.dropped;
    prof.destroy();
  }
  return summarizeProfile(input);
}
