// Fuzzed tokenizer files (bounded for CI): a TokenizerError naming the file, or a tokenizer whose ids stay inside
// its vocabulary.
import { Tokenizer } from '../../src/io/tokenizer.ts';
import { formatOutcome, runFuzz } from './fuzzOutcome.ts';
import { tinyBpe, tokenizerTarget } from './tokenizerTarget.ts';
import { assert, assertEquals } from '../gpu/assert.ts';

Deno.test('fuzz base: the tiny BPE tokenizer builds and round-trips', () => {
  const { json, config } = tinyBpe();
  const tok = Tokenizer.fromJson(json, config, { origin: 'x' });
  const ids = tok.encode('hello world <image>');
  assert(ids.includes(262) && ids.includes(258), `ids ${ids}`);
  assertEquals(tok.decode(ids), 'hello world <image>', 'round trip');
});

Deno.test('fuzz: tokenizer.json and tokenizer_config.json', async () => {
  const o = await runFuzz(tokenizerTarget, Number(Deno.env.get('FUZZ_RUNS') ?? 300), { seed: Number(Deno.env.get('FUZZ_SEED') ?? 4) });
  console.log(formatOutcome(o));
  assertEquals(o.findings, [], 'findings');
});
