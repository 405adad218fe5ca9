// A probe sweep as a child process for the crash tests: `deno run -A sweepChild.ts OUT [samples]` runs runProbe
// over a deterministic CPU-only task (no GPU, no model) whose samples take a few milliseconds each, so a parent
// can SIGKILL it at random moments (mid-sample, mid-append, mid-report) and restart it on the same OUT.
import { runProbe } from '../../src/analysis/runProbe.ts';
import type { ProbeContext, ProbeTask } from '../../src/tasks/task.ts';
import { parseStatKey, type SampleStats, statKey } from '../../src/tasks/resultsLog.ts';

const [out, count = '24'] = Deno.args;
const n = Number(count);
const layers = [0, 1, 2, 3];

/** xorshift32 stream from a seed: the sample's statistics depend only on its index. */
function stream(seed: number): () => number {
  let s = (seed * 2654435761) >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}

export const crashTask: ProbeTask<number> = {
  name: 'crash',
  notes: ['a CPU-only task for the crash tests'],
  samples: () => Promise.resolve(Array.from({ length: n }, (_, i) => ({ id: `s${String(i).padStart(3, '0')}`, sample: i }))),
  async evaluate(_ctx, s) {
    const next = stream(s.sample + 1);
    const stats: SampleStats = {};
    // a few ms of work per sample, with a yield, so kills land mid-sample as well as between samples
    const t0 = performance.now();
    let x = 0;
    const busy = stream(s.sample + 1000);
    while (performance.now() - t0 < 8) x += Math.sqrt(busy());
    await new Promise((r) => setTimeout(r, 2));
    for (const layer of layers) stats[statKey('lm.value', layer)] = { hit: next() * (layer + 1), total: 1, hist: [next(), next(), x > 0 ? next() : 0] };
    stats[statKey('projector', null)] = { hit: next(), total: 1, hist: [next(), next(), next()] };
    return stats;
  },
  aggregate(summed, samples) {
    return Object.entries(summed).map(([key, f]) => {
      const { tap, layer } = parseStatKey(key);
      const hist = f.hist as number[];
      return { task: 'crash', tap, layer, metric: 'score', value: (100 * (f.hit as number)) / (f.total as number), n: samples, spread: hist[0] / (hist[1] + hist[2]) };
    });
  },
};

await runProbe(crashTask, {} as ProbeContext, out, { model: 'none', samples: n });
console.log('DONE');
