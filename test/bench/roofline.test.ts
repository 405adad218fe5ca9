// bench roofline: every measurement is a positive finite rate, the read kernels' checksums hold (they throw
// otherwise), and the per-adapter cache gives back what was stored for this adapter only. No timing is asserted.
import { assert, assertEquals } from '../gpu/assert.ts';
import { benchRow } from '../../harness/bench/benchRow.ts';
import { withRoofline } from '../../harness/bench/kernels.ts';
import { measureRoofline, type Roofline } from '../../harness/bench/roofline.ts';
import { adapterCacheEntries, adapterIdentity, mergeAdapterCache, readAdapterCache, writeAdapterCache } from '../../src/gpu/adapterCache.ts';
import { acquireGpu } from '../../src/gpu/device.ts';

const gpu = await acquireGpu();
const opts = { sanitizeResources: false, sanitizeOps: false };

// the f16 peak comes from shaders/roofline_f16.wgsl, compiled only where shader-f16 passed its self-test
Deno.test({ name: 'roofline: rates are positive and finite, f16 measured exactly when shader-f16 passed', ...opts, async fn() {
  const r = await measureRoofline(gpu, { reps: 1, targetMs: 5, sourceBytes: 1 << 20 });
  for (const k of ['fma_f32_vec4', 'fma_f32_scalar', 'read_strided', 'read_chunked', 'read_rows', 'dispatches_per_s', 'submit_ms'] as const) {
    assert(Number.isFinite(r[k]) && r[k]! > 0, `${k} = ${r[k]}`);
  }
  assertEquals(r.read_peak, Math.max(r.read_strided, r.read_chunked, r.read_rows!));
  assertEquals(r.fma_f16_vec4 !== null, gpu.features.shaderF16);
}});

Deno.test({ name: 'adapter cache: keyed by adapter identity, survives a re-read', ...opts, fn() {
  const dir = Deno.makeTempDirSync();
  Deno.env.set('KVSCOPE_CACHE_DIR', dir);
  try {
    assertEquals(readAdapterCache(gpu, 'test-kind'), null);
    const where = writeAdapterCache(gpu, 'test-kind', { a: 1 });
    assert(where.startsWith(dir), where);
    assertEquals(readAdapterCache(gpu, 'test-kind'), { a: 1 });
    const all = JSON.parse(Deno.readTextFileSync(`${dir}/test-kind.json`));
    assertEquals(Object.keys(all), [adapterIdentity(gpu)]);
    assert(adapterIdentity(gpu).includes(gpu.info.description));
  } finally {
    Deno.env.delete('KVSCOPE_CACHE_DIR');
    Deno.removeSync(dir, { recursive: true });
  }
}});

// bench --browser carries the stores between Deno and the tab: a merge adds other adapters' entries, keeps this one's
Deno.test({ name: 'adapter cache: entries of other adapters merge in beside this one', ...opts, fn() {
  const dir = Deno.makeTempDirSync();
  Deno.env.set('KVSCOPE_CACHE_DIR', dir);
  try {
    writeAdapterCache(gpu, 'test-kind', { a: 1 });
    mergeAdapterCache('test-kind', { 'google|swiftshader|||browser|ts': { b: 2 } });
    assertEquals(readAdapterCache(gpu, 'test-kind'), { a: 1 });
    assertEquals(adapterCacheEntries('test-kind'), { [adapterIdentity(gpu)]: { a: 1 }, 'google|swiftshader|||browser|ts': { b: 2 } });
    mergeAdapterCache('test-kind', { [adapterIdentity(gpu)]: { a: 3 } });
    assertEquals(readAdapterCache(gpu, 'test-kind'), { a: 3 });
    assertEquals(adapterCacheEntries('other-kind'), {});
  } finally {
    Deno.env.delete('KVSCOPE_CACHE_DIR');
    Deno.removeSync(dir, { recursive: true });
  }
}});

// % of roof: from the batched time where a row has one, else from the single-submit time; the bound by intensity
Deno.test('withRoofline: batched rows use the batched time, others the single submit; bound from the ridge point', () => {
  const roof = { fma_f32_vec4: 100, read_peak: 10 } as Roofline; // ridge: 10 flops per byte
  const base = { kernel: 'matmul', case: 'c', shape: { m: 1 }, dtype: 'f32', impl: 'kvscope' as const, device: 'd' };
  const [c, m, p] = withRoofline([
    benchRow({ ...base, median_ms: 20, batched_ms: 10, batch_n: 4, flops: 500e6, bytes: 1e6 }), // 500 flops/B: compute
    benchRow({ ...base, median_ms: 4, batched_ms: 2, batch_n: 8, flops: 1e6, bytes: 10e6 }), // 0.1 flops/B: memory
    benchRow({ ...base, impl: 'tfjs-webgpu', median_ms: 25, flops: 500e6, bytes: 1e6 }),
  ], roof);
  assertEquals([c.bound, c.roofline_from, c.roofline_pct, c.roofline_pct_submit], ['compute', 'batch', 50, 25]); // 50 GFLOP/s batched, 25 single
  assertEquals([m.bound, m.roofline_from, m.roofline_pct, m.roofline_pct_submit], ['memory', 'batch', 50, 25]); // 5 GB/s batched, 2.5 single
  assertEquals([p.bound, p.roofline_from, p.roofline_pct], ['compute', 'submit', 20]);
});
