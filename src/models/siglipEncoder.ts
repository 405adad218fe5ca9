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
import { ConfigError, parseSiglipEncoderConfig, type SiglipVisionConfig } from '../io/config.ts';
import type { RgbImage } from '../io/rgbImage.ts';
import { checkRgbImage } from '../io/rgbImage.ts';
import { checkpointLocation, type CheckpointLocation, openCheckpoint, readText } from '../io/safetensors.ts';
import { type PilFilter, pilResize } from './processor/pilResize.ts';
import { parsePreprocessorConfig } from './processor/preprocessorConfig.ts';
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

/** preprocessor_config.json (when present) read by the shared reader as SiglipImageProcessor (its class defaults
 *  when absent); the tower takes exactly image_size² (no position interpolation), so a `size` must be that square. */
async function readPreprocessing(location: CheckpointLocation, cfg: SiglipVisionConfig): Promise<SiglipPreprocessing> {
  const file = `${location.origin}/preprocessor_config.json`;
  const text = (await location.has('preprocessor_config.json')) ? await readText(location, 'preprocessor_config.json') : '{}';
  const p = parsePreprocessorConfig(text, { file, assume: 'SiglipImageProcessor' });
  if (p.kind !== 'siglip') throw new ConfigError(file, "field 'image_processor_type'", `expected SiglipImageProcessor, got ${JSON.stringify(p.processorType)}`);
  const s = cfg.image_size;
  if (p.size && (p.size.height !== s || p.size.width !== s)) {
    throw new ConfigError(file, "field 'size'", `expected {"height": ${s}, "width": ${s}} (config.json image_size ${s}), got ${JSON.stringify(p.size)}`);
  }
  return {
    doResize: p.doResize,
    resample: p.resample,
    rescaleFactor: p.doRescale ? p.rescaleFactor : null,
    mean: p.doNormalize ? p.imageMean : null,
    std: p.doNormalize ? p.imageStd : null,
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
