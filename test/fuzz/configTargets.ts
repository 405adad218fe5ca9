// Fuzz targets: config.json (the real Qwen2.5-VL hub configs and LLaVA-OneVision / LLaVA-NeXT configs as kvscope
// fills them) and preprocessor_config.json (the three processors), each with one field removed, given another
// type or set out of range, or its text cut / bit-flipped. An accepted edit must not carry the edited value
// through unchanged when it has another type than the original or puts a positive count at ≤ 0 or off-integer.
import fc from 'fast-check';
import { parseConfig, readConfig } from '../../src/io/config.ts';
import { parsePreprocessorConfig } from '../../src/models/processor/preprocessorConfig.ts';
import type { FuzzTarget } from './fuzzOutcome.ts';
import { applyByteEdit, applyJsonEdit, atPath, byteEdits, type ByteEdit, type JsonEdit, jsonEdits } from './mutations.ts';

const HUB = new URL('../fixtures/hub/', import.meta.url).pathname;
const hubJson = (p: string) => JSON.parse(Deno.readTextFileSync(`${HUB}${p}`));

/** Config objects to start from: two real hub files and LLaVA configs with every field written out. */
export const CONFIG_BASES: Record<string, unknown>[] = [
  hubJson('Qwen--Qwen2.5-VL-3B-Instruct/config.json'),
  hubJson('Qwen--Qwen2.5-VL-7B-Instruct/config.json'),
  JSON.parse(JSON.stringify(parseConfig({ model_type: 'llava_onevision' }))),
  JSON.parse(JSON.stringify(parseConfig({ model_type: 'llava_next' }))),
];

export const PREPROCESSOR_BASES: Record<string, unknown>[] = [
  hubJson('Qwen--Qwen2.5-VL-7B-Instruct/preprocessor_config.json'),
  {
    do_convert_rgb: true, do_normalize: true, do_pad: true, do_rescale: true, do_resize: true,
    image_grid_pinpoints: [[384, 384], [384, 768], [768, 384], [768, 768]], image_mean: [0.5, 0.5, 0.5],
    image_processor_type: 'LlavaOnevisionImageProcessor', image_std: [0.5, 0.5, 0.5], resample: 3,
    rescale_factor: 0.00392156862745098, size: { height: 384, width: 384 },
  },
  {
    crop_size: { height: 336, width: 336 }, do_center_crop: true, do_convert_rgb: true, do_normalize: true, do_pad: true,
    do_rescale: true, do_resize: true, image_grid_pinpoints: [[336, 672], [672, 336], [672, 672]],
    image_mean: [0.48145466, 0.4578275, 0.40821073], image_processor_type: 'LlavaNextImageProcessor',
    image_std: [0.26862954, 0.26130258, 0.27577711], resample: 3, rescale_factor: 0.00392156862745098, size: { shortest_edge: 336 },
  },
];

export type ConfigInput = { base: number; json: JsonEdit } | { base: number; text: ByteEdit };

function configInputs(bases: readonly unknown[]): fc.Arbitrary<ConfigInput> {
  return fc.oneof(
    ...bases.map((b, i) => jsonEdits(b).map((json) => ({ base: i, json }) as ConfigInput)),
    fc.record({ base: fc.nat(bases.length - 1), text: byteEdits() }) as fc.Arbitrary<ConfigInput>,
  );
}

/** Is the edited value carried into the output unchanged where it should have been refused? */
function carriedWrongValue(bases: readonly unknown[], input: ConfigInput, out: unknown, allowNonPositive: (key: string) => boolean): string | null {
  if (!('json' in input) || input.json.op === 'remove') return null;
  const base = bases[input.base];
  const old = atPath(base, input.json.path);
  const edited = atPath(applyJsonEdit(base, input.json), input.json.path);
  const got = atPath(out, input.json.path);
  if (got === undefined || JSON.stringify(got) !== JSON.stringify(edited)) return null;
  const key = String(input.json.path[input.json.path.length - 1]);
  const typeOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
  if (old !== null && old !== undefined && typeOf(old) !== typeOf(edited) && !OTHER_TYPES_ALLOWED[key]?.includes(typeOf(edited))) return `${input.json.path.join('.')} ${typeOf(old)} became ${JSON.stringify(edited)} and was kept`;
  // a list element may be 0 (an index); a count may not
  const zeroIndex = typeof input.json.path[input.json.path.length - 1] === 'number' && edited === 0;
  if (Number.isInteger(old) && (old as number) > 0 && typeof edited === 'number' && (edited <= 0 || !Number.isInteger(edited)) && !zeroIndex && !allowNonPositive(key)) {
    return `${input.json.path.join('.')} = ${edited} (was ${old}) was kept`;
  }
  return null;
}

function text(bases: readonly unknown[], input: ConfigInput): Uint8Array {
  const base = bases[input.base];
  if ('json' in input) return new TextEncoder().encode(JSON.stringify(applyJsonEdit(base, input.json)));
  return applyByteEdit(new TextEncoder().encode(JSON.stringify(base, null, 2)), input.text);
}

/** Other JSON types HF's config classes take for a field (an id or a list of ids, None; one layer or a list). */
const OTHER_TYPES_ALLOWED: Record<string, string[]> = {
  eos_token_id: ['array', 'null'], bos_token_id: ['null'], pad_token_id: ['null'], vision_feature_layer: ['array'],
};

/** Fields HF allows at ≤ 0 or fractional (layer indices count from the end; ids may be 0; token ids; scales). */
const CONFIG_SIGNED = new Set(['vision_feature_layer', 'bos_token_id', 'eos_token_id', 'pad_token_id', 'image_token_id', 'video_token_id', 'vision_start_token_id', 'vision_end_token_id', 'vision_token_id', 'image_token_index', 'video_token_index', 'sliding_window', 'max_window_layers', 'tokens_per_second', 'attention_dropout', 'initializer_range', 'rope_theta']);

export const configTarget: FuzzTarget<ConfigInput> = {
  name: 'config.json',
  file: 'config.json',
  typed: ['ConfigError'],
  inputs: configInputs(CONFIG_BASES),
  run: (input) => readConfig([new File([text(CONFIG_BASES, input) as Uint8Array<ArrayBuffer>], "config.json")]),
  check: (out, input) => carriedWrongValue(CONFIG_BASES, input, out, (k) => CONFIG_SIGNED.has(k)),
  describe: (i) => JSON.stringify(i, (_, v) => (v instanceof Uint8Array ? `bytes[${v.length}]` : v)),
};

export const preprocessorTarget: FuzzTarget<ConfigInput> = {
  name: 'preprocessor_config.json',
  file: 'preprocessor_config.json',
  typed: ['ConfigError'],
  inputs: configInputs(PREPROCESSOR_BASES),
  run: (input) => parsePreprocessorConfig(new TextDecoder().decode(text(PREPROCESSOR_BASES, input)), { file: 'ckpt/preprocessor_config.json' }),
  check: (out, input) => {
    // the parser renames fields (camelCase); compare by value at the HF name's camelCase twin
    if (!('json' in input) || input.json.op === 'remove') return null;
    const path = input.json.path.map((k) => (typeof k === 'string' ? k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()) : k));
    return carriedWrongValue(PREPROCESSOR_BASES.map((b) => JSON.parse(JSON.stringify(b).replace(/"([a-z]+(?:_[a-z]+)+)":/g, (_, k: string) => `"${k.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase())}":`))), { base: input.base, json: { path, op: input.json.op } }, out, () => false);
  },
  describe: (i) => JSON.stringify(i, (_, v) => (v instanceof Uint8Array ? `bytes[${v.length}]` : v)),
};
