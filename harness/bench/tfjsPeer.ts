// The peer: the same f32 matmul (x·Wᵀ) through @tensorflow/tfjs-backend-webgpu on the same adapter, in the same run.
// tfjs creates its own device on the default adapter; its kernel time comes from tf.time() (timestamp queries
// when tfjs enabled them, else wall time including its own sync).
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

/** Median ms of tfjs's matMul(x [m,k], w [n,k], transposeB) or the reason it could not run. */
export async function tfjsMatmulMs(m: number, n: number, k: number, reps: number): Promise<{ ms: number; timing: string } | { error: string }> {
  tfPromise ??= loadTf();
  const tf = await tfPromise;
  if (typeof tf === 'string') return { error: tf };
  const x = tf.randomNormal([m, k]), w = tf.randomNormal([n, k]);
  const times: number[] = [];
  let timing = 'kernel';
  try {
    for (let r = 0; r < reps + 1; r++) {
      const info = await tf.time(() => tf.matMul(x, w, false, true));
      const kernelMs = typeof info.kernelMs === 'number' ? info.kernelMs : NaN;
      if (!Number.isFinite(kernelMs)) timing = 'wall';
      if (r > 0) times.push(Number.isFinite(kernelMs) ? kernelMs : info.wallMs);
    }
  } finally {
    x.dispose();
    w.dispose();
  }
  return { ms: median(times), timing };
}

export function tfjsRow(shape: { m: number; n: number; k: number }, ms: number, device: string): BenchRow {
  const { m, n, k } = shape;
  return { kernel: 'matmul', shape, dtype: 'f32', impl: 'tfjs-webgpu', median_ms: ms, gflops: (2 * m * n * k) / ms / 1e6, gbps: (4 * (m * k + n * k + m * n)) / ms / 1e6, device };
}
