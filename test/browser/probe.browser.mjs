// A probe task in Chromium (SwiftShader WebGPU) against the CLI (Deno, llvmpipe), driven by Playwright: `kvscope
// probe` runs synthetic SPair on the tiny checkpoint the model test writes (out/browser-tiny-ov/) into
// out/browser-probe-cli/; the app's `?view=probe` runs the same task, taps, layers and data in the tab
// (src/analysis/probeStudy.ts with a MemorySink) and publishes its rows and its results.jsonl / results.md; this
// script compares them row by row (|Δ| ≤ 1e-4 percentage points), checks the progress updates arrived, and that the
// page (table + curves) is not blank.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { checkList, runModelFixture, viewInTab } from './chromium.mjs';

const DIR = 'out/browser-tiny-ov', CLI_OUT = 'out/browser-probe-cli';
const RUN = { task: 'spair', data: 'synthetic', taps: 'lm.value,lm.key,projector', layers: 'all', limit: '3', size: '48' };
const TOL = 1e-4;
const { check, finish } = checkList('browser probe');

if (!existsSync(`${DIR}/config.json`)) {
  const err = runModelFixture(DIR);
  if (err) { check('deno fixture (tiny checkpoint)', false, err); finish(); }
}

// 1. the CLI
rmSync(CLI_OUT, { recursive: true, force: true });
const env = { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp', NO_COLOR: '1' };
const cli = spawnSync('node_modules/.bin/deno', ['run', '-A', '--unstable-webgpu', '--config', 'deno.json', 'harness/cli/main.ts', 'probe',
  '--task', RUN.task, '--model', DIR, '--data', RUN.data, '--taps', RUN.taps, '--layers', RUN.layers, '--limit', RUN.limit, '--size', RUN.size,
  '--overlays', '2', '--out', CLI_OUT], { env, encoding: 'utf8', timeout: 10 * 60_000 });
if (cli.status !== 0) {
  check('kvscope probe (CLI)', false, `exit ${cli.status}: ${(cli.stderr || cli.stdout).slice(-800)}`);
  finish();
}
const cliJsonl = readFileSync(`${CLI_OUT}/results.jsonl`, 'utf8'), cliMd = readFileSync(`${CLI_OUT}/results.md`, 'utf8');
const cliRows = cliJsonl.trim().split('\n').map((l) => JSON.parse(l));

// 2. the tab
const { res, shot } = await viewInTab({ check, finish }, {
  query: new URLSearchParams({ view: 'probe', checkpoint: `/${DIR}/`, ...RUN, run: '1' }).toString(), state: '__kvscopeProbe', selector: '#q-plots svg', timeout: 4 * 60_000, shot: 'probe',
});

// 3. compare
console.log(`browser adapter: ${res.adapter ?? '?'}`);
check('probe ran in the tab', res.status === 'ready', res.error ?? '');
if (res.status === 'ready') {
  const key = (r) => `${r.task}|${r.tap}|${r.layer}|${r.metric}`;
  const mine = new Map(res.rows.map((r) => [key(r), r]));
  check('the same (task, tap, layer, metric) rows as the CLI', cliRows.length === res.rows.length && cliRows.every((r) => mine.has(key(r))), `CLI ${cliRows.length}, tab ${res.rows.length}`);
  let worst = 0, where = '', nSame = true;
  for (const r of cliRows) {
    const b = mine.get(key(r));
    if (!b) continue;
    if (b.n !== r.n) nSame = false;
    const d = Math.abs(b.value - r.value);
    if (d > worst) { worst = d; where = key(r); }
  }
  check('same sample counts per row', nSame);
  check(`values within ${TOL} (percent)`, worst <= TOL, `max |tab − CLI| ${worst.toExponential(2)}${where ? ` at ${where}` : ''}`);
  check('one progress update per sample', res.updates === Number(RUN.limit), `${res.updates} updates`);
  check('results.jsonl keys and layout as the CLI writes it', res.resultsJsonl.split('\n').length === cliJsonl.split('\n').length
    && res.resultsJsonl.split('\n').every((l, i) => l === '' ? cliJsonl.split('\n')[i] === '' : Object.keys(JSON.parse(l)).join() === Object.keys(JSON.parse(cliJsonl.split('\n')[i])).join()));
  const cliOverlays = readdirSync(CLI_OUT).filter((f) => f.endsWith('.png')).sort();
  check('the same overlays as the CLI writes (names)', cliOverlays.length === 2 && JSON.stringify([...(res.overlays ?? [])].sort()) === JSON.stringify(cliOverlays), `CLI ${cliOverlays.join(', ')}; tab ${(res.overlays ?? []).join(', ')}`);
  check('results.md identical to the CLI\'s', res.resultsMd === cliMd, res.resultsMd === cliMd ? '' : 'differs (values rounded to 2 decimals may flip at a rounding boundary)');
}
if (shot) check(`screenshot ${shot.path} (${shot.width}×${shot.height}) has content`, shot.std > 8 && shot.colours > 20, `grey std ${shot.std.toFixed(1)}, ${shot.colours} colours`);
finish();
