// Generation under an attention-blocking spec: each decoded token is blocked from the same keys as the prefill's
// last query, so greedy decoding from a blocked prefill equals one blocked forward over prompt + generated tokens.
import { acquireGpu } from '../../src/gpu/device.ts';
import type { RgbImage } from '../../src/io/rgbImage.ts';
import { type AttentionBlockSpec, decodeBlock } from '../../src/capture/interventions.ts';
import { loadModel } from '../../src/models/registry.ts';
import { writeTinyQwen2_5_vl } from '../../src/models/tiny/tinyQwen2_5_vl.ts';
import { assert, assertEquals } from '../gpu/assert.ts';

const gpu = await acquireGpu();
const dir = await Deno.makeTempDir({ prefix: 'kvscope-generate-block-' });
await writeTinyQwen2_5_vl(dir, { seed: 11 });
const image: RgbImage = { width: 84, height: 56, data: Uint8Array.from({ length: 84 * 56 * 3 }, (_, i) => (i * 37 + (i >> 5) * 11) & 255) };

Deno.test('decodeBlock keeps the rules that reach the last prefill query, as query 0 of a step', () => {
  const spec: AttentionBlockSpec = { layers: [1], rules: [{ queries: [3, 10], keys: [[4, 6]] }, { queries: [0, 5], keys: [[1, 2]] }] };
  assertEquals(decodeBlock(spec, 10), { layers: [1], rules: [{ queries: [0, 1], keys: [[4, 6]] }] }, 'kept rules');
  assertEquals(decodeBlock(spec, 12), undefined, 'no rule reaches position 11');
  assertEquals(decodeBlock(null, 1), undefined, 'no block');
});

Deno.test({ name: 'greedy decoding under a block equals a blocked forward of the whole sequence (Qwen2.5-VL, M-RoPE)', sanitizeResources: false, sanitizeOps: false, async fn() {
  const model = await loadModel(gpu, dir);
  const prepared = await model.prepare({ images: [image], prompt: 'Describe it.' });
  const plain = await model.forward(prepared.inputs, { logits: 'last', capacity: prepared.inputs.inputIds.length + 16 });
  const span = plain.spans.images[0];
  const s = prepared.inputs.inputIds.length;
  // every query after the image may not see anything up to the image's end (system prompt and image), in all layers
  const keys: [number, number][] = [[0, span.start + span.length]];
  const layers = 'all' as const;
  const blocked = await model.forward(prepared.inputs, { logits: 'last', capacity: s + 16, block: { layers, rules: [{ queries: [span.start + span.length, s], keys }] } });
  const tokens = await model.generate(blocked, 5);
  assert(tokens.length >= 2, `generated ${tokens.length} tokens`);
  // the same sequence in one forward: the rule now reaches the generated tokens too
  const ids = [...prepared.inputs.inputIds, ...tokens.slice(0, -1)];
  const whole = await model.forward({ ...prepared.inputs, inputIds: ids }, { logits: 'all', block: { layers, rules: [{ queries: [span.start + span.length, ids.length], keys }] } });
  const logits = (await whole.logits.read()) as Float32Array;
  const vocab = whole.logits.rowLength;
  const argmaxAt = (row: number) => {
    let best = 0;
    for (let v = 1; v < vocab; v++) if (logits[row * vocab + v] > logits[row * vocab + best]) best = v;
    return best;
  };
  const want = tokens.map((_, i) => argmaxAt(s - 1 + i));
  assertEquals(tokens, want, 'tokens from the blocked cache vs the blocked whole-sequence forward');
  for (const r of [plain, blocked, whole]) { r.cache.dispose(); r.logits.dispose(); }
  model.dispose();
} });
