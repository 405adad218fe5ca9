// The explorer's model side: one loaded checkpoint, the two images' forwards (re-run when the prefix or the
// blocking changes, or when a tap the forwards did not keep is asked for), their feature maps for a tap choice,
// and the input-agnostic keys. All math is src/: features(), analysis/explorerMaps.ts, analysis/agnosticKeys.ts,
// capture/interventions.ts. Nothing is read back here except what the caller draws (and, when asked to publish
// for a test, the feature maps).
import { findAgnosticKeys } from '../../src/analysis/agnosticKeys.ts';
import { choiceTapName, forwardTapsFor, gridFor, rethreshold, type TapChoice } from '../../src/analysis/explorerMaps.ts';
import { type FeatureMap, features, gridCells } from '../../src/capture/features.ts';
import { type AgnosticKeys, type AttentionBlockSpec, blockAgnosticKeys } from '../../src/capture/interventions.ts';
import { canonicalTap, type TapName } from '../../src/capture/taps.ts';
import type { Gpu } from '../../src/gpu/device.ts';
import type { RgbImage } from '../../src/io/rgbImage.ts';
import type { ForwardResult, MultimodalModel } from '../../src/models/model.ts';

/** What the forwards are run with. */
export interface ForwardSettings {
  prompt: string;
  /** Text before the image, or null. */
  prefix: string | null;
  /** Block the input-agnostic keys (needs findAgnostic first). */
  block: boolean;
}

export interface ImageForward {
  image: RgbImage;
  result: ForwardResult;
  /** The blocking this forward applied (null: none). */
  block: AttentionBlockSpec | null;
}

const sameSettings = (a: ForwardSettings, b: ForwardSettings) => a.prompt === b.prompt && a.prefix === b.prefix && a.block === b.block;

export class ExplorerSession {
  forwards: ImageForward[] = [];
  /** Input-agnostic keys found over `images` images at every LM layer, judged at `threshold`. */
  agnostic: AgnosticKeys | null = null;
  forwardRuns = 0;
  prefillMs = 0;
  private settings: ForwardSettings | null = null;
  private kept = new Set<TapName>();

  constructor(readonly gpu: Gpu, readonly model: MultimodalModel, readonly images: readonly RgbImage[]) {}

  get layers(): number {
    return this.model.config.text_config.num_hidden_layers;
  }

  get kvHeads(): number {
    return this.forwards[0]?.result.cache.kvHeads ?? 0;
  }

  /** Run (or keep) the forwards of every image so they match `settings` and hold the tap `choice` needs. */
  async ensure(settings: ForwardSettings, choice: TapChoice): Promise<boolean> {
    const need = forwardTapsFor(choice);
    if (this.forwards.length && this.settings && sameSettings(this.settings, settings) && need.every((t) => this.kept.has(t))) return false;
    if (settings.block && !this.agnostic) throw new Error('blocking needs the input-agnostic keys: press "find" first');
    this.freeForwards();
    const t0 = performance.now();
    const taps = need;
    for (const image of this.images) {
      const req = { images: [image], prompt: settings.prompt, prefix: settings.prefix ?? undefined, taps, logits: 'last' as const };
      let block: AttentionBlockSpec | null = null;
      if (settings.block) {
        // where the image lands depends on the prompt and prefix: a plain prefill gives the spans
        const plan = await this.model.prefill({ ...req, taps: [] });
        block = blockAgnosticKeys(this.agnostic!, plan.spans.images[0], plan.spans.length);
        plan.dispose();
      }
      const result = await this.model.prefill(block ? { ...req, block } : req);
      this.forwards.push({ image, result, block });
    }
    await this.gpu.device.queue.onSubmittedWorkDone();
    this.prefillMs = performance.now() - t0;
    this.settings = { ...settings };
    this.kept = new Set(taps);
    this.forwardRuns++;
    return true;
  }

  /** The feature maps of `choice` for every image (the caller disposes them). */
  async featureMaps(choice: TapChoice): Promise<FeatureMap[]> {
    const tap = choiceTapName(choice);
    const out: FeatureMap[] = [];
    try {
      for (const f of this.forwards) {
        const heads = choice.head === null ? undefined : [choice.head];
        out.push(await features(f.result, { tap, heads, grid: gridFor(choice.tap, f.result.spans.images[0]) }));
      }
    } catch (e) {
      for (const m of out) m.dispose();
      throw e;
    }
    return out;
  }

  /** Key consistency at every LM layer over image A and n − 1 generated pictures of its size (prompt, no prefix). */
  async findAgnostic(others: readonly RgbImage[], prompt: string, threshold: number): Promise<AgnosticKeys> {
    const layers = Array.from({ length: this.layers }, (_, l) => l);
    this.agnostic = await findAgnosticKeys(this.model, [this.images[0], ...others], { layers, threshold, prompt });
    return this.agnostic;
  }

  setThreshold(threshold: number): void {
    if (this.agnostic) this.agnostic = rethreshold(this.agnostic, threshold);
  }

  /** Image A's main grid (where the agnostic keys lie): valid cells and rectangles. */
  mainGrid(): { rows: number; cols: number; valid: Uint8Array; rects: Float32Array } {
    const span = this.forwards[0].result.spans.images[0];
    const g = gridCells(span, 'main');
    return { rows: g.rows, cols: g.cols, valid: Uint8Array.from(g.tokenIndex, (t) => (t >= 0 ? 1 : 0)), rects: g.rects };
  }

  /** For tests: the keys of layer `layer` of each image the agnostic keys were found over, [n, cells, dim]. */
  async agnosticKeysOf(others: readonly RgbImage[], prompt: string, layer: number): Promise<{ n: number; cells: number; dim: number; data: Float32Array }> {
    const parts: Float32Array[] = [];
    let cells = 0, dim = 0;
    for (const image of [this.images[0], ...others]) {
      const r = await this.model.prefill({ images: [image], prompt, logits: 'last' });
      try {
        const fm = await features(r, { tap: canonicalTap('lm.key', layer), grid: 'main' });
        cells = fm.rows * fm.cols;
        dim = fm.dim;
        parts.push((await fm.features.read()) as Float32Array);
        fm.dispose();
      } finally {
        r.dispose();
      }
    }
    const data = new Float32Array(parts.length * cells * dim);
    parts.forEach((p, i) => data.set(p, i * cells * dim));
    return { n: parts.length, cells, dim, data };
  }

  freeForwards(): void {
    for (const f of this.forwards) f.result.dispose();
    this.forwards = [];
    this.settings = null;
    this.kept.clear();
  }

  dispose(): void {
    this.freeForwards();
  }
}
