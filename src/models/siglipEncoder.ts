// The standalone SigLIP image encoder, the study's baseline "without MLM fine-tuning": a SigLIP checkpoint
// (`siglip` with vision + text towers, or `siglip_vision_model`) whose vision tower runs on its own; the text tower,
// logit_scale / logit_bias and the attention-pooling head (`vision_model.head.*`) are never read. Preprocessing is
// SiglipImageProcessor's: squash-resize to image_size (PIL bicubic, or bilinear when resample is 2), rescale
// (1/255), normalise with the checkpoint's mean/std (default 0.5), in float32 as numpy does. Features: the last
// encoder layer's output before post_layernorm (the layer LLaVA-OneVision reads; kvscope's documented choice), laid
// on the g×g patch grid, each cell's rectangle in the original image's pixels (the pixels its patch sees; when
// patch_size does not divide image_size the conv drops the trailing pixels, and the rects end short of the edge).
import type { Gpu } from '../gpu/device.ts';
import type { FeatureMap } from '../capture/features.ts';
import { parseSiglipEncoderConfig, type SiglipVisionConfig } from '../io/config.ts';
import type { RgbImage } from '../io/rgbImage.ts';
import { checkRgbImage } from '../io/rgbImage.ts';
import { checkpointLocation, type CheckpointLocation, openCheckpoint, readText } from '../io/safetensors.ts';
import { type PilFilter, pilResize } from './processor/pilResize.ts';
import { VisionTower } from './vision/vit.ts';
import { Weights } from './weights.ts';

type Rgb = readonly [number, number, number];

/** The SiglipImageProcessor fields the encoder honours (class defaults for absent ones). */
export interface SiglipPreprocessing {
  doResize: boolean;
  resample: PilFilter;
  /** null: do_rescale false */
  rescaleFactor: number | null;
  /** null: do_normalize false */
  mean: Rgb | null;
  std: Rgb | null;
}

/** SiglipImageProcessor's defaults (IMAGENET_STANDARD mean/std 0.5, bicubic, 1/255). */
const DEFAULT_PREPROCESSING: SiglipPreprocessing = { doResize: true, resample: 'bicubic', rescaleFactor: 1 / 255, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };

/** preprocessor_config.json (when present) as SiglipImageProcessor reads it; `size` must be image_size square. */
async function readPreprocessing(location: CheckpointLocation, cfg: SiglipVisionConfig): Promise<SiglipPreprocessing> {
  if (!(await location.has('preprocessor_config.json'))) return DEFAULT_PREPROCESSING;
  const file = `${location.origin}/preprocessor_config.json`;
  const text = await readText(location, 'preprocessor_config.json');
  let p: Record<string, unknown>;
  try {
    p = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof p !== 'object' || p === null || Array.isArray(p)) throw new Error(`${file}: expected a JSON object`);
  const fail = (field: string, want: string): never => {
    throw new Error(`${file}: ${field} must be ${want}, found ${JSON.stringify(p[field])}`);
  };
  const bool = (field: string, dflt: boolean) => p[field] === undefined || p[field] === null ? dflt : typeof p[field] === 'boolean' ? p[field] as boolean : fail(field, 'true or false');
  // HF accepts one number for all channels or a list of 3
  const rgb = (field: string, dflt: Rgb, nonzero: boolean): Rgb => {
    const v = p[field];
    if (v === undefined || v === null) return dflt;
    const list = typeof v === 'number' ? [v, v, v] : v;
    if (!Array.isArray(list) || list.length !== 3 || !list.every((x) => typeof x === 'number' && Number.isFinite(x) && (!nonzero || x !== 0))) {
      return fail(field, nonzero ? 'a non-zero number or 3 non-zero numbers' : 'a number or 3 numbers');
    }
    return [list[0], list[1], list[2]];
  };
  const type = p.image_processor_type;
  if (type !== undefined && type !== 'SiglipImageProcessor' && type !== 'SiglipImageProcessorFast') fail('image_processor_type', 'SiglipImageProcessor');
  // PIL.Image.Resampling: BILINEAR 2, BICUBIC 3 (the two filters kvscope implements)
  const resample = p.resample === undefined || p.resample === 3 ? 'bicubic' : p.resample === 2 ? 'bilinear' : fail('resample', '3 (BICUBIC) or 2 (BILINEAR)');
  const s = cfg.image_size;
  // the tower takes exactly image_size² (no position interpolation), so the processor must resize to it
  if (p.size !== undefined) {
    const size = p.size as { height?: unknown; width?: unknown } | null;
    if (typeof size !== 'object' || size === null || size.height !== s || size.width !== size.height) fail('size', `{"height": ${s}, "width": ${s}} (config.json image_size ${s})`);
  }
  const rescale = p.rescale_factor === undefined ? 1 / 255 : p.rescale_factor;
  if (typeof rescale !== 'number' || !(rescale > 0) || !Number.isFinite(rescale)) fail('rescale_factor', 'a positive number');
  const normalize = bool('do_normalize', true);
  return {
    doResize: bool('do_resize', true),
    resample,
    rescaleFactor: bool('do_rescale', true) ? rescale as number : null,
    mean: normalize ? rgb('image_mean', [0.5, 0.5, 0.5], false) : null,
    std: normalize ? rgb('image_std', [0.5, 0.5, 0.5], true) : null,
  };
}

export class SiglipEncoder {
  readonly name = 'siglip';

  private constructor(
    readonly gpu: Gpu,
    readonly config: SiglipVisionConfig,
    readonly preprocessing: SiglipPreprocessing,
    private readonly tower: VisionTower,
  ) {}

  /** Load from a checkpoint directory (or URL / Files). Weights `vision_model.*`; nothing else is read. */
  static async load(gpu: Gpu, where: string | readonly File[]): Promise<SiglipEncoder> {
    const location = checkpointLocation(where);
    const configFile = `${location.origin}/config.json`;
    const text = await readText(location, 'config.json');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new Error(`${configFile}: not valid JSON (${(e as Error).message})`);
    }
    const config = parseSiglipEncoderConfig(json, configFile);
    const preprocessing = await readPreprocessing(location, config);
    const checkpoint = await openCheckpoint(where);
    const tower = await VisionTower.load(gpu, new Weights(checkpoint), config, { prefix: 'vision_model.', layerCount: config.num_hidden_layers });
    return new SiglipEncoder(gpu, config, preprocessing, tower);
  }

  /** pixel_values [1, 3, S, S] of one image: resize, then x·rescale, then (x − mean) / std, each step in float32. */
  preprocess(img: RgbImage): { shape: number[]; data: Float32Array } {
    const where = `siglip: ${img.source ?? 'image'}`;
    checkRgbImage(img, where);
    const s = this.config.image_size, pp = this.preprocessing;
    if (!pp.doResize && (img.width !== s || img.height !== s)) {
      throw new Error(`${where}: ${img.width}×${img.height} image, but preprocessor_config.json has do_resize false and the tower takes ${s}×${s}`);
    }
    const r = pp.doResize ? pilResize(img, { height: s, width: s }, { filter: pp.resample }) : img;
    const data = new Float32Array(3 * s * s);
    for (let c = 0; c < 3; c++) {
      const mean = pp.mean ? Math.fround(pp.mean[c]) : 0, std = pp.std ? Math.fround(pp.std[c]) : 1;
      for (let i = 0; i < s * s; i++) {
        const u = r.data[i * 3 + c];
        const x = pp.rescaleFactor === null ? u : Math.fround(u * pp.rescaleFactor);
        data[c * s * s + i] = pp.mean ? Math.fround(Math.fround(x - mean) / std) : x;
      }
    }
    return { shape: [1, 3, s, s], data };
  }

  /** The image's patch-grid features: the last encoder layer's output (no post_layernorm), [g, g, hidden]. */
  async features(img: RgbImage): Promise<FeatureMap> {
    const cfg = this.config;
    const out = await this.tower.forward(this.preprocess(img), { hiddenStates: [cfg.num_hidden_layers], dropCls: false });
    const g = Math.floor(cfg.image_size / cfg.patch_size);
    const s = cfg.image_size, p = cfg.patch_size;
    // cell (r, c) sees resized pixels [c·p, (c+1)·p) × [r·p, (r+1)·p); scaled back by W/S, H/S (exact at the edges)
    const rects = new Float32Array(g * g * 4);
    for (let r = 0; r < g; r++) {
      for (let c = 0; c < g; c++) rects.set([(c * p * img.width) / s, (r * p * img.height) / s, ((c + 1) * p * img.width) / s, ((r + 1) * p * img.height) / s], (r * g + c) * 4);
    }
    const flat = out.features;
    return {
      tap: 'siglip.out', image: 0, grid: 'main', rows: g, cols: g, dim: flat.rowLength,
      features: flat.reshape([g, g, flat.rowLength]), valid: new Uint8Array(g * g).fill(1), rects,
      imageSize: { height: img.height, width: img.width },
      dispose: () => flat.dispose(),
    };
  }

  dispose(): void {
    this.tower.dispose();
  }
}
