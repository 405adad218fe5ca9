// Fuzzed config.json and preprocessor_config.json readers (bounded for CI): every edit a ConfigError naming the file
// and field, or accepted without carrying a wrongly typed / out-of-range value through.
import { formatOutcome, runFuzz } from './fuzzOutcome.ts';
import { configTarget, preprocessorTarget } from './configTargets.ts';
import { assertEquals } from '../gpu/assert.ts';

Deno.test('fuzz: config.json fields removed, retyped, out of range; text cut and flipped', async () => {
  const o = await runFuzz(configTarget, Number(Deno.env.get("FUZZ_RUNS") ?? 600), { seed: Number(Deno.env.get("FUZZ_SEED") ?? 2) });
  console.log(formatOutcome(o));
  assertEquals(o.findings, [], 'findings');
});

Deno.test('fuzz: preprocessor_config.json fields removed, retyped, out of range; text cut and flipped', async () => {
  const o = await runFuzz(preprocessorTarget, Number(Deno.env.get("FUZZ_RUNS") ?? 600), { seed: Number(Deno.env.get("FUZZ_SEED") ?? 3) });
  console.log(formatOutcome(o));
  assertEquals(o.findings, [], 'findings');
});
