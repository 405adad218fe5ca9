// `kvscope study paper --model DIR --data-root DIR [--siglip DIR] --out DIR`: the paper's whole table
// (src/analysis/paperStudy.ts), resumable, with every dataset found under the root and the missing ones listed.
import { acquireGpu } from '../../src/gpu/device.ts';
import { SiglipEncoder } from '../../src/models/siglipEncoder.ts';
import { PAPER_TASKS, type PaperStudyResult, type PaperTask, runPaperStudy } from '../../src/analysis/paperStudy.ts';
import { syntheticSegmentationSet } from '../../src/tasks/synthetic/segmentationSet.ts';
import { defaultTinyModel, parseLayers } from './probeCommand.ts';
import type { KvDType } from '../../src/capture/kvCache.ts';
import { loadWithProgress } from './modelCommands.ts';

export interface PaperStudyCommandOptions {
  model?: string;
  dataRoot?: string;
  synthetic?: boolean;
  siglip?: string;
  layers?: string;
  layerStride?: number;
  prefix?: string;
  agnosticThreshold?: number;
  limit?: number;
  size?: number;
  tasks?: string;
  studies?: boolean;
  subtasks?: string;
  /** KV cache dtype of every forward: f32 (default) or f16 (needs shader-f16). */
  kvDtype?: KvDType;
  out: string;
}

export async function paperStudyCommand(o: PaperStudyCommandOptions): Promise<PaperStudyResult> {
  if (!o.dataRoot && !o.synthetic) throw new Error('study paper: give --data-root DIR (the folder holding SPair-71k/, DAVIS/, VOCdevkit/VOC2012/, ...) or --synthetic');
  const tasks = o.tasks?.split(',').map((s) => s.trim()) as PaperTask['task'][] | undefined;
  for (const t of tasks ?? []) if (!PAPER_TASKS.some((p) => p.task === t)) throw new Error(`--tasks: ${t} is not one of ${PAPER_TASKS.map((p) => p.task).join(', ')}`);
  const gpu = await acquireGpu();
  const dir = o.model ?? await defaultTinyModel();
  const model = await loadWithProgress(gpu, dir);
  if (o.kvDtype) model.kvDtype = o.kvDtype;
  const siglip = o.siglip ? await SiglipEncoder.load(gpu, o.siglip) : null;
  try {
    const n = model.config.text_config.num_hidden_layers;
    const layers = o.layers ? parseLayers(o.layers, n) : parseLayers(`0-${n - 1}:${o.layerStride ?? 1}`, n);
    return await runPaperStudy(model, siglip, {
      dataRoot: o.synthetic ? 'synthetic' : o.dataRoot!, layers, prefix: o.prefix ?? 'A photo of an object: ',
      agnosticImages: syntheticSegmentationSet({ n: 8, size: o.size ?? 64, classes: 4, seed: 99 }).images, agnosticThreshold: o.agnosticThreshold,
      limit: o.limit, size: o.size, tasks, studies: o.studies, blinkSubtasks: o.subtasks?.split(',').map((s) => s.trim()), log: (l) => console.log(l),
    }, o.out);
  } finally {
    model.dispose();
    siglip?.dispose();
  }
}
