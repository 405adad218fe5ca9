// The explorer's queries (src/analysis/explorerMaps.ts) on the GPU against float64 host math: similarityRow between
// two feature maps of awkward grids (7×5 and 3×11, dims 37 and 1, cells without a token) equals the host cosine
// within 1e-5 and gives 0 on empty cells; the clicked cell against itself is 1; bestMatch skips empty cells and takes
// the first of ties; scoreRange leaves the clicked cell out; rethreshold is the strict `>` rule; tap choices name
// the right taps and forward taps; bad input (empty or off-grid cell, dim mismatch) is a clear error.
import { bestMatch, choiceTapName, forwardTapsFor, rethreshold, scoreRange, similarityRow } from '../../src/analysis/explorerMaps.ts';
import type { FeatureMap } from '../../src/capture/features.ts';
import type { AgnosticKeys } from '../../src/capture/interventions.ts';
import { acquireGpu } from '../../src/gpu/device.ts';
import { Tensor } from '../../src/gpu/tensor.ts';
import { Rng } from '../ops/opCase.ts';
import { assert, assertEquals, assertRejects, assertThrows } from '../gpu/assert.ts';

const gpu = await acquireGpu();
gpu.poisonNewTensors = true;
const opts = { sanitizeResources: false, sanitizeOps: false };
const TOL = 1e-5;

/** A random feature map: every `holeEvery`-th cell holds no token (zero features, NaN rect). */
function randomMap(rng: Rng, rows: number, cols: number, dim: number, holeEvery: number, offset = 0): { fm: FeatureMap; host: Float32Array } {
  const n = rows * cols;
  const host = new Float32Array(n * dim);
  const valid = new Uint8Array(n);
  const rects = new Float32Array(n * 4).fill(NaN);
  for (let c = 0; c < n; c++) {
    if ((c + 1) % holeEvery === 0) continue;
    valid[c] = 1;
    rects.set([c % cols, Math.floor(c / cols), c % cols + 1, Math.floor(c / cols) + 1], c * 4);
    for (let k = 0; k < dim; k++) host[c * dim + k] = offset + rng.uniform(-1, 1) * (1 + (c % 3));
  }
  const features = Tensor.from(gpu, 'f32', [rows, cols, dim], host, `map ${rows}×${cols}×${dim}`);
  const fm: FeatureMap = {
    tap: `test ${rows}×${cols}`, image: 0, grid: 'main', rows, cols, dim, features, valid, rects, imageSize: { height: rows, width: cols },
    dispose: () => features.dispose(),
  };
  return { fm, host };
}

function hostCos(src: Float32Array, c: number, dst: Float32Array, validDst: Uint8Array, dim: number): number[] {
  const norm = (f: Float32Array, i: number) => Math.max(Math.hypot(...f.subarray(i * dim, (i + 1) * dim)), 1e-12);
  return [...validDst].map((v, j) => {
    if (!v) return 0;
    let dot = 0;
    for (let k = 0; k < dim; k++) dot += src[c * dim + k] * dst[j * dim + k];
    return dot / (norm(src, c) * norm(dst, j));
  });
}

Deno.test({ name: 'similarityRow: equals the float64 host cosine on awkward grids, 0 on empty cells, 1 on itself', ...opts, fn: async () => {
  const rng = new Rng(7);
  for (const [dim, offset] of [[37, 0], [1, 0], [37, 0.8]] as const) {
    const a = randomMap(rng, 7, 5, dim, 4, offset), b = randomMap(rng, 3, 11, dim, 5, offset);
    try {
      for (const c of [0, 17, 34]) {
        if (!a.fm.valid[c]) continue;
        const self = await similarityRow(a.fm, c, a.fm), cross = await similarityRow(a.fm, c, b.fm);
        assertEquals(self.length, 35, 'self row length');
        assertEquals(cross.length, 33, 'cross row length');
        const wantSelf = hostCos(a.host, c, a.host, a.fm.valid, dim), wantCross = hostCos(a.host, c, b.host, b.fm.valid, dim);
        const err = Math.max(...wantSelf.map((w, i) => Math.abs(w - self[i])), ...wantCross.map((w, i) => Math.abs(w - cross[i])));
        assert(err <= TOL, `dim ${dim} offset ${offset} cell ${c}: max abs err ${err}`);
        assert(Math.abs(self[c] - 1) <= TOL, `self ${self[c]}`);
        assert([...cross].every((v, i) => b.fm.valid[i] || v === 0), 'empty cells give 0');
        // the best match is a host maximum (within TOL), and the host argmax where the runner-up is further than 2·TOL
        const host = wantCross.map((w, i) => (b.fm.valid[i] ? w : -Infinity));
        const best = bestMatch(cross, b.fm.valid), top = Math.max(...host);
        assert(b.fm.valid[best] === 1 && host[best] >= top - TOL, `best match dim ${dim} cell ${c}: ${best} scores ${host[best]}, max ${top}`);
        const runnerUp = Math.max(...host.filter((_, i) => i !== host.indexOf(top)));
        if (top - runnerUp > 2 * TOL) assertEquals(best, host.indexOf(top), `best match dim ${dim} cell ${c}`);
      }
    } finally {
      a.fm.dispose();
      b.fm.dispose();
    }
  }
} });

Deno.test({ name: 'similarityRow: empty or off-grid cells and dim mismatches are clear errors', ...opts, fn: async () => {
  const rng = new Rng(8);
  const a = randomMap(rng, 3, 4, 6, 3), b = randomMap(rng, 3, 4, 5, 3);
  try {
    await assertRejects(() => similarityRow(a.fm, 2, a.fm), /cell 2 of test 3×4 holds no token/, 'empty cell');
    await assertRejects(() => similarityRow(a.fm, 12, a.fm), /cell 12 is not on the 3×4 grid/, 'off-grid cell');
    await assertRejects(() => similarityRow(a.fm, 0, b.fm), /6 features per cell, test 3×4 5/, 'dim mismatch');
  } finally {
    a.fm.dispose();
    b.fm.dispose();
  }
} });

Deno.test('bestMatch, scoreRange: empty cells skipped, first of ties, clicked cell left out', () => {
  const scores = [0.9, 0.2, 0.9, 0.95, -0.5], valid = [1, 1, 1, 0, 1];
  assertEquals(bestMatch(scores, valid), 0, 'first of ties, the empty cell 3 skipped');
  assertEquals(bestMatch(scores, [0, 0, 0, 0, 0]), -1, 'no valid cell');
  assertEquals(scoreRange(scores, valid, 0), { lo: -0.5, hi: 0.9 }, 'range without cell 0');
  assertEquals(scoreRange([1, 0.3, 0.1], [1, 1, 1], 0), { lo: 0.1, hi: 0.3 }, 'clicked cell out');
});

Deno.test('rethreshold: strict > on the stored similarities, every layer', () => {
  const ag: AgnosticKeys = {
    cells: new Map([[0, []], [2, []]]), similarity: new Map([[0, Float32Array.of(0.5, 0.7, 0.9)], [2, Float32Array.of(0.7, 0.1, 0.71)]]),
    grid: { rows: 1, cols: 3, choice: 'main' }, threshold: 0.95, images: 3,
  };
  const r = rethreshold(ag, 0.7);
  assertEquals([...r.cells], [[0, [2]], [2, [2]]], 'cells above 0.7');
  assertEquals(r.threshold, 0.7, 'threshold');
  assertEquals(ag.threshold, 0.95, 'input untouched');
  assertThrows(() => rethreshold(ag, NaN), /threshold must be a number/, 'NaN threshold');
});

Deno.test('tap choices: canonical names and the taps a forward must keep', () => {
  assertEquals(choiceTapName({ tap: 'lm.value', layer: 3, head: 1 }), 'lm.layers.3.attn.v', 'value');
  assertEquals(choiceTapName({ tap: 'lm.key_pre_rope', layer: 2, head: null }), 'lm.layers.2.attn.k_pre_rope', 'pre-RoPE');
  assertEquals(choiceTapName({ tap: 'projector', layer: 5, head: null }), 'projector.out', 'projector ignores the layer');
  assertEquals(forwardTapsFor({ tap: 'lm.key', layer: 1, head: null }), [], 'cache taps need nothing kept');
  assertEquals(forwardTapsFor({ tap: 'lm.hidden', layer: 1, head: null }), ['lm.layers.1.out'], 'hidden is kept');
  assertEquals(forwardTapsFor({ tap: 'vision', layer: 0, head: null }), ['vision.out'], 'vision is kept');
});
