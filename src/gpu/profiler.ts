// Timestamp-query profiler: per-dispatch GPU times, labelled. Only exists where the adapter has
// `timestamp-query` and it passed its self-test; callers fall back to wall-clock time otherwise.
import type { Gpu } from './device.ts';

export interface ProfileEntry { label: string; kernel: string; ms: number }

export class Profiler {
  private querySet: GPUQuerySet;
  private resolveBuf: GPUBuffer;
  private pending: { label: string; kernel: string }[] = [];
  private resolved: { label: string; kernel: string }[] = [];
  readonly capacity: number;

  constructor(readonly gpu: Gpu, capacity = 256) {
    if (!gpu.features.timestampQuery) {
      throw new Error(`timestamp profiling needs 'timestamp-query', which ${gpu.describe()} does not offer or failed its self-test`);
    }
    this.capacity = capacity;
    this.querySet = gpu.device.createQuerySet({ type: 'timestamp', count: capacity * 2 });
    this.resolveBuf = gpu.device.createBuffer({
      size: capacity * 16,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
  }

  /** Reserve a begin/end pair for one dispatch; undefined when full (that dispatch is not timed). */
  slot(label: string, kernel: string): GPUComputePassTimestampWrites | undefined {
    const i = this.resolved.length + this.pending.length;
    if (i >= this.capacity) return undefined;
    this.pending.push({ label, kernel });
    return { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  /** Called by a stage before it finishes its encoder. */
  resolve(encoder: GPUCommandEncoder): void {
    if (!this.pending.length) return;
    const first = this.resolved.length;
    encoder.resolveQuerySet(this.querySet, 2 * first, 2 * this.pending.length, this.resolveBuf, 16 * first);
    this.resolved.push(...this.pending);
    this.pending = [];
  }

  /** Read all timed dispatches so far and reset. */
  async read(): Promise<ProfileEntry[]> {
    const n = this.resolved.length;
    if (!n) return [];
    const dev = this.gpu.device;
    const staging = dev.createBuffer({ size: n * 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const enc = dev.createCommandEncoder();
    enc.copyBufferToBuffer(this.resolveBuf, 0, staging, 0, n * 16);
    dev.queue.submit([enc.finish()]);
    await this.gpu.guardLoss(staging.mapAsync(GPUMapMode.READ), 'reading timestamps');
    const t = new BigUint64Array(staging.getMappedRange().slice(0));
    staging.unmap();
    staging.destroy();
    const out = this.resolved.map((r, i) => ({ ...r, ms: Number(t[2 * i + 1] - t[2 * i]) / 1e6 }));
    this.resolved = [];
    return out;
  }

  destroy(): void {
    this.querySet.destroy();
    this.resolveBuf.destroy();
  }
}
