// The probe tasks by the names the probe command takes, each on its real dataset layout (`--data DIR`) or on
// synthetic data with exact ground truth (`--data synthetic`).
import type { FileSource } from '../io/source.ts';
import { BLINK_SUBTASKS, type BlinkSubtask } from './datasets/blink.ts';
import type { DavisFormat } from './datasets/davis.ts';
import type { SpairSplit } from './datasets/spair.ts';
import { blinkTask } from './blink.ts';
import { msrcTask, syntheticCosegTask } from './coSegmentation.ts';
import { spairTask, syntheticCorrespondenceTask } from './correspondence.ts';
import { pascal5iTask, syntheticFewShotTask } from './fewShotSegmentation.ts';
import type { ProbeTask } from './task.ts';
import { refcocoTask, syntheticReferringTask } from './referringSegmentation.ts';
import { imagenetSTask, syntheticSemanticTask } from './semanticSegmentation.ts';
import { davisTask, syntheticVideoTask } from './videoPropagation.ts';

export const TASK_NAMES = ['spair', 'davis', 'pascal5i', 'msrc', 'imagenet-s', 'refcoco', 'blink'] as const;
export type TaskName = (typeof TASK_NAMES)[number];

export interface TaskOptions {
  /** Dataset root (a directory, or a picked folder / URL as a FileSource), or 'synthetic'. */
  data: string | FileSource;
  /** Samples to evaluate at most (pairs, videos, episodes, image sets, images, questions). */
  limit?: number;
  split?: string;
  seed?: number;
  /** Pascal-5i fold. */
  fold?: number;
  /** DAVIS: '2017' (palette ids) or '2016' (binary masks); frames per sequence at most. */
  davisFormat?: DavisFormat;
  maxFrames?: number;
  /** BLINK subtasks (default: the ones the study probes). */
  subtasks?: readonly string[];
  /** BLINK: JSON with the marked points of the correspondence questions. */
  pointsFile?: string;
  /** ImageNet-S class count (50, 300, 919). */
  classes?: number;
  /** Side of synthetic images in pixels. */
  size?: number;
}

/** The task `name` over `opts.data`. */
export function buildTask(name: string, opts: TaskOptions): ProbeTask<unknown> {
  const synthetic = opts.data === 'synthetic';
  const seed = opts.seed ?? 0, size = opts.size ?? 64;
  const n = opts.limit;
  switch (name as TaskName) {
    case 'spair':
      return (synthetic ? syntheticCorrespondenceTask({ n: n ?? 4, size, seed })
        : spairTask(opts.data, { split: (opts.split ?? 'test') as SpairSplit, limit: n })) as ProbeTask<unknown>;
    case 'davis':
      return (synthetic ? syntheticVideoTask({ n: n ?? 2, frames: opts.maxFrames ?? 6, size, objects: 2, seed })
        : davisTask(opts.data, { format: opts.davisFormat ?? '2017', split: opts.split ?? 'val', maxFrames: opts.maxFrames })) as ProbeTask<unknown>;
    case 'pascal5i':
      return (synthetic ? syntheticFewShotTask({ episodes: n ?? 4, size, seed })
        : pascal5iTask(opts.data, { fold: opts.fold ?? 0, episodes: n, seed })) as ProbeTask<unknown>;
    case 'msrc':
      return (synthetic ? syntheticCosegTask({ sets: n ?? 2, size, seed }) : msrcTask(opts.data, {})) as ProbeTask<unknown>;
    case 'imagenet-s':
      return (synthetic ? syntheticSemanticTask({ images: n ?? 4, size, seed })
        : imagenetSTask(opts.data, { classes: (opts.classes ?? 50) as 50 | 300 | 919 })) as ProbeTask<unknown>;
    case 'refcoco':
      return (synthetic ? syntheticReferringTask({ images: n ?? 4, size, seed })
        : refcocoTask(opts.data, { split: opts.split ?? 'val' })) as ProbeTask<unknown>;
    case 'blink': {
      if (synthetic) throw new Error('blink: there is no synthetic BLINK; point --data at a BLINK parquet copy (<Subtask>/val-00000-of-00001.parquet)');
      const subtasks = (opts.subtasks ?? ['Art_Style', 'Semantic_Correspondence', 'Visual_Correspondence']) as BlinkSubtask[];
      for (const s of subtasks) if (!(BLINK_SUBTASKS as readonly string[]).includes(s)) throw new Error(`--subtasks: unknown BLINK subtask ${s} (known: ${BLINK_SUBTASKS.join(', ')})`);
      return blinkTask(opts.data, { subtasks, split: 'val', pointsFile: opts.pointsFile, limit: n }) as ProbeTask<unknown>;
    }
    default:
      throw new Error(`unknown task ${JSON.stringify(name)} (known: ${TASK_NAMES.join(', ')})`);
  }
}
