// Fuzzed safetensors reader (bounded for CI): every input a typed SafetensorsError naming the file or an accepted
// file that matches an independent reading of its bytes. `npx kvscope bench fuzz` runs many more.
import { formatOutcome, runFuzz } from './fuzzOutcome.ts';
import { safetensorsTarget } from './safetensorsTarget.ts';
import { assertEquals } from '../gpu/assert.ts';

Deno.test('fuzz: safetensors headers and bodies', async () => {
  const o = await runFuzz(safetensorsTarget, Number(Deno.env.get('FUZZ_RUNS') ?? 1000), { seed: Number(Deno.env.get('FUZZ_SEED') ?? 1) });
  console.log(formatOutcome(o));
  assertEquals(o.findings, [], 'findings');
});
