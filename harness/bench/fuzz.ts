// `npx kvscope bench fuzz`: every fuzz target of test/fuzz with many more inputs than CI runs, one line per reader
// (inputs, accepted, typed rejections by class, findings, slowest input) and every finding listed. Exit code 1 when
// any reader broke its contract.
import { configTarget, preprocessorTarget } from '../../test/fuzz/configTargets.ts';
import { datasetTarget } from '../../test/fuzz/datasetTargets.ts';
import { type FuzzOutcome, formatOutcome, runFuzz, type FuzzTarget } from '../../test/fuzz/fuzzOutcome.ts';
import { imageTarget } from '../../test/fuzz/imageTargets.ts';
import { safetensorsTarget } from '../../test/fuzz/safetensorsTarget.ts';
import { tokenizerTarget } from '../../test/fuzz/tokenizerTarget.ts';
import { misbehavingServer, urlTarget } from '../../test/fuzz/urlTarget.ts';

export const FUZZ_READERS = ['safetensors', 'config', 'preprocessor', 'tokenizer', 'image', 'dataset', 'url'] as const;

export async function benchFuzz(o: { runs?: number; seed?: number; only?: string[]; json?: boolean }): Promise<FuzzOutcome[]> {
  const runs = o.runs ?? 20_000;
  const seed = o.seed ?? Date.now() % 2 ** 31;
  const server = misbehavingServer();
  // the URL target waits out stalls (250 ms each), so it gets a tenth of the inputs
  const targets: [string, FuzzTarget<never>, number][] = ([
    ['safetensors', safetensorsTarget, runs], ['config', configTarget, runs], ['preprocessor', preprocessorTarget, runs],
    ['tokenizer', tokenizerTarget, runs], ['image', imageTarget, runs], ['dataset', datasetTarget, runs],
    ['url', urlTarget(server), Math.max(1, Math.round(runs / 10))],
  ] as [string, FuzzTarget<unknown>, number][]).filter(([k]) => !o.only || o.only.includes(k)) as [string, FuzzTarget<never>, number][];
  for (const k of o.only ?? []) if (!(FUZZ_READERS as readonly string[]).includes(k)) throw new Error(`--only: unknown reader ${k} (known: ${FUZZ_READERS.join(', ')})`);
  console.log(`fuzzing ${targets.length} reader(s), seed ${seed} (repeat with --seed ${seed})`);
  const outcomes: FuzzOutcome[] = [];
  try {
    for (const [, target, n] of targets) {
      const out = await runFuzz(target, n, { seed, bounds: { timeMs: 5000, rssBytes: 1 << 30 } });
      outcomes.push(out);
      console.log(o.json ? JSON.stringify({ ...out, seed }) : formatOutcome(out));
      for (const f of out.findings.slice(0, 20)) console.log(`  finding: ${f}`);
    }
  } finally {
    await server.close();
  }
  return outcomes;
}
