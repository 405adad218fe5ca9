// Greedy decoding from a prefilled KV cache: token = argmax(logits) (over the full vocabulary, padding rows
// included, as HF does); each new token is embedded and run as a one-row forward at cache position
// cache.length with the RoPE position `positionOf(cacheIndex)` (M-RoPE: that value on all three axes, i.e.
// cache index + rope_delta for Qwen2.5-VL). Stops after a stop token (which is returned, as HF's generate does)
// or maxNewTokens. One argmax readback per token, between forwards.
import { Stage } from '../../gpu/stage.ts';
import type { Tensor } from '../../gpu/tensor.ts';
import { argmax } from '../../ops/rowReduce.ts';
import { sliceRows } from '../../ops/rows.ts';
import type { AttentionBlockSpec } from '../../capture/interventions.ts';
import type { KvCache } from '../../capture/kvCache.ts';
import type { Decoder } from './decoder.ts';

/** The argmax of the last row of logits, read back. */
async function lastArgmax(logits: Tensor<'f32'>): Promise<number> {
  const stage = new Stage(logits.gpu, 'greedy argmax');
  const last = logits.rows > 1 ? sliceRows(stage, logits, logits.rows - 1, 1) : logits;
  const id = argmax(stage, last);
  await stage.submit();
  const token = (await id.read())[0];
  id.dispose();
  if (last !== logits) last.dispose();
  return token;
}

export async function greedyDecode(
  decoder: Decoder,
  cache: KvCache,
  lastLogits: Tensor<'f32'>,
  opts: { maxNewTokens: number; stop: readonly number[]; positionOf: (cacheIndex: number) => number; block?: AttentionBlockSpec },
): Promise<number[]> {
  if (!Number.isInteger(opts.maxNewTokens) || opts.maxNewTokens < 0) throw new Error(`greedyDecode: maxNewTokens must be an integer ≥ 0, got ${opts.maxNewTokens}`);
  if (lastLogits.rowLength !== decoder.config.vocab_size) {
    throw new Error(`greedyDecode: logits (${lastLogits.label}) rows have ${lastLogits.rowLength} values, the vocabulary ${decoder.config.vocab_size}`);
  }
  const tokens: number[] = [];
  const mrope = decoder.config.mrope_section !== null;
  let logits = lastLogits;
  try {
    while (tokens.length < opts.maxNewTokens) {
      const token = await lastArgmax(logits);
      tokens.push(token);
      if (opts.stop.includes(token) || tokens.length === opts.maxNewTokens) break;
      if (cache.length >= cache.capacity) throw new Error(`greedyDecode: the KV cache is full (${cache.capacity} positions) after ${tokens.length} new tokens`);
      // next step: embed the token, run it at cache position cache.length
      const at = cache.length;
      const p = opts.positionOf(at);
      const step = await decoder.run({ ids: [token] }, { cache, start: at, positions: mrope ? [[p], [p], [p]] : [p], logits: 'last', block: opts.block });
      if (logits !== lastLogits) logits.dispose();
      logits = step.logits!;
    }
  } finally {
    if (logits !== lastLogits) logits.dispose();
  }
  return tokens;
}
