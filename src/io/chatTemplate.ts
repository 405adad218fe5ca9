// Chat templates: find a checkpoint's Jinja template, render HF-style messages with @huggingface/jinja (which,
// like transformers, renders with trim_blocks and lstrip_blocks), kvscope's own templates for the three model
// types (the prompt formats of spec §1.7, §2.7, §3.7), and the study's single-turn prompt with an optional
// text prefix before the image.
import { TokenizerError } from './tokenizer.ts';
import { Template } from '@huggingface/jinja';
import { type CheckpointLocation, readText } from './safetensors.ts';

/** One item of a message's content list, HF's form (`{"type": "image"}`, `{"type": "text", "text": ...}`). */
export type ContentItem = { type: 'image' } | { type: 'video' } | { type: 'text'; text: string };

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | (string & {});
  /** A content list, or a plain string (rendered as one text item). */
  content: string | readonly ContentItem[];
}

export interface RenderOptions {
  addGenerationPrompt?: boolean;
  bosToken?: string | null;
  eosToken?: string | null;
  /** Further template variables (e.g. `add_vision_id` for Qwen's templates). */
  variables?: Record<string, unknown>;
}

/** Render `template` over `messages` as transformers' `apply_chat_template(tokenize=False)` does. */
export function renderChat(template: string, messages: readonly ChatMessage[], options: RenderOptions = {}): string {
  let compiled: Template;
  try {
    compiled = new Template(template);
  } catch (e) {
    throw new Error(`chat template: cannot parse: ${(e as Error).message}`);
  }
  try {
    return compiled.render({
      ...options.variables,
      messages,
      add_generation_prompt: options.addGenerationPrompt ?? false,
      bos_token: options.bosToken ?? '',
      eos_token: options.eosToken ?? '',
    });
  } catch (e) {
    throw new Error(`chat template: cannot render: ${(e as Error).message}`);
  }
}

// kvscope's templates, one output expression per line (no raw text between tags, so trim/lstrip blocks
// never touch the output). Content may be a string (one text item) or a list of items.

/** LLaVA-OneVision (§1.7): per message `<|im_start|>{role}\n`, every image as `<image>\n` first, then every
 * video as `<video>\n`, then the texts concatenated, then `<|im_end|>\n`; no default system message. */
const ONEVISION_TEMPLATE = [
  "{%- for message in messages -%}",
  "{{- '<|im_start|>' + message['role'] + '\\n' -}}",
  "{%- if message['content'] is string -%}",
  "{{- message['content'] -}}",
  "{%- else -%}",
  "{%- for item in message['content'] -%}{%- if item['type'] == 'image' -%}{{- '<image>\\n' -}}{%- endif -%}{%- endfor -%}",
  "{%- for item in message['content'] -%}{%- if item['type'] == 'video' -%}{{- '<video>\\n' -}}{%- endif -%}{%- endfor -%}",
  "{%- for item in message['content'] -%}{%- if item['type'] == 'text' -%}{{- item['text'] -}}{%- endif -%}{%- endfor -%}",
  "{%- endif -%}",
  "{{- '<|im_end|>\\n' -}}",
  "{%- endfor -%}",
  "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}",
].join('');

/** Llama-3-LLaVA-NeXT (§2.7): per message the role header + `\n\n`, `<image>` per image (no newline), then
 * `\n{text}<|eot_id|>` per text item; no BOS (the tokenizer's post-processor adds it). */
const LLAVA_NEXT_TEMPLATE = [
  "{%- for message in messages -%}",
  "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' -}}",
  "{%- if message['content'] is string -%}",
  "{{- '\\n' + message['content'] + '<|eot_id|>' -}}",
  "{%- else -%}",
  "{%- for item in message['content'] -%}{%- if item['type'] == 'image' -%}{{- '<image>' -}}{%- endif -%}{%- endfor -%}",
  "{%- for item in message['content'] -%}{%- if item['type'] == 'text' -%}{{- '\\n' + item['text'] + '<|eot_id|>' -}}{%- endif -%}{%- endfor -%}",
  "{%- endif -%}",
  "{%- endfor -%}",
  "{%- if add_generation_prompt -%}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}{%- endif -%}",
].join('');

/** Qwen2.5-VL (§3.7): a default system turn when the first message is not one; items in their order, an image as
 * `<|vision_start|><|image_pad|><|vision_end|>` (after "Picture N: " when add_vision_id), a video likewise with
 * `<|video_pad|>`, text verbatim; then `<|im_end|>\n`. */
const QWEN2_5_VL_TEMPLATE = [
  "{%- set counts = namespace(images=0, videos=0) -%}",
  "{%- for message in messages -%}",
  "{%- if loop.first and message['role'] != 'system' -%}{{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' -}}{%- endif -%}",
  "{{- '<|im_start|>' + message['role'] + '\\n' -}}",
  "{%- if message['content'] is string -%}",
  "{{- message['content'] -}}",
  "{%- else -%}",
  "{%- for item in message['content'] -%}",
  "{%- if item['type'] == 'image' -%}",
  "{%- set counts.images = counts.images + 1 -%}",
  "{%- if add_vision_id -%}{{- 'Picture ' + (counts.images | string) + ': ' -}}{%- endif -%}",
  "{{- '<|vision_start|><|image_pad|><|vision_end|>' -}}",
  "{%- elif item['type'] == 'video' -%}",
  "{%- set counts.videos = counts.videos + 1 -%}",
  "{%- if add_vision_id -%}{{- 'Video ' + (counts.videos | string) + ': ' -}}{%- endif -%}",
  "{{- '<|vision_start|><|video_pad|><|vision_end|>' -}}",
  "{%- elif item['type'] == 'text' -%}",
  "{{- item['text'] -}}",
  "{%- endif -%}",
  "{%- endfor -%}",
  "{%- endif -%}",
  "{{- '<|im_end|>\\n' -}}",
  "{%- endfor -%}",
  "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}",
].join('');

export type PromptModelType = 'llava_onevision' | 'llava_next' | 'qwen2_5_vl';

export const BUILTIN_CHAT_TEMPLATES: Record<PromptModelType, string> = {
  llava_onevision: ONEVISION_TEMPLATE,
  llava_next: LLAVA_NEXT_TEMPLATE,
  qwen2_5_vl: QWEN2_5_VL_TEMPLATE,
};

/** The text each model's template writes where an image starts (the anchor for a prefix). */
export const IMAGE_MARKERS: Record<PromptModelType, string> = {
  llava_onevision: '<image>',
  llava_next: '<image>',
  qwen2_5_vl: '<|vision_start|>',
};

export interface ChatTemplateFile {
  template: string;
  /** The file it came from: chat_template.json, chat_template.jinja or tokenizer_config.json. */
  file: string;
}

/** The checkpoint's chat template: chat_template.json `{"chat_template": ...}`, else chat_template.jinja, else
 * tokenizer_config.json `chat_template` (a string, or a list of {name, template}: "default"); null if none. */
export async function findChatTemplate(location: CheckpointLocation): Promise<ChatTemplateFile | null> {
  const where = (file: string) => `${location.origin}/${file}`;
  if (await location.has('chat_template.json')) {
    const text = await readText(location, 'chat_template.json');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw new TokenizerError(`${where('chat_template.json')}: not valid JSON: ${(e as Error).message}`);
    }
    const t = (parsed as { chat_template?: unknown } | null)?.chat_template;
    if (typeof t !== 'string') throw new TokenizerError(`${where('chat_template.json')}: expected {"chat_template": "<jinja text>"}, found ${typeof t === 'undefined' ? 'no chat_template field' : typeof t}`);
    return { template: t, file: 'chat_template.json' };
  }
  if (await location.has('chat_template.jinja')) return { template: await readText(location, 'chat_template.jinja'), file: 'chat_template.jinja' };
  if (await location.has('tokenizer_config.json')) {
    let config: { chat_template?: unknown } | null;
    try {
      config = JSON.parse(await readText(location, 'tokenizer_config.json'));
    } catch (e) {
      throw new TokenizerError(`${where('tokenizer_config.json')}: not valid JSON: ${(e as Error).message}`);
    }
    const t = config?.chat_template;
    if (t === undefined || t === null) return null;
    if (typeof t === 'string') return { template: t, file: 'tokenizer_config.json' };
    if (Array.isArray(t)) {
      const named = t.find((x) => x?.name === 'default') ?? t[0];
      if (typeof named?.template === 'string') return { template: named.template, file: 'tokenizer_config.json' };
    }
    throw new TokenizerError(`${where('tokenizer_config.json')}: chat_template must be a string or a list of {name, template}`);
  }
  return null;
}

export interface PromptSpec {
  /** The question / instruction, the last text item of the user turn. */
  prompt: string;
  /** Number of images in the turn (each becomes one placeholder; the processor expands it to its tokens). */
  images: number;
  /** The study's "text before the image" intervention (used verbatim: add any separator yourself). */
  prefix?: string;
  /** Default true: end with the assistant header. */
  addGenerationPrompt?: boolean;
  bosToken?: string | null;
  eosToken?: string | null;
}

/** Stands for the prefix while finding where the template puts a leading text item. */
const PREFIX_SENTINEL = '\u0000kvscope-prefix\u0000';

/**
 * One user turn, content [prefix text (if any), image × n, prompt text], rendered with `template` (null: the
 * model type's builtin template). Where the prefix ends up:
 * - qwen2_5_vl (items kept in order): `<|im_start|>user\n{prefix}<|vision_start|>…<|vision_end|>{prompt}<|im_end|>`,
 *   after the default system turn.
 * - llava_onevision and llava_next: their templates hoist every image before every text, which would put the
 *   prefix after the image. So the turn is rendered without it and the prefix is written immediately before the
 *   first image marker: `<|im_start|>user\n{prefix}<image>\n{prompt}<|im_end|>` and
 *   `<|start_header_id|>user<|end_header_id|>\n\n{prefix}<image>\n{prompt}<|eot_id|>`.
 * Any template is handled the same way: if it renders the leading text item before the first image marker it is
 * used as rendered, otherwise the prefix is inserted before that marker. With no images the prefix is simply the
 * first text item, wherever the template puts it.
 */
export function buildPrompt(modelType: PromptModelType, template: string | null, spec: PromptSpec): string {
  const tpl = template ?? BUILTIN_CHAT_TEMPLATES[modelType];
  if (!tpl) throw new Error(`buildPrompt: no builtin chat template for model type ${JSON.stringify(modelType)}`);
  if (!Number.isInteger(spec.images) || spec.images < 0) throw new Error(`buildPrompt: images must be a non-negative integer, got ${spec.images}`);
  const options: RenderOptions = { addGenerationPrompt: spec.addGenerationPrompt ?? true, bosToken: spec.bosToken, eosToken: spec.eosToken };
  const images: ContentItem[] = Array.from({ length: spec.images }, () => ({ type: 'image' }));
  const turn = (content: ContentItem[]): ChatMessage[] => [{ role: 'user', content }];
  const withoutPrefix = [...images, { type: 'text', text: spec.prompt } as ContentItem];
  if (!spec.prefix) return renderChat(tpl, turn(withoutPrefix), options);
  if (spec.images === 0) return renderChat(tpl, turn([{ type: 'text', text: spec.prefix }, ...withoutPrefix]), options);

  const marker = IMAGE_MARKERS[modelType];
  const probe = renderChat(tpl, turn([{ type: 'text', text: PREFIX_SENTINEL }, ...withoutPrefix]), options);
  const at = probe.indexOf(PREFIX_SENTINEL);
  const firstImage = probe.indexOf(marker);
  if (firstImage < 0) throw new Error(`buildPrompt: the ${modelType} chat template wrote no ${marker} for ${spec.images} image(s)`);
  if (at >= 0 && at < firstImage && probe.indexOf(PREFIX_SENTINEL, at + 1) < 0) return probe.replace(PREFIX_SENTINEL, () => spec.prefix!);
  const plain = renderChat(tpl, turn(withoutPrefix), options);
  const insertAt = plain.indexOf(marker);
  return plain.slice(0, insertAt) + spec.prefix + plain.slice(insertAt);
}
