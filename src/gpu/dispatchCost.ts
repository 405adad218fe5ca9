// The work one recorded dispatch does, from its kernel key and label (the ops put their shapes in the label):
// matmul 2·m·n·k FLOP; attention 4·heads·d·(attended key pairs) FLOP (QKᵀ and PV); every other kernel is
// counted by bytes only: the embedding lookup by the rows it reads, the rest by the distinct storage buffers they
// bind (an upper bound of their traffic).

export interface DispatchCost {
  /** Op family: 'matmul', 'matmul gemv', 'attention', 'norm', 'rope', ... */
  family: string;
  /** Floating-point operations (multiply-add = 2); 0 where the family is not counted. */
  flops: number;
  /** Bytes read + written. */
  bytes: number;
  /** How `bytes` was found: from the shapes in the label, or the bound buffers' sizes. */
  bytesFrom: 'shapes' | 'bindings';
  /** True when the FLOP count is an upper bound (attention over segments or a block mask). */
  flopsUpperBound: boolean;
}

const W_BYTES: Record<string, number> = { f32: 4, f16: 2, bf16: 2 };

/** `a..b` row ranges that ops append to labels of chunked pieces. */
function rowRange(label: string, what: string): number | null {
  const m = label.match(new RegExp(`${what} rows (\\d+)\\.\\.(\\d+)`));
  return m ? Number(m[2]) - Number(m[1]) + 1 : null;
}

export function dispatchCost(kernel: string, label: string, boundBytes: number): DispatchCost {
  const shader = kernel.split(':')[0];
  const entry = kernel.split(':')[1]?.split('{')[0] ?? '';
  const byBindings = (family: string): DispatchCost => ({ family, flops: 0, bytes: boundBytes, bytesFrom: 'bindings', flopsUpperBound: false });
  if (shader === 'matmul') {
    const m = label.match(/m=(\d+) n=(\d+) k=(\d+) w=(\w+)/);
    const family = entry.startsWith('gemv') ? 'matmul gemv' : 'matmul';
    if (!m) return byBindings(family);
    const rows = rowRange(label, 'x/y') ?? Number(m[1]);
    const cols = rowRange(label, 'w') ?? Number(m[2]);
    const k = Number(m[3]), wb = W_BYTES[m[4]] ?? 4;
    return {
      family, flops: 2 * rows * cols * k, bytes: rows * k * 4 + cols * k * wb + rows * cols * 4 + (label.includes('+bias') ? cols * wb : 0),
      bytesFrom: 'shapes', flopsUpperBound: false,
    };
  }
  if (shader === 'attention') {
    const family = entry === 'main' ? 'attention' : `attention ${entry}`;
    const m = label.match(/q\[(\d+)×(\d+)×(\d+)\] kv\[(\d+)×(\d+)\/(\d+)\]/);
    if (!m || entry === 'combine') return byBindings(family);
    const [sQ, heads, d, nKv, kvLen] = m.slice(1, 6).map(Number);
    const causal = / causal/.test(label);
    // causal queries sit at the end of the cache: query i sees kvLen − sQ + i + 1 keys
    const pairs = causal ? sQ * (kvLen - sQ) + (sQ * (sQ + 1)) / 2 : sQ * kvLen;
    return {
      family, flops: 4 * heads * d * pairs, bytes: 2 * sQ * heads * d * 4 + 2 * nKv * kvLen * d * 4,
      bytesFrom: 'shapes', flopsUpperBound: / segments| blocked/.test(label),
    };
  }
  if (shader === 'embedding') {
    // a lookup reads only the ids' rows of the table, not the table it binds
    const m = label.match(/embedding (\d+) ids from \[(\d+)×(\d+)\] (\w+)/);
    if (m) {
      const n = Number(m[1]), h = Number(m[3]);
      return { family: 'embedding', flops: 0, bytes: n * 4 + n * h * ((W_BYTES[m[4]] ?? 4) + 4), bytesFrom: 'shapes', flopsUpperBound: false };
    }
  }
  return byBindings(shader === 'rows' ? 'copy rows' : shader.replaceAll('_', ' '));
}
