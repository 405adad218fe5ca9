// Fuzzed PNG/JPEG decoding (bounded for CI): an ImageError naming the file, or an image whose size and buffer
// agree (and, for PNG, whose pixels are its base's).
import { formatOutcome, runFuzz } from './fuzzOutcome.ts';
import { imageTarget } from './imageTargets.ts';
import { assertEquals } from '../gpu/assert.ts';

Deno.test('fuzz: PNG and JPEG (corrupt, truncated, zero and huge sizes, decompression bombs)', async () => {
  const o = await runFuzz(imageTarget, Number(Deno.env.get('FUZZ_RUNS') ?? 400), { seed: Number(Deno.env.get('FUZZ_SEED') ?? 5) });
  console.log(formatOutcome(o));
  assertEquals(o.findings, [], 'findings');
});
