// `kvscope plan --model DIR`: the GPU memory plan of a probe run in bytes (weights, KV cache, activations, kept
// feature maps), optionally checked against a budget (exit status 1 when it does not fit) and against the peak the
// runtime measures on one forward of this checkpoint.
import { acquireGpu } from '../../src/gpu/device.ts';
import { readConfig } from '../../src/io/config.ts';
import { type ActivationFit, calibrateActivations, fitLine, imageLoadFor, measureSweepPeak, memoryPlan, type MemoryPlanRequest, memoryPlanTable, parseBytes } from '../../src/analysis/memoryPlan.ts';
import { parseLayers, parseTaps } from './probeCommand.ts';
import { loadWithProgress } from './modelCommands.ts';
import { testPicture } from '../../test/models/testPicture.ts';

export interface PlanOptions {
  model: string;
  taps?: string;
  layers?: string;
  kvDtype?: 'f32' | 'f16';
  lmLayers?: number;
  visionLayers?: number;
  image?: [number, number];
  imageTokens?: number;
  textTokens?: number;
  gpuMemory?: string;
  /** The adapter's maxStorageBufferBindingSize (default: unchecked; `doctor` prints it). */
  bindingLimit?: string;
  measure?: [number, number];
  /** Image sizes to measure this checkpoint's activations at and fit (written to calibrationOut). */
  calibrate?: [number, number][];
  calibrationOut?: string;
  /** A fit written by --calibrate (on a cut checkpoint of the same widths) used for the activations. */
  calibration?: string;
  json?: boolean;
}

/** Print the plan; returns false when a --gpu-memory budget is given and the plan exceeds it. */
export async function planCommand(o: PlanOptions): Promise<boolean> {
  const config = await readConfig(o.model);
  if (o.calibrate) {
    const gpu = await acquireGpu();
    const model = await loadWithProgress(gpu, o.model);
    const fit = await calibrateActivations(model, o.model, o.calibrate, { taps: o.taps ? parseTaps(o.taps) : undefined });
    model.dispose();
    for (const p of fit.points) console.log(`${p.image.join('×')}: ${p.patches} patches, ${p.imageTokens} image tokens, peak ${p.peak} B, resident ${p.resident} B → activations ${p.activations} B`);
    console.log(`activations ≈ ${Math.round(fit.fixed)} + ${Math.round(fit.perPatch)} B per vision patch (${fit.device})`);
    if (o.calibrationOut) await Deno.writeTextFile(o.calibrationOut, JSON.stringify(fit, null, 1) + '\n');
  }
  const lm = o.lmLayers ?? config.text_config.num_hidden_layers;
  const req: MemoryPlanRequest = {
    taps: o.taps ? parseTaps(o.taps) : undefined,
    layers: o.layers ? parseLayers(o.layers, lm) : undefined,
    kvDType: o.kvDtype, lmLayers: o.lmLayers, visionLayers: o.visionLayers, textTokens: o.textTokens,
  };
  if (o.calibration) req.activations = JSON.parse(await Deno.readTextFile(o.calibration)) as ActivationFit;
  if (o.image) req.load = imageLoadFor(config, o.image);
  if (o.imageTokens !== undefined) {
    const base = req.load ?? (await memoryPlan(o.model, req)).load;
    // same tower work per token as the image the load was computed for
    req.load = { ...base, imageTokens: o.imageTokens, visionPatches: Math.round(base.visionPatches * o.imageTokens / base.imageTokens) };
  }
  const plan = await memoryPlan(o.model, req);
  const budget = o.gpuMemory ? parseBytes(o.gpuMemory) : undefined;
  console.log(o.json ? JSON.stringify({ ...plan, budget: budget ?? null, fits: budget === undefined ? null : plan.total <= budget }) : memoryPlanTable(plan, budget));
  if (o.measure) {
    const gpu = await acquireGpu();
    const model = await loadWithProgress(gpu, o.model);
    const m = await measureSweepPeak(model, testPicture(o.measure[0], o.measure[1], 0), { taps: req.taps as never, layers: req.layers });
    model.dispose();
    const same = await memoryPlan(o.model, { ...req, lmLayers: undefined, visionLayers: undefined, load: imageLoadFor(config, o.measure), textTokens: m.sequence - m.imageTokens });
    console.log(`\nmeasured on ${gpu.describe()}: ${o.measure[0]}×${o.measure[1]} image → ${m.imageTokens} image tokens, sequence ${m.sequence}; ` +
      `resident after load ${m.resident} B, peak ${m.peak} B; plan for the same checkpoint and image ${Math.round(same.total)} B ` +
      `(${(same.total / m.peak).toFixed(2)}× the measured peak; weights planned ${Math.round(same.items[0].bytes)} B vs resident ${m.resident} B)`);
  }
  let ok = true;
  if (budget !== undefined && plan.total > budget) {
    console.error(fitLine(plan, budget));
    ok = false;
  }
  const binding = o.bindingLimit ? parseBytes(o.bindingLimit) : undefined;
  if (binding !== undefined && plan.largestTensor.bytes > binding) {
    console.error(`does not run on an adapter with maxStorageBufferBindingSize ${binding}: ${plan.largestTensor.name} [${plan.largestTensor.shape.join(', ')}] is ${plan.largestTensor.bytes} bytes and an op binds it whole (tensors that matmul, activations and row copies walk in chunks do not count)`);
    ok = false;
  }
  return ok;
}
