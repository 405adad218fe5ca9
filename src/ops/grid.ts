// Workgroup grids for 1D problems larger than the 65535-per-dimension limit.

/** A 2D grid covering `count` workgroups; `rowStride` (in invocations) = x-groups × workgroup size. */
export function grid1d(invocations: number, workgroupSize: number, maxPerDim = 65535): { workgroups: [number, number]; rowStride: number } {
  const groups = Math.max(1, Math.ceil(invocations / workgroupSize));
  const x = Math.min(groups, maxPerDim);
  const y = Math.ceil(groups / x);
  if (y > maxPerDim) throw new Error(`grid1d: ${invocations} invocations need ${groups} workgroups, over ${maxPerDim}²`);
  return { workgroups: [x, y], rowStride: x * workgroupSize };
}
