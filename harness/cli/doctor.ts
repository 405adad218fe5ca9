// `kvscope doctor`: what WebGPU adapter this is, its limits and features, and each feature's self-test.
import type { Gpu } from '../../src/gpu/device.ts';

export function doctorReport(gpu: Gpu): string {
  const i = gpu.info;
  const lines: string[] = [];
  lines.push(`adapter      ${i.description || '(no description)'}`);
  lines.push(`vendor       ${i.vendor || '(none)'}    architecture ${i.architecture || '(none)'}    device ${i.device || '(none)'}`);
  lines.push(`runtime      ${gpu.runtime}${typeof Deno !== 'undefined' ? ` ${Deno.version.deno}` : ''}`);
  const offered = [...gpu.adapter.features].sort();
  lines.push(`features     ${offered.join(', ') || '(none)'}`);
  lines.push('limits');
  for (const [k, v] of Object.entries(gpu.limits)) lines.push(`  ${k.padEnd(36)} ${v.toLocaleString('en-US')}`);
  lines.push('self-tests');
  for (const t of gpu.selfTests) lines.push(`  ${t.feature.padEnd(16)} ${t.passed ? 'pass' : 'FAIL'}  ${t.detail}`);
  for (const f of ['shader-f16', 'timestamp-query', 'subgroups']) {
    if (!gpu.selfTests.some((t) => t.feature === f)) lines.push(`  ${f.padEnd(16)} n/a   not offered by this adapter`);
  }
  const used = Object.entries(gpu.features).filter(([, v]) => v).map(([k]) => k);
  lines.push(`kvscope uses ${used.length ? used.join(', ') : 'no optional features'}${gpu.features.timestampQuery ? '' : ' (timings fall back to wall clock)'}`);
  return lines.join('\n');
}
