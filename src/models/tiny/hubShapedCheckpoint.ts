// `make-tiny --from DIR`: a random checkpoint shaped exactly like a hub folder — the folder's own small files
// (config.json with the depth cut by --lm-layers / --vision-layers, everything else copied as is), the tensor names,
// shapes and dtype the config and model.safetensors.index.json describe (real widths, real vocabulary), sharded as
// the hub's index shards them (shards emptied by the cut dropped, the rest renumbered), the index rewritten.
// Weights are streamed to disk tensor by tensor (a 7B embedding alone is 1 GiB in bf16) with the means and standard
// deviations of the tiny checkpoints (randomWeights.ts) but drawn uniform, U(mean ± √3·std) — same first two moments,
// one uniform per value instead of Box–Muller's log/sqrt/sin — each tensor seeded by its name (reproducible subsets).
import { encode } from '../../gpu/dtype.ts';
import { type ModelConfig, parseConfig } from '../../io/config.ts';
import { canonicalName } from '../../io/safetensors.ts';
import { decoderTensors, type TinyTensor, WeightRng } from './randomWeights.ts';
import { llavaTensors } from './tinyLlava.ts';
import { visualTensors } from './tinyQwen2_5_vl.ts';
import { tinyTokenizerFiles } from './tinyTokenizer.ts';

export type HubDType = 'F32' | 'F16' | 'BF16';

export interface HubShapedOptions {
  /** LM layers to keep (default: all of the config's). */
  lmLayers?: number;
  /** Vision tower layers to keep (default: all). */
  visionLayers?: number;
  seed?: number;
  /** Override the checkpoint dtype (default: config.json torch_dtype / dtype). */
  dtype?: HubDType;
}

export interface HubShapedResult {
  dir: string;
  config: ModelConfig;
  dtype: HubDType;
  tensors: number;
  bytes: number;
  /** Shard files written (model.safetensors alone when the source has no index). */
  files: string[];
  /** Small files copied from the source folder; tokenizer files added because the source had none. */
  copied: string[];
  added: string[];
}

/** One tensor to write: its name in the written file, shape, and the mean and std of its values. */
export interface TensorPlan {
  name: string;
  shape: number[];
  std: number;
  mean: number;
  file: string;
}

const TORCH_DTYPES: Record<string, HubDType> = { bfloat16: 'BF16', float16: 'F16', float32: 'F32' };
const GPU_DTYPE = { F32: 'f32', F16: 'f16', BF16: 'bf16' } as const;
// weights and the files the weights replace are never copied; neither are notes of ours
const NOT_COPIED = /^(config\.json|model\.safetensors\.index\.json|.*\.safetensors|PROVENANCE\.md|README\.md|\..*)$/;

type Json = Record<string, unknown>;

/** config.json with the depth cut: the fields HF builds the layer lists from, nothing else touched. */
export function cutDepth(raw: Json, o: { lmLayers?: number; visionLayers?: number }, file = 'config.json'): Json {
  const out = structuredClone(raw);
  const type = out.model_type;
  const cut = (obj: Json, key: string, n: number | undefined, where: string) => {
    if (n === undefined) return;
    const have = obj[key];
    if (typeof have !== 'number') throw new Error(`${file}: ${where}${key} is missing; cannot cut the depth to ${n}`);
    if (!Number.isInteger(n) || n < 1 || n > have) throw new Error(`${file}: ${where}${key} is ${have}; a cut to ${n} layers must be 1..${have}`);
    obj[key] = n;
  };
  if (type === 'qwen2_5_vl') {
    // Qwen2_5_VLConfig: text fields in text_config, or flat at top level (the official release)
    const text = (out.text_config as Json | undefined) ?? out;
    cut(text, 'num_hidden_layers', o.lmLayers, out.text_config ? 'text_config.' : '');
    const vision = (out.vision_config ??= {}) as Json;
    if (o.visionLayers !== undefined) {
      vision.depth ??= 32;
      cut(vision, 'depth', o.visionLayers, 'vision_config.');
      // the full-attention blocks that still exist; the others are windowed as before
      const full = (vision.fullatt_block_indexes as number[] | undefined) ?? [7, 15, 23, 31];
      vision.fullatt_block_indexes = full.filter((i) => i < o.visionLayers!);
    }
  } else if (type === 'llava_onevision' || type === 'llava_next') {
    cut((out.text_config ??= {}) as Json, 'num_hidden_layers', o.lmLayers, 'text_config.');
    cut((out.vision_config ??= {}) as Json, 'num_hidden_layers', o.visionLayers, 'vision_config.');
  } else {
    throw new Error(`${file}: model_type ${JSON.stringify(type)} is not one make-tiny --from can shape (llava_onevision, llava_next, qwen2_5_vl)`);
  }
  return out;
}

/** The checkpoint dtype config.json names (torch_dtype, or dtype in transformers ≥ 4.56). */
function savedDType(raw: Json, file: string): HubDType {
  const text = raw.text_config as Json | undefined;
  const v = raw.torch_dtype ?? raw.dtype ?? text?.torch_dtype ?? text?.dtype;
  if (v === undefined) return 'BF16';
  const d = typeof v === 'string' ? TORCH_DTYPES[v] : undefined;
  if (!d) throw new Error(`${file}: torch_dtype ${JSON.stringify(v)} is not one of ${Object.keys(TORCH_DTYPES).join(', ')}`);
  return d;
}

/** Records what each tensor draws instead of drawing it: one normals() call per tensor in every generator. */
class DrawRecorder extends WeightRng {
  readonly draws: { n: number; std: number; mean: number }[] = [];
  constructor() {
    super(0);
  }
  override normals(n: number, std: number, mean = 0): Float32Array {
    this.draws.push({ n, std, mean });
    return new Float32Array(0);
  }
}

/** Every tensor of `cfg` in the hub's legacy names, with its draw. */
function layoutOf(cfg: ModelConfig): { name: string; shape: number[]; std: number; mean: number }[] {
  const rec = new DrawRecorder();
  let tensors: TinyTensor[];
  if (cfg.model_type === 'qwen2_5_vl') {
    tensors = [...visualTensors(rec, cfg), ...decoderTensors(rec, cfg.text_config, 'model.', { lmHead: cfg.text_config.tie_word_embeddings ? null : 'lm_head.weight' })];
  } else {
    tensors = llavaTensors(rec, cfg);
  }
  if (rec.draws.length !== tensors.length) throw new Error(`hubShapedCheckpoint: ${tensors.length} tensors but ${rec.draws.length} draws (a generator drew twice for one tensor)`);
  return tensors.map((t, i) => {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (rec.draws[i].n !== n) throw new Error(`hubShapedCheckpoint: tensor ${t.name} [${t.shape.join(', ')}] drew ${rec.draws[i].n} values`);
    return { name: t.name, shape: t.shape, std: rec.draws[i].std, mean: rec.draws[i].mean };
  });
}

/** Layer number of a per-layer tensor (LM `layers.N.`, ViT `encoder.layers.N.` / `blocks.N.`), else null. */
function layerOf(name: string): { tower: 'lm' | 'vision'; layer: number } | null {
  const v = /(?:vision_tower\..*encoder\.layers|visual\.blocks)\.(\d+)\./.exec(name);
  if (v) return { tower: 'vision', layer: Number(v[1]) };
  const l = /layers\.(\d+)\./.exec(name);
  return l ? { tower: 'lm', layer: Number(l[1]) } : null;
}

/** Tensor names from the index matched to kvscope's layout; index names kept, shards renumbered. */
function planFromIndex(layout: ReturnType<typeof layoutOf>, index: { weight_map: Record<string, string> }, cfg: ModelConfig, indexFile: string): TensorPlan[] {
  const type = cfg.model_type;
  const byCanonical = new Map(Object.keys(index.weight_map).map((n) => [canonicalName(n, type), n]));
  const ours = new Set(layout.map((t) => canonicalName(t.name, type)));
  const missing = layout.filter((t) => !byCanonical.has(canonicalName(t.name, type))).map((t) => t.name);
  if (missing.length) throw new Error(`${indexFile}: has no tensor ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ` (+${missing.length - 3} more)` : ''} that config.json implies`);
  const lmLayers = cfg.text_config.num_hidden_layers;
  const visionLayers = cfg.model_type === 'qwen2_5_vl' ? cfg.vision_config.depth : cfg.vision_config.num_hidden_layers;
  for (const [canon, name] of byCanonical) {
    if (ours.has(canon)) continue;
    const at = layerOf(name);
    const cutAway = at !== null && at.layer >= (at.tower === 'lm' ? lmLayers : visionLayers);
    if (!cutAway) throw new Error(`${indexFile}: tensor ${name} is not part of the ${type} layout kvscope loads (config.json does not imply it)`);
  }
  const shardOf = (n: string) => index.weight_map[byCanonical.get(canonicalName(n, type))!];
  const used = [...new Set(layout.map((t) => shardOf(t.name)))].sort();
  const pad = (k: number) => String(k).padStart(5, '0');
  const renamed = new Map(used.map((f, i) => [f, used.length === 1 ? 'model.safetensors' : `model-${pad(i + 1)}-of-${pad(used.length)}.safetensors`]));
  return layout.map((t) => ({ ...t, name: byCanonical.get(canonicalName(t.name, type))!, file: renamed.get(shardOf(t.name))! }));
}

/** FNV-1a of a name: the per-tensor seed offset. */
function nameHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** n values of U(mean − √3·std, mean + √3·std): variance std². */
function uniformDraw(rng: WeightRng, n: number, std: number, mean: number): Float32Array {
  const out = new Float32Array(n), half = Math.sqrt(3) * std;
  for (let i = 0; i < n; i++) out[i] = mean + half * (2 * rng.uniform() - 1);
  return out;
}

/** One shard streamed to disk: header, then each tensor's values drawn and converted a chunk at a time. */
async function writeShard(path: string, plans: TensorPlan[], dtype: HubDType, seed: number): Promise<number> {
  const size = dtype === 'F32' ? 4 : 2;
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let at = 0;
  for (const p of plans) {
    const bytes = p.shape.reduce((a, b) => a * b, 1) * size;
    header[p.name] = { dtype, shape: p.shape, data_offsets: [at, at + bytes] };
    at += bytes;
  }
  const raw = new TextEncoder().encode(JSON.stringify(header));
  const headerBytes = raw.byteLength + ((8 - (raw.byteLength % 8)) % 8);
  const head = new Uint8Array(8 + headerBytes).fill(0x20, 8 + raw.byteLength);
  new DataView(head.buffer).setBigUint64(0, BigInt(headerBytes), true);
  head.set(raw, 8);
  const f = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    const writeAll = async (b: Uint8Array) => {
      for (let o = 0; o < b.byteLength;) o += await f.write(b.subarray(o));
    };
    await writeAll(head);
    const CHUNK = 1 << 20;
    for (const p of plans) {
      const rng = new WeightRng((seed + nameHash(p.name)) >>> 0);
      const n = p.shape.reduce((a, b) => a * b, 1);
      for (let i = 0; i < n; i += CHUNK) {
        const k = Math.min(CHUNK, n - i);
        await writeAll(encode(GPU_DTYPE[dtype], uniformDraw(rng, k, p.std, p.mean)).subarray(0, k * size));
      }
    }
  } finally {
    f.close();
  }
  return at;
}

export interface HubShapedPlan {
  /** config.json as it will be written (depth cut). */
  json: Json;
  config: ModelConfig;
  dtype: HubDType;
  tensors: TensorPlan[];
}

/** What `src` describes after the cut: the config, dtype, and every tensor with its shard (nothing written). */
export async function planHubShapedCheckpoint(src: string, o: HubShapedOptions = {}): Promise<HubShapedPlan> {
  const configFile = `${src}/config.json`;
  let raw: Json;
  try {
    raw = JSON.parse(await Deno.readTextFile(configFile));
  } catch (e) {
    throw new Error(`make-tiny --from ${src}: cannot read ${configFile}: ${(e as Error).message}`);
  }
  const json = cutDepth(raw, o, configFile);
  const config = parseConfig(json, configFile);
  const dtype = o.dtype ?? savedDType(raw, configFile);
  const layout = layoutOf(config);
  const indexFile = `${src}/model.safetensors.index.json`;
  if (!(await Deno.stat(indexFile).then(() => true, () => false))) return { json, config, dtype, tensors: layout.map((t) => ({ ...t, file: 'model.safetensors' })) };
  const index = JSON.parse(await Deno.readTextFile(indexFile));
  if (typeof index?.weight_map !== 'object' || index.weight_map === null) throw new Error(`${indexFile}: expected {"weight_map": {tensor: shard}}`);
  return { json, config, dtype, tensors: planFromIndex(layout, index, config, indexFile) };
}

/** Bytes of a tensor in `dtype`. */
export function tensorBytes(t: { shape: readonly number[] }, dtype: HubDType): number {
  return t.shape.reduce((a, b) => a * b, 1) * (dtype === 'F32' ? 4 : 2);
}

/** Write the hub-shaped random checkpoint of the folder `src` to `dst`. */
export async function writeHubShapedCheckpoint(src: string, dst: string, o: HubShapedOptions = {}): Promise<HubShapedResult> {
  const { json: cutJson, config, dtype, tensors: plans } = await planHubShapedCheckpoint(src, o);
  await Deno.mkdir(dst, { recursive: true });
  const files = [...new Set(plans.map((p) => p.file))];
  const weightMap: Record<string, string> = {};
  let bytes = 0;
  for (const file of files) {
    const mine = plans.filter((p) => p.file === file);
    bytes += await writeShard(`${dst}/${file}`, mine, dtype, o.seed ?? 0);
    for (const p of mine) weightMap[p.name] = file;
  }
  if (files.length > 1) {
    await Deno.writeTextFile(`${dst}/model.safetensors.index.json`, JSON.stringify({ metadata: { total_size: bytes }, weight_map: weightMap }, null, 2) + '\n');
  }
  await Deno.writeTextFile(`${dst}/config.json`, JSON.stringify(cutJson, null, 2) + '\n');

  const copied: string[] = [], added: string[] = [];
  for await (const e of Deno.readDir(src)) {
    if (!e.isFile || NOT_COPIED.test(e.name)) continue;
    await Deno.copyFile(`${src}/${e.name}`, `${dst}/${e.name}`);
    copied.push(e.name);
  }
  // the hub's tokenizer.json is 7 MB and not kept as a fixture: the project's own files for this model type
  const tokenizer = tinyTokenizerFiles(config.model_type);
  for (const [name, text] of Object.entries(tokenizer)) {
    if (copied.includes(name)) continue;
    if (name === 'tokenizer_config.json' && copied.includes('tokenizer_config.json')) continue;
    await Deno.writeTextFile(`${dst}/${name}`, text);
    added.push(name);
  }
  return { dir: dst, config, dtype, tensors: plans.length, bytes, files, copied: copied.sort(), added };
}
