// Qwen2.5-VL 3D RoPE positions for the float64 reference, written from transformers'
// `Qwen2_5_VLModel.get_rope_index` (images, batch 1, no padding), independent of src/models/qwen2_5_vl/ropeIndex.ts.
// Per image: the text before it counts up from st_idx = (last segment's max) + 1 on all three axes; its llm grid
// (t, h/m, w/m) then takes (τ·second_per_grid_t·tokens_per_second, r, c) + text_len + st_idx, with
// second_per_grid_t = 0 for images; trailing text resumes from the max + 1. rope_delta = max + 1 − S.

export interface RopeIndexIds {
  imageTokenId: number;
  visionStartTokenId: number;
  spatialMergeSize: number;
}

export function getRopeIndex(
  inputIds: readonly number[],
  imageGridThw: readonly (readonly [number, number, number])[],
  ids: RopeIndexIds,
): { positions: [number[], number[], number[]]; ropeDelta: number } {
  const S = inputIds.length;
  if (!imageGridThw.length) {
    // no image_grid_thw: position_ids = arange(S) on every axis
    const p = Array.from({ length: S }, (_, i) => i);
    return { positions: [p, [...p], [...p]], ropeDelta: 0 };
  }
  // image_nums: vision_start tokens whose next token is an image token
  let imageNums = 0;
  for (let i = 0; i + 1 < S; i++) if (inputIds[i] === ids.visionStartTokenId && inputIds[i + 1] === ids.imageTokenId) imageNums++;
  if (imageNums > imageGridThw.length) throw new Error(`reference get_rope_index: ${imageNums} images in input_ids, image_grid_thw has ${imageGridThw.length}`);
  const segments: [number[], number[], number[]][] = [];
  const segMax = (seg: [number[], number[], number[]]) => Math.max(...seg[0], ...seg[1], ...seg[2]);
  const startIdx = () => (segments.length ? segMax(segments[segments.length - 1]) + 1 : 0);
  const textRun = (len: number, st: number): [number[], number[], number[]] => {
    const r = Array.from({ length: len }, (_, i) => st + i);
    return [r, [...r], [...r]];
  };
  let st = 0;
  for (let imageIndex = 0; imageIndex < imageNums; imageIndex++) {
    const ed = inputIds.indexOf(ids.imageTokenId, st);
    if (ed < 0) throw new Error(`reference get_rope_index: no image token ${ids.imageTokenId} at or after position ${st}`);
    const [t, h, w] = imageGridThw[imageIndex];
    const gt = t, gh = Math.floor(h / ids.spatialMergeSize), gw = Math.floor(w / ids.spatialMergeSize);
    const textLen = ed - st;
    const stIdx = startIdx();
    segments.push(textRun(textLen, stIdx));
    const secondPerGridT = 0;
    const tt: number[] = [], hh: number[] = [], ww: number[] = [];
    for (let f = 0; f < gt; f++) {
      for (let r = 0; r < gh; r++) {
        for (let c = 0; c < gw; c++) {
          tt.push(Math.trunc(f * secondPerGridT) + textLen + stIdx);
          hh.push(r + textLen + stIdx);
          ww.push(c + textLen + stIdx);
        }
      }
    }
    segments.push([tt, hh, ww]);
    st = ed + gt * gh * gw;
  }
  if (st < S) segments.push(textRun(S - st, startIdx()));
  const positions: [number[], number[], number[]] = [
    segments.flatMap((s) => s[0]), segments.flatMap((s) => s[1]), segments.flatMap((s) => s[2]),
  ];
  const max = Math.max(...positions[0], ...positions[1], ...positions[2]);
  if (positions[0].length !== S) throw new Error(`reference get_rope_index: ${positions[0].length} positions for ${S} tokens (image_grid_thw ${JSON.stringify(imageGridThw)})`);
  return { positions, ropeDelta: max + 1 - S };
}
