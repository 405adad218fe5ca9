// The peer: the same f32 matmul (x·Wᵀ) through @tensorflow/tfjs-backend-webgpu on the same adapter, in the same run.
// tfjs creates its own device on the default adapter; it is timed on that device's queue after its open compute pass is
// ended and its encoder submitted (tfjs batches kernels into one pass and submits lazily).
import { timeOnQueue } from './timing.ts';

type Tf = typeof import('@tensorflow/tfjs-core');
let tfPromise: Promise<Tf | string> | null = null;

async function loadTf(): Promise<Tf | string> {
  try {
    const tf = await import('@tensorflow/tfjs-core');
    await import('@tensorflow/tfjs-backend-webgpu');
    if (!(await tf.setBackend('webgpu'))) return 'tfjs could not initialise its webgpu backend';
    await tf.ready();
    return tf;
  } catch (e) {
    return `tfjs-webgpu unavailable: ${(e as Error).message}`;
  }
}

/**
 * Median ms of tfjs's matMul(x [m,k], w [n,k], transposeB), or the reason it could not run. Timed by the bench's one
 * method: from the call (tfjs encodes and submits its queue) to its device's onSubmittedWorkDone; x and w are
 * uploaded in the untimed warmup run and y is never read back while timed. (tf.time()'s kernelMs was seen to repeat
 * a stale value for some shapes on tfjs 4.22, so it is not used.)
 */
export async function tfjsMatmulMs(m: number, n: number, k: number, reps: number, budgetMs = Infinity): Promise<{ ms: number } | { error: string }> {
  tfPromise ??= loadTf();
  const tf = await tfPromise;
  if (typeof tf === 'string') return { error: tf };
  const backend = tf.backend() as unknown as { device?: GPUDevice; submitQueue?: () => void; endComputePassEncoder?: () => void; ensureCommandEncoderReady?: () => void };
  if (!backend.device || !backend.submitQueue || !backend.endComputePassEncoder || !backend.ensureCommandEncoderReady) {
    return { error: 'tfjs-webgpu backend exposes no device/submitQueue/endComputePassEncoder: cannot time it like the others' };
  }
  // all-ones inputs make every output exactly k: a peer that silently computes nothing (tfjs binds a weight
  // over maxStorageBufferBindingSize without error and returns zeros) is reported, not timed
  const x = tf.ones([m, k]), w = tf.ones([n, k]);
  try {
    const probe = tf.matMul(x, w, false, true);
    const v = await probe.data();
    probe.dispose();
    if (v[0] !== k || v[v.length - 1] !== k) {
      return { error: `tfjs-webgpu computed a wrong result for m=${m} n=${n} k=${k} (y[0] = ${v[0]}, expected ${k}; its weight is ${4 * n * k} bytes, the binding limit is the adapter's maxStorageBufferBindingSize) — not timed` };
    }
    const made: { dispose(): void }[] = [];
    const ms = await timeOnQueue(backend.device, reps, () => {
      made.push(tf.matMul(x, w, false, true));
      // tfjs keeps its compute pass open between kernels: finishing the encoder with the pass still open makes an
      // invalid command buffer that the device drops (the ~12 ms floor of every shape seen before), so end it first
      backend.ensureCommandEncoderReady!();
      backend.endComputePassEncoder!();
      backend.submitQueue!();
    }, 1, budgetMs);
    for (const y of made) y.dispose();
    return { ms };
  } finally {
    x.dispose();
    w.dispose();
  }
}
