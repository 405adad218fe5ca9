// One shard of a probe sweep as its own process, for the shard test: `deno run -A shardChild.ts MODEL OUT i/N`
// runs the synthetic SPair task on MODEL through the CLI's probe path with --shard i/N.
import { probeCommand } from '../../harness/cli/probeCommand.ts';

const [model, out, shard] = Deno.args;
await probeCommand({ task: 'spair', data: 'synthetic', model, out, limit: 7, size: 48, overlays: 0, taps: 'lm.value,lm.key,projector', layers: 'all', ...(shard ? { shard } : {}) });
