// The standalone SigLIP image encoder, the study's baseline "without MLM fine-tuning": a SigLIP checkpoint
// (`siglip` with vision + text towers, or `siglip_vision_model`) whose vision tower runs on its own. Preprocessing
// is SiglipImageProcessor's: squash-resize to image_size (PIL bicubic), rescale 1/255, normalise with the
// checkpoint's mean/std (default 0.5). Features: the last encoder layer's output before post_layernorm (the layer
// LLaVA-OneVision reads; kvscope's documented choice), laid on the g×g patch grid, each cell's rectangle in the
// original image's pixels.
import type { FeatureMap } from '../capture/features.ts';
import type { Gpu } from '../gpu/device.ts';
import { parseSiglipEncoderConfig, type SiglipVisionConfig } from '../io/config.ts';
import type { RgbImage } from '../io/rgbImage.ts';
import { checkRgbImage } from '../io/rgbImage.ts';
import { checkpointLocation, openCheckpoint, readText } from '../io/safetensors.ts';
import { pilResize } from './processor/pilResize.ts';
import { VisionTower } from './vision/vit.ts';
import { Weights } from './weights.ts';

export class SiglipEncoder {
  readonly name = 'siglip';

  private constructor(
    readonly gpu: Gpu,
    readonly config: SiglipVisionConfig,
    private readonly tower: VisionTower,
    private readonly mean: readonly number[],
    private readonly std: readonly number[],
  ) {}

  /** Load from a checkpoint directory (or URL / Files). Weights `vision_model.*`. */
  static async load(gpu: Gpu, where: string | readonly File[]): Promise<SiglipEncoder> {
    const location = checkpointLocation(where);
    const config = parseSiglipEncoderConfig(JSON.parse(await readText(location, 'config.json')), `${location.origin}/config.json`);
    let mean = [0.5, 0.5, 0.5], std = [0.5, 0.5, 0.5];
    if (await location.has('preprocessor_config.json')) {
      const file = `${location.origin}/preprocessor_config.json`;
      const p = JSON.parse(await readText(location, 'preprocessor_config.json')) as { image_mean?: unknown; image_std?: unknown };
      const rgb = (v: unknown, field: string) => {
        if (v === undefined) return null;
        if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === 'number')) throw new Error(`${file}: ${field} must be 3 numbers, found ${JSON.stringify(v)}`);
        return v as number[];
      };
      mean = rgb(p.image_mean, 'image_mean') ?? mean;
      std = rgb(p.image_std, 'image_std') ?? std;
    }
    const checkpoint = await openCheckpoint(where);
    const tower = await VisionTower.load(gpu, new Weights(checkpoint), config, { prefix: 'vision_model.', layerCount: config.num_hidden_layers });
    return new SiglipEncoder(gpu, config, tower, mean, std);
  }

  /** pixel_values [1, 3, S, S] of one image. */
  preprocess(img: RgbImage): { shape: number[]; data: Float32Array } {
    checkRgbImage(img, `siglip: ${img.source ?? 'image'}`);
    const s = this.config.image_size;
    const r = pilResize(img, { height: s, width: s });
    const data = new Float32Array(3 * s * s);
    for (let i = 0; i < s * s; i++) {
      for (let c = 0; c < 3; c++) data[c * s * s + i] = Math.fround((r.data[i * 3 + c] * (1 / 255) - this.mean[c]) / this.std[c]);
    }
    return { shape: [1, 3, s, s], data };
  }

  /** The image's patch-grid features. */
  async features(img: RgbImage): Promise<FeatureMap> {
    const cfg = this.config;
    const out = await this.tower.forward(this.preprocess(img), { hiddenStates: [cfg.num_hidden_layers], dropCls: false });
    const g = Math.floor(cfg.image_size / cfg.patch_size);
    const sx = img.width / cfg.image_size, sy = img.height / cfg.image_size, p = cfg.patch_size;
    const rects = new Float32Array(g * g * 4);
    for (let r = 0; r < g; r++) for (let c = 0; c < g; c++) rects.set([c * p * sx, r * p * sy, (c + 1) * p * sx, (r + 1) * p * sy], (r * g + c) * 4);
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
