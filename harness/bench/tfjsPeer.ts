// The peer: the same f32 matmul (x·Wᵀ) through @tensorflow/tfjs-backend-webgpu on the same adapter, in the same run.
// tfjs creates its own device on the default adapter.
import type { BenchRow } from './benchRow.ts';
import { median } from './timing.ts';

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
 * Median ms of tfjs's matMul(x [m,k], w [n,k], transposeB), or the reason it could not run. Timed as wall clock
 * from the call to the awaited result (`data()`), i.e. including the readback of y: tf.time()'s kernelMs was seen
 * to repeat a stale value for some shapes on tfjs 4.22, so it is not trusted.
 */
export async function tfjsMatmulMs(m: number, n: number, k: number, reps: number): Promise<{ ms: number; timing: string } | { error: string }> {
  tfPromise ??= loadTf();
  const tf = await tfPromise;
  if (typeof tf === 'string') return { error: tf };
  // all-ones inputs make every output exactly k: a peer that silently computes nothing (tfjs binds a weight
  // over maxStorageBufferBindingSize without error and returns zeros) is reported, not timed
  const x = tf.ones([m, k]), w = tf.ones([n, k]);
  const times: number[] = [];
  try {
    const probe = tf.matMul(x, w, false, true);
    const v = await probe.data();
    probe.dispose();
    if (v[0] !== k || v[v.length - 1] !== k) {
      return { error: `tfjs-webgpu computed a wrong result for m=${m} n=${n} k=${k} (y[0] = ${v[0]}, expected ${k}; its weight is ${4 * n * k} bytes, the binding limit is the adapter's maxStorageBufferBindingSize) — not timed` };
    }
    for (let r = 0; r < reps + 1; r++) {
      const t0 = performance.now();
      const y = tf.matMul(x, w, false, true);
      await y.data();
      const ms = performance.now() - t0;
      y.dispose();
      if (r > 0) times.push(ms);
    }
  } finally {
    x.dispose();
    w.dispose();
  }
  return { ms: median(times), timing: 'wall clock incl. readback of y' };
}

export function tfjsRow(shape: { m: number; n: number; k: number }, ms: number, device: string): BenchRow {
  const { m, n, k } = shape;
  return { kernel: 'matmul', shape, dtype: 'f32', impl: 'tfjs-webgpu', median_ms: ms, gflops: (2 * m * n * k) / ms / 1e6, gbps: (4 * (m * k + n * k + m * n)) / ms / 1e6, device };
}
