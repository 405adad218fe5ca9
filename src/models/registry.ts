// loadModel: the architecture is picked from config.json's `model_type`; the checkpoint may be a directory (Deno),
// a base URL, or the Files of a picked folder (browser). Unknown types fail naming the field and the known types.
import type { Gpu } from '../gpu/device.ts';
import { ConfigError, readConfig, SUPPORTED_MODEL_TYPES } from '../io/config.ts';
import { checkpointLocation } from '../io/safetensors.ts';
import { loadLlava } from './llava.ts';
import type { MultimodalModel } from './model.ts';
import { loadQwen2_5VL } from './qwen2_5_vl.ts';
import type { LoadProgress } from './weights.ts';

export interface LoadOptions {
  onProgress?: (p: LoadProgress) => void;
}

const LOADERS: Record<(typeof SUPPORTED_MODEL_TYPES)[number], (gpu: Gpu, where: string | readonly File[], opts: LoadOptions) => Promise<MultimodalModel>> = {
  llava_onevision: (gpu, where, opts) => loadLlava(gpu, where, opts),
  llava_next: (gpu, where, opts) => loadLlava(gpu, where, opts),
  qwen2_5_vl: (gpu, where, opts) => loadQwen2_5VL(gpu, where, opts),
};

/** Load the checkpoint at `where` as the model its config.json names. */
export async function loadModel(gpu: Gpu, where: string | readonly File[], opts: LoadOptions = {}): Promise<MultimodalModel> {
  const location = checkpointLocation(where);
  const config = await readConfig(location); // validates model_type against the supported list
  const load = LOADERS[config.model_type];
  if (!load) throw new ConfigError(`${location.origin}/config.json`, 'model_type', `no loader for ${config.model_type}`);
  return await load(gpu, where, opts);
}
