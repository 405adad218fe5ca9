// Top-k per row of a score matrix (shaders/probe/top_k.wgsl) and cosine nearest neighbours of query features
// among key features built on it: only the k indices and scores per query ever need to leave the GPU.
import { OpArgumentError } from '../gpu/errors.ts';
import type { Stage } from '../gpu/stage.ts';
import { Tensor } from '../gpu/tensor.ts';
import { expectDType, expectRank } from '../ops/check.ts';
import { grid1d } from '../ops/grid.ts';
import { matmul } from '../ops/matmul.ts';
import { asRows, expectRowMask, l2Normalize } from './similarity.ts';

/** Index of an empty top-k slot (fewer than k candidates). */
export const NO_NEIGHBOUR = 0xffffffff;
export const MAX_TOP_K = 32;

export interface TopK {
  /** [rows, k] column indices, best first; NO_NEIGHBOUR in empty slots. */
  indices: Tensor<'u32'>;
  /** [rows, k] their scores; −∞ in empty slots. */
  scores: Tensor<'f32'>;
  dispose(): void;
}

/**
 * The k largest entries of each row of scores [rows, m] (ties to the lower column). Columns with keyMask 0, NaN and
 * −∞ scores are never chosen.
 */
export async function topK(stage: Stage, scores: Tensor<'f32'>, k: number, opts: { keyMask?: Tensor<'u32'> } = {}): Promise<TopK> {
  const op = 'topK';
  expectDType(op, 'scores', scores, ['f32']);
  expectRank(op, 'scores', scores, [2]);
  const [rows, m] = scores.shape;
  if (!Number.isInteger(k) || k < 1 || k > MAX_TOP_K) throw new OpArgumentError(op, `k must be an integer in 1..${MAX_TOP_K}, got ${k}`);
  expectRowMask(op, 'keyMask', opts.keyMask, m, `scores (${scores.label}) columns: it`);
  const indices = Tensor.empty(stage.gpu, 'u32', [rows, k], `topK indices(${scores.label})`);
  const values = Tensor.empty(stage.gpu, 'f32', [rows, k], `topK scores(${scores.label})`);
  const { workgroups, rowStride } = grid1d(rows, 1, stage.gpu.limits.maxComputeWorkgroupsPerDimension);
  stage.dispatch(stage.gpu.kernels.get('probe/top_k'), {
    label: `topK k=${k} over [${rows}×${m}]${opts.keyMask ? ' masked' : ''}`,
    bindings: { scores: scores.buffer(op), key_mask: opts.keyMask?.buffer(op) ?? stage.gpu.dummyBuffer, out_index: indices.buffer(op), out_score: values.buffer(op) },
    uniforms: { rows, m, k, has_mask: opts.keyMask ? 1 : 0, row_stride: rowStride },
    workgroups,
  });
  return { indices, scores: values, dispose: () => { indices.dispose(); values.dispose(); } };
}

export interface NearestNeighbourOptions {
  /** 'cosine' (default: rows L2-normalised) or 'dot' (raw inner products). */
  metric?: 'cosine' | 'dot';
  /** u32 per key row; 0 = never a neighbour. */
  keyMask?: Tensor<'u32'>;
}

/** The k nearest keys (rows of keys [..., d]) of every query row (query [..., d]), by cosine or dot product. */
export async function nearestNeighbours(stage: Stage, query: Tensor<'f32'>, keys: Tensor<'f32'>, k: number, opts: NearestNeighbourOptions = {}): Promise<TopK> {
  const op = 'nearestNeighbours';
  expectDType(op, 'query', query, ['f32']);
  expectDType(op, 'keys', keys, ['f32']);
  if (query.rowLength !== keys.rowLength) throw new OpArgumentError(op, `query (${query.label}) rows have ${query.rowLength} features, keys (${keys.label}) ${keys.rowLength}`);
  if (k > keys.rows) throw new OpArgumentError(op, `k = ${k} exceeds the ${keys.rows} key rows of ${keys.label}`);
  expectRowMask(op, 'keyMask', opts.keyMask, keys.rows, `keys (${keys.label})`);
  const cosine = (opts.metric ?? 'cosine') === 'cosine';
  const q = cosine ? await l2Normalize(stage, query) : query;
  const kk = cosine ? await l2Normalize(stage, keys) : keys;
  const sim = await matmul(stage, asRows(q), asRows(kk));
  const top = await topK(stage, sim, k, { keyMask: opts.keyMask });
  stage.onDone(() => {
    sim.dispose();
    if (cosine) { q.dispose(); kk.dispose(); }
  });
  return top;
}
