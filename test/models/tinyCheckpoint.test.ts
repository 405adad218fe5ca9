// Tiny random checkpoints: deterministic weights with the stated statistics, HF names and shapes for a decoder,
// and the writer's files (config.json, model.safetensors, extra files, shards + index) read back by the
// project's own safetensors reader in F32, F16 and BF16.
import { roundTo } from '../../src/gpu/dtype.ts';
import type { TextConfig } from '../../src/io/config.ts';
import { openCheckpoint } from '../../src/io/safetensors.ts';
import { decoderTensors, linearWeights, normWeights, WeightRng } from '../../src/models/tiny/randomWeights.ts';
import { writeTinyCheckpoint } from '../../src/models/tiny/writeCheckpoint.ts';
import { Weights } from '../../src/models/weights.ts';
import { assert, assertEquals, assertRejects } from '../gpu/assert.ts';

const tmp = await Deno.makeTempDir({ prefix: 'kvscope-tiny-' });
globalThis.addEventListener('unload', () => Deno.removeSync(tmp, { recursive: true }));

function stats(v: Float32Array): { mean: number; std: number } {
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  return { mean, std: Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length) };
}

Deno.test('WeightRng is deterministic per seed and standard normal', () => {
  const a = new WeightRng(7), b = new WeightRng(7), c = new WeightRng(8);
  const xa = Array.from({ length: 20000 }, () => a.normal());
  const xb = Array.from({ length: 20000 }, () => b.normal());
  assertEquals(xa, xb, 'same seed, same sequence');
  const xc = Array.from({ length: 10 }, () => c.normal());
  assert(xc.every((x, i) => x !== xa[i]), 'another seed, another sequence');
  const s = stats(Float32Array.from(xa));
  assert(Math.abs(s.mean) < 0.03 && Math.abs(s.std - 1) < 0.03, `mean ${s.mean}, std ${s.std}`);
});

Deno.test('linearWeights and normWeights: names, shapes and statistics', () => {
  const rng = new WeightRng(1);
  const [w, b] = linearWeights(rng, 'enc.fc', 50, 400, { bias: true });
  assertEquals([w.name, w.shape, b.name, b.shape], ['enc.fc.weight', [50, 400], 'enc.fc.bias', [50]], 'linear names/shapes');
  const sw = stats(w.values), sb = stats(b.values);
  assert(Math.abs(sw.std - 1 / Math.sqrt(400)) < 0.003, `weight std ${sw.std}, want 1/√400 = 0.05`);
  assert(Math.abs(sb.std - 0.1) < 0.04 && b.values.every((x) => x !== 0), `bias std ${sb.std}, non-zero`);
  assertEquals(linearWeights(rng, 'x', 3, 4).length, 1, 'no bias unless asked');
  const [g, beta] = normWeights(rng, 'ln', 2000, { bias: true });
  const sg = stats(g.values), sbeta = stats(beta.values);
  assert(Math.abs(sg.mean - 1) < 0.01 && Math.abs(sg.std - 0.1) < 0.01, `norm weight mean ${sg.mean} std ${sg.std}`);
  assert(Math.abs(sbeta.mean) < 0.01 && Math.abs(sbeta.std - 0.1) < 0.01, `norm bias mean ${sbeta.mean} std ${sbeta.std}`);
  assertEquals(normWeights(rng, 'rms', 8).map((t) => t.name), ['rms.weight'], 'RMSNorm has no bias');
});

const cfg: TextConfig = {
  model_type: 'qwen2', vocab_size: 11, hidden_size: 8, intermediate_size: 12, num_hidden_layers: 2, num_attention_heads: 2, num_key_value_heads: 1,
  head_dim: 4, hidden_act: 'silu', max_position_embeddings: 64, rms_norm_eps: 1e-6, rope_theta: 1e6, mrope_section: null, qkv_bias: true,
  o_bias: false, mlp_bias: false, tie_word_embeddings: true, use_sliding_window: false, bos_token_id: null, eos_token_id: null, pad_token_id: null,
};

Deno.test('decoderTensors: every HF tensor of a Qwen2 / Llama decoder with its shape; biases and head as configured', () => {
  const t = decoderTensors(new WeightRng(2), cfg, 'model.', { lmHead: null });
  const byName = new Map(t.map((x) => [x.name, x.shape]));
  assertEquals(t.length, 1 + 2 * 12 + 1, 'embed + 2 layers × 12 (q/k/v weight+bias, o, 2 norms, 3 MLP) + norm');
  assertEquals(byName.get('model.embed_tokens.weight'), [11, 8], 'embedding');
  assertEquals(byName.get('model.layers.1.self_attn.q_proj.weight'), [8, 8], 'q_proj [heads·d, H]');
  assertEquals(byName.get('model.layers.1.self_attn.k_proj.weight'), [4, 8], 'k_proj [kv_heads·d, H]');
  assertEquals(byName.get('model.layers.1.self_attn.v_proj.bias'), [4], 'v_proj bias');
  assertEquals(byName.get('model.layers.0.self_attn.o_proj.weight'), [8, 8], 'o_proj');
  assertEquals(byName.get('model.layers.0.mlp.gate_proj.weight'), [12, 8], 'gate_proj');
  assertEquals(byName.get('model.layers.0.mlp.down_proj.weight'), [8, 12], 'down_proj');
  assertEquals(byName.get('model.layers.0.post_attention_layernorm.weight'), [8], 'post-attention norm');
  assertEquals(byName.get('model.norm.weight'), [8], 'final norm');
  assert(!byName.has('lm_head.weight') && !byName.has('model.layers.0.self_attn.o_proj.bias'), 'tied: no lm_head; Qwen2 o_proj has no bias');
  const emb = t[0].values;
  assert(Math.abs(stats(emb).std - 1) < 0.35, 'embeddings std ~1');
  const llama = decoderTensors(new WeightRng(2), { ...cfg, model_type: 'llama', qkv_bias: false, mlp_bias: true }, 'x.', { lmHead: 'lm_head.weight' });
  const names = llama.map((x) => x.name);
  assert(names.includes('lm_head.weight') && !names.includes('x.layers.0.self_attn.q_proj.bias') && names.includes('x.layers.0.mlp.up_proj.bias'), 'untied head, no qkv bias, MLP bias when configured');
});

Deno.test('writeTinyCheckpoint: files read back in F32, F16 and BF16 (values rounded to the dtype), sharded with an index', async () => {
  const tensors = decoderTensors(new WeightRng(3), cfg, 'model.', { lmHead: 'lm_head.weight' });
  for (const dtype of ['F32', 'F16', 'BF16'] as const) {
    const dir = `${tmp}/ck-${dtype}`;
    await writeTinyCheckpoint(dir, { config: { model_type: 'qwen2', hidden_size: 8 }, tensors, dtype, extraFiles: { 'tokenizer.json': '{"model":{}}' }, shards: 4 });
    assertEquals(JSON.parse(await Deno.readTextFile(`${dir}/config.json`)), { model_type: 'qwen2', hidden_size: 8 }, 'config.json');
    assertEquals(await Deno.readTextFile(`${dir}/tokenizer.json`), '{"model":{}}', 'extra file');
    for (const where of [dir, `${dir}-sharded`]) {
      const ck = await openCheckpoint(where);
      assertEquals(ck.tensorNames().sort(), tensors.map((t) => t.name).sort(), `${where} tensor names`);
      const w = new Weights(ck);
      for (const t of [tensors[0], tensors[5], tensors[tensors.length - 1]]) {
        assertEquals(ck.info(t.name).dtype, dtype, `${t.name} dtype`);
        const back = await w.host(t.name, t.shape);
        const want = [...t.values].map((x) => roundTo(({ F32: 'f32', F16: 'f16', BF16: 'bf16' } as const)[dtype], x));
        assertEquals([...back.data], want, `${where} ${t.name} values`);
      }
    }
    const sharded = `${dir}-sharded`;
    const index = JSON.parse(await Deno.readTextFile(`${sharded}/model.safetensors.index.json`));
    const files = [...new Set(Object.values(index.weight_map as Record<string, string>))].sort();
    assertEquals(files, [1, 2, 3, 4].map((k) => `model-0000${k}-of-00004.safetensors`), 'four non-empty shards named as HF does');
    const bytes = tensors.reduce((a, t) => a + t.values.length * (dtype === 'F32' ? 4 : 2), 0);
    assertEquals(index.metadata.total_size, bytes, 'index total_size');
    assertEquals(await Deno.readTextFile(`${sharded}/tokenizer.json`), '{"model":{}}', 'extra file beside the shards');
    assert(!(await exists(`${sharded}/model.safetensors`)), 'the sharded directory has no single file');
  }
  await assertRejects(() => writeTinyCheckpoint(`${tmp}/bad`, { config: {}, tensors: [{ name: 'a', shape: [2, 2], values: new Float32Array(3) }], dtype: 'F32' }), /tensor a: shape \[2, 2\] needs 4 values, has 3/, 'wrong value count');
  await assertRejects(() => writeTinyCheckpoint(`${tmp}/bad2`, { config: {}, tensors: tensors.slice(0, 2), dtype: 'F32', shards: 3 }), /3 shards for 2 tensors/, 'more shards than tensors');
});

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
