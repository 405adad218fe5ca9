// The GPU runtime: chunked tensors, reflected kernels and uniform packing, error scopes, poisoned outputs,
// pipeline caching and device loss.
import { acquireGpu } from '../../src/gpu/device.ts';
import { GpuDeviceLostError, GpuKernelError } from '../../src/gpu/errors.ts';
import { packUniform } from '../../src/gpu/kernel.ts';
import { SHADER_FEATURES, SHADERS } from '../../src/gpu/shaderList.ts';
import { Stage } from '../../src/gpu/stage.ts';
import { Tensor } from '../../src/gpu/tensor.ts';
import { add } from '../../src/ops/add.ts';
import { compare } from '../ops/opCase.ts';
import { assert, assertEquals, assertRejects, assertThrows } from './assert.ts';

const gpu = await acquireGpu();
const opts = { sanitizeResources: false, sanitizeOps: false };

Deno.test({ name: 'self-tests ran and the core one passed', ...opts, fn() {
  assertEquals(gpu.selfTests[0].feature, 'core');
  assert(gpu.selfTests[0].passed, gpu.selfTests[0].detail);
  for (const t of gpu.selfTests) if (t.feature === 'shader-f16') assertEquals(gpu.features.shaderF16, t.passed);
} });

Deno.test({ name: 'a tensor over the binding limit is held in row chunks and round-trips (f32, bf16 odd rows)', ...opts, async fn() {
  const saved = gpu.maxBindingBytes;
  gpu.maxBindingBytes = 64;
  try {
    const vals = Array.from({ length: 13 * 7 }, (_, i) => i * 0.5 - 20);
    const t = Tensor.from(gpu, 'f32', [13, 7], vals, 'chunked f32');
    assertEquals(t.chunks.length, 7); // 28-byte rows, 2 per 64-byte chunk
    assertEquals([...(await t.read())], vals);
    const b = Tensor.from(gpu, 'bf16', [13, 7], vals, 'chunked bf16');
    // 14-byte rows: 4 fit in 64 bytes; an even row count keeps each chunk start u32-aligned
    assert(b.chunks.every((c, i) => i === b.chunks.length - 1 || c.rows % 2 === 0), 'even rows per chunk');
    assertEquals([...(await b.read())], vals);
    assertThrows(() => b.buffer('matmul'), /stored in \d+ chunks.*matmul binds it whole/, 'buffer() on a chunked tensor');
    assertThrows(() => Tensor.empty(gpu, 'f32', [2, 100], 'wide'), /one row is 400 bytes, over the device's storage binding limit of 64/);
    t.dispose(); b.dispose();
  } finally {
    gpu.maxBindingBytes = saved;
  }
} });

Deno.test({ name: 'uniforms are packed by field name; missing, extra and out-of-range fields are errors', ...opts, async fn() {
  const k = await gpu.kernels.get('selftest_basic');
  assertEquals(k.uniform?.fields.map((f) => f.name), ['n', 'scale']);
  const buf = new DataView(packUniform(k, { n: 7, scale: 0.5 }));
  assertEquals([buf.getUint32(0, true), buf.getFloat32(4, true)], [7, 0.5]);
  assertThrows(() => packUniform(k, { n: 7 }), /uniform field 'scale' was not given/);
  assertThrows(() => packUniform(k, { n: 7, scale: 1, m: 3 }), /unknown uniform field\(s\) m/);
  assertThrows(() => packUniform(k, { n: -1, scale: 1 }), /out of u32 range/);
  assertThrows(() => packUniform(k, { n: 1.5, scale: 1 }), /is u32, got 1.5/);
  assertEquals(k.bindings.map((b) => `${b.name}:${b.kind}`), ['params:uniform', 'a:read-only-storage', 'out:storage']);
} });

Deno.test({ name: 'pipelines are cached by (shader, entry, overrides)', ...opts, async fn() {
  const a = await gpu.kernels.get('add');
  const n = gpu.kernels.size;
  const b = await gpu.kernels.get('add');
  assert(a === b, 'same kernel object');
  assertEquals(gpu.kernels.size, n);
  await assertRejects(() => gpu.kernels.get('no_such_shader'), /no_such_shader\.wgsl is not loaded/);
  await assertRejects(() => gpu.kernels.get('add', 'nope'), /has no compute entry point 'nope'/);
  await assertRejects(() => gpu.kernels.get('add', 'main', { TILE: 4 }), /has no override constant 'TILE'/);
} });

Deno.test({ name: 'a validation error becomes a GpuKernelError naming the dispatch', ...opts, async fn() {
  const k = await gpu.kernels.get('selftest_basic');
  const notStorage = gpu.device.createBuffer({ size: 256, usage: GPUBufferUsage.COPY_DST, label: 'not-storage' });
  const out = Tensor.empty(gpu, 'f32', [64], 'out');
  const stage = new Stage(gpu, 'bad stage');
  stage.dispatch(k, { label: 'selftest_basic [64] with a non-storage input', bindings: { a: notStorage, out: out.buffer() }, uniforms: { n: 64, scale: 1 }, workgroups: [1] });
  const err = await assertRejects(() => stage.submit(), /validation error in stage 'bad stage' \[selftest_basic \[64\] with a non-storage input\]/);
  assert(err instanceof GpuKernelError, 'GpuKernelError');
  notStorage.destroy();
  out.dispose();
} });

Deno.test({ name: 'missing bindings and unknown binding names are caught before dispatch', ...opts, async fn() {
  const k = await gpu.kernels.get('selftest_basic');
  const out = Tensor.empty(gpu, 'f32', [64], 'out');
  const stage = new Stage(gpu, 'stage');
  assertThrows(() => stage.dispatch(k, { label: 'x', bindings: { out: out.buffer() }, uniforms: { n: 64, scale: 1 }, workgroups: [1] }), /needs a buffer for 'a'/);
  assertThrows(() => stage.dispatch(k, { label: 'x', bindings: { a: out.buffer(), out: out.buffer(), b: out.buffer() }, uniforms: { n: 64, scale: 1 }, workgroups: [1] }), /has no binding 'b'/);
  await stage.submit();
  out.dispose();
} });

Deno.test({ name: 'poisoned outputs: a kernel that writes nothing fails the comparison', ...opts, async fn() {
  gpu.poisonNewTensors = true;
  try {
    const out = Tensor.empty(gpu, 'f32', [5], 'never written');
    const got = await out.read();
    const r = compare(got, [1, 2, 3, 4, 5], { atol: 1e30, rtol: 1e30 }); // even a tolerance this loose must fail
    assert(!r.ok && r.nonFinite === 5, `poisoned output must fail: ${JSON.stringify(r)}`);
    out.dispose();
  } finally {
    gpu.poisonNewTensors = false;
  }
} });

Deno.test({ name: 'ops check shapes and dtypes before dispatch', ...opts, async fn() {
  const a = Tensor.from(gpu, 'f32', [2, 3], [1, 2, 3, 4, 5, 6], 'a');
  const b = Tensor.from(gpu, 'f32', [3, 2], [1, 2, 3, 4, 5, 6], 'b');
  const c = Tensor.from(gpu, 'bf16', [2, 3], [1, 2, 3, 4, 5, 6], 'c');
  const stage = new Stage(gpu, 'args');
  await assertRejects(() => add(stage, a, b), /add: b \(b\) must have shape \[2, 3\], found \[3, 2\]/);
  await assertRejects(() => add(stage, a, c as unknown as Tensor<'f32'>), /add: b \(c\) must be f32, found bf16/);
  await stage.submit();
  [a, b, c].forEach((t) => t.dispose());
} });

Deno.test({ name: 'device loss fails the next call clearly', ...opts, async fn() {
  const g = await acquireGpu({ noOptionalFeatures: true });
  const t = Tensor.from(g, 'f32', [4], [1, 2, 3, 4], 't');
  g.device.destroy();
  await g.device.lost;
  assert(g.lost, 'gpu.lost is set');
  const err = await assertRejects(async () => { const s = new Stage(g, 'after loss'); await add(s, t, t); }, /GPU device lost .*after loss cannot run/);
  assert(err instanceof GpuDeviceLostError, 'GpuDeviceLostError');
  await assertRejects(() => t.read(), /device lost/);
} });

Deno.test({ name: 'a new sequence length compiles no new pipeline (shapes are uniforms)', ...opts, async fn() {
  const { matmul } = await import('../../src/ops/matmul.ts');
  const { attention } = await import('../../src/ops/attention.ts');
  const run = async (s: number) => {
    const x = Tensor.from(gpu, 'f32', [s, 64], new Float32Array(s * 64).fill(0.5), 'x');
    const w = Tensor.from(gpu, 'bf16', [32, 64], new Float32Array(32 * 64).fill(0.25), 'w');
    const q = Tensor.from(gpu, 'f32', [s, 4, 64], new Float32Array(s * 256).fill(0.1), 'q');
    const kv = Tensor.from(gpu, 'f32', [2, 300, 64], new Float32Array(2 * 300 * 64).fill(0.1), 'kv');
    const stage = new Stage(gpu, `seq ${s}`);
    const y = await matmul(stage, x, w);
    const o = await attention(stage, q, kv, kv, { kvLength: s, causal: true, splits: 1 });
    await stage.submit();
    [x, w, q, kv, y, o].forEach((t) => t.dispose());
  };
  await run(17);
  const n = gpu.kernels.size;
  for (const s of [33, 129, 250]) await run(s);
  assertEquals(gpu.kernels.size, n, 'pipelines after three more sequence lengths');
} });

Deno.test({ name: 'every offered optional feature got its numeric self-test (selftest_f16, selftest_subgroups, timestamps)', ...opts, fn() {
  const shaderOf: Record<string, string> = { 'shader-f16': 'selftest_f16', 'subgroups': 'selftest_subgroups', 'timestamp-query': 'selftest_basic' };
  for (const [feature, shader] of Object.entries(shaderOf)) {
    const offered = gpu.adapter.features.has(feature);
    const ran = gpu.selfTests.find((t) => t.feature === feature);
    assertEquals(Boolean(ran), offered, `${feature} (${shader}.wgsl) self-test ran iff offered`);
    if (ran && !ran.passed) throw new Error(`${feature} self-test failed on ${gpu.describe()}: ${ran.detail}`);
  }
} });

Deno.test({ name: 'tensor labels stay bounded when ops name outputs after their inputs (a deep forward)', sanitizeResources: false, sanitizeOps: false, async fn() {
  const { acquireGpu } = await import('../../src/gpu/device.ts');
  const { Tensor: T, MAX_LABEL } = await import('../../src/gpu/tensor.ts');
  const gpu = await acquireGpu();
  let t = T.empty(gpu, 'f32', [2], 'x');
  for (let i = 0; i < 40; i++) {
    const next = T.empty(gpu, 'f32', [2], `add(${t.label}, ${t.label})`);
    t.dispose();
    t = next;
  }
  if (t.label.length > MAX_LABEL) throw new Error(`label grew to ${t.label.length} characters`);
  if (!t.label.startsWith('add(') || !t.label.includes('…')) throw new Error(`label lost its shape: ${t.label}`);
  if (t.reshape([1, 2], 'y'.repeat(500)).label.length > MAX_LABEL) throw new Error('reshape labels are not bounded');
  t.dispose();
} });

Deno.test({ name: 'every kernel file is in SHADERS, compiled at acquisition; includes are expanded', ...opts, async fn() {
  const files: string[] = [];
  const walk = async (dir: string, prefix: string) => {
    for await (const e of Deno.readDir(dir)) {
      if (e.isDirectory && e.name !== 'include') await walk(`${dir}/${e.name}`, `${prefix}${e.name}/`);
      else if (e.isFile && e.name.endsWith('.wgsl')) files.push(`${prefix}${e.name.slice(0, -5)}`);
    }
  };
  await walk(new URL('../../shaders', import.meta.url).pathname, '');
  assertEquals([...SHADERS].sort(), files.sort(), 'SHADERS vs shaders/');
  const gated = SHADER_FEATURES as Record<string, string>;
  for (const s of SHADERS) {
    if (!s.startsWith('selftest_') && (!gated[s] || gpu.device.features.has(gated[s]))) assert(gpu.kernels.has(s), `${s} compiled at acquisition`);
  }
  // matmul.wgsl includes unpack16 and uses its functions: the kernel builds and its bindings are reflected
  const k = gpu.kernels.get('matmul', 'gemv_16', { W_DTYPE: 2, B_DTYPE: 0, WG: 8 });
  assert(k.bindings.some((b) => b.name === 'w4h'), 'matmul gemv_16 reflected after the include');
} });

Deno.test({ name: 'assertEquals tells NaN, ±Infinity, −0, null and undefined apart', fn() {
  const distinct = [NaN, Infinity, -Infinity, null, undefined, 0, -0];
  for (const [i, a] of distinct.entries()) {
    for (const [j, b] of distinct.entries()) {
      if (i === j) assertEquals([a], [b]);
      else assertThrows(() => assertEquals([a], [b]), /got/);
    }
  }
  assertThrows(() => assertEquals(new Float32Array([NaN]), new Float32Array([0])), /got/);
} });

Deno.test({ name: 'a stage dropped half-built leaks no error scope: its error stays its own, the next stage is clean', ...opts, async fn() {
  const k = gpu.kernels.get('selftest_basic');
  const notStorage = gpu.device.createBuffer({ size: 256, usage: GPUBufferUsage.COPY_DST, label: 'not-storage' });
  const a = Tensor.from(gpu, 'f32', [64], Array.from({ length: 64 }, (_, i) => i), 'a');
  const out = Tensor.empty(gpu, 'f32', [64], 'out');
  // an invalid dispatch recorded, then the caller's code throws before submit
  await assertRejects(() => Stage.run(gpu, 'dropped', (st) => {
    st.dispatch(k, { label: 'invalid', bindings: { a: notStorage, out: out.buffer() }, uniforms: { n: 64, scale: 1 }, workgroups: [1] });
    throw new Error('caller failed mid-stage');
  }), /caller failed mid-stage/);
  // no error scope is left open on the device: popping one now is an error (the stack is empty)
  const popped = await gpu.device.popErrorScope().then(() => 'popped a leftover scope', (e: Error) => e.name);
  assert(popped !== 'popped a leftover scope', 'an error scope was left open by the dropped stage');
  // the next stage runs and reports nothing (the dropped stage's validation error was not carried over)
  await Stage.run(gpu, 'after', (st) => st.dispatch(k, { label: 'valid', bindings: { a: a.buffer(), out: out.buffer() }, uniforms: { n: 64, scale: 2 }, workgroups: [1] }));
  assertEquals([...(await out.read())].slice(0, 3), [0, 3, 6], 'the valid stage ran (2·x + i)');
  // and a later invalid stage still reports its own error, naming its own dispatch
  await assertRejects(() => Stage.run(gpu, 'bad again', (st) => st.dispatch(k, { label: 'invalid again', bindings: { a: notStorage, out: out.buffer() }, uniforms: { n: 64, scale: 1 }, workgroups: [1] })), /stage 'bad again' \[invalid again\]/);
  notStorage.destroy();
  a.dispose();
  out.dispose();
} });
