// A stage: one command encoder that collects the dispatches of one step of work (a layer, a forward),
// submitted once. Validation and out-of-memory errors raised while it was built are turned into
// exceptions naming the kernels and shapes it held. With a profiler, each dispatch gets timestamp writes.
import type { Gpu } from './device.ts';
import { GpuKernelError } from './errors.ts';
import { type Kernel, packUniform } from './kernel.ts';
import type { Profiler } from './profiler.ts';

export type BindingResource = GPUBuffer | { buffer: GPUBuffer; offset?: number; size?: number };

export interface Dispatch {
  /** Buffers by the variable names declared in the WGSL file. */
  bindings: Record<string, BindingResource>;
  /** Uniform struct fields by name. */
  uniforms?: Record<string, number | readonly number[]>;
  workgroups: readonly [number, number?, number?];
  /** What this dispatch computes, with shapes: shows up in errors and profiles. */
  label: string;
}

export class Stage {
  private encoder: GPUCommandEncoder;
  private pass: GPUComputePassEncoder | null = null;
  private uniforms: GPUBuffer[] = [];
  private labels: string[] = [];
  private cleanups: (() => void)[] = [];
  private submitted = false;

  /** The profiler given, else the one a caller installed on the device (`gpu.profiler`, e.g. `kvscope profile`). */
  readonly profiler: Profiler | null;

  constructor(readonly gpu: Gpu, readonly label: string, profiler: Profiler | null = null) {
    this.profiler = profiler ?? gpu.profiler;
    gpu.assertAlive(label);
    gpu.lastWork = `stage '${label}'`;
    this.encoder = this.scoped(() => gpu.device.createCommandEncoder({ label }));
  }

  /** Errors the device reported for this stage's calls, by scope (awaited at submit). */
  private pending: Promise<{ oom: string | null; validation: string | null }>[] = [];

  /**
   * Run device calls inside their own error scopes, popped before returning (also when `fn` throws): no scope ever
   * stays open across caller code, so a stage abandoned half-built cannot leak one into the next.
   */
  private scoped<T>(fn: () => T): T {
    const dev = this.gpu.device;
    dev.pushErrorScope('out-of-memory');
    dev.pushErrorScope('validation');
    try {
      return fn();
    } finally {
      const validation = dev.popErrorScope();
      const oom = dev.popErrorScope();
      this.pending.push(Promise.all([oom, validation]).then(([o, v]) => ({ oom: o?.message ?? null, validation: v?.message ?? null }), () => ({ oom: null, validation: null })));
    }
  }

  /**
   * Build a stage with `record`, then submit it. If `record` throws, the stage is dropped (its cleanups run, nothing
   * is submitted) and the error is rethrown.
   */
  static async run<T>(gpu: Gpu, label: string, record: (stage: Stage) => T, profiler: Profiler | null = null): Promise<T> {
    const stage = new Stage(gpu, label, profiler);
    let out: T;
    try {
      out = record(stage);
    } catch (e) {
      await stage.abandon();
      throw e;
    }
    await stage.submit();
    return out;
  }

  /** Drop an unsubmitted stage: run its cleanups, free its uniforms; nothing is submitted. */
  async abandon(): Promise<void> {
    if (this.submitted) return;
    this.submitted = true;
    this.scoped(() => this.pass?.end());
    this.pass = null;
    for (const fn of this.cleanups.splice(0)) fn();
    for (const u of this.uniforms.splice(0)) u.destroy();
    await Promise.all(this.pending.splice(0));
  }

  /** Commands recorded so far (dispatches, copies, clears). */
  get size(): number {
    return this.labels.length;
  }

  /** Record one dispatch of `kernel`. */
  dispatch(kernel: Kernel, d: Dispatch): void {
    if (this.submitted) throw new Error(`stage ${this.label} was already submitted`);
    const [x, y = 1, z = 1] = d.workgroups;
    const maxWg = this.gpu.limits.maxComputeWorkgroupsPerDimension;
    if (x > maxWg || y > maxWg || z > maxWg) {
      throw new Error(`${d.label}: grid ${x}×${y}×${z} exceeds ${maxWg} workgroups per dimension`);
    }
    if (x === 0 || y === 0 || z === 0) return; // empty problem: nothing to do
    if (kernel.built) this.pending.push(kernel.built.then((e) => ({ oom: null, validation: e })));
    this.scoped(() => this.record(kernel, d, x, y, z));
  }

  private record(kernel: Kernel, d: Dispatch, x: number, y: number, z: number): void {
    const entries: GPUBindGroupEntry[] = [];
    const bound = new Map<GPUBuffer, number>();
    for (const b of kernel.bindings) {
      if (b.kind === 'uniform') {
        const data = packUniform(kernel, d.uniforms ?? {});
        const ub = this.gpu.device.createBuffer({ size: data.byteLength, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label: `${d.label} uniforms` });
        this.gpu.device.queue.writeBuffer(ub, 0, data);
        this.uniforms.push(ub);
        entries.push({ binding: b.binding, resource: { buffer: ub } });
        continue;
      }
      const r = d.bindings[b.name];
      if (!r) throw new Error(`${d.label}: ${kernel.key} needs a buffer for '${b.name}', none given`);
      const res = 'buffer' in r && !(r instanceof GPUBuffer) ? r : { buffer: r as GPUBuffer };
      if (res.buffer !== this.gpu.dummyBuffer) bound.set(res.buffer, Math.max(bound.get(res.buffer) ?? 0, res.size ?? res.buffer.size - (res.offset ?? 0)));
      entries.push({ binding: b.binding, resource: res });
    }
    for (const name of Object.keys(d.bindings)) {
      if (!kernel.bindings.some((b) => b.name === name)) {
        throw new Error(`${d.label}: ${kernel.key} has no binding '${name}' (has ${kernel.bindings.map((b) => b.name).join(', ')})`);
      }
    }
    const group = this.gpu.device.createBindGroup({ layout: kernel.layout, entries, label: d.label });
    const boundBytes = [...bound.values()].reduce((a, n) => a + n, 0);
    const slot = this.profiler?.slot(d.label, kernel.key, { stage: this.label, boundBytes, workgroups: [x, y, z] });
    if (slot !== undefined || !this.pass) {
      this.endPass();
      this.pass = this.encoder.beginComputePass(slot !== undefined ? { label: d.label, timestampWrites: slot } : { label: this.label });
    }
    this.pass.setPipeline(kernel.pipeline);
    this.pass.setBindGroup(0, group);
    this.pass.dispatchWorkgroups(x, y, z);
    this.gpu.stats.dispatches++;
    this.gpu.stats.byStage?.set(this.label, (this.gpu.stats.byStage.get(this.label) ?? 0) + 1);
    this.labels.push(d.label);
    if (slot !== undefined) this.endPass();
  }

  /**
   * Run `fn` once the stage is submitted: for temporaries (split-K partials, ...). Releasing a buffer to the pool
   * right after submit is safe — WebGPU executes submissions in order, so later work that reuses it runs after.
   */
  onDone(fn: () => void): void {
    this.cleanups.push(fn);
  }

  /** Copy bytes between buffers (ends the current compute pass). */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number): void {
    this.scoped(() => {
      this.endPass();
      this.encoder.copyBufferToBuffer(src, srcOffset, dst, dstOffset, size);
    });
    this.labels.push(`copy ${src.label} -> ${dst.label} (${size} B)`);
  }

  /** Zero a whole buffer (ends the current compute pass). */
  clear(buffer: GPUBuffer): void {
    this.scoped(() => {
      this.endPass();
      this.encoder.clearBuffer(buffer);
    });
    this.labels.push(`clear ${buffer.label}`);
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  /** Submit the stage; rejects with a GpuKernelError naming the dispatches if WebGPU reported an error. */
  async submit(): Promise<void> {
    if (this.submitted) throw new Error(`stage ${this.label} was already submitted`);
    this.submitted = true;
    const dev = this.gpu.device;
    const submitMs = performance.now();
    this.scoped(() => {
      this.endPass();
      this.profiler?.resolve(this.encoder);
      dev.queue.submit([this.encoder.finish()]);
    });
    for (const fn of this.cleanups.splice(0)) fn();
    const errors = await Promise.all(this.pending.splice(0));
    const validation = errors.find((e) => e.validation)?.validation ?? null;
    const oom = errors.find((e) => e.oom)?.oom ?? null;
    const uniforms = this.uniforms;
    this.uniforms = [];
    dev.queue.onSubmittedWorkDone().then(() => uniforms.forEach((u) => u.destroy()), () => {});
    const held = this.labels.length > 6 ? [...this.labels.slice(0, 6), `… ${this.labels.length - 6} more`] : this.labels;
    const where = `stage '${this.label}' [${held.join('; ')}]`;
    if (oom !== null) throw new GpuKernelError('out-of-memory', where, oom);
    if (validation !== null) throw new GpuKernelError('validation', where, validation);
    this.gpu.assertAlive(this.label);
    await this.profiler?.submitted(this.label, submitMs);
  }
}
