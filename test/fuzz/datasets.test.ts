// Fuzzed dataset annotation readers (bounded for CI): a DatasetError/ImageError naming the file, or a sample whose
// numbers are finite and consistent with its image.
import { formatOutcome, runFuzz } from './fuzzOutcome.ts';
import { datasetTarget } from './datasetTargets.ts';
import { assertEquals } from '../gpu/assert.ts';

Deno.test('fuzz: dataset annotations', async () => {
  const o = await runFuzz(datasetTarget, Number(Deno.env.get('FUZZ_RUNS') ?? 400), { seed: Number(Deno.env.get('FUZZ_SEED') ?? 7) });
  console.log(formatOutcome(o));
  assertEquals(o.findings, [], 'findings');
});
