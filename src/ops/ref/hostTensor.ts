// Host tensors for the float64 CPU references: a shape and row-major float64 data.
// References take and return these, with the same argument order as the GPU op of the same name.

export interface HostTensor {
  readonly shape: readonly number[];
  readonly data: Float64Array;
}

export function hostTensor(shape: readonly number[], data?: ArrayLike<number>): HostTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  if (data && data.length !== n) throw new Error(`host tensor [${shape.join(', ')}] needs ${n} values, got ${data.length}`);
  return { shape: [...shape], data: data ? Float64Array.from(data) : new Float64Array(n) };
}
