// The adapter's measured roofline for `kvscope profile`: what `bench roofline` measured (its JSON: `fma_f32_vec4`
// GFLOP/s, `read_peak` GB/s), read from --roofline FILE. A malformed file is an error naming the file and field.
import type { Roofline } from '../../src/analysis/forwardProfile.ts';

function positive(o: Record<string, unknown>, field: string, file: string): number {
  const v = o[field];
  if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) {
    throw new Error(`${file}: field '${field}' must be a positive number (as \`kvscope bench roofline --json\` writes it), got ${JSON.stringify(v)}`);
  }
  return v;
}

/** A `bench roofline` result (one JSON object) as the profile's peaks. */
export function rooflineFromJson(value: unknown, source: string): Roofline {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${source}: expected one JSON object from \`kvscope bench roofline --json\``);
  const o = value as Record<string, unknown>;
  return {
    device: typeof o.device === 'string' ? o.device : 'unknown adapter',
    flopsPerS: positive(o, 'fma_f32_vec4', source) * 1e9,
    bytesPerS: positive(o, 'read_peak', source) * 1e9,
    source,
  };
}

export async function readRooflineFile(file: string): Promise<Roofline> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    throw new Error(`${file}: cannot read the roofline file: ${(e as Error).message}`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not JSON: ${(e as Error).message}`);
  }
  return rooflineFromJson(v, file);
}
