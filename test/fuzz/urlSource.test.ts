// Fuzzed URL source against a misbehaving local server (bounded for CI): exact bytes or a SafetensorsError naming
// the URL, never a hang (each request has a 250 ms deadline here).
import { formatOutcome, runFuzz } from './fuzzOutcome.ts';
import { misbehavingServer, urlTarget } from './urlTarget.ts';
import { assertEquals } from '../gpu/assert.ts';

Deno.test({
  name: 'fuzz: URL source (short reads, lying Content-Length, 206 without Content-Range, stalls, resets)',
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const server = misbehavingServer();
    try {
      const o = await runFuzz(urlTarget(server), Number(Deno.env.get('FUZZ_RUNS') ?? 150), { seed: Number(Deno.env.get('FUZZ_SEED') ?? 6), bounds: { timeMs: 2000, rssBytes: 1 << 30 } });
      console.log(formatOutcome(o));
      assertEquals(o.findings, [], 'findings');
    } finally {
      await server.close();
    }
  },
});
