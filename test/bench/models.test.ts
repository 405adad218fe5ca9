// bench models: the dispatch counts it reports add up (prefill = layers × per layer + fixed, checked across two
// depths of the same checkpoint), and decode's share of the bandwidth roofline uses the cached `bench roofline`
// figure (a planted one here, so nothing is measured). No timing is asserted.
import { assert, assertEquals } from '../gpu/assert.ts';
import { benchModels, layerCutCheckpoint, lmDecodeStepBytes, type ModelBenchRow, modelBenchTable } from '../../harness/bench/models.ts';
import { ROOFLINE_CACHE } from '../../harness/bench/roofline.ts';
import { writeAdapterCache } from '../../src/gpu/adapterCache.ts';
import { acquireGpu } from '../../src/gpu/device.ts';
import type { TextConfig } from '../../src/io/config.ts';

const gpu = await acquireGpu();
const opts = { sanitizeResources: false, sanitizeOps: false };
const quiet = { reps: 1, warmup: 0, decode: 3, json: true };

/** Run with a planted roofline (read_peak 12.5 GB/s) in a temporary adapter cache; console output dropped. */
async function withPlantedRoofline<T>(fn: () => Promise<T>): Promise<T> {
  const dir = Deno.makeTempDirSync();
  Deno.env.set('KVSCOPE_CACHE_DIR', dir);
  writeAdapterCache(gpu, ROOFLINE_CACHE, { device: gpu.describe(), measured_at: 'planted-by-test', read_peak: 12.5 });
  const log = console.log;
  console.log = () => {};
  try {
    return await fn();
  } finally {
    console.log = log;
    Deno.env.delete('KVSCOPE_CACHE_DIR');
    Deno.removeSync(dir, { recursive: true });
  }
}

function checkCounts(r: ModelBenchRow): void {
  const p = r.dispatches.prefill, d = r.dispatches.decode_step;
  assert(p.layers_equal, `${r.arch}: decoder layers dispatch different counts in the prefill`);
  assert(p.per_layer > 0 && p.fixed > 0, `${r.arch}: prefill per layer ${p.per_layer}, fixed ${p.fixed}`);
  assertEquals(p.total, r.layers.lm * p.per_layer + p.fixed, `${r.arch}: prefill total`);
  assert(r.dispatches.vision > 0, `${r.arch}: vision dispatches ${r.dispatches.vision}`);
  assert(r.decode.steps > 0 && d !== null, `${r.arch}: no decode step ran (steps ${r.decode.steps})`);
  assert(Number.isInteger(d.total) && d.layers_equal && d.per_layer > 0, `${r.arch}: decode step ${JSON.stringify(d)}`);
  assertEquals(d.total, r.layers.lm * d.per_layer + d.fixed, `${r.arch}: decode step total`);
  // the roofline share is the planted figure's, not a fresh measurement
  assert(r.decode_roofline.source.includes('planted-by-test'), r.decode_roofline.source);
  assertEquals(r.decode_roofline.read_peak_gb_per_s, 12.5);
  assert(r.decode_roofline.gb_per_s !== null && r.decode_roofline.share !== null);
  assert(Math.abs(r.decode_roofline.share - r.decode_roofline.gb_per_s / 12.5) < 1e-12);
}

Deno.test({ name: 'bench models: dispatches per vision forward, prefill (layers × per layer + fixed) and decode step; decode vs the cached roofline', ...opts, async fn() {
  const cacheDir = Deno.makeTempDirSync();
  try {
    const rows = await withPlantedRoofline(() => benchModels(gpu, { ...quiet, arch: ['llava_onevision', 'qwen2_5_vl'], cacheDir }));
    assertEquals(rows.map((r) => r.arch), ['llava_onevision', 'qwen2_5_vl']);
    for (const r of rows) checkCounts(r);
    const table = modelBenchTable(rows);
    for (const col of ['prefill disp', 'decode disp/step', '% roofline']) assert(table.includes(col), `table lacks ${col}`);
    assert(table.includes(String(rows[0].dispatches.prefill.total)));

    // the same checkpoint cut to 1 LM layer: the fixed part is unchanged and each layer removed takes per_layer away
    const full = rows[0];
    const cut = await layerCutCheckpoint(`${cacheDir}/llava_onevision-tiny-F16`, 1);
    const [one] = await withPlantedRoofline(() => benchModels(gpu, { ...quiet, arch: ['llava_onevision'], checkpoints: { llava_onevision: cut } }));
    assertEquals(one.layers.lm, 1);
    assertEquals(one.dispatches.prefill.per_layer, full.dispatches.prefill.per_layer);
    assertEquals(one.dispatches.prefill.fixed, full.dispatches.prefill.fixed);
    assertEquals(full.dispatches.prefill.total - one.dispatches.prefill.total, (full.layers.lm - 1) * full.dispatches.prefill.per_layer);
    assertEquals(one.dispatches.decode_step!.total, one.dispatches.decode_step!.per_layer + full.dispatches.decode_step!.fixed);
  } finally {
    Deno.removeSync(cacheDir, { recursive: true });
  }
}});

// a hand count: H 4, 2 heads × 2 (q 4), 1 KV head × 2 (kv 2), I 6, 3 layers, vocab 10, q/k/v biases; bf16 weights, f32 KV
Deno.test('bench models: decode bytes per step by hand', () => {
  const c = { hidden_size: 4, num_attention_heads: 2, head_dim: 2, num_key_value_heads: 1, intermediate_size: 6, num_hidden_layers: 3, vocab_size: 10, qkv_bias: true, o_bias: false, mlp_bias: false } as TextConfig;
  // layer: 4·(4+2·2) + 4·4 + 3·4·6 + 2·4 norms + (4+2·2) biases = 136; all: 3·136 + 10·4 head + 2·4 (final norm, one embedding row)
  const weights = (3 * 136 + 40 + 8) * 2;
  // K and V of past + 1 = 5 positions, 3 layers, 2 values per position, 4 bytes
  assertEquals(lmDecodeStepBytes(c, 4, 2, 4), weights + 3 * 2 * 2 * 5 * 4);
});
