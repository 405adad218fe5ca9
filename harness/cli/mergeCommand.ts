// `kvscope merge SHARD_DIR... --out DIR`: the shards of one sweep (`probe --shard i/N`) as one run's results.
// The task is rebuilt from the same options the shards ran with (the data root, split, fold, seed and limit are
// taken from the shards' run.json when not given), so its sample order and aggregation are those of a single run.
import { mergeShardRuns } from '../../src/analysis/shard.ts';
import { buildTask, type TaskOptions } from '../../src/tasks/registry.ts';

export interface MergeOptions extends Omit<TaskOptions, 'subtasks' | 'data'> {
  task: string;
  data?: string;
  subtasks?: string;
  out: string;
}

export async function mergeCommand(dirs: string[], o: MergeOptions): Promise<{ markdown: string; files: string[]; shards: number }> {
  if (!dirs.length) throw new Error('merge: give the shard output directories');
  const run = JSON.parse(await Deno.readTextFile(`${dirs[0]}/run.json`).catch((e) => {
    throw new Error(`merge: ${dirs[0]}/run.json: ${e.message}`);
  }));
  const pick = <T>(given: T | undefined, key: string): T | undefined => given ?? (run[key] ?? undefined);
  const options: TaskOptions = {
    ...o,
    data: pick(o.data, 'data') ?? 'synthetic',
    split: pick(o.split, 'split'), fold: pick(o.fold, 'fold'), seed: pick(o.seed, 'seed'), limit: pick(o.limit, 'limit'),
    subtasks: o.subtasks?.split(',').map((s) => s.trim()),
  };
  const task = buildTask(o.task, options);
  const r = await mergeShardRuns(task, dirs, o.out);
  return { markdown: r.markdown, files: r.files, shards: r.shards };
}
