// The forward profile in Chromium (SwiftShader WebGPU), driven by Playwright: the app's `?view=profile` loads the
// tiny checkpoint the model test writes (out/browser-tiny-ov/, made here when absent), runs one prefill + 2 decode
// steps through src/analysis/profileForward.ts and publishes the summary; this script checks the phases, op families
// and layers are all there, that the timing method is stated, and that the page (tables + plot) is not blank.
import { existsSync } from 'node:fs';
import { checkList, runModelFixture, viewInTab } from './chromium.mjs';

const DIR = 'out/browser-tiny-ov';
const { check, finish } = checkList('browser profile');

if (!existsSync(`${DIR}/config.json`)) {
  const err = runModelFixture(DIR);
  if (err) {
    check('deno fixture (tiny checkpoint)', false, err);
    finish();
  }
}

const { res, shot } = await viewInTab({ check, finish }, {
  query: `view=profile&checkpoint=/${DIR}/&decode=2`, state: '__kvscopeProfile', selector: '#p-plot svg', timeout: 10 * 60_000, shot: 'profile',
});

console.log(`browser adapter: ${res.adapter ?? '?'}; timing: ${res.mode ?? '?'}`);
check('profile ran in the tab', res.status === 'ready', res.error ?? '');
if (res.status === 'ready') {
  const phases = res.phases.map((p) => p.phase).join(',');
  check('prefill and decode phases', phases === 'prefill,decode', phases);
  check('dispatches counted in both', res.phases.every((p) => p.dispatches > 0), res.phases.map((p) => `${p.phase} ${p.dispatches}`).join(', '));
  const fams = res.families.map((f) => f.name);
  check('op families: matmul, matmul gemv, attention, norm', ['matmul', 'matmul gemv', 'attention', 'norm'].every((f) => fams.includes(f)), fams.join(', '));
  check('layers: vision.0, lm.0, lm.1, decode lm.0', ['vision.0', 'lm.0', 'lm.1', 'decode lm.0'].every((l) => res.layers.includes(l)), res.layers.join(', '));
  check('the timing method is stated', res.mode === 'timestamp' ? /timestamp queries around every dispatch/.test(res.text) : /no working timestamp-query; wall time per stage/.test(res.text), res.mode);
  if (res.mode === 'timestamp') {
    check('every family timed (> 0 ms in total)', res.families.reduce((a, f) => a + f.ms, 0) > 0);
    console.log(`top kernels: ${res.top.map((k) => `${k.name} ${k.ms.toFixed(3)} ms`).join('; ')}`);
  }
}
if (shot) check(`screenshot ${shot.path} (${shot.width}×${shot.height}) has content`, shot.std > 8 && shot.colours > 20, `grey std ${shot.std.toFixed(1)}, ${shot.colours} colours`);
finish();
