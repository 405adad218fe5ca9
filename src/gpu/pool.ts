// Buffer pool: storage buffers are reused by exact byte size, so a forward that allocates the same
// activations every step creates no new GPU buffers after the first.

const USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

export class BufferPool {
  private free = new Map<number, GPUBuffer[]>();
  /** Bytes currently handed out to live tensors. */
  liveBytes = 0;
  /** The high-water mark of liveBytes. */
  peakBytes = 0;
  /** Bytes of every buffer the pool has created and not destroyed: live ones and free ones kept for reuse. */
  heldBytes = 0;
  /** The high-water mark of heldBytes (what the device actually holds for tensors). */
  peakHeldBytes = 0;

  constructor(private device: GPUDevice) {}

  acquire(size: number, label: string): GPUBuffer {
    const bytes = Math.max(4, Math.ceil(size / 4) * 4);
    const list = this.free.get(bytes);
    let buf = list?.pop();
    if (!buf) {
      buf = this.device.createBuffer({ size: bytes, usage: USAGE, label });
      this.heldBytes += bytes;
      this.peakHeldBytes = Math.max(this.peakHeldBytes, this.heldBytes);
    }
    this.liveBytes += bytes;
    this.peakBytes = Math.max(this.peakBytes, this.liveBytes);
    return buf;
  }

  release(buf: GPUBuffer): void {
    this.liveBytes -= buf.size;
    let list = this.free.get(buf.size);
    if (!list) this.free.set(buf.size, list = []);
    list.push(buf);
  }

  /** Start a new high-water mark from the bytes live now (benchmarks: peak of one phase). */
  resetPeak(): void {
    this.peakBytes = this.liveBytes;
    this.peakHeldBytes = this.heldBytes;
  }

  /** Destroy every pooled (unused) buffer. */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) (this.heldBytes -= b.size, b.destroy());
    this.free.clear();
  }
}
