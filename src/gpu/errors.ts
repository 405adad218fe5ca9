// Errors the GPU runtime raises. Each says what was expected, what was found and where.

/** A validation or out-of-memory error reported by WebGPU for a stage, with the kernels it held. */
export class GpuKernelError extends Error {
  constructor(
    readonly kind: 'validation' | 'out-of-memory' | 'internal',
    readonly where: string,
    detail: string,
  ) {
    super(`GPU ${kind} error in ${where}: ${detail}`);
    this.name = 'GpuKernelError';
  }
}

/** The device was lost; every later call fails with this. */
export class GpuDeviceLostError extends Error {
  constructor(readonly reason: string, readonly where: string) {
    super(`GPU device lost (${reason}) — ${where} cannot run; acquire a new device`);
    this.name = 'GpuDeviceLostError';
  }
}

/** Bad arguments to an op (shapes, dtypes, sizes): thrown before anything is dispatched. */
export class OpArgumentError extends Error {
  constructor(op: string, detail: string) {
    super(`${op}: ${detail}`);
    this.name = 'OpArgumentError';
  }
}
