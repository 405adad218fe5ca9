// Fuzz target: a small byte-level BPE checkpoint tokenizer (tokenizer.json + tokenizer_config.json, read through
// Tokenizer.load as from a picked folder) with one field of either file removed / retyped / out of range, or the
// text of tokenizer.json cut or bit-flipped. An accepted tokenizer must encode a prompt to integer ids inside its
// vocabulary (an id past it would index the embedding out of bounds) and decode them again without throwing.
import fc from 'fast-check';
import { checkpointLocation } from '../../src/io/safetensors.ts';
import { Tokenizer } from '../../src/io/tokenizer.ts';
import type { FuzzTarget } from './fuzzOutcome.ts';
import { applyByteEdit, applyJsonEdit, byteEdits, type ByteEdit, type JsonEdit, jsonEdits } from './mutations.ts';

/** GPT-2's bytes_to_unicode: printable stand-ins for every byte. */
function byteChars(): string[] {
  const keep: number[] = [];
  for (let b = 33; b <= 126; b++) keep.push(b);
  for (let b = 161; b <= 172; b++) keep.push(b);
  for (let b = 174; b <= 255; b++) keep.push(b);
  const out: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) out[b] = keep.includes(b) ? String.fromCharCode(b) : String.fromCharCode(256 + extra++);
  return out;
}

export function tinyBpe(): { json: Record<string, unknown>; config: Record<string, unknown> } {
  const vocab: Record<string, number> = {};
  byteChars().forEach((c, i) => (vocab[c] = i));
  const merges = [['h', 'e'], ['l', 'l'], ['he', 'll'], ['Ġ', 'w'], ['o', 'r']];
  merges.forEach(([a, b], i) => (vocab[a + b] = 256 + i));
  const added = [{ id: 261, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }, { id: 262, content: '<image>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }];
  return {
    json: {
      version: '1.0', truncation: null, padding: null, added_tokens: added, normalizer: null,
      pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      post_processor: null, decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
      model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: merges.map(([a, b]) => `${a} ${b}`) },
    },
    config: { eos_token: '<|endoftext|>', pad_token: '<|endoftext|>', bos_token: null, model_max_length: 32768, added_tokens_decoder: Object.fromEntries(added.map((t) => [String(t.id), t])) },
  };
}

const BASE = tinyBpe();
const PROMPT = 'hello world <image> héllo\u00a0wörld';

export type TokenizerInput = { file: 'json' | 'config'; json: JsonEdit } | { file: 'json'; text: ByteEdit };

export const tokenizerTarget: FuzzTarget<TokenizerInput> = {
  name: 'tokenizer.json + tokenizer_config.json',
  file: 'fuzz-ckpt/tokenizer',
  typed: ['TokenizerError'],
  inputs: fc.oneof(
    jsonEdits(BASE.json).map((json) => ({ file: 'json' as const, json })),
    jsonEdits(BASE.config).map((json) => ({ file: 'config' as const, json })),
    byteEdits().map((text) => ({ file: 'json' as const, text })),
  ) as fc.Arbitrary<TokenizerInput>,
  async run(input) {
    let json: Uint8Array = new TextEncoder().encode(JSON.stringify(BASE.json));
    let config = BASE.config;
    if ('text' in input) json = applyByteEdit(json, input.text);
    else if (input.file === 'json') json = new TextEncoder().encode(JSON.stringify(applyJsonEdit(BASE.json, input.json)));
    else config = applyJsonEdit(BASE.config, input.json);
    const files = [new File([json as Uint8Array<ArrayBuffer>], 'tokenizer.json'), new File([JSON.stringify(config)], 'tokenizer_config.json')];
    const location = { ...checkpointLocation(files), origin: 'fuzz-ckpt' };
    const tok = await Tokenizer.load(location);
    const ids = tok.encode(PROMPT);
    return { tok, ids, text: tok.decode(ids) };
  },
  check(r) {
    const { tok, ids } = r as { tok: Tokenizer; ids: number[] };
    const bad = ids.find((id) => !Number.isInteger(id) || id < 0 || id >= tok.vocabSize);
    return bad !== undefined ? `encode gave id ${bad}, outside 0..${tok.vocabSize - 1}` : null;
  },
  describe: (i) => JSON.stringify(i, (_, v) => (v instanceof Uint8Array ? `bytes[${v.length}]` : v)),
};
