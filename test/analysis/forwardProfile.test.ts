// Profiles: the summary's arithmetic on hand-made entries (shares, rates, roofline share, gaps), the trace-event
// JSON, the plot, and one profiled prefill + decode of a tiny LLaVA-OneVision checkpoint.
import { type ForwardProfile, profileText, stageLayer, summarizeProfile } from '../../src/analysis/forwardProfile.ts';
import { profileForward } from '../../src/analysis/profileForward.ts';
import { profilePlotSvg } from '../../src/analysis/profilePlot.ts';
import { profileTrace } from '../../src/analysis/profileTrace.ts';
import { acquireGpu } from '../../src/gpu/device.ts';
import type { ProfileEntry } from '../../src/gpu/profiler.ts';
import { loadModel } from '../../src/models/registry.ts';
import { writeTinyLlavaOnevision } from '../../src/models/tiny/tinyLlava.ts';
import { assert, assertEquals } from '../gpu/assert.ts';

const opts = { sanitizeResources: false, sanitizeOps: false };
const close = (a: number, b: number, tol = 1e-9) => Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));

function entry(label: string, kernel: string, stage: string, startUs: number, us: number, boundBytes = 0): ProfileEntry {
  return { label, kernel, stage, startNs: startUs * 1e3, endNs: (startUs + us) * 1e3, ms: us / 1e3, boundBytes, workgroups: [1, 1, 1] };
}

// 2 ms of a 2·8·16·32 = 8192-FLOP matmul, 1 ms of a norm binding 4000 bytes, 1 ms attention, in two layers
const ENTRIES: ProfileEntry[] = [
  entry('matmul tiled m=8 n=16 k=32 w=f32', 'matmul:tile_f32{}', 'decoder layer 0', 0, 1000),
  entry('rmsNorm [8×32] w=f32', 'norm:rms{}', 'decoder layer 0', 1010, 1000, 4000),
  entry('matmul tiled m=8 n=16 k=32 w=f32', 'matmul:tile_f32{}', 'decoder layer 1', 2100, 1000),
  entry('attention q[8×2×16] kv[1×8/8] causal', 'attention:main{}', 'decoder layer 1', 3100, 1000),
];

Deno.test('summary: shares, rates, roofline shares and gaps on hand-made entries', () => {
  const roof = { device: 'test', flopsPerS: 1e7, bytesPerS: 1e6, source: 'test' };
  const p = summarizeProfile({ device: 'test', mode: 'timestamp', entries: [{ phase: 'prefill', entries: ENTRIES }], stages: [], roofline: roof, untimed: 0 });
  const [ph] = p.phases;
  assertEquals([ph.dispatches, ph.gpuMs, ph.spanMs], [4, 4, 4.1]);
  assert(close(ph.gapMs!, 0.1), `gaps 10 + 90 + 0 µs, got ${ph.gapMs}`);
  assertEquals(ph.gapMaxUs, 90);
  assertEquals(ph.gapMedianUs, 10);
  const fam = Object.fromEntries(p.families.map((f) => [f.name, f]));
  assertEquals(p.families[0].name, 'matmul', 'most time first');
  assertEquals([fam.matmul.dispatches, fam.matmul.ms, fam.matmul.share], [2, 2, 0.5]);
  // matmul: 16384 FLOP in 2 ms = 8.192 MFLOP/s; bytes 2·(8·32·4 + 16·32·4 + 8·16·4) = 7168 → intensity 2.2857 FLOP/B,
  // attainable min(1e7, 2.2857e6) = 2.2857e6 (memory-bound), share 8.192e6 / 2.2857e6
  assert(close(fam.matmul.gflops!, 16384 / 2e-3 / 1e9), `matmul GFLOP/s ${fam.matmul.gflops}`);
  assertEquals(fam.matmul.bound, 'memory');
  assert(close(fam.matmul.roofShare!, (16384 / 2e-3) / ((16384 / 7168) * 1e6)), `matmul roofline share ${fam.matmul.roofShare}`);
  // the norm: by bytes only, 4000 B in 1 ms = 4 MB/s against 1 MB/s
  assertEquals([fam.norm.gflops, fam.norm.gbs, fam.norm.roofShare, fam.norm.bound], [null, 4000 / 1e-3 / 1e9, 4, 'memory']);
  // causal attention 8 queries: 36 pairs · 4 · 2 heads · 16
  assert(close(fam.attention.gflops!, 36 * 4 * 2 * 16 / 1e-3 / 1e9), `attention ${fam.attention.gflops}`);
  assertEquals(p.layers.map((l) => [l.name, l.ms]), [['lm.0', 2], ['lm.1', 2]]);
  assertEquals(p.kernels[0].dispatches, 2, 'the two same-shape matmuls are one kernel row');
  const text = profileText(p);
  assert(/roofline: 0\.01 GFLOP\/s/.test(text) && /lm\.1/.test(text) && /top 3 kernels/.test(text), text);
  // without a roofline, the shares are empty and the text says so
  const bare = summarizeProfile({ device: 'test', mode: 'timestamp', entries: [{ phase: 'prefill', entries: ENTRIES }], stages: [], roofline: null, untimed: 0 });
  assertEquals(bare.families.map((f) => f.roofShare), [null, null, null]);
  assert(/no roofline measured/.test(profileText(bare)));
});

Deno.test('stage labels map to layers', () => {
  assertEquals(['decoder layer 12', 'vision layer 3', 'qwen vision block 7 raster', 'decoder head'].map(stageLayer), ['lm.12', 'vision.3', 'vision.7', 'decoder head']);
});

Deno.test('trace events: one X event per dispatch and per stage run, in µs on the device clock', () => {
  const p = summarizeProfile({ device: 'test', mode: 'timestamp', entries: [{ phase: 'prefill', entries: ENTRIES }], stages: [], roofline: null, untimed: 0 });
  const t = profileTrace(p);
  const x = t.traceEvents.filter((e) => e.ph === 'X');
  assertEquals(x.filter((e) => e.tid === 2).length, 4);
  assertEquals(x.filter((e) => e.tid === 1).map((e) => [e.name, e.ts, e.dur]), [['decoder layer 0', 0, 2010], ['decoder layer 1', 2100, 2000]]);
  JSON.parse(JSON.stringify(t));
});

async function tinyProfile(decode: number): Promise<ForwardProfile> {
  const dir = await Deno.makeTempDir({ prefix: 'kvscope-profile-' });
  await writeTinyLlavaOnevision(dir, { seed: 3 });
  const gpu = await acquireGpu();
  const model = await loadModel(gpu, dir);
  const picture = { width: 40, height: 30, data: new Uint8Array(40 * 30 * 3).map((_, i) => (i * 7) & 255), source: 'test picture' };
  try {
    return await profileForward(model, { images: [picture], prompt: 'What is this?' }, { decode });
  } finally {
    model.dispose();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({ name: 'a tiny LLaVA-OneVision prefill + 3 decode steps: every layer and op family accounted for', ...opts, async fn() {
  const p = await tinyProfile(3);
  assertEquals(p.phases.map((x) => x.phase), ['prefill', 'decode']);
  assertEquals(p.untimed, 0);
  const names = p.layers.map((l) => l.name);
  for (const want of ['vision.0', 'lm.0', 'lm.1', 'decoder head', 'decode lm.0', 'decode lm.1']) assert(names.includes(want), `layer ${want} in ${names.join(', ')}`);
  for (const fam of ['matmul', 'matmul gemv', 'attention', 'norm', 'rope', 'kv write']) assert(p.families.some((f) => f.name === fam), `family ${fam}`);
  const famMs = p.families.reduce((a, f) => a + f.ms, 0), phaseMs = p.phases.reduce((a, f) => a + f.gpuMs, 0);
  assert(close(famMs, phaseMs, 1e-9), `families ${famMs} ms = phases ${phaseMs} ms`);
  assert(close(p.families.reduce((a, f) => a + f.share, 0), 1, 1e-9), 'shares sum to 1');
  assertEquals(p.dispatches.length, p.phases.reduce((a, f) => a + f.dispatches, 0));
  // decode: one query per step, so every decode matmul is a gemv
  assert(p.dispatches.filter((d) => d.phase === 'decode' && d.family.startsWith('matmul')).every((d) => d.family === 'matmul gemv'));
  const svg = await profilePlotSvg(p);
  assert(svg.startsWith('<svg') && svg.includes('lm.1') && svg.length > 5000, 'the plot has the layers');
} });
