// `preprocessor_config.json` for the image processors (HF slow classes), with each class's own defaults for
// missing fields: LlavaOnevisionImageProcessor, LlavaNextImageProcessor, Qwen2VLImageProcessor (which Qwen2.5-VL
// checkpoints name; `Qwen2_5_VLImageProcessor` is accepted too) and SiglipImageProcessor (the standalone encoder). A `…Fast` class name maps to the same semantics:
// kvscope always reproduces the slow/PIL path.
import { ConfigError } from '../../io/config.ts';
import { LLAVA_NEXT_PINPOINTS, oneVisionPinpoints } from './anyres.ts';
import type { PilFilter } from './pilResize.ts';

/** OpenAI CLIP mean/std, the HF default for all three classes (`OPENAI_CLIP_MEAN` / `OPENAI_CLIP_STD`). */
export const OPENAI_CLIP_MEAN: readonly [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
export const OPENAI_CLIP_STD: readonly [number, number, number] = [0.26862954, 0.26130258, 0.27577711];

/** IMAGENET_STANDARD_MEAN / _STD (0.5 each), SiglipImageProcessor's default. */
export const IMAGENET_STANDARD_MEAN: readonly [number, number, number] = [0.5, 0.5, 0.5];
export const IMAGENET_STANDARD_STD: readonly [number, number, number] = [0.5, 0.5, 0.5];

type Rgb = readonly [number, number, number];

/** HF size dict: an exact (height, width) or a shortest edge. */
export type SizeSpec = { height: number; width: number } | { shortestEdge: number };

interface Common {
  file: string;
  /** `image_processor_type` as written (or the class assumed when absent). */
  processorType: string;
  doResize: boolean;
  doRescale: boolean;
  doNormalize: boolean;
  doConvertRgb: boolean;
  resample: PilFilter;
  rescaleFactor: number;
  imageMean: Rgb;
  imageStd: Rgb;
}

export interface LlavaImageProcessorConfig extends Common {
  kind: 'llava_onevision' | 'llava_next';
  size: SizeSpec;
  /** LLaVA-NeXT only (OneVision has no crop step): centre-crop size after the per-tile resize. */
  cropSize: { height: number; width: number } | null;
  doCenterCrop: boolean;
  doPad: boolean;
  /** (height, width) pairs. */
  imageGridPinpoints: [number, number][];
  /** Crop (tile) side cut from the padded canvas: OneVision size.height (or shortest_edge); NeXT crop_size.height. */
  tile: number;
  /** The base tile the whole image is squash-resized to: OneVision (size.height, size.width); NeXT shortest_edge². */
  baseSize: { height: number; width: number };
}

export interface QwenImageProcessorConfig extends Common {
  kind: 'qwen2_vl';
  minPixels: number;
  maxPixels: number;
  patchSize: number;
  temporalPatchSize: number;
  mergeSize: number;
}

export interface SiglipImageProcessorConfig extends Common {
  kind: 'siglip';
  /** The squash-resize target (HF reads size["height"], size["width"]); null when the file names none (HF: 224²). */
  size: { height: number; width: number } | null;
}

export type ImageProcessorConfig = LlavaImageProcessorConfig | QwenImageProcessorConfig | SiglipImageProcessorConfig;

const KINDS: Record<string, ImageProcessorConfig['kind']> = {
  LlavaOnevisionImageProcessor: 'llava_onevision',
  LlavaNextImageProcessor: 'llava_next',
  Qwen2VLImageProcessor: 'qwen2_vl',
  Qwen2_5_VLImageProcessor: 'qwen2_vl',
  SiglipImageProcessor: 'siglip',
};

/** Reads fields of one JSON object, each error naming the file and the field. */
class Fields {
  constructor(readonly obj: Record<string, unknown>, readonly file: string) {}
  fail(field: string, want: string, got: unknown): never {
    throw new ConfigError(this.file, `field '${field}'`, `expected ${want}, got ${JSON.stringify(got)}`);
  }
  has(field: string): boolean {
    return this.obj[field] !== undefined && this.obj[field] !== null;
  }
  bool(field: string, dflt: boolean): boolean {
    if (!this.has(field)) return dflt;
    const v = this.obj[field];
    return typeof v === 'boolean' ? v : this.fail(field, 'a boolean', v);
  }
  positive(field: string, dflt: number, integer = false): number {
    if (!this.has(field)) return dflt;
    return positiveValue(this.obj[field], integer, (want, got) => this.fail(field, want, got));
  }
  rgb(field: string, dflt: Rgb, nonzero = false): Rgb {
    if (!this.has(field)) return dflt;
    const v = this.obj[field];
    const list = typeof v === 'number' ? [v, v, v] : v;
    if (!Array.isArray(list) || list.length !== 3 || !list.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      this.fail(field, 'a number or a list of 3 numbers', v);
    }
    if (nonzero && list.some((x) => x === 0)) this.fail(field, 'non-zero values', v);
    return [list[0], list[1], list[2]];
  }
  resample(field: string): PilFilter {
    if (!this.has(field)) return 'bicubic';
    const v = this.obj[field];
    // PIL.Image.Resampling: NEAREST 0, LANCZOS 1, BILINEAR 2, BICUBIC 3, BOX 4, HAMMING 5.
    if (v === 3) return 'bicubic';
    if (v === 2) return 'bilinear';
    return this.fail(field, '3 (BICUBIC) or 2 (BILINEAR), the PIL filters kvscope implements', v);
  }
  /** HF `get_size_dict`: {height, width}, {shortest_edge}, or an int (square when `defaultSquare`). */
  size(field: string, dflt: SizeSpec, defaultSquare: boolean): SizeSpec {
    if (!this.has(field)) return dflt;
    const v = this.obj[field];
    const fail = (want: string, got: unknown): never => this.fail(field, want, got);
    if (typeof v === 'number') {
      const n = positiveValue(v, true, fail);
      return defaultSquare ? { height: n, width: n } : { shortestEdge: n };
    }
    if (typeof v !== 'object' || Array.isArray(v)) return fail('{height, width} or {shortest_edge}', v);
    const o = v as Record<string, unknown>;
    if (o.height !== undefined && o.width !== undefined) {
      return { height: positiveValue(o.height, true, fail), width: positiveValue(o.width, true, fail) };
    }
    if (o.shortest_edge !== undefined) return { shortestEdge: positiveValue(o.shortest_edge, true, fail) };
    return fail('{height, width} or {shortest_edge}', v);
  }
  pinpoints(field: string, dflt: [number, number][]): [number, number][] {
    if (!this.has(field)) return dflt;
    const v = this.obj[field];
    const ok = Array.isArray(v) && v.length > 0 && v.every((p) =>
      Array.isArray(p) && p.length === 2 && p.every((x) => Number.isInteger(x) && x > 0)
    );
    if (!ok) this.fail(field, 'a non-empty list of [height, width] positive integer pairs', v);
    return (v as [number, number][]).map(([h, w]) => [h, w]);
  }
}

function positiveValue(v: unknown, integer: boolean, fail: (want: string, got: unknown) => never): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
    return fail(integer ? 'a positive integer' : 'a positive number', v);
  }
  return v;
}

/**
 * Parse a `preprocessor_config.json` (text or parsed object). `assume` names the class when the file has no
 * `image_processor_type` (old saves); otherwise a missing type is an error.
 */
export function parsePreprocessorConfig(
  json: string | unknown,
  opts: { file?: string; assume?: string } = {},
): ImageProcessorConfig {
  const file = opts.file ?? 'preprocessor_config.json';
  let obj: unknown = json;
  if (typeof json === 'string') {
    try {
      obj = JSON.parse(json);
    } catch (e) {
      throw new ConfigError(file, '', `not valid JSON (${(e as Error).message})`);
    }
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new ConfigError(file, '', 'expected a JSON object');
  const f = new Fields(obj as Record<string, unknown>, file);
  const rawType = f.has('image_processor_type') ? f.obj.image_processor_type : opts.assume;
  if (typeof rawType !== 'string') {
    return f.fail('image_processor_type', `one of ${Object.keys(KINDS).join(', ')}`, rawType ?? null);
  }
  const kind = KINDS[rawType.replace(/Fast$/, '')];
  if (!kind) return f.fail('image_processor_type', `one of ${Object.keys(KINDS).join(', ')} (or its Fast variant)`, rawType);

  const common: Common = {
    file,
    processorType: rawType,
    doResize: f.bool('do_resize', true),
    doRescale: f.bool('do_rescale', true),
    doNormalize: f.bool('do_normalize', true),
    doConvertRgb: f.bool('do_convert_rgb', true),
    resample: f.resample('resample'),
    rescaleFactor: f.positive('rescale_factor', 1 / 255),
    imageMean: f.rgb('image_mean', kind === 'siglip' ? IMAGENET_STANDARD_MEAN : OPENAI_CLIP_MEAN),
    imageStd: f.rgb('image_std', kind === 'siglip' ? IMAGENET_STANDARD_STD : OPENAI_CLIP_STD, true),
  };

  if (kind === 'siglip') {
    // get_size_dict(default_to_square=False), then size["height"], size["width"]: a shortest edge is an error in HF too
    if (!f.has('size')) return { ...common, kind, size: null };
    const size = f.size('size', { height: 224, width: 224 }, false);
    if ('shortestEdge' in size) return f.fail('size', '{height, width}', f.obj.size);
    return { ...common, kind, size };
  }

  if (kind === 'qwen2_vl') {
    // Legacy min_pixels / max_pixels win over size.{shortest,longest}_edge (HF's backward-compatibility rule).
    let minPixels = 56 * 56, maxPixels = 28 * 28 * 1280;
    if (f.has('size')) {
      const s = f.obj.size as Record<string, unknown>;
      if (typeof s !== 'object' || s === null || s.shortest_edge === undefined || s.longest_edge === undefined) {
        f.fail('size', "{shortest_edge, longest_edge} (pixel counts)", f.obj.size);
      }
      const fail = (want: string, got: unknown): never => f.fail('size', want, got);
      minPixels = positiveValue(s.shortest_edge, true, fail);
      maxPixels = positiveValue(s.longest_edge, true, fail);
    }
    minPixels = f.positive('min_pixels', minPixels, true);
    maxPixels = f.positive('max_pixels', maxPixels, true);
    if (minPixels > maxPixels) f.fail('min_pixels', `at most max_pixels (${maxPixels})`, minPixels);
    return {
      ...common, kind, minPixels, maxPixels,
      patchSize: f.positive('patch_size', 14, true),
      temporalPatchSize: f.positive('temporal_patch_size', 2, true),
      mergeSize: f.positive('merge_size', 2, true),
    };
  }

  if (kind === 'llava_onevision') {
    const size = f.size('size', { height: 384, width: 384 }, false);
    // HF: size_tuple = (height, width) or (shortest_edge, shortest_edge); crops are size_tuple[0] wide.
    const baseSize = 'shortestEdge' in size ? { height: size.shortestEdge, width: size.shortestEdge } : size;
    return {
      ...common, kind, size, cropSize: null, doCenterCrop: false,
      doPad: f.bool('do_pad', true),
      imageGridPinpoints: f.pinpoints('image_grid_pinpoints', oneVisionPinpoints()),
      tile: baseSize.height,
      baseSize,
    };
  }

  const size = f.size('size', { shortestEdge: 224 }, false);
  const cropSize = f.size('crop_size', { height: 224, width: 224 }, true) as { height: number; width: number };
  if (!('height' in cropSize)) f.fail('crop_size', '{height, width}', f.obj.crop_size);
  // HF: the base tile is (shortest_edge, shortest_edge), or min(height, width) squared.
  const side = 'shortestEdge' in size ? size.shortestEdge : Math.min(size.height, size.width);
  return {
    ...common, kind, size, cropSize,
    doCenterCrop: f.bool('do_center_crop', true),
    doPad: f.bool('do_pad', true),
    imageGridPinpoints: f.pinpoints('image_grid_pinpoints', LLAVA_NEXT_PINPOINTS.map(([h, w]) => [h, w])),
    tile: cropSize.height,
    baseSize: { height: side, width: side },
  };
}
