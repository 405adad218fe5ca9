// The runner's two sinks give the same files: a synthetic SPair run on a tiny checkpoint, once into a directory
// (the CLI) and once into memory (the browser app) — results.jsonl, results.md and the plots byte for byte — and
// the per-sample progress carries the rows aggregated so far, ending at the final rows.
import { probeRun, type ProbeSpec } from '../../src/analysis/probeStudy.ts';
import type { ProbeProgress } from '../../src/analysis/runProbe.ts';
import { MemorySink } from '../../src/analysis/runSink.ts';
import { acquireGpu } from '../../src/gpu/device.ts';
import { loadModel } from '../../src/models/registry.ts';
import { writeTinyLlavaOnevision } from '../../src/models/tiny/tinyLlava.ts';
import { assert, assertEquals } from '../gpu/assert.ts';

const opts = { sanitizeResources: false, sanitizeOps: false };

Deno.test({ name: 'directory and memory sinks: the same results.jsonl, results.md and plots', ...opts, async fn() {
  const tmp = await Deno.makeTempDir({ prefix: 'kvscope-sink-' });
  await writeTinyLlavaOnevision(`${tmp}/model`, { seed: 5 });
  const gpu = await acquireGpu();
  const model = await loadModel(gpu, `${tmp}/model`);
  try {
    const spec: ProbeSpec = {
      task: 'spair', taskOptions: { data: 'synthetic', limit: 2, size: 48 }, taps: ['lm.value', 'projector'], layers: [0, 1],
      overlays: 0, settings: { test: 'runSink' },
    };
    const onDisk = await probeRun(model, null, spec, `${tmp}/out`);
    const sink = new MemorySink();
    const progress: ProbeProgress[] = [];
    const inMemory = await probeRun(model, null, spec, 'unused', { sink, onSample: (p) => progress.push(p) });
    assertEquals(JSON.stringify(inMemory.rows), JSON.stringify(onDisk.rows), 'rows');
    assert(onDisk.rows.length > 0 && onDisk.rows.every((r) => Number.isFinite(r.value)), `rows: ${onDisk.rows.length}`);
    const names = [...sink.files.keys()].sort();
    const onDiskNames: string[] = [];
    for await (const e of Deno.readDir(`${tmp}/out`)) if (!['samples.jsonl', 'run.json', '.lock'].includes(e.name)) onDiskNames.push(e.name);
    // every file the browser offers is the CLI's file (the CLI may write more: csv / parquet tables)
    for (const n of names) assert(onDiskNames.includes(n), `${n} is also on disk (${onDiskNames.join(', ')})`);
    for (const n of onDiskNames.filter((n) => /\.(svg|md|jsonl)$/.test(n))) assert(names.includes(n), `${n} is also in memory`);
    assert(names.includes('results.jsonl') && names.includes('results.md') && names.some((n) => n.endsWith('.svg')), names.join(', '));
    for (const name of names) assertEquals(sink.files.get(name), await Deno.readTextFile(`${tmp}/out/${name}`), name);
    assertEquals(sink.samplesJsonl, await Deno.readTextFile(`${tmp}/out/samples.jsonl`), 'samples.jsonl');
    assertEquals(progress.map((p) => `${p.done}/${p.total}`), ['1/2', '2/2']);
    assertEquals(JSON.stringify(progress[1].rows), JSON.stringify(onDisk.rows), 'the last progress rows are the final rows');
    assertEquals(progress[0].rows[0].n, 1, 'rows after one sample count one sample');
  } finally {
    model.dispose();
    await Deno.remove(tmp, { recursive: true });
  }
} });
