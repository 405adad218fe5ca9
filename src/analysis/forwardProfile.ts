// Where a model forward spends its GPU time: per-dispatch timestamps (or per-stage wall time) grouped by op family,
// by layer and by kernel shape, with GFLOP/s, GB/s and the share of the adapter's measured roofline.
//   roofline share = achieved rate / attainable rate, attainable = min(peak FLOP/s, intensity · peak B/s)
//   (families counted by bytes only: GB/s / peak B/s).
import { type DispatchCost, dispatchCost } from '../gpu/dispatchCost.ts';
import type { ProfileEntry, ProfilerMode, StageWallTime } from '../gpu/profiler.ts';

/** The adapter's measured peaks (`bench roofline`). */
export interface Roofline {
  device: string;
  /** Peak f32 FMA throughput, FLOP/s. */
  flopsPerS: number;
  /** Peak storage-buffer read bandwidth, bytes/s. */
  bytesPerS: number;
  /** Where the figures came from (a file path). */
  source: string;
}

export type Phase = 'prefill' | 'decode';

export interface ProfiledDispatch extends ProfileEntry, DispatchCost {
  phase: Phase;
  /** 'lm.3', 'vision.0', or the stage label outside layers ('decoder embed', ...). */
  layer: string;
}

export interface PhaseSummary {
  phase: Phase;
  dispatches: number;
  /** Sum of dispatch times (timestamps) or of stage times (wall). */
  gpuMs: number;
  /** First begin to last end on the device clock (timestamps only). */
  spanMs: number | null;
  /** Between consecutive dispatches: sum, median and largest gap (timestamps only). */
  gapMs: number | null;
  gapMedianUs: number | null;
  gapMaxUs: number | null;
}

export interface RateRow {
  name: string;
  dispatches: number;
  ms: number;
  /** ms / the profile's total. */
  share: number;
  gflops: number | null;
  gbs: number | null;
  /** Achieved / attainable on the roofline, null without a roofline. */
  roofShare: number | null;
  bound: 'compute' | 'memory' | null;
  /** Some bytes are the sizes of the bound buffers (an upper bound: a decode step binds run-state buffers sized for
   * the prefill), so GB/s and the memory share are upper bounds ("≤" in the tables). */
  bytesUpperBound?: boolean;
}

export interface ForwardProfile {
  device: string;
  mode: ProfilerMode;
  roofline: Roofline | null;
  phases: PhaseSummary[];
  families: RateRow[];
  layers: RateRow[];
  /** Grouped by kernel + label (one shape), most time first. */
  kernels: (RateRow & { family: string; kernel: string })[];
  dispatches: ProfiledDispatch[];
  /** Wall mode: stages in order with their times. */
  stages: (StageWallTime & { phase: Phase; layer: string })[];
  /** Dispatches that got no timestamp slot (profiler capacity). */
  untimed: number;
}

/** Layer of a stage label as the models name them. */
export function stageLayer(stage: string): string {
  const m = stage.match(/^(decoder layer|vision layer|qwen vision block) (\d+)/);
  if (!m) return stage;
  return `${m[1] === 'decoder layer' ? 'lm' : 'vision'}.${m[2]}`;
}

/** Layer rows of the decode phase are told apart from the prefill's. */
function phaseLayer(phase: Phase, layer: string): string {
  return phase === 'decode' ? `decode ${layer}` : layer;
}

function rates(name: string, ds: readonly ProfiledDispatch[], totalMs: number, roof: Roofline | null): RateRow {
  const ms = ds.reduce((a, d) => a + d.ms, 0);
  const flops = ds.reduce((a, d) => a + d.flops, 0), bytes = ds.reduce((a, d) => a + d.bytes, 0);
  const s = ms / 1000;
  const gflops = flops > 0 && s > 0 ? flops / s / 1e9 : null;
  const gbs = bytes > 0 && s > 0 ? bytes / s / 1e9 : null;
  let roofShare: number | null = null, bound: RateRow['bound'] = null;
  if (roof && s > 0) {
    if (flops > 0) {
      const attainable = Math.min(roof.flopsPerS, (flops / bytes) * roof.bytesPerS);
      bound = attainable === roof.flopsPerS ? 'compute' : 'memory';
      roofShare = flops / s / attainable;
    } else if (bytes > 0) {
      bound = 'memory';
      roofShare = bytes / s / roof.bytesPerS;
    }
  }
  const bytesUpperBound = ds.some((d) => d.bytesFrom === 'bindings');
  return { name, dispatches: ds.length, ms, share: totalMs > 0 ? ms / totalMs : 0, gflops, gbs, roofShare, bound, ...(bytesUpperBound ? { bytesUpperBound } : {}) };
}

function groupBy<T>(xs: readonly T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) {
    const k = key(x);
    let l = m.get(k);
    if (!l) m.set(k, l = []);
    l.push(x);
  }
  return m;
}

function medianOf(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b), h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

export interface ProfileInput {
  device: string;
  mode: ProfilerMode;
  /** Timestamp mode: entries read after each phase. */
  entries: { phase: Phase; entries: readonly ProfileEntry[] }[];
  /** Wall mode: stage times per phase. */
  stages: { phase: Phase; stages: readonly StageWallTime[] }[];
  roofline: Roofline | null;
  untimed: number;
}

export function summarizeProfile(input: ProfileInput): ForwardProfile {
  const dispatches: ProfiledDispatch[] = input.entries.flatMap(({ phase, entries }) =>
    entries.map((e) => ({ ...e, ...dispatchCost(e.kernel, e.label, e.boundBytes), phase, layer: stageLayer(e.stage) }))
  );
  const stages = input.stages.flatMap(({ phase, stages }) => stages.map((s) => ({ ...s, phase, layer: stageLayer(s.stage) })));
  const roof = input.roofline;
  const phases: PhaseSummary[] = [];
  for (const phase of ['prefill', 'decode'] as const) {
    if (input.mode === 'timestamp') {
      const ds = dispatches.filter((d) => d.phase === phase).sort((a, b) => a.startNs - b.startNs);
      if (!ds.length) continue;
      const gaps = ds.slice(1).map((d, i) => Math.max(0, d.startNs - ds[i].endNs));
      phases.push({
        phase, dispatches: ds.length, gpuMs: ds.reduce((a, d) => a + d.ms, 0),
        spanMs: (ds[ds.length - 1].endNs - ds[0].startNs) / 1e6,
        gapMs: gaps.reduce((a, g) => a + g, 0) / 1e6,
        gapMedianUs: gaps.length ? medianOf(gaps) / 1e3 : 0, gapMaxUs: gaps.length ? Math.max(...gaps) / 1e3 : 0,
      });
    } else {
      const ss = stages.filter((s) => s.phase === phase);
      if (!ss.length) continue;
      phases.push({
        phase, dispatches: ss.reduce((a, s) => a + s.dispatches, 0), gpuMs: ss.reduce((a, s) => a + s.ms, 0),
        spanMs: null, gapMs: null, gapMedianUs: null, gapMaxUs: null,
      });
    }
  }
  const total = phases.reduce((a, p) => a + p.gpuMs, 0);
  let families: RateRow[], layers: RateRow[];
  const kernels: ForwardProfile['kernels'] = [];
  if (input.mode === 'timestamp') {
    families = [...groupBy(dispatches, (d) => d.family)].map(([k, ds]) => rates(k, ds, total, roof));
    layers = [...groupBy(dispatches, (d) => phaseLayer(d.phase, d.layer))].map(([k, ds]) => rates(k, ds, total, roof));
    for (const [, ds] of groupBy(dispatches, (d) => `${d.kernel}|${d.label}`)) {
      kernels.push({ ...rates(ds[0].label, ds, total, roof), family: ds[0].family, kernel: ds[0].kernel });
    }
  } else {
    // wall time is per stage: families cannot be timed, only counted
    families = [...groupBy(stages.flatMap((s) => s.labels), (l) => l.split(' ')[0])].map(([k, ls]) => ({
      name: k, dispatches: ls.length, ms: NaN, share: NaN, gflops: null, gbs: null, roofShare: null, bound: null,
    }));
    layers = [...groupBy(stages, (s) => phaseLayer(s.phase, s.layer))].map(([k, ss]) => {
      const ms = ss.reduce((a, s) => a + s.ms, 0);
      return { name: k, dispatches: ss.reduce((a, s) => a + s.dispatches, 0), ms, share: total > 0 ? ms / total : 0, gflops: null, gbs: null, roofShare: null, bound: null };
    });
  }
  const byTime = (a: RateRow, b: RateRow) => (b.ms || 0) - (a.ms || 0);
  families.sort(byTime);
  kernels.sort(byTime);
  return { device: input.device, mode: input.mode, roofline: roof, phases, families, layers, kernels, dispatches, stages, untimed: input.untimed };
}

// ---- text ----

function fmt(x: number | null, digits = 2): string {
  if (x === null || !Number.isFinite(x)) return '—';
  return Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(digits);
}

function pct(x: number | null): string {
  return x === null || !Number.isFinite(x) ? '—' : `${(100 * x).toFixed(1)}%`;
}

function table(head: string[], body: string[][], numericFrom = 1): string {
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= numericFrom ? c.padStart(w[i]) : c.padEnd(w[i]))).join('  ');
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...body.map(line)].join('\n');
}

function rateTable(first: string, rows: readonly RateRow[]): string {
  return table(
    [first, 'dispatches', 'ms', 'share', 'GFLOP/s', 'GB/s', '% roofline', 'bound'],
    rows.map((r) => {
      // "≤": bytes from bound buffer sizes (upper bound); the compute share does not depend on them
      const le = r.bytesUpperBound ? '≤' : '';
      return [r.name, String(r.dispatches), fmt(r.ms, 3), pct(r.share), fmt(r.gflops), r.gbs === null ? '—' : le + fmt(r.gbs), r.roofShare === null ? '—' : (r.bound === 'memory' ? le : '') + pct(r.roofShare), r.bound ?? '—'];
    }),
  );
}

/** The profile as fixed-width tables (the `profile` command prints this; the browser app shows it in a <pre>). */
export function profileText(p: ForwardProfile, topKernels = 15): string {
  const out: string[] = [];
  out.push(`device: ${p.device}`);
  out.push(p.mode === 'timestamp'
    ? 'timing: GPU timestamp queries around every dispatch (each dispatch in its own compute pass)'
    : 'timing: this adapter has no working timestamp-query; wall time per stage (submit → queue idle, stages serialised); op families are counted, not timed');
  out.push(p.roofline
    ? `roofline: ${fmt(p.roofline.flopsPerS / 1e9)} GFLOP/s f32 FMA, ${fmt(p.roofline.bytesPerS / 1e9)} GB/s read (${p.roofline.source})`
    : 'roofline: no roofline measured for this adapter (`npx kvscope bench roofline` writes one); % roofline left empty');
  out.push('FLOPs counted for matmul (2mnk) and attention (4·heads·d per attended pair); other kernels by bytes of their bound buffers, an upper bound marked ≤ ' +
    '(a decode step binds run-state buffers sized for the prefill).');
  if (p.untimed) out.push(`warning: ${p.untimed} dispatches got no timestamp slot and are missing`);
  out.push('');
  out.push(table(
    ['phase', 'dispatches', 'GPU ms', 'span ms', 'gaps ms', 'gap median µs', 'gap max µs'],
    p.phases.map((ph) => [ph.phase, String(ph.dispatches), fmt(ph.gpuMs, 3), fmt(ph.spanMs, 3), fmt(ph.gapMs, 3), fmt(ph.gapMedianUs), fmt(ph.gapMaxUs)]),
  ));
  out.push('');
  out.push(rateTable('op family', p.families));
  out.push('');
  out.push(rateTable('layer / stage', p.layers));
  if (p.kernels.length) {
    out.push('');
    out.push(`top ${Math.min(topKernels, p.kernels.length)} kernels (one shape each) by time:`);
    out.push(rateTable('kernel', p.kernels.slice(0, topKernels)));
  }
  return out.join('\n');
}
