// The text side of text-driven segmentation: a class name or referring expression through the MLM alone (a text-only
// forward), the LAST token of the user text read at the same layer and place as the image features for the tap
// (cached value, cached key after RoPE at its own position, key before RoPE, residual stream), so text and image
// vectors live in one space.
import { tapTensor } from '../capture/capture.ts';
import { canonicalTap, isLayered } from '../capture/taps.ts';
import { Stage } from '../gpu/stage.ts';
import { Tensor } from '../gpu/tensor.ts';
import type { MultimodalModel } from '../models/model.ts';
import { featureGather } from '../ops/featureGather.ts';
import { type SweepEntry } from './featureSweep.ts';

/** Tokens the chat template appends after the user text (assistant header etc.), per model. */
const suffixTokens = new WeakMap<MultimodalModel, Promise<number>>();

/**
 * How many tokens follow the user text in a text-only prefill: the common suffix of the prompts "a" and "b", which
 * must differ in exactly one token (each a single token) for the rule to hold.
 */
export function promptSuffixLength(model: MultimodalModel): Promise<number> {
  let p = suffixTokens.get(model);
  if (!p) {
    p = (async () => {
      const ids = async (prompt: string) => {
        const r = await model.prefill({ images: [], prompt, logits: 'last' });
        r.dispose();
        return r.inputIds;
      };
      const a = await ids('a'), b = await ids('b');
      let pre = 0;
      while (pre < a.length && a[pre] === b[pre]) pre++;
      let suf = 0;
      while (suf < a.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
      if (a.length !== b.length || pre + suf + 1 !== a.length) {
        throw new Error(`text segmentation: cannot locate the user text in the chat template (prompts "a" and "b" gave ids [${a.join(', ')}] and [${b.join(', ')}])`);
      }
      return suf;
    })();
    suffixTokens.set(model, p);
  }
  return p;
}

/** The layered entries of a run: the taps text vectors exist for. */
export function textEntries(entries: readonly SweepEntry[]): SweepEntry[] {
  return entries.filter((e) => isLayered(e.tap) && e.tap !== 'siglip');
}

/**
 * The text representation of `prompt` for every (LM tap, layer): one text-only forward, then the last user-text
 * token's row gathered (all KV heads concatenated, as the image features) → [1, dim] per entry key, on the GPU.
 */
export async function textVectors(model: MultimodalModel, prompt: string, entries: readonly SweepEntry[]): Promise<Map<string, Tensor<'f32'>>> {
  const lm = textEntries(entries);
  const suffix = await promptSuffixLength(model);
  const taps = lm.map((e) => canonicalTap(e.tap, e.layer!));
  const r = await model.prefill({ images: [], prompt, taps, logits: 'last' });
  const out = new Map<string, Tensor<'f32'>>();
  try {
    const position = r.inputIds.length - 1 - suffix;
    if (position < 0) throw new Error(`text segmentation: prompt "${prompt}" left no text token`);
    const pos = Tensor.from(model.gpu, 'u32', [1], [position], 'text token position');
    const stage = new Stage(model.gpu, `text vector "${prompt.slice(0, 40)}"`);
    for (const e of lm) {
      out.set(e.key, featureGather(stage, tapTensor(r, canonicalTap(e.tap, e.layer!)), pos));
    }
    await stage.submit();
    pos.dispose();
  } finally {
    r.dispose();
  }
  return out;
}
