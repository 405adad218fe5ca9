// study paper: a data root without datasets lists all seven and runs nothing; on synthetic data the six tasks, the
// prefix and blocking studies run with a tiny checkpoint, the report holds the paper's table beside the measured
// one, and a second call resumes everything (no sample computed again, same report).
import { makeTiny } from '../../harness/cli/modelCommands.ts';
import { acquireGpu } from '../../src/gpu/device.ts';
import { loadModel } from '../../src/models/registry.ts';
import { PAPER_TASKS, runPaperStudy } from '../../src/analysis/paperStudy.ts';
import { syntheticSegmentationSet } from '../../src/tasks/synthetic/segmentationSet.ts';
import { assert, assertEquals } from '../gpu/assert.ts';

Deno.test({ name: 'study paper: missing datasets are listed and skipped; synthetic runs all six tasks with both studies and resumes', sanitizeResources: false, sanitizeOps: false, async fn() {
  const dir = await Deno.makeTempDir({ prefix: 'kvscope-paper-' });
  try {
    await makeTiny('llava_onevision', `${dir}/tiny`, { seed: 4, shards: 1 });
    const gpu = await acquireGpu();
    const model = await loadModel(gpu, `${dir}/tiny`);
    const agnosticImages = syntheticSegmentationSet({ n: 4, size: 48, classes: 3, seed: 9 }).images;
    const common = { layers: [0, 1], prefix: 'A photo: ', agnosticImages, limit: 1, size: 32 };

    await Deno.mkdir(`${dir}/empty-root`);
    const none = await runPaperStudy(model, null, { ...common, dataRoot: `${dir}/empty-root` }, `${dir}/out-none`);
    assertEquals(none.tasks.length, 0, 'no task ran');
    assertEquals(none.skipped.map((s) => s.task), [...PAPER_TASKS.map((t) => t.task), 'blink'], 'all seven listed as skipped');
    assert(none.markdown.includes('## Skipped (dataset not found)') && none.markdown.includes(`${dir}/empty-root/SPair-71k`), 'the report names where it looked');

    // the six tasks' main runs, then the two studies on SPair (each study is two more runs per task)
    const all = await runPaperStudy(model, null, { ...common, dataRoot: 'synthetic', studies: false }, `${dir}/out`);
    assertEquals(all.tasks.map((t) => t.task.task), PAPER_TASKS.map((t) => t.task), 'the six tasks ran');
    for (const t of all.tasks) {
      assert(t.main.some((r) => r.tap === 'lm.value' && r.metric === t.task.metric), `${t.task.task}: lm.value ${t.task.metric} rows`);
      // the text-query tasks score image features against a text representation from an LM layer: no projector row
      if (!['imagenet-s', 'refcoco'].includes(t.task.task)) assert(t.main.some((r) => r.tap === 'projector'), `${t.task.task}: post-projection baseline`);
    }
    assert(all.markdown.includes('+2.0') && all.markdown.includes('+5.2'), 'the paper deltas vs post-projection (Pascal +2.0, RefCOCO +5.2)');
    const first = await runPaperStudy(model, null, { ...common, dataRoot: 'synthetic', tasks: ['spair'] }, `${dir}/out`);
    assert(first.tasks[0].prefix!.length > 0 && first.tasks[0].blocked!.length > 0, 'spair: prefix and blocking runs');
    const md = first.markdown;
    assert(md.includes('| semantic correspondence (SPair-71k) | PCK@0.1 |') && md.includes('| 46.1 |'), 'SPair row with the paper figure 46.1');
    assert(md.includes('## Prefix and blocking studies'), 'studies table');
    assert(md.includes('**Synthetic data**'), 'synthetic runs are flagged');
    const samples = async () => {
      let n = 0;
      for (const run of ['main', 'prefix', 'blocked']) n += (await Deno.readTextFile(`${dir}/out/spair/${run}/samples.jsonl`)).trim().split('\n').length;
      return n;
    };
    const before = await samples();
    const again = await runPaperStudy(model, null, { ...common, dataRoot: 'synthetic', tasks: ['spair'] }, `${dir}/out`);
    assertEquals(await samples(), before, 'resumed: no sample computed again');
    assertEquals(again.markdown, md, 'same report');
    model.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
} });
