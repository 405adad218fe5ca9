// Per-dispatch GPU profiler. Where the adapter has `timestamp-query` (and it passed its self-test) every dispatch
// gets its own compute pass with begin/end timestamp writes; otherwise (`mode: 'wall'`) each stage is timed by wall
// clock from its submit to `onSubmittedWorkDone`, stages serialised, and dispatches are only counted.
import type { Gpu } from './device.ts';

/** What a stage knows about a dispatch when it records it. */
export interface DispatchInfo {
  /** The stage's label ("decoder layer 3", "vision layer 0", ...). */
  stage?: string;
  /** Bytes of the distinct storage buffers bound (an upper bound of what the dispatch reads and writes). */
  boundBytes?: number;
  workgroups?: readonly [number, number, number];
}

export interface ProfileEntry {
  label: string;
  kernel: string;
  ms: number;
  stage: string;
  /** Timestamps (ns) on the device clock: the pass's begin and end. */
  startNs: number;
  endNs: number;
  boundBytes: number;
  workgroups: readonly [number, number, number];
}

/** Wall-clock timing of one stage (mode 'wall'): submit → queue idle, after the previous stage was idle. */
export interface StageWallTime {
  stage: string;
  dispatches: number;
  labels: string[];
  startMs: number;
  ms: number;
}

export type ProfilerMode = 'timestamp' | 'wall';

// WebGPU caps a query set at 4096 queries: 2048 begin/end pairs per set, more sets as needed
const PAIRS_PER_SET = 2048;
// resolveQuerySet's destination offset must be a multiple of 256 bytes: each stage's pairs start on 16-pair bounds
const PAIR_ALIGN = 16;

interface QueryBlock { set: GPUQuerySet; resolve: GPUBuffer }
type Slot = Omit<ProfileEntry, 'ms' | 'startNs' | 'endNs'> & { index: number };

export class Profiler {
  readonly mode: ProfilerMode;
  private blocks: QueryBlock[] = [];
  private pending: Slot[] = [];
  private resolved: Slot[] = [];
  /** The next free pair index. */
  private next = 0;
  private stageTimes: StageWallTime[] = [];
  private stageDispatches = new Map<string, string[]>();
  /** The first timestamp read: every entry's startNs/endNs is relative to it, across reads. */
  private epoch: bigint | null = null;
  /** Dispatches not timed because `capacity` was reached. */
  dropped = 0;
  readonly capacity: number;

  /** capacity: dispatches timed at most between two `read()`s. */
  constructor(readonly gpu: Gpu, capacity = 256, mode: ProfilerMode = 'timestamp') {
    if (mode === 'timestamp' && !gpu.features.timestampQuery) {
      throw new Error(`timestamp profiling needs 'timestamp-query', which ${gpu.describe()} does not offer or failed its self-test`);
    }
    this.mode = mode;
    this.capacity = capacity;
  }

  /** A profiler with timestamps where the adapter has them, else wall time per stage. */
  static forGpu(gpu: Gpu, capacity = 16384): Profiler {
    return new Profiler(gpu, capacity, gpu.features.timestampQuery ? 'timestamp' : 'wall');
  }

  private block(b: number): QueryBlock {
    while (this.blocks.length <= b) {
      const dev = this.gpu.device;
      this.blocks.push({
        set: dev.createQuerySet({ type: 'timestamp', count: 2 * PAIRS_PER_SET, label: `profiler ${this.blocks.length}` }),
        resolve: dev.createBuffer({ size: 16 * PAIRS_PER_SET, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC, label: 'profiler resolve' }),
      });
    }
    return this.blocks[b];
  }

  /** Reserve a begin/end pair for one dispatch; undefined in wall mode or when full (that dispatch is not timed). */
  slot(label: string, kernel: string, info: DispatchInfo = {}): GPUComputePassTimestampWrites | undefined {
    const stage = info.stage ?? '';
    if (this.mode === 'wall') {
      let list = this.stageDispatches.get(stage);
      if (!list) this.stageDispatches.set(stage, list = []);
      list.push(label);
      return undefined;
    }
    const i = this.next;
    if (this.resolved.length + this.pending.length >= this.capacity) {
      this.dropped++;
      return undefined;
    }
    this.next++;
    this.pending.push({ label, kernel, stage, boundBytes: info.boundBytes ?? 0, workgroups: info.workgroups ?? [1, 1, 1], index: i });
    const b = this.block(Math.floor(i / PAIRS_PER_SET)), j = i % PAIRS_PER_SET;
    return { querySet: b.set, beginningOfPassWriteIndex: 2 * j, endOfPassWriteIndex: 2 * j + 1 };
  }

  /** Called by a stage before it finishes its encoder. */
  resolve(encoder: GPUCommandEncoder): void {
    if (!this.pending.length) return;
    let i = this.pending[0].index;
    const end = this.next;
    // one resolve per query block the pending pairs span
    while (i < end) {
      const b = Math.floor(i / PAIRS_PER_SET), j = i % PAIRS_PER_SET;
      const n = Math.min(end - i, PAIRS_PER_SET - j);
      const blk = this.block(b);
      encoder.resolveQuerySet(blk.set, 2 * j, 2 * n, blk.resolve, 16 * j);
      i += n;
    }
    this.resolved.push(...this.pending);
    this.pending = [];
    this.next = Math.ceil(this.next / PAIR_ALIGN) * PAIR_ALIGN;
  }

  /** Called by a stage after it submitted: in wall mode, waits for the queue and records the stage's time. */
  async submitted(stage: string, submitMs: number): Promise<void> {
    if (this.mode !== 'wall') return;
    await this.gpu.guardLoss(this.gpu.device.queue.onSubmittedWorkDone(), `profiling stage '${stage}'`);
    const labels = this.stageDispatches.get(stage) ?? [];
    this.stageDispatches.delete(stage);
    this.stageTimes.push({ stage, dispatches: labels.length, labels, startMs: submitMs, ms: performance.now() - submitMs });
  }

  /** Wall-mode stage times so far, and reset. */
  readStages(): StageWallTime[] {
    return this.stageTimes.splice(0);
  }

  /** Read all timed dispatches so far and reset (timestamp mode; [] in wall mode). */
  async read(): Promise<ProfileEntry[]> {
    if (this.pending.length) throw new Error(`profiler: ${this.pending.length} dispatches recorded in a stage not yet submitted; read after submit`);
    if (!this.resolved.length) return [];
    const n = this.next;
    const dev = this.gpu.device;
    const staging = dev.createBuffer({ size: n * 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'profiler readback' });
    const enc = dev.createCommandEncoder();
    for (let i = 0; i < n; i += PAIRS_PER_SET) {
      const b = this.blocks[i / PAIRS_PER_SET];
      enc.copyBufferToBuffer(b.resolve, 0, staging, 16 * i, 16 * Math.min(PAIRS_PER_SET, n - i));
    }
    dev.queue.submit([enc.finish()]);
    await this.gpu.guardLoss(staging.mapAsync(GPUMapMode.READ), 'reading timestamps');
    const t = new BigUint64Array(staging.getMappedRange().slice(0));
    staging.unmap();
    staging.destroy();
    // device timestamps are ns counters; keep them relative to the first begin ever read so they stay exact as numbers
    const t0 = this.epoch ??= t[0];
    const out = this.resolved.map(({ index: i, ...r }) => {
      const startNs = Number(t[2 * i] - t0), endNs = Number(t[2 * i + 1] - t0);
      return { ...r, ms: (endNs - startNs) / 1e6, startNs, endNs };
    });
    this.resolved = [];
    this.next = 0;
    return out;
  }

  destroy(): void {
    for (const b of this.blocks) {
      b.set.destroy();
      b.resolve.destroy();
    }
    this.blocks = [];
  }
}
