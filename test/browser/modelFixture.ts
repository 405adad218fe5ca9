// Deno side of the browser model check: writes a tiny LLaVA-OneVision checkpoint (F16, HF layout) to a directory
// Vite serves, HF forward inputs for one 30×100 picture (anyres crops + unpadding) next to it, and this runtime's
// GPU outputs of that forward: `logits` [1, S, vocab] (all rows) and `past_key_values.0.value` [1, kv_heads, S, d].
// Usage: deno run -A test/browser/modelFixture.ts [dir]  (default out/browser-tiny-ov)
import { benchInputs, benchPicture } from '../../harness/bench/models.ts';
import { acquireGpu } from '../../src/gpu/device.ts';
import { float32Tensor, modelInputsFile, readModelInputs } from '../../src/models/modelTensors.ts';
import { writeSafetensors } from '../../src/io/safetensors.ts';
import { loadModel } from '../../src/models/registry.ts';
import { writeTinyLlavaOnevision } from '../../src/models/tiny/tinyLlava.ts';

const dir = Deno.args[0] ?? 'out/browser-tiny-ov';
await Deno.remove(dir, { recursive: true }).catch(() => {});
const cfg = await writeTinyLlavaOnevision(dir, { seed: 11, dims: 'tiny', dtype: 'F16' });
const made = await benchInputs(dir, cfg, benchPicture(30, 100), 12);
await Deno.writeFile(`${dir}/inputs.safetensors`, modelInputsFile(made.image, cfg.model_type));

const gpu = await acquireGpu();
gpu.poisonNewTensors = true; // as the browser side: an output a kernel leaves unwritten reads as NaN
const model = await loadModel(gpu, dir);
// read the inputs back from the file, as the browser does
const inputs = await readModelInputs(`${dir}/inputs.safetensors`);
const r = await model.forward(inputs, { logits: 'all' });
const s = inputs.inputIds.length, vocab = cfg.text_config.vocab_size;
const logits = (await r.logits.read()) as Float32Array;
const v0 = await r.cache.readLayer(0, 'value');
const kvHeads = r.cache.kvHeads, d = r.cache.headDim;
await Deno.writeFile(`${dir}/deno-outputs.safetensors`, writeSafetensors([
  float32Tensor('logits', [1, s, vocab], logits),
  float32Tensor('past_key_values.0.value', [1, kvHeads, s, d], v0),
], { format: 'pt', producer: 'kvscope', device: gpu.describe() }));
console.log(`deno model fixture: ${dir}: ${s} tokens, logits [${s}, ${vocab}], layer-0 V [${kvHeads}, ${s}, ${d}] on ${gpu.describe()}`);
model.dispose();
gpu.destroy();
