// A profile as Chrome trace events (the JSON chrome://tracing and ui.perfetto.dev open): one complete ('X') event
// per dispatch on the device clock, and one per stage spanning its dispatches, in µs.
import type { ForwardProfile } from './forwardProfile.ts';

interface TraceEvent {
  name: string;
  cat: string;
  ph: 'X' | 'M';
  ts?: number;
  dur?: number;
  pid: number;
  tid: number;
  args: Record<string, unknown>;
}

export function profileTrace(p: ForwardProfile): { traceEvents: TraceEvent[]; displayTimeUnit: 'ms'; otherData: Record<string, unknown> } {
  const ev: TraceEvent[] = [
    { name: 'process_name', ph: 'M', cat: '', pid: 1, tid: 0, args: { name: `GPU: ${p.device}` } },
    { name: 'thread_name', ph: 'M', cat: '', pid: 1, tid: 1, args: { name: 'stages' } },
    { name: 'thread_name', ph: 'M', cat: '', pid: 1, tid: 2, args: { name: 'dispatches' } },
  ];
  if (p.mode === 'timestamp') {
    for (const d of p.dispatches) {
      ev.push({
        name: d.label, cat: `${d.phase},${d.family}`, ph: 'X', ts: d.startNs / 1e3, dur: (d.endNs - d.startNs) / 1e3, pid: 1, tid: 2,
        args: { kernel: d.kernel, layer: d.layer, stage: d.stage, flops: d.flops, bytes: d.bytes, workgroups: d.workgroups.join('×') },
      });
    }
    // stage spans: consecutive dispatches of one stage label
    let i = 0;
    const ds = [...p.dispatches].sort((a, b) => a.startNs - b.startNs);
    while (i < ds.length) {
      let j = i;
      while (j + 1 < ds.length && ds[j + 1].stage === ds[i].stage && ds[j + 1].phase === ds[i].phase) j++;
      ev.push({ name: ds[i].stage, cat: ds[i].phase, ph: 'X', ts: ds[i].startNs / 1e3, dur: (ds[j].endNs - ds[i].startNs) / 1e3, pid: 1, tid: 1, args: { dispatches: j - i + 1, layer: ds[i].layer } });
      i = j + 1;
    }
  } else {
    const t0 = p.stages[0]?.startMs ?? 0;
    for (const s of p.stages) {
      ev.push({ name: s.stage, cat: `${s.phase},wall`, ph: 'X', ts: (s.startMs - t0) * 1e3, dur: s.ms * 1e3, pid: 1, tid: 1, args: { dispatches: s.dispatches, layer: s.layer, timing: 'wall clock' } });
    }
  }
  return { traceEvents: ev, displayTimeUnit: 'ms', otherData: { device: p.device, timing: p.mode } };
}
