// Host tensors: a shape and row-major data on the CPU. The float64 references take and return HostTensor (float64,
// the same argument order as the GPU op of the same name); production code holds f32 host data the same way
// (HostTensor<Float32Array>: pixel_values, processor outputs).

export interface HostTensor<A extends Float64Array | Float32Array = Float64Array> {
  readonly shape: readonly number[];
  readonly data: A;
}

export function hostTensor(shape: readonly number[], data?: ArrayLike<number>): HostTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  if (data && data.length !== n) throw new Error(`host tensor [${shape.join(', ')}] needs ${n} values, got ${data.length}`);
  return { shape: [...shape], data: data ? Float64Array.from(data) : new Float64Array(n) };
}
