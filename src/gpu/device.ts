// Device acquisition (Deno and browser): the adapter's maximum limits, optional features requested when
// present and kept only if they pass a numeric self-test, device-loss tracking.
import { GpuDeviceLostError } from './errors.ts';
import { KernelRegistry } from './kernel.ts';
import { BufferPool } from './pool.ts';
import type { Profiler } from './profiler.ts';
import { SHADER_FEATURES, SHADERS } from './shaderList.ts';
import { runSelfTests, type SelfTestResult } from './selfTest.ts';

/** Limits requested at their adapter maximum. */
const LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxUniformBufferBindingSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxBindGroups',
] as const;

type LimitName = typeof LIMITS[number];

export interface GpuFeatures {
  /** `shader-f16` offered and its self-test passed. */
  shaderF16: boolean;
  /** `timestamp-query` offered and its self-test passed. */
  timestampQuery: boolean;
  /** `subgroups` offered and its self-test passed. */
  subgroups: boolean;
}

export interface AcquireOptions {
  /** Cap the storage binding size used for tensor chunks (tests force tiny chunks with this). */
  maxBindingBytes?: number;
  /** Skip requesting optional features (to run the portable path on any adapter). */
  noOptionalFeatures?: boolean;
  powerPreference?: GPUPowerPreference;
}

export class Gpu {
  readonly pool: BufferPool;
  readonly kernels: KernelRegistry;
  /** Fill every new tensor with NaN bits so a kernel that leaves outputs unwritten is caught. */
  poisonNewTensors = false;
  /** Storage binding size used for chunking tensors (≤ the device's limit). */
  maxBindingBytes: number;
  selfTests: SelfTestResult[] = [];
  /**
   * Counters since acquisition (reset freely): compute dispatches recorded by every Stage; and, while `byStage` is
   * set to a map, the same count per stage label (`decoder layer 3`, `qwen vision block 0`, ...).
   */
  readonly stats: { dispatches: number; byStage: Map<string, number> | null } = { dispatches: 0, byStage: null };
  features: GpuFeatures = { shaderF16: false, timestampQuery: false, subgroups: false };
  /** When set, every Stage built without its own profiler records into this one (`kvscope profile`). */
  profiler: Profiler | null = null;
  private lostReason: string | null = null;

  constructor(
    readonly adapter: GPUAdapter,
    readonly device: GPUDevice,
    readonly info: { vendor: string; architecture: string; device: string; description: string },
    readonly runtime: 'deno' | 'browser',
  ) {
    this.pool = new BufferPool(device);
    this.kernels = new KernelRegistry(device);
    this.maxBindingBytes = device.limits.maxStorageBufferBindingSize;
    device.lost.then((i) => {
      this.lostReason = `${i.reason ?? 'unknown'}: ${i.message}`;
    });
  }

  private dummy: GPUBuffer | null = null;

  /** A small storage buffer bound where a kernel's optional input (a bias, a mask) is absent. */
  get dummyBuffer(): GPUBuffer {
    return this.dummy ??= this.device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE, label: 'absent input' });
  }

  get limits(): Record<LimitName, number> {
    const out = {} as Record<LimitName, number>;
    for (const k of LIMITS) out[k] = Number((this.device.limits as unknown as Record<string, number>)[k]);
    return out;
  }

  get lost(): boolean {
    return this.lostReason !== null;
  }

  /** Throw GpuDeviceLostError if the device is gone. */
  assertAlive(where: string): void {
    if (this.lostReason !== null) throw new GpuDeviceLostError(`${this.lostReason}; last work recorded: ${this.lastWork}`, where);
  }

  /** The last stage recorded: named in device-loss errors, since work is recorded without waiting on the GPU. */
  lastWork = 'no stage yet';

  /**
   * Await a GPU promise, failing clearly if the device is lost while waiting. A map or readback that fails just
   * after a loss (the lost promise settles a moment later) is a GpuDeviceLostError too, not a bare OperationError.
   */
  async guardLoss<T>(p: Promise<T>, where: string): Promise<T> {
    const why = (i: GPUDeviceLostInfo) => `${i.reason ?? 'unknown'}: ${i.message}; last work recorded: ${this.lastWork}`;
    const lost = this.device.lost.then((i) => {
      throw new GpuDeviceLostError(why(i), where);
    });
    try {
      return await Promise.race([p, lost]);
    } catch (e) {
      if (e instanceof GpuDeviceLostError) throw e;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const reason = await Promise.race([
        this.device.lost.then(why),
        new Promise<null>((r) => (timer = setTimeout(() => r(null), 250))),
      ]);
      clearTimeout(timer);
      if (reason !== null) throw new GpuDeviceLostError(reason, where);
      throw e;
    }
  }

  /** One line naming the adapter. */
  describe(): string {
    const i = this.info;
    const parts = [i.description || i.device || 'unknown adapter', i.vendor && `vendor ${i.vendor}`, i.architecture && `arch ${i.architecture}`];
    return `${parts.filter(Boolean).join(', ')} (${this.runtime})`;
  }

  destroy(): void {
    this.pool.trim();
    this.device.destroy();
  }
}

function runtimeName(): 'deno' | 'browser' {
  return typeof (globalThis as { Deno?: unknown }).Deno !== 'undefined' ? 'deno' : 'browser';
}

/** Acquire the default adapter with maximum limits and self-tested optional features. */
export async function acquireGpu(opts: AcquireOptions = {}): Promise<Gpu> {
  const gpuApi = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpuApi) {
    throw new Error(runtimeName() === 'deno'
      ? 'WebGPU is not available: run Deno with --unstable-webgpu (kvscope\'s launcher does this)'
      : 'WebGPU is not available in this browser (Chromium needs --enable-unsafe-webgpu on Linux)');
  }
  const adapter = await gpuApi.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
  if (!adapter) {
    throw new Error('no WebGPU adapter found: on Debian install mesa-vulkan-drivers (llvmpipe) or a GPU driver; `npx kvscope doctor` explains');
  }
  const requiredLimits: Record<string, number> = {};
  for (const k of LIMITS) {
    const v = (adapter.limits as unknown as Record<string, number>)[k];
    if (typeof v === 'number') requiredLimits[k] = v;
  }
  const wanted: GPUFeatureName[] = opts.noOptionalFeatures ? [] : (['shader-f16', 'timestamp-query', 'subgroups'] as GPUFeatureName[]);
  const requiredFeatures = wanted.filter((f) => adapter.features.has(f));
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures, label: 'kvscope' });
  const ai = adapter.info ?? { vendor: '', architecture: '', device: '', description: '' };
  const gpu = new Gpu(adapter, device, {
    vendor: ai.vendor ?? '',
    architecture: ai.architecture ?? '',
    device: ai.device ?? '',
    description: ai.description ?? '',
  }, runtimeName());
  if (opts.maxBindingBytes !== undefined) {
    gpu.maxBindingBytes = Math.min(gpu.maxBindingBytes, Math.max(16, Math.floor(opts.maxBindingBytes / 4) * 4));
  }
  // every kernel compiled up front (the feature self-test shaders only where the device has the feature)
  const optional = SHADER_FEATURES as Record<string, GPUFeatureName>;
  await gpu.kernels.load(SHADERS.filter((s) => !optional[s] || requiredFeatures.includes(optional[s])));
  gpu.selfTests = await runSelfTests(gpu, requiredFeatures);
  for (const t of gpu.selfTests) {
    if (t.feature === 'shader-f16') gpu.features.shaderF16 = t.passed;
    if (t.feature === 'timestamp-query') gpu.features.timestampQuery = t.passed;
    if (t.feature === 'subgroups') gpu.features.subgroups = t.passed;
  }
  return gpu;
}
