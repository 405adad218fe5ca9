// Qwen2.5-VL multimodal RoPE positions (HF `Qwen2_5_VLModel.get_rope_index`, images; batch 1, no padding):
// three rows (temporal, height, width). Text runs count up on all three axes from (max position so far) + 1; an
// image (each `<|vision_start|>` directly followed by `<|image_pad|>`) starting at st takes, for its merged token
// at (r, c) of its (gh × gw) llm grid, (st + τ, st + r, st + c) with τ = 0 for images (HF multiplies the frame
// index by second_per_grid_t = 0 for images); the text after it resumes at st + max(gh, gw).
// rope_delta = (max position + 1) − S: decode step at cache index c uses position c + rope_delta on all axes.

export interface RopeIndexTokens {
  imageTokenId: number;
  visionStartTokenId: number;
  spatialMergeSize: number;
}

export interface RopeIndex {
  /** [3][S]: temporal, height, width positions. */
  positions: [number[], number[], number[]];
  ropeDelta: number;
  /** Per image: first sequence position of its `<|image_pad|>` run and its llm grid (gh × gw, t frames). */
  images: { start: number; length: number; t: number; rows: number; cols: number }[];
}

export function ropeIndex(inputIds: readonly number[], imageGridThw: readonly (readonly [number, number, number])[], tok: RopeIndexTokens): RopeIndex {
  const S = inputIds.length, m = tok.spatialMergeSize;
  // HF: the number of images is the number of vision_start tokens followed by an image token
  let imageCount = 0;
  for (let i = 0; i + 1 < S; i++) if (inputIds[i] === tok.visionStartTokenId && inputIds[i + 1] === tok.imageTokenId) imageCount++;
  if (imageCount !== imageGridThw.length) {
    const pads = inputIds.filter((id) => id === tok.imageTokenId).length;
    throw new Error(`get_rope_index: input_ids hold ${imageCount} image(s) (<|vision_start|> ${tok.visionStartTokenId} followed by <|image_pad|> ` +
      `${tok.imageTokenId}; ${pads} pad tokens in all), image_grid_thw has ${imageGridThw.length}`);
  }
  const t: number[] = [], h: number[] = [], w: number[] = [];
  let maxPos = -1;
  const push = (a: number, b: number, c: number) => {
    t.push(a); h.push(b); w.push(c);
    maxPos = Math.max(maxPos, a, b, c);
  };
  const images: RopeIndex['images'] = [];
  let st = 0;
  for (let k = 0; k < imageCount; k++) {
    // the next image token at or after st (HF `input_tokens.index(image_token_id, st)`)
    let ed = st;
    while (ed < S && inputIds[ed] !== tok.imageTokenId) ed++;
    const [gt, gh0, gw0] = imageGridThw[k];
    if (gh0 % m || gw0 % m) throw new Error(`get_rope_index: image_grid_thw[${k}] = (${gt}, ${gh0}, ${gw0}) is not a multiple of spatial_merge_size ${m}`);
    const gh = gh0 / m, gw = gw0 / m, n = gt * gh * gw;
    if (ed + n > S) throw new Error(`get_rope_index: image ${k} needs ${n} tokens from position ${ed}, the sequence has ${S}`);
    // text segment [st, ed) from max + 1
    const s0 = maxPos + 1;
    for (let i = 0; i < ed - st; i++) push(s0 + i, s0 + i, s0 + i);
    // image tokens: (st_img + τ, st_img + r, st_img + c), τ = 0 for images
    const si = maxPos + 1;
    for (let f = 0; f < gt; f++) for (let r = 0; r < gh; r++) for (let c = 0; c < gw; c++) push(si, si + r, si + c);
    images.push({ start: ed, length: n, t: gt, rows: gh, cols: gw });
    st = ed + n;
  }
  const s0 = maxPos + 1;
  for (let i = 0; i < S - st; i++) push(s0 + i, s0 + i, s0 + i);
  return { positions: [t, h, w], ropeDelta: maxPos + 1 - S, images };
}
