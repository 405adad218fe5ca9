// A probe task: a list of samples, an evaluation that turns one sample into additive statistics for every
// (tap, layer) asked for, and the aggregate that turns summed statistics into metric rows. The runner
// (runProbe.ts) owns resuming, progress and reports; the task owns its protocol.
import type { AgnosticKeys } from '../capture/interventions.ts';
import type { GridChoice } from '../capture/spans.ts';
import type { ShortTap } from '../capture/taps.ts';
import type { MultimodalModel } from '../models/model.ts';
import { encodePng } from '../io/image.ts';
import type { RgbImage } from '../io/rgbImage.ts';
import { maskOverlay, sideBySide } from './overlay.ts';
import type { ResultRow, SampleStats } from './resultsLog.ts';

/** The standalone vision encoder baseline (SigLIP without MLM fine-tuning): features of an image on its grid. */
export interface VisionBaseline {
  readonly name: string;
  features(image: import('../io/rgbImage.ts').RgbImage): Promise<import('../capture/features.ts').FeatureMap>;
}

/** Takes one overlay: a file name (…png) and its bytes. */
export type OverlayWriter = (file: string, png: Uint8Array) => Promise<void>;

export interface ProbeContext {
  model: MultimodalModel;
  siglip: VisionBaseline | null;
  taps: readonly ShortTap[];
  /** LM layers for layered taps. */
  layers: readonly number[];
  /** Text placed before the image (the prefix study), or none. */
  prefix?: string;
  /** Input-agnostic image keys found beforehand: when set, every forward blocks attention to them. */
  agnostic: AgnosticKeys | null;
  grid: GridChoice;
  /** Where a task puts a few overlays (PNG) for a person to look at — the run directory on disk, the browser's
   * memory sink — or null: none. Tasks write them only through `emitOverlay`. */
  overlays: OverlayWriter | null;
  /** Overlays still to write (tasks decrement it). */
  overlaysLeft: number;
}

export interface ProbeSample<S> {
  id: string;
  sample: S;
}

export interface ProbeTask<S = unknown> {
  readonly name: string;
  /** What a person should know about the protocol choices, printed under the table. */
  readonly notes: readonly string[];
  samples(): Promise<ProbeSample<S>[]>;
  evaluate(ctx: ProbeContext, sample: ProbeSample<S>): Promise<SampleStats>;
  aggregate(summed: SampleStats, samples: number): ResultRow[];
}

/** One overlay, if the run still wants one: `parts` name it (joined with '-', made file-safe, '.png'); the PNG is
 * only drawn then. */
export async function emitOverlay(ctx: ProbeContext, parts: readonly string[], png: () => Uint8Array): Promise<void> {
  if (!ctx.overlays || ctx.overlaysLeft <= 0) return;
  ctx.overlaysLeft--;
  await ctx.overlays(`${parts.join('-').replace(/[^A-Za-z0-9._@-]+/g, '_')}.png`, png());
}

/** The predicted mask beside the true one, each over the image, as one overlay named by `parts`. */
export async function emitMaskOverlay(ctx: ProbeContext, parts: readonly string[], image: RgbImage, pred: ArrayLike<number>, gt: ArrayLike<number>): Promise<void> {
  await emitOverlay(ctx, parts, () => encodePng(sideBySide([maskOverlay(image, pred), maskOverlay(image, gt)])));
}
