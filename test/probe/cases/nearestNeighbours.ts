// Cases for `topK` (shaders/probe/top_k.wgsl) and `nearestNeighbours`: 130 keys, k = 5 and k = 32, tied scores
// (ties go to the lower column), −∞/NaN scores and masked keys (never chosen), fewer candidates than k (empty slots).
import { Stage } from '../../../src/gpu/stage.ts';
import { Tensor } from '../../../src/gpu/tensor.ts';
import { hostTensor } from '../../../src/gpu/hostTensor.ts';
import { nearestNeighbours, topK } from '../../../src/probe/nearestNeighbours.ts';
import { nearestNeighbours as nnRef, topK as topKRef } from '../../../src/probe/ref/nearestNeighbours.ts';
import type { OpCase, Rng } from '../../ops/opCase.ts';

interface TopKCase { rows: number; m: number; k: number; levels?: number; masked?: boolean; sparse?: boolean }

const topKList: TopKCase[] = [
  { rows: 63, m: 130, k: 5, levels: 7, masked: true }, // heavy ties
  { rows: 7, m: 130, k: 32 },
  { rows: 9, m: 40, k: 32, sparse: true, masked: true }, // most columns −∞ / NaN / masked: empty slots
  { rows: 1, m: 1, k: 1 },
];

function topKScores(rng: Rng, c: TopKCase): number[] {
  return Array.from({ length: c.rows * c.m }, () => {
    if (c.sparse && rng.next() < 0.7) return rng.next() < 0.5 ? -Infinity : NaN;
    return c.levels ? rng.int(0, c.levels) * 0.25 : Math.fround(rng.normal());
  });
}

const topKCases: OpCase[] = topKList.map((c) => ({
  op: 'topK',
  name: `topK [${c.rows}×${c.m}] k=${c.k}${c.levels ? ` ${c.levels} tied levels` : ''}${c.masked ? ' masked' : ''}${c.sparse ? ' −∞/NaN' : ''}`,
  tol: { atol: 0, rtol: 0 }, // selection only: indices and scores exact
  async run(gpu, rng) {
    const sv = topKScores(rng, c);
    const mv = c.masked ? Array.from({ length: c.m }, () => (rng.next() < 0.25 ? 0 : 1)) : undefined;
    const s = Tensor.from(gpu, 'f32', [c.rows, c.m], sv, 'scores');
    const m = mv ? Tensor.from(gpu, 'u32', [c.m], mv, 'key mask') : undefined;
    const stage = new Stage(gpu, 'test topK');
    const top = await topK(stage, s, c.k, { keyMask: m });
    await stage.submit();
    const got = [...await top.indices.read(), ...await top.scores.read()];
    top.dispose(); s.dispose(); m?.dispose();
    const want = topKRef(hostTensor([c.rows, c.m], sv), c.k, { keyMask: mv });
    return { got, want: [...want.indices, ...want.scores] };
  },
}));

const nnCases: OpCase[] = ([[[7, 9, 33], [130, 33], 5, 'cosine'], [[10, 33], [13, 10, 33], 5, 'dot'], [[4, 16], [40, 16], 32, 'cosine']] as [number[], number[], number, 'cosine' | 'dot'][]).map(([qs, ks, k, metric]) => ({
  op: 'nearestNeighbours',
  name: `nearestNeighbours q[${qs.join('×')}] keys[${ks.join('×')}] k=${k} ${metric}, keys masked`,
  // indices exact (random features: no near-ties at f32 resolution); scores: an f32 dot of d terms
  tol: { atol: 1e-5, rtol: 1e-5 },
  async run(gpu, rng) {
    const qv = rng.normals(qs.reduce((a, b) => a * b, 1)).map(Math.fround);
    const kv = rng.normals(ks.reduce((a, b) => a * b, 1)).map(Math.fround);
    const nk = kv.length / ks[ks.length - 1];
    const mv = Array.from({ length: nk }, () => (rng.next() < 0.2 ? 0 : 1));
    const q = Tensor.from(gpu, 'f32', qs, qv, 'query'), keys = Tensor.from(gpu, 'f32', ks, kv, 'keys');
    const m = Tensor.from(gpu, 'u32', [nk], mv, 'key mask');
    const stage = new Stage(gpu, 'test nearestNeighbours');
    const top = await nearestNeighbours(stage, q, keys, k, { metric, keyMask: m });
    await stage.submit();
    const got = [...await top.indices.read(), ...await top.scores.read()];
    top.dispose(); q.dispose(); keys.dispose(); m.dispose();
    const want = nnRef(hostTensor(qs, qv), hostTensor(ks, kv), k, { metric, keyMask: mv });
    return { got, want: [...want.indices, ...want.scores] };
  },
}));

export const cases: OpCase[] = [...topKCases, ...nnCases];
