// The fast tokenizer (a tokenizer.json object) that transformers builds from a slow byte-level BPE tokenizer's
// files, vocab.json + merges.txt + tokenizer_config.json, when a checkpoint ships no tokenizer.json
// (`convert_slow_tokenizer`): Qwen2Converter for Qwen2Tokenizer (NFC, the Qwen split regex, ByteLevel without its
// own regex, BPE without byte fallback) and GPT2Converter for GPT2Tokenizer (ByteLevel with the GPT-2 regex, BOS
// template when add_bos_token). Added tokens come from tokenizer_config.json `added_tokens_decoder`.
import { TokenizerError } from './tokenizer.ts';
import type { AddedTokenJson, TokenizerConfig, TokenizerJson } from './tokenizer.ts';

/** The pre-tokenizer split of Qwen2Converter: cl100k-like, but single digits (`\p{N}`, not `\p{N}{1,3}`). */
export const QWEN2_SPLIT_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/** Which converter a tokenizer_class takes (transformers' SLOW_TO_FAST_CONVERTERS, byte-level BPE entries). */
function converterFor(tokenizerClass: string | undefined): 'qwen2' | 'gpt2' | null {
  const base = (tokenizerClass ?? '').replace(/Fast$/, '');
  if (base === 'Qwen2Tokenizer') return 'qwen2';
  if (base === 'GPT2Tokenizer') return 'gpt2';
  return null;
}

/** vocab.json: {token: id} with non-negative integer ids. */
function checkVocab(vocab: unknown, file: string): Record<string, number> {
  if (vocab === null || typeof vocab !== 'object' || Array.isArray(vocab)) throw new TokenizerError(`${file}: expected a JSON object {token: id}`);
  for (const [token, id] of Object.entries(vocab)) {
    if (!Number.isSafeInteger(id) || (id as number) < 0) throw new TokenizerError(`${file}: token ${JSON.stringify(token)} has id ${JSON.stringify(id)}, expected a non-negative integer`);
  }
  return vocab as Record<string, number>;
}

/**
 * merges.txt as the slow tokenizers read it: strip each line, skip a first "#version:" line and empty lines,
 * split on whitespace into a pair; rank = order of first appearance (`bpe_ranks.keys()`).
 */
export function parseMerges(text: string, file: string): [string, string][] {
  const merges: [string, string][] = [];
  const seen = new Set<string>();
  const lines = text.split('\n');
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if ((i === 0 && line.startsWith('#version:')) || line === '') continue;
    const parts = line.split(/\s+/);
    if (parts.length !== 2) throw new TokenizerError(`${file}: line ${i + 1} ${JSON.stringify(line)} is not a pair "left right"`);
    const key = `${parts[0]} ${parts[1]}`;
    if (seen.has(key)) continue;
    seen.add(key);
    merges.push([parts[0], parts[1]]);
  }
  return merges;
}

/** tokenizer_config.json `added_tokens_decoder` as tokenizer.json `added_tokens` (flags as saved, id order). */
function addedTokensOf(config: TokenizerConfig, file: string): AddedTokenJson[] {
  const out: AddedTokenJson[] = [];
  for (const [key, t] of Object.entries(config.added_tokens_decoder ?? {})) {
    const id = Number(key);
    if (!Number.isSafeInteger(id) || id < 0 || !t || typeof t.content !== 'string') throw new TokenizerError(`${file}: added_tokens_decoder[${JSON.stringify(key)}] needs an integer id and a string content`);
    out.push({
      id,
      content: t.content,
      single_word: t.single_word ?? false,
      lstrip: t.lstrip ?? false,
      rstrip: t.rstrip ?? false,
      normalized: t.normalized ?? false,
      special: t.special ?? false,
    });
  }
  return out.sort((a, b) => a.id - b.id);
}

/** The tokenizer.json object transformers' slow->fast conversion produces from these files. */
export function fastTokenizerFromSlow(vocabJson: unknown, mergesTxt: string, config: TokenizerConfig, origin: string): TokenizerJson {
  const configFile = `${origin}/tokenizer_config.json`;
  const converter = converterFor(config.tokenizer_class);
  if (converter === null) {
    throw new TokenizerError(`${configFile}: tokenizer_class ${JSON.stringify(config.tokenizer_class ?? null)} has no tokenizer.json and kvscope converts only Qwen2Tokenizer and GPT2Tokenizer from vocab.json + merges.txt`);
  }
  const vocab = checkVocab(vocabJson, `${origin}/vocab.json`);
  const merges = parseMerges(mergesTxt, `${origin}/merges.txt`);
  const addedTokens = addedTokensOf(config, configFile);
  const addPrefixSpace = config.add_prefix_space === true;
  // BPE(vocab, merges, dropout=None, unk_token=None, continuing_subword_prefix="", end_of_word_suffix="", fuse_unk=False, byte_fallback=False)
  const model = {
    type: 'BPE',
    dropout: null,
    unk_token: null,
    continuing_subword_prefix: '',
    end_of_word_suffix: '',
    fuse_unk: false,
    byte_fallback: false,
    ignore_merges: false,
    vocab,
    merges,
  };
  // decoders.ByteLevel() and processors.ByteLevel(trim_offsets=False), serialised with their defaults
  const decoder = { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true };
  const byteLevelPost = { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true };
  const base = { version: '1.0', truncation: null, padding: null, added_tokens: addedTokens, model, decoder };
  if (converter === 'qwen2') {
    return {
      ...base,
      normalizer: { type: 'NFC' },
      pre_tokenizer: {
        type: 'Sequence',
        pretokenizers: [
          { type: 'Split', pattern: { Regex: QWEN2_SPLIT_PATTERN }, behavior: 'Isolated', invert: false },
          { type: 'ByteLevel', add_prefix_space: addPrefixSpace, trim_offsets: true, use_regex: false },
        ],
      },
      post_processor: byteLevelPost,
    };
  }
  // GPT2Converter: ByteLevel with its own (GPT-2) regex; "{bos}:0 $A:0" when add_bos_token
  let postProcessor: unknown = byteLevelPost;
  if (config.add_bos_token === true) {
    const field = config.bos_token;
    const bos = typeof field === 'string' ? field : (field?.content ?? null);
    const bosId = bos === null ? undefined : (addedTokens.find((t) => t.content === bos)?.id ?? vocab[bos]);
    if (bos === null || bosId === undefined) throw new TokenizerError(`${configFile}: add_bos_token is true but bos_token ${JSON.stringify(bos)} is not in the vocabulary`);
    const special = { SpecialToken: { id: bos, type_id: 0 } };
    postProcessor = {
      type: 'TemplateProcessing',
      single: [special, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [special, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { [bos]: { id: bos, ids: [bosId], tokens: [bos] } },
    };
  }
  return {
    ...base,
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: addPrefixSpace, trim_offsets: true, use_regex: true },
    post_processor: postProcessor,
  };
}
