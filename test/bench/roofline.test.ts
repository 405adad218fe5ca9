// bench roofline: every measurement is a positive finite rate, the read kernels' checksums hold (they throw
// otherwise), and the per-adapter cache gives back what was stored for this adapter only. No timing is asserted.
import { assert, assertEquals } from '../gpu/assert.ts';
import { measureRoofline } from '../../harness/bench/roofline.ts';
import { adapterCacheEntries, adapterIdentity, mergeAdapterCache, readAdapterCache, writeAdapterCache } from '../../src/gpu/adapterCache.ts';
import { acquireGpu } from '../../src/gpu/device.ts';

const gpu = await acquireGpu();
const opts = { sanitizeResources: false, sanitizeOps: false };

// the f16 peak comes from shaders/roofline_f16.wgsl, compiled only where shader-f16 passed its self-test
Deno.test({ name: 'roofline: rates are positive and finite, f16 measured exactly when shader-f16 passed', ...opts, async fn() {
  const r = await measureRoofline(gpu, { reps: 1, targetMs: 5, sourceBytes: 1 << 20 });
  for (const k of ['fma_f32_vec4', 'fma_f32_scalar', 'read_strided', 'read_chunked', 'dispatches_per_s', 'submit_ms'] as const) {
    assert(Number.isFinite(r[k]) && r[k] > 0, `${k} = ${r[k]}`);
  }
  assertEquals(r.read_peak, Math.max(r.read_strided, r.read_chunked));
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
