// A checkpoint's tokenizer: tokenizer.json (+ tokenizer_config.json) run by @huggingface/tokenizers, or, when a
// checkpoint only ships the slow files (vocab.json + merges.txt), the fast tokenizer transformers would convert
// them to (slowTokenizer.ts). Special tokens (`<image>`, `<|image_pad|>`, ...) are matched before BPE and never
// split; BOS comes only from the tokenizer.json post-processor (Llama 3 adds 128000, Qwen adds nothing).
// Every error names the file at fault.
import { Tokenizer as FastTokenizer } from '@huggingface/tokenizers';
import { findChatTemplate } from './chatTemplate.ts';
import { type CheckpointLocation, readText } from './safetensors.ts';
import { fastTokenizerFromSlow } from './slowTokenizer.ts';

/** One entry of tokenizer.json `added_tokens` (HF `AddedToken` serialised with its id). */
/** A tokenizer file (tokenizer.json, tokenizer_config.json, vocab.json, merges.txt, ...) kvscope cannot use; the message starts with the file. */
export class TokenizerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenizerError';
  }
}

export interface AddedTokenJson {
  id: number;
  content: string;
  single_word?: boolean;
  lstrip?: boolean;
  rstrip?: boolean;
  normalized?: boolean;
  special?: boolean;
}

/** The parts of tokenizer.json this file reads; the rest is passed to the library as is. */
export interface TokenizerJson {
  model: { type: string; vocab: Record<string, number> | unknown; [k: string]: unknown };
  added_tokens: AddedTokenJson[];
  normalizer: unknown;
  pre_tokenizer: unknown;
  post_processor: unknown;
  decoder: unknown;
  [k: string]: unknown;
}

/** A special-token field of tokenizer_config.json: a string, an AddedToken dict, or null. */
export type SpecialTokenField = string | { content: string; [k: string]: unknown } | null | undefined;

/** tokenizer_config.json, the fields kvscope reads. */
export interface TokenizerConfig {
  tokenizer_class?: string;
  bos_token?: SpecialTokenField;
  eos_token?: SpecialTokenField;
  pad_token?: SpecialTokenField;
  unk_token?: SpecialTokenField;
  additional_special_tokens?: SpecialTokenField[];
  added_tokens_decoder?: Record<string, Omit<AddedTokenJson, 'id'>>;
  chat_template?: string | { name: string; template: string }[];
  model_max_length?: number;
  clean_up_tokenization_spaces?: boolean;
  add_prefix_space?: boolean;
  [k: string]: unknown;
}

/** The content of a special-token field, or null. */
export function specialTokenContent(field: SpecialTokenField): string | null {
  if (field === null || field === undefined) return null;
  if (typeof field === 'string') return field;
  if (typeof field === 'object' && typeof field.content === 'string') return field.content;
  return null;
}

/** Parse a JSON file of the checkpoint, naming it on failure. */
export async function readJson(location: CheckpointLocation, file: string): Promise<unknown> {
  const text = await readText(location, file);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new TokenizerError(`${location.origin}/${file}: not valid JSON: ${(e as Error).message}`);
  }
}

export interface EncodeOptions {
  /** Run the post-processor's template (Llama 3: prepend BOS). HF's default: true. */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Drop special tokens (added tokens marked special, and the config's additional_special_tokens). */
  skipSpecialTokens?: boolean;
}

/** What `Tokenizer.fromJson` needs besides the two JSON objects. */
export interface TokenizerSource {
  /** Where the files came from, for error messages (a directory, URL, or "tiny llava_next"). */
  origin: string;
  /** File the tokenizer model came from ("tokenizer.json", or "vocab.json + merges.txt"). */
  modelFile?: string;
  chatTemplate?: string | null;
  /** Extra stop ids (generation_config.json `eos_token_id`). */
  generationEosIds?: number[];
}

export class Tokenizer {
  /** Highest id + 1 over the BPE vocabulary and the added tokens (HF `len(tokenizer)`). */
  readonly vocabSize: number;
  readonly bosToken: string | null;
  readonly eosToken: string | null;
  readonly padToken: string | null;
  /** Stop ids: generation_config.json `eos_token_id` (when the checkpoint has one), then the config's eos_token. */
  readonly eosTokenIds: readonly number[];
  readonly chatTemplate: string | null;
  readonly modelMaxLength: number | null;
  private readonly addedById: ReadonlyMap<number, AddedTokenJson>;

  private constructor(
    private readonly fast: FastTokenizer,
    json: TokenizerJson,
    readonly config: TokenizerConfig,
    readonly origin: string,
    source: TokenizerSource,
  ) {
    const vocab = json.model.vocab as Record<string, number>;
    let maxId = -1;
    for (const id of Object.values(vocab)) if (id > maxId) maxId = id;
    for (const t of json.added_tokens) if (t.id > maxId) maxId = t.id;
    this.vocabSize = maxId + 1;
    this.addedById = new Map(json.added_tokens.map((t) => [t.id, t]));
    this.bosToken = specialTokenContent(config.bos_token);
    this.eosToken = specialTokenContent(config.eos_token);
    this.padToken = specialTokenContent(config.pad_token);
    const configFile = `${origin}/tokenizer_config.json`;
    for (const [field, content] of [['bos_token', this.bosToken], ['eos_token', this.eosToken], ['pad_token', this.padToken]] as const) {
      if (content !== null && this.tokenToId(content) === undefined) {
        throw new TokenizerError(`${configFile}: ${field} ${JSON.stringify(content)} is not in the vocabulary of ${source.modelFile ?? 'tokenizer.json'}`);
      }
    }
    const stops = [...(source.generationEosIds ?? [])];
    if (this.eosToken !== null) stops.push(this.tokenToId(this.eosToken)!);
    this.eosTokenIds = [...new Set(stops)];
    this.chatTemplate = source.chatTemplate ?? null;
    this.modelMaxLength = typeof config.model_max_length === 'number' ? config.model_max_length : null;
  }

  /**
   * Load from a checkpoint: tokenizer.json + tokenizer_config.json, or vocab.json + merges.txt +
   * tokenizer_config.json (converted as transformers does). Also reads the chat template (chat_template.json,
   * chat_template.jinja, tokenizer_config.json, in that order) and generation_config.json's eos ids if present.
   */
  static async load(location: CheckpointLocation): Promise<Tokenizer> {
    const where = (file: string) => `${location.origin}/${file}`;
    if (!(await location.has('tokenizer_config.json'))) throw new TokenizerError(`${where('tokenizer_config.json')}: not found (kvscope needs it beside tokenizer.json)`);
    const config = await readJson(location, 'tokenizer_config.json');
    if (config === null || typeof config !== 'object' || Array.isArray(config)) throw new TokenizerError(`${where('tokenizer_config.json')}: expected a JSON object`);
    let json: unknown;
    let modelFile: string;
    if (await location.has('tokenizer.json')) {
      json = await readJson(location, 'tokenizer.json');
      modelFile = 'tokenizer.json';
    } else if ((await location.has('vocab.json')) && (await location.has('merges.txt'))) {
      const vocab = await readJson(location, 'vocab.json');
      const merges = await readText(location, 'merges.txt');
      json = fastTokenizerFromSlow(vocab, merges, config as TokenizerConfig, location.origin);
      modelFile = 'vocab.json + merges.txt';
    } else {
      throw new TokenizerError(`${where('tokenizer.json')}: not found, and no vocab.json + merges.txt to build it from`);
    }
    const generationEosIds = await readGenerationEosIds(location);
    const template = await findChatTemplate(location);
    return Tokenizer.fromJson(json, config, { origin: location.origin, modelFile, chatTemplate: template?.template ?? null, generationEosIds });
  }

  /** Build from parsed tokenizer.json and tokenizer_config.json objects (tiny checkpoints, tests, the slow path). */
  static fromJson(tokenizerJson: unknown, tokenizerConfig: unknown, source: TokenizerSource): Tokenizer {
    const modelFile = `${source.origin}/${source.modelFile ?? 'tokenizer.json'}`;
    const configFile = `${source.origin}/tokenizer_config.json`;
    const json = checkTokenizerJson(tokenizerJson, modelFile);
    const config = (tokenizerConfig ?? {}) as TokenizerConfig;
    if (typeof config !== 'object' || Array.isArray(config)) throw new TokenizerError(`${configFile}: expected a JSON object`);
    const merged = { ...json, added_tokens: mergeAddedTokens(json.added_tokens, config, modelFile, configFile) };
    let fast: FastTokenizer;
    try {
      // the library takes additional_special_tokens as plain strings (the dict form would not be skipped on decode)
      const additional = (config.additional_special_tokens ?? []).map(specialTokenContent).filter((x): x is string => x !== null);
      fast = new FastTokenizer(merged, { ...config, additional_special_tokens: additional });
    } catch (e) {
      throw new TokenizerError(`${modelFile}: cannot build the tokenizer: ${(e as Error).message}`);
    }
    const chatTemplate = source.chatTemplate !== undefined ? source.chatTemplate : configChatTemplate(config, configFile);
    return new Tokenizer(fast, merged, config, source.origin, { ...source, chatTemplate });
  }

  /** Token ids of `text`; special-token strings in the text become their single ids. */
  encode(text: string, options: EncodeOptions = {}): number[] {
    return this.fast.encode(text, { add_special_tokens: options.addSpecialTokens ?? true }).ids;
  }

  /**
   * Text of `ids` (byte-level decode; invalid UTF-8 becomes U+FFFD as HF's errors="replace"). Ids without a token
   * (the padding rows past the tokenizer's vocabulary, which a model's argmax can pick) are skipped, as HF's fast
   * tokenizers do.
   */
  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0) throw new TokenizerError(`${this.origin}: decode: id ${id} is not a non-negative integer`);
    }
    const known = ids.filter((id) => id < this.vocabSize && this.fast.id_to_token(id) !== undefined);
    if (known.length === 0) return '';
    return this.fast.decode(known, { skip_special_tokens: options.skipSpecialTokens ?? false });
  }

  tokenToId(token: string): number | undefined {
    return this.fast.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.fast.id_to_token(id);
  }

  /** The id of a token that must exist (a template's special token); throws naming it otherwise. */
  requireId(token: string): number {
    const id = this.tokenToId(token);
    if (id === undefined) throw new TokenizerError(`${this.origin}: token ${JSON.stringify(token)} is not in the vocabulary`);
    return id;
  }

  /** Whether `id` is an added token marked special. */
  isSpecial(id: number): boolean {
    return this.addedById.get(id)?.special === true;
  }

  /** The added tokens (id, content, flags), in id order. */
  addedTokens(): AddedTokenJson[] {
    return [...this.addedById.values()].sort((a, b) => a.id - b.id);
  }
}

/** tokenizer.json must have a BPE-style model with a vocab object and an added_tokens list. */
function checkTokenizerJson(value: unknown, file: string): TokenizerJson {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new TokenizerError(`${file}: expected a JSON object`);
  const json = value as Partial<TokenizerJson>;
  if (!json.model || typeof json.model !== 'object') throw new TokenizerError(`${file}: no "model" object`);
  if (typeof json.model.type !== 'string') throw new TokenizerError(`${file}: model.type missing`);
  if (!json.model.vocab || typeof json.model.vocab !== 'object') throw new TokenizerError(`${file}: model.vocab missing`);
  // a BPE/WordPiece vocab maps tokens to ids (Unigram's is a list of [piece, score]); an id of another type would
  // come out of encode and index the embedding with it
  if (!Array.isArray(json.model.vocab)) {
    for (const [token, id] of Object.entries(json.model.vocab as Record<string, unknown>)) {
      if (!Number.isSafeInteger(id) || (id as number) < 0) throw new TokenizerError(`${file}: model.vocab[${JSON.stringify(token)}] is ${JSON.stringify(id)}, expected a non-negative integer id`);
    }
  }
  const added = json.added_tokens ?? [];
  if (!Array.isArray(added)) throw new TokenizerError(`${file}: added_tokens must be a list`);
  for (const [i, t] of added.entries()) {
    if (!t || typeof t.content !== 'string' || !Number.isSafeInteger(t.id) || t.id < 0) throw new TokenizerError(`${file}: added_tokens[${i}] needs a string content and a non-negative integer id`);
  }
  for (const k of ['normalizer', 'pre_tokenizer', 'post_processor', 'decoder'] as const) if (!(k in json)) (json as Record<string, unknown>)[k] = null;
  return { ...json, added_tokens: added } as TokenizerJson;
}

/**
 * tokenizer.json's added tokens plus any `added_tokens_decoder` entry of tokenizer_config.json it lacks
 * (transformers adds those on load). The same id with different content in the two files is an error.
 */
function mergeAddedTokens(added: AddedTokenJson[], config: TokenizerConfig, modelFile: string, configFile: string): AddedTokenJson[] {
  const byId = new Map(added.map((t) => [t.id, t]));
  const decoder = config.added_tokens_decoder ?? {};
  if (typeof decoder !== 'object' || Array.isArray(decoder)) throw new TokenizerError(`${configFile}: added_tokens_decoder must be an object {id: token}`);
  const extra: AddedTokenJson[] = [];
  for (const [key, t] of Object.entries(decoder)) {
    const id = Number(key);
    if (!Number.isSafeInteger(id) || id < 0 || !t || typeof t.content !== 'string') throw new TokenizerError(`${configFile}: added_tokens_decoder[${JSON.stringify(key)}] needs an integer id and a string content`);
    const have = byId.get(id);
    if (have && have.content !== t.content) {
      throw new TokenizerError(`${configFile}: added_tokens_decoder gives id ${id} to ${JSON.stringify(t.content)}, but ${modelFile} gives it to ${JSON.stringify(have.content)}`);
    }
    if (!have) extra.push({ id, content: t.content, single_word: t.single_word ?? false, lstrip: t.lstrip ?? false, rstrip: t.rstrip ?? false, normalized: t.normalized ?? false, special: t.special ?? false });
  }
  return [...added, ...extra].sort((a, b) => a.id - b.id);
}

/** tokenizer_config.json `chat_template`: a string, or a list of named templates (take "default"). */
function configChatTemplate(config: TokenizerConfig, configFile: string): string | null {
  const t = config.chat_template;
  if (t === undefined || t === null) return null;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) {
    const named = t.find((x) => x && x.name === 'default') ?? t[0];
    if (named && typeof named.template === 'string') return named.template;
  }
  throw new TokenizerError(`${configFile}: chat_template must be a string or a list of {name, template}`);
}

/** generation_config.json `eos_token_id` (a number or a list), or [] when the file is absent. */
async function readGenerationEosIds(location: CheckpointLocation): Promise<number[]> {
  if (!(await location.has('generation_config.json'))) return [];
  const g = await readJson(location, 'generation_config.json') as { eos_token_id?: unknown };
  const e = g?.eos_token_id;
  if (e === undefined || e === null) return [];
  const ids = Array.isArray(e) ? e : [e];
  if (!ids.every((x) => Number.isSafeInteger(x) && x >= 0)) throw new TokenizerError(`${location.origin}/generation_config.json: eos_token_id must be a non-negative integer or a list of them, got ${JSON.stringify(e)}`);
  return ids as number[];
}
