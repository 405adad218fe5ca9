// The explorer's model side (harness/web/explorerSession.ts, no DOM) in Deno on a tiny random Qwen2.5-VL (the
// browser test covers LLaVA-OneVision): the six taps give maps of the right dims (one KV head = head_dim, all
// concatenated = kv_heads·head_dim, vision on the 2×-merged patch grid), forwards are re-run only when a tap they
// did not keep, the prefix or the blocking changes; a prefix leaves layer-0 values bit-identical (they see no
// context) and moves the keys (RoPE positions shift) and hidden states; blocking the agnostic keys moves the last
// layer's hidden state and switching it off restores it bit for bit; the correspondence row between the two images
// equals the float64 host cosine; blocking before the keys are found is a clear error.
import { bestMatch, similarityRow, type TapChoice } from '../../src/analysis/explorerMaps.ts';
import type { FeatureMap } from '../../src/capture/features.ts';
import { acquireGpu } from '../../src/gpu/device.ts';
import type { Qwen2_5VLConfig } from '../../src/io/config.ts';
import { loadModel } from '../../src/models/registry.ts';
import { writeTinyQwen2_5_vl } from '../../src/models/tiny/tinyQwen2_5_vl.ts';
import { ExplorerSession, type ForwardSettings } from '../../harness/web/explorerSession.ts';
import { testPicture } from '../../harness/web/testPicture.ts';
import { assert, assertEquals, assertRejects } from '../gpu/assert.ts';

const gpu = await acquireGpu();
const opts = { sanitizeResources: false, sanitizeOps: false };
const tmp = await Deno.makeTempDir({ prefix: 'kvscope-explorer-' });
globalThis.addEventListener('unload', () => Deno.removeSync(tmp, { recursive: true }));
const cfg = await writeTinyQwen2_5_vl(`${tmp}/qwen`, { seed: 5 }) as Qwen2_5VLConfig;
const model = await loadModel(gpu, `${tmp}/qwen`);
const T = cfg.text_config, LAST = T.num_hidden_layers - 1;
const A = testPicture(56, 84, 0), B = testPicture(56, 84, 1);
const PLAIN: ForwardSettings = { prompt: 'Describe the image.', prefix: null, block: false };
const TOL = 1e-5;

let currentSettings: ForwardSettings = PLAIN;

/** The maps of a choice under the current settings (the caller disposes them) and their host copies. */
async function mapsOf(s: ExplorerSession, c: TapChoice): Promise<{ maps: FeatureMap[]; host: Float32Array[] }> {
  await s.ensure(currentSettings, c);
  const maps = await s.featureMaps(c);
  return { maps, host: await Promise.all(maps.map(async (m) => (await m.features.read()) as Float32Array)) };
}

async function read(s: ExplorerSession, settings: ForwardSettings, c: TapChoice): Promise<Float32Array[]> {
  currentSettings = settings;
  await s.ensure(settings, c);
  const maps = await s.featureMaps(c);
  try {
    return await Promise.all(maps.map(async (m) => (await m.features.read()) as Float32Array));
  } finally {
    for (const m of maps) m.dispose();
  }
}

const same = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, i) => v === b[i]);
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

Deno.test({ name: 'explorer session: six taps, dims per head and concatenated, vision on the patch grid, re-run only when needed', ...opts, fn: async () => {
  const s = new ExplorerSession(gpu, model, [A, B]);
  try {
    const c0: TapChoice = { tap: 'lm.value', layer: 0, head: null };
    assert(await s.ensure(PLAIN, c0), 'first ensure runs the forwards');
    assert(!(await s.ensure(PLAIN, { tap: 'lm.key', layer: LAST, head: 1 })), 'a cache tap needs no new forward');
    const { maps: all } = await mapsOf(s, c0);
    const { maps: one } = await mapsOf(s, { tap: 'lm.value', layer: 0, head: T.num_key_value_heads - 1 });
    assertEquals(all[0].dim, T.num_key_value_heads * T.head_dim, 'concatenated dim');
    assertEquals(one[0].dim, T.head_dim, 'one head dim');
    for (const m of [...all, ...one]) m.dispose();
    assert(await s.ensure(PLAIN, { tap: 'lm.hidden', layer: LAST, head: null }), 'hidden of a layer not kept re-runs');
    assert(!(await s.ensure(PLAIN, { tap: 'lm.hidden', layer: LAST, head: null })), 'kept hidden does not');
    const dims: Record<string, number> = { 'lm.key_pre_rope': T.num_key_value_heads * T.head_dim, 'lm.hidden': T.hidden_size, 'projector': T.hidden_size, 'vision': cfg.vision_config.hidden_size };
    let mergedRows = 0;
    for (const tap of ['projector', 'lm.key_pre_rope', 'lm.hidden', 'vision'] as const) {
      const { maps, host } = await mapsOf(s, { tap, layer: 1, head: null });
      assertEquals(maps[0].dim, dims[tap], `${tap} dim`);
      if (tap === 'projector') mergedRows = maps[0].rows;
      if (tap === 'vision') assertEquals(maps[0].rows, 2 * mergedRows, 'vision rows = 2 × merged rows');
      // correspondence row A → B against the float64 host cosine, and its best match
      const c = maps[0].valid.indexOf(1, Math.floor(maps[0].valid.length / 2));
      const row = await similarityRow(maps[0], c, maps[1]);
      const d = maps[0].dim, nrm = (f: Float32Array, i: number) => Math.hypot(...f.subarray(i * d, (i + 1) * d));
      const want = [...maps[1].valid].map((v, j) => {
        if (!v) return 0;
        let dot = 0;
        for (let k = 0; k < d; k++) dot += host[0][c * d + k] * host[1][j * d + k];
        return dot / (nrm(host[0], c) * nrm(host[1], j));
      });
      const err = Math.max(...want.map((w, j) => Math.abs(w - row[j])));
      assert(err <= TOL, `${tap}: correspondence row max abs err ${err}`);
      const top = Math.max(...want.filter((_, j) => maps[1].valid[j]));
      assert(want[bestMatch(row, maps[1].valid)] >= top - TOL, `${tap}: best match is a host maximum`);
      for (const m of maps) m.dispose();
    }
  } finally {
    s.dispose();
  }
} });

Deno.test({ name: 'explorer session: prefix and blocking re-run the forwards; off restores them exactly', ...opts, fn: async () => {
  const s = new ExplorerSession(gpu, model, [A, B]);
  try {
    const v0: TapChoice = { tap: 'lm.value', layer: 0, head: null }, k0: TapChoice = { tap: 'lm.key', layer: 0, head: null };
    const hidden: TapChoice = { tap: 'lm.hidden', layer: LAST, head: null };
    const prefixed = { ...PLAIN, prefix: 'Look at this.' };
    const [plainV, plainK, plainH] = [await read(s, PLAIN, v0), await read(s, PLAIN, k0), await read(s, PLAIN, hidden)];
    const runs = s.forwardRuns;
    const [preV, preK, preH] = [await read(s, prefixed, v0), await read(s, prefixed, k0), await read(s, prefixed, hidden)];
    assert(s.forwardRuns > runs, 'the prefix re-ran the forwards');
    assert(same(plainV[0], preV[0]) && same(plainV[1], preV[1]), 'layer-0 values see no context: bit-identical with the prefix');
    assert(maxDiff(plainK[0], preK[0]) > 1e-4, `layer-0 keys move with the positions (max |Δ| ${maxDiff(plainK[0], preK[0])})`);
    assert(maxDiff(plainH[0], preH[0]) > 1e-4, `hidden moves with the prefix (max |Δ| ${maxDiff(plainH[0], preH[0])})`);
    assert(same((await read(s, PLAIN, hidden))[0], plainH[0]), 'prefix off: hidden restored bit for bit');

    await assertRejects(() => s.ensure({ ...PLAIN, block: true }, hidden), /blocking needs the input-agnostic keys/, 'blocking before find');
    const ag = await s.findAgnostic([testPicture(56, 84, 2), testPicture(56, 84, 3)], PLAIN.prompt, 0.9);
    assertEquals(ag.images, 3, 'images the keys were found over');
    const sim = [...ag.similarity.get(LAST)!].sort((a, b) => a - b);
    s.setThreshold(sim[Math.floor(sim.length / 2)]);
    const blocked = await read(s, { ...PLAIN, block: true }, hidden);
    assert(s.forwards[0].block !== null && s.forwards[1].block !== null, 'both forwards blocked');
    assert(maxDiff(blocked[0], plainH[0]) > 1e-4, `blocking moves the last layer's hidden state (max |Δ| ${maxDiff(blocked[0], plainH[0])})`);
    const off = await read(s, PLAIN, hidden);
    assert(s.forwards[0].block === null, 'blocking off');
    assert(same(off[0], plainH[0]) && same(off[1], plainH[1]), 'blocking off: hidden restored bit for bit');
  } finally {
    s.dispose();
  }
} });
