// --shard i/N and merge: the partition is deterministic and complete, and three shard processes run in parallel on
// synthetic data with a tiny checkpoint, merged, give the rows of one uninterrupted run exactly (row for row).
import { makeTiny } from '../../harness/cli/modelCommands.ts';
import { mergeCommand } from '../../harness/cli/mergeCommand.ts';
import { parseShard, samplesOfShard, shardOf } from '../../src/analysis/shard.ts';
import { assert, assertEquals } from '../gpu/assert.ts';

Deno.test('shard: i/N parsing names what is wrong', () => {
  assertEquals(parseShard('2/5'), { index: 2, count: 5 }, '2/5');
  for (const bad of ['5/5', '1', 'a/b', '-1/3', '0/0']) {
    let msg = '';
    try {
      parseShard(bad);
    } catch (e) {
      msg = (e as Error).message;
    }
    assert(msg.startsWith('--shard'), `${bad}: ${msg}`);
  }
});

Deno.test('shard: every sample id lands in exactly one of N shards, the same one every time', () => {
  const ids = Array.from({ length: 1000 }, (_, i) => ({ id: `pair-${i}` }));
  for (const n of [1, 3, 8]) {
    const parts = Array.from({ length: n }, (_, i) => samplesOfShard(ids, { index: i, count: n }));
    assertEquals(parts.reduce((a, p) => a + p.length, 0), ids.length, `${n} shards cover all ids once`);
    assertEquals(new Set(parts.flat().map((x) => x.id)).size, ids.length, 'no id twice');
    // FNV-1a spreads ids: no shard more than 1.5× its share
    assert(parts.every((p) => p.length < 1.5 * ids.length / n), `balanced: ${parts.map((p) => p.length)}`);
  }
  assertEquals(shardOf('pair-7', 8), shardOf('pair-7', 8), 'deterministic');
  // pinned value: FNV-1a("a") = 0xe40c292c
  assertEquals(shardOf('a', 2 ** 31), 0xe40c292c % 2 ** 31, 'FNV-1a of "a"');
});

Deno.test({ name: 'shard: three shard processes in parallel, merged, equal one uninterrupted run row for row', sanitizeResources: false, sanitizeOps: false, async fn() {
  const dir = await Deno.makeTempDir({ prefix: 'kvscope-shard-' });
  try {
    const model = `${dir}/tiny`;
    await makeTiny('llava_onevision', model, { seed: 2, shards: 1 });
    const child = new URL('./shardChild.ts', import.meta.url).pathname;
    const env = { XDG_RUNTIME_DIR: Deno.env.get('XDG_RUNTIME_DIR') ?? '/tmp', NO_COLOR: '1' };
    const run = (out: string, shard?: string) =>
      new Deno.Command(Deno.execPath(), { args: ['run', '-A', '--no-check', child, model, out, ...(shard ? [shard] : [])], env, stdout: 'piped', stderr: 'piped' }).output();
    const outs = [0, 1, 2].map((i) => `${dir}/shard-${i}`);
    const results = await Promise.all([...outs.map((o, i) => run(o, `${i}/3`)), run(`${dir}/single`)]);
    for (const r of results) assert(r.success, `child failed: ${new TextDecoder().decode(r.stderr).slice(-2000)}`);
    const sampleCounts = await Promise.all(outs.map(async (o) => (await Deno.readTextFile(`${o}/samples.jsonl`)).trim().split('\n').filter(Boolean).length));
    assertEquals(sampleCounts.reduce((a, b) => a + b, 0), 7, `the shards hold the 7 samples between them (${sampleCounts})`);
    assert(sampleCounts.filter((c) => c > 0).length >= 2, `work is spread over the shards (${sampleCounts})`);
    const merged = await mergeCommand(outs, { task: 'spair', size: 48, out: `${dir}/merged` });
    assertEquals(merged.shards, 3, 'three shards merged');
    const single = await Deno.readTextFile(`${dir}/single/results.jsonl`);
    const mergedRows = await Deno.readTextFile(`${dir}/merged/results.jsonl`);
    assert(single.trim().split('\n').length > 3, 'the single run has rows');
    assertEquals(mergedRows, single, 'merged results.jsonl is byte-identical to the single run');
    // a missing shard is refused by name
    let msg = '';
    try {
      await mergeCommand(outs.slice(0, 2), { task: 'spair', size: 48, out: `${dir}/merged2` });
    } catch (e) {
      msg = (e as Error).message;
    }
    assert(msg.includes('shard(s) 2/3 missing'), msg);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
} });
