// `kvscope bench kernels --browser both` end to end: the CLI (Deno) runs the quick matmul table on llvmpipe, then the
// same bench code in headless Chromium (SwiftShader) through Playwright, and prints both side by side. With --json,
// stdout holds the rows of both runtimes (one JSON object a line) and stderr the side-by-side table. Checks the rows
// are well formed (runtime, adapter named, finite positive times), that Chromium's rows have the Deno rows' fields
// and cases, and that the side-by-side table has a finite chromium/deno ratio for every case. No timing assertions.
// Ends with `browser bench: N passed, M failed`.
import { spawnSync } from 'node:child_process';
import { checkList } from './chromium.mjs';

const { check, finish } = checkList('browser bench');
const args = ['harness/cli/kvscope.mjs', 'bench', 'kernels', '--quick', '--only', 'matmul', '--no-peers', '--reps', '2', '--json', '--browser', 'both'];
const env = { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp', NO_COLOR: '1' };
console.log(`node ${args.join(' ')}`);
const run = spawnSync('node', args, { env, encoding: 'utf8', timeout: 30 * 60_000, maxBuffer: 64 << 20 });
check('the command exits 0', run.status === 0, `exit ${run.status ?? run.signal ?? run.error?.message}${run.status === 0 ? '' : `: ${(run.stderr ?? '').split('\n').slice(-8).join(' | ')}`}`);

const rows = [];
let unparsed = 0;
for (const line of (run.stdout ?? '').split('\n').filter((l) => l.trim())) {
  try {
    rows.push(JSON.parse(line));
  } catch {
    unparsed++;
  }
}
check('stdout is JSON rows only', unparsed === 0 && rows.length > 0, `${rows.length} rows, ${unparsed} other lines`);
const deno = rows.filter((r) => r.runtime === 'deno'), chromium = rows.filter((r) => r.runtime === 'chromium');
check('rows from both runtimes (runtime deno / chromium)', deno.length > 0 && chromium.length > 0 && deno.length + chromium.length === rows.length,
  `${deno.length} deno, ${chromium.length} chromium, ${rows.length - deno.length - chromium.length} other`);

const stderr = run.stderr ?? '';
const adapter = stderr.match(/^chromium adapter: (.+)$/m)?.[1] ?? '';
check('the Chromium adapter is named', /\S/.test(adapter), adapter || 'no "chromium adapter:" line on stderr');
check('Chromium rows name the page\'s adapter (a browser device, not Deno\'s)', chromium.length > 0 && chromium.every((r) => typeof r.device === 'string' && r.device.endsWith('(browser)') && adapter.startsWith(r.device)),
  chromium[0]?.device);
check('Deno rows name a Deno device', deno.length > 0 && deno.every((r) => typeof r.device === 'string' && r.device.endsWith('(deno)')), deno[0]?.device);

const finitePositive = (x) => typeof x === 'number' && Number.isFinite(x) && x > 0;
for (const [name, rs] of [['deno', deno], ['chromium', chromium]]) {
  const bad = rs.filter((r) => !['median_ms', 'flops', 'bytes', 'gflops', 'gbps'].every((k) => finitePositive(r[k])));
  check(`${name}: finite positive median_ms, flops, bytes, GFLOP/s, GB/s`, rs.length > 0 && bad.length === 0, bad.length ? `${bad[0].case} ${bad[0].dtype}: ${bad[0].median_ms} ms` : `${rs.length} rows`);
}
const keys = (r) => Object.keys(r).sort().join(',');
const denoKeys = new Set(deno.map(keys));
check('Chromium rows have exactly the Deno rows\' fields', chromium.length > 0 && chromium.every((r) => denoKeys.has(keys(r))), chromium.length ? keys(chromium[0]) : '');
const id = (r) => `${r.kernel} ${r.case} ${r.dtype} ${r.impl}`;
const ids = (rs) => rs.map(id).sort().join('; ');
check('the same cases in both runtimes', ids(deno) === ids(chromium), `deno: ${ids(deno)} | chromium: ${ids(chromium)}`);

// the side-by-side table: a header with the ratio column, one line per case with a finite ratio
const table = stderr.slice(stderr.indexOf('== deno vs chromium =='));
check('side-by-side table printed', stderr.includes('== deno vs chromium =='));
check('the table header has deno, chromium and chromium/deno', /^row\s+quantity\s+deno\s+chromium\s+chromium\/deno$/m.test(table));
check('the timing method is stated', /^timing \(both\): wall clock from the op call/m.test(table));
const ratioLines = deno.map((r) => table.split('\n').find((l) => l.startsWith(`${id(r)} `)));
const ratios = ratioLines.map((l) => Number(l?.match(/([\d.]+)×\s*$/)?.[1]));
check('every case has a finite positive chromium/deno ratio', deno.length > 0 && ratios.every(finitePositive), ratios.join(', '));
if (ratios.every(finitePositive)) {
  for (const [i, r] of deno.entries()) {
    const c = chromium.find((x) => id(x) === id(r));
    // the printed ratio is the rows' own times divided (to the table's 2 decimals)
    check(`ratio of ${id(r)} is chromium/deno of the rows`, c && Math.abs(ratios[i] - c.median_ms / r.median_ms) <= 0.006 * Math.max(1, ratios[i]), `${ratios[i]} vs ${c ? (c.median_ms / r.median_ms).toFixed(3) : '?'}`);
  }
}
finish();
