// The machine's native CPU f32 matmul rate (numpy/OpenBLAS when python3 has numpy), printed as the ceiling a
// software WebGPU adapter runs under. Returns null, with the reason, where no quick way exists (a browser).

export interface CpuCeiling { gflops: number; how: string }

type DenoCommand = new (cmd: string, o: { args: string[]; stdout: 'piped'; stderr: 'piped' }) => { output(): Promise<{ success: boolean; stdout: Uint8Array }> };

export async function cpuMatmulCeiling(n = 1024): Promise<CpuCeiling | { gflops: null; how: string }> {
  const Command = (globalThis as { Deno?: { Command: DenoCommand } }).Deno?.Command;
  if (!Command) return { gflops: null, how: 'not measured here (no subprocesses outside Deno)' };
  const script = [
    'import numpy as np, time',
    `n=${n}`,
    'a=np.random.rand(n,n).astype(np.float32); b=np.random.rand(n,n).astype(np.float32)',
    'a@b',
    'ts=[]',
    'for _ in range(7):',
    '  t=time.perf_counter(); a@b; ts.append(time.perf_counter()-t)',
    'ts.sort(); print(2*n**3/ts[len(ts)//2]/1e9)',
  ].join('\n');
  try {
    const out = await new Command('python3', { args: ['-c', script], stdout: 'piped', stderr: 'piped' }).output();
    if (!out.success) return { gflops: null, how: 'python3 has no numpy: CPU ceiling not measured' };
    const g = Number(new TextDecoder().decode(out.stdout).trim());
    return Number.isFinite(g) ? { gflops: g, how: `numpy (BLAS) f32 ${n}³ on the CPU, all cores` } : { gflops: null, how: 'numpy gave no number' };
  } catch {
    return { gflops: null, how: 'no python3: CPU ceiling not measured' };
  }
}
