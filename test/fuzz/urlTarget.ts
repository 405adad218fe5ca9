// Fuzz target: the URL byte source against a local server (Deno.serve on 127.0.0.1) that misbehaves as the input
// says: short bodies, bodies longer than asked, a lying Content-Length on HEAD, 206 without Content-Range or with
// another range than asked, 200 ignoring Range, error statuses, a connection that stalls or breaks mid-body, no
// HEAD support. Every accepted read must be the file's exact bytes; everything else a SafetensorsError naming the
// URL, within the source's timeout.
import fc from 'fast-check';
import { SafetensorsFile, urlSource, writeSafetensors } from '../../src/io/safetensors.ts';
import type { FuzzTarget } from './fuzzOutcome.ts';

export const MISBEHAVIOURS = ['honest', 'shortBody', 'longBody', 'lyingLength', 'noContentRange', 'wrongRange', 'ignoreRange', 'status', 'stall', 'breakMidBody', 'noHead'] as const;
export type Misbehaviour = (typeof MISBEHAVIOURS)[number];

export interface UrlInput {
  mode: Misbehaviour;
  /** Which request (0 = HEAD, 1.. range reads) misbehaves; the others are honest. */
  request: number;
  delta: number;
  status: number;
}

const FILE = writeSafetensors([
  { name: 'a', dtype: 'F32', shape: [3, 5], data: new Uint8Array(60).map((_, i) => i) },
  { name: 'b', dtype: 'BF16', shape: [7], data: new Uint8Array(14).map((_, i) => 200 - i) },
]);

/** A server whose behaviour follows `current` (one input at a time); close() when done. */
export function misbehavingServer(): { url: string; set(i: UrlInput): void; close(): Promise<void> } {
  let current: UrlInput = { mode: 'honest', request: 0, delta: 0, status: 500 };
  let seen = 0;
  const server = Deno.serve({ hostname: '127.0.0.1', port: 0, onListen() {} }, async (req) => {
    const n = seen++;
    const bad = n === current.request || current.mode === 'noHead' ? current.mode : 'honest';
    const size = FILE.length;
    if (req.method === 'HEAD') {
      if (bad === 'noHead') return new Response(null, { status: 405 });
      if (bad === 'lyingLength') return new Response(null, { headers: { 'content-length': String(Math.max(0, size + current.delta)) } });
      if (bad === 'status') return new Response(null, { status: current.status });
      if (bad === 'stall') await new Promise((r) => setTimeout(r, 2000));
      return new Response(null, { headers: { 'content-length': String(size) } });
    }
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.get('range') ?? '');
    if (!m) return new Response(FILE.slice());
    const a = Number(m[1]), b = Math.min(Number(m[2]), size - 1);
    const body = FILE.slice(a, b + 1);
    const range = { 'content-range': `bytes ${a}-${b}/${size}` };
    switch (bad) {
      case 'shortBody': return new Response(body.slice(0, Math.max(0, body.length - 1 - (Math.abs(current.delta) % Math.max(1, body.length)))), { status: 206, headers: range });
      case 'longBody': return new Response(FILE.slice(a, Math.min(size, b + 2 + Math.abs(current.delta))), { status: 206, headers: range });
      case 'noContentRange': return new Response(body, { status: 206 });
      case 'wrongRange': {
        const a2 = Math.max(0, Math.min(size - body.length, a + current.delta));
        return new Response(FILE.slice(a2, a2 + body.length), { status: 206, headers: { 'content-range': `bytes ${a2}-${a2 + body.length - 1}/${size}` } });
      }
      case 'ignoreRange': return new Response(FILE.slice());
      case 'status': return new Response([204, 304].includes(current.status) ? null : 'nope', { status: current.status });
      case 'stall': await new Promise((r) => setTimeout(r, 2000)); return new Response(body, { status: 206, headers: range });
      case 'breakMidBody': {
        let sent = false;
        return new Response(new ReadableStream({ pull(c) { if (!sent) { sent = true; c.enqueue(body.slice(0, body.length >> 1)); } else c.error(new Error('connection reset')); } }), { status: 206, headers: range });
      }
      default: return new Response(body, { status: 206, headers: range });
    }
  });
  const { port } = server.addr as Deno.NetAddr;
  return {
    url: `http://127.0.0.1:${port}/model.safetensors`,
    set(i) { current = i; seen = 0; },
    close: () => server.shutdown(),
  };
}

export function urlTarget(server: ReturnType<typeof misbehavingServer>): FuzzTarget<UrlInput> {
  return {
    name: 'URL byte source (HTTP Range)',
    file: '127.0.0.1',
    typed: ['SafetensorsError'],
    inputs: fc.record({
      mode: fc.constantFrom(...MISBEHAVIOURS),
      request: fc.nat(4),
      delta: fc.integer({ min: -40, max: 40 }),
      status: fc.constantFrom(200, 204, 301, 404, 416, 500, 503),
    }),
    async run(input) {
      server.set(input);
      const src = await urlSource(server.url, { timeoutMs: 250 });
      const file = await SafetensorsFile.open(src);
      return { size: src.size, a: await file.read('a'), b: await file.read('b'), info: [file.info('a'), file.info('b')] };
    },
    check(r) {
      const { size, a, b, info } = r as { size: number; a: Uint8Array; b: Uint8Array; info: { offset: number; byteLength: number }[] };
      if (size !== FILE.length) return `size ${size}, the file has ${FILE.length}`;
      for (const [got, t] of [[a, info[0]], [b, info[1]]] as const) {
        const want = FILE.subarray(t.offset, t.offset + t.byteLength);
        if (got.length !== want.length || got.some((x, i) => x !== want[i])) return `bytes at ${t.offset} differ from the file's`;
      }
      return null;
    },
  };
}
