// `kvscope profile`: one prefill (+ N decode steps) of a checkpoint with every dispatch timed; prints the tables and
// writes profile.json (every dispatch), trace.json (Chrome trace events, for ui.perfetto.dev) and profile.svg.
import { acquireGpu } from '../../src/gpu/device.ts';
import { readImage } from '../../src/io/image.ts';
import type { Roofline } from '../../src/analysis/forwardProfile.ts';
import { profileText } from '../../src/analysis/forwardProfile.ts';
import { profileForward } from '../../src/analysis/profileForward.ts';
import { profilePlotSvg } from '../../src/analysis/profilePlot.ts';
import { profileTrace } from '../../src/analysis/profileTrace.ts';
import { benchPicture } from '../bench/models.ts';
import type { KvDType } from '../../src/capture/kvCache.ts';
import { loadWithProgress } from './modelCommands.ts';
import { cachedRoofline } from '../bench/roofline.ts';
import { readRooflineFile, rooflineFromJson } from './profileRoofline.ts';

export interface ProfileCommandOptions {
  model: string;
  image?: string;
  prompt: string;
  decode: number;
  warmup: number;
  out?: string;
  roofline?: string;
  top: number;
  /** KV cache dtype: f32 (default) or f16 (needs shader-f16). */
  kvDtype?: KvDType;
}

export async function profileCommand(o: ProfileCommandOptions): Promise<{ text: string; files: string[] }> {
  if (!Number.isInteger(o.decode) || o.decode < 0) throw new Error(`profile: --decode must be a whole number ≥ 0, got ${o.decode}`);
  const gpu = await acquireGpu();
  // --roofline FILE, else what `bench roofline` cached for this adapter, else none
  const cached = cachedRoofline(gpu);
  const roofline: Roofline | null = o.roofline ? await readRooflineFile(o.roofline) : cached ? rooflineFromJson(cached, `bench roofline cache (${cached.measured_at})`) : null;
  const model = await loadWithProgress(gpu, o.model);
  if (o.kvDtype) model.kvDtype = o.kvDtype;
  try {
    const image = o.image ? await readImage(o.image) : benchPicture(96, 128);
    const profile = await profileForward(model, { images: [image], prompt: o.prompt }, { decode: o.decode, warmup: o.warmup, roofline });
    const text = `model: ${o.model}; image: ${o.image ?? "a test picture"} (${image.height}×${image.width}); decode steps: ${o.decode}; KV cache ${model.kvDtype}\n${profileText(profile, o.top)}`;
    const files: string[] = [];
    if (o.out) {
      await Deno.mkdir(o.out, { recursive: true });
      const write = async (name: string, body: string) => {
        await Deno.writeTextFile(`${o.out}/${name}`, body);
        files.push(`${o.out}/${name}`);
      };
      await write('profile.txt', `${text}\n`);
      await write('profile.json', JSON.stringify(profile));
      await write('trace.json', JSON.stringify(profileTrace(profile)));
      await write('profile.svg', await profilePlotSvg(profile));
    }
    return { text, files };
  } finally {
    model.dispose();
  }
}
