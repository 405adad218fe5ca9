// bench --browser's side-by-side table: rows of the two runtimes joined on what they measured, a repeated key
// (attention's flash and tiled rows) paired in order and told apart by variant, a row one runtime lacks shown as —,
// and the ratio chromium/deno from the rows' own times. No GPU, no Chromium.
import { assert, assertEquals } from '../gpu/assert.ts';
import { benchRow, type BenchRow } from '../../harness/bench/benchRow.ts';
import { browserChoice, sideBySide, sideBySideTable } from '../../harness/cli/browserBench.ts';

function row(kernel: string, c: string, impl: BenchRow['impl'], ms: number, variant?: string, runtime: 'deno' | 'chromium' = 'deno'): BenchRow {
  return { ...benchRow({ kernel, case: c, shape: { n: 1 }, dtype: 'f32', impl, variant, median_ms: ms, flops: 1e6, bytes: 1e3, device: 'd' }), runtime };
}

Deno.test('side by side: joined on kernel, case, dtype and impl; repeated keys paired in order by variant', () => {
  const deno = [row('matmul', 'square', 'kvscope', 10, 'reg16'), row('attention', 'prefill', 'kvscope', 4, 'flash'), row('attention', 'prefill', 'kvscope', 2, 'tiled'), row('matmul', 'square', 'onnxruntime-web', 30)];
  const chromium = [row('matmul', 'square', 'kvscope', 25, 'wg64', 'chromium'), row('attention', 'prefill', 'kvscope', 12, 'flash', 'chromium'), row('attention', 'prefill', 'kvscope', 3, 'tiled', 'chromium')];
  const ps = sideBySide('kernels', deno, chromium);
  assertEquals(ps.map((p) => p.what), ['matmul square f32 kvscope reg16/wg64', 'attention prefill f32 kvscope flash', 'attention prefill f32 kvscope tiled', 'matmul square f32 onnxruntime-web']);
  assertEquals(ps.map((p) => [p.deno, p.chromium]), [[10, 25], [4, 12], [2, 3], [30, null]]);
  const table = sideBySideTable(ps).split('\n');
  assert(/^row\s+quantity\s+deno\s+chromium\s+chromium\/deno$/.test(table[0]), table[0]);
  assert(table[2].endsWith('2.50×'), table[2]);
  assert(table[4].endsWith('1.50×'), table[4]);
  assert(/—\s+—$/.test(table[5]), table[5]);
});

Deno.test('--browser: no value is chromium; chromium, both; anything else is an error naming it', () => {
  assertEquals(browserChoice(undefined), null);
  assertEquals(browserChoice(true), 'chromium');
  assertEquals(browserChoice('chromium'), 'chromium');
  assertEquals(browserChoice('both'), 'both');
  let err = '';
  try {
    browserChoice('firefox');
  } catch (e) {
    err = (e as Error).message;
  }
  assert(err.includes('firefox') && err.includes('chromium or both'), err);
});
