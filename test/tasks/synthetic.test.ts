// Synthetic datasets: determinism per seed, masks that match the drawn shapes exactly, pixel colours that match
// the masks, keypoints that map through the known transform, videos whose masks move as their tracks say, and
// tasks that a texture-sensitive feature (local mean colour) solves.
import type { RgbImage } from '../../src/io/rgbImage.ts';
import { DavisAccumulator } from '../../src/probe/metrics/davis.ts';
import type { LabelMap } from '../../src/probe/metrics/iou.ts';
import { PckAccumulator } from '../../src/probe/metrics/pck.ts';
import { applyAffine, similarity } from '../../src/tasks/synthetic/affine.ts';
import { syntheticCorrespondencePairs } from '../../src/tasks/synthetic/correspondencePairs.ts';
import { imagesContaining, syntheticSegmentationSet } from '../../src/tasks/synthetic/segmentationSet.ts';
import { placeShape, shapeContains } from '../../src/tasks/synthetic/shape.ts';
import type { Rgb } from '../../src/tasks/synthetic/texture.ts';
import { syntheticVideo } from '../../src/tasks/synthetic/video.ts';
import { assert, assertEquals, assertThrows } from '../gpu/assert.ts';

const same = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.prototype.every.call(a, (v: number, i: number) => v === b[i]);

/** Mean colour over the (2r+1)² window around each pixel (clipped at the border): the "texture-sensitive feature". */
function meanColour(im: RgbImage, r: number): Float64Array {
  const { width: W, height: H, data } = im, f = new Float64Array(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    let n = 0;
    const s = [0, 0, 0];
    for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) {
      const yy = y + dy, xx = x + dx;
      if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
      n++;
      for (let c = 0; c < 3; c++) s[c] += data[(yy * W + xx) * 3 + c];
    }
    for (let c = 0; c < 3; c++) f[(y * W + x) * 3 + c] = s[c] / n;
  }
  return f;
}

/** Distance from colour p to the segment between a and b in RGB. */
function segmentDistance(p: Rgb, a: Rgb, b: Rgb): number {
  const d = [b[0] - a[0], b[1] - a[1], b[2] - a[2]], q = [p[0] - a[0], p[1] - a[1], p[2] - a[2]];
  const dd = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
  const t = dd > 0 ? Math.max(0, Math.min(1, (q[0] * d[0] + q[1] * d[1] + q[2] * d[2]) / dd)) : 0;
  return Math.hypot(q[0] - t * d[0], q[1] - t * d[1], q[2] - t * d[2]);
}

const pixel = (im: RgbImage, i: number): Rgb => [im.data[3 * i], im.data[3 * i + 1], im.data[3 * i + 2]];
const chroma = (c: Rgb) => Math.max(...c) - Math.min(...c);

// ------------------------------------------------------------------------------------------------- segmentation

Deno.test('segmentation sets are deterministic per seed', () => {
  const a = syntheticSegmentationSet({ n: 3, size: 48, classes: 4, seed: 11 });
  const b = syntheticSegmentationSet({ n: 3, size: 48, classes: 4, seed: 11 });
  const c = syntheticSegmentationSet({ n: 3, size: 48, classes: 4, seed: 12 });
  for (let i = 0; i < 3; i++) {
    assert(same(a.images[i].data, b.images[i].data) && same(a.masks[i].data, b.masks[i].data), `image ${i} differs between equal seeds`);
  }
  assert(!same(a.images[0].data, c.images[0].data), 'another seed gives another image');
  assertEquals(a.classNames, b.classNames, 'class names');
});

Deno.test('segmentation masks are the topmost drawn shape; pixels carry that shape\'s texture colours', () => {
  const grain = 6;
  const set = syntheticSegmentationSet({ n: 6, size: { width: 72, height: 56 }, classes: 6, seed: 3, grain });
  assertEquals(set.classNames.length, 7, 'names incl. background');
  assertEquals(set.classNames[0], 'background', 'name 0');
  assertEquals(new Set(set.classNames).size, 7, 'names are unique');
  for (let i = 0; i < set.images.length; i++) {
    const im = set.images[i], m = set.masks[i], objs = set.objects[i];
    assertEquals([im.width, im.height, m.width, m.height], [72, 56, 72, 56], 'sizes');
    for (let y = 0; y < 56; y++) for (let x = 0; x < 72; x++) {
      const p = y * 72 + x;
      // the label is the topmost shape containing the pixel centre
      let want = 0, top = -1;
      for (let o = objs.length - 1; o >= 0; o--) if (shapeContains(objs[o].shape, x + 0.5, y + 0.5)) { want = objs[o].classId; top = o; break; }
      if (m.data[p] !== want) throw new Error(`image ${i} pixel (${x}, ${y}): mask ${m.data[p]}, drawn shape says ${want}`);
      const c = pixel(im, p);
      if (top >= 0) {
        // every texture is a blend of its two colours; grain adds at most ±6 per channel (+0.5 rounding)
        const [c0, c1] = objs[top].texture.colors;
        const d = segmentDistance(c, c0, c1);
        if (d > Math.sqrt(3) * (grain + 0.5)) throw new Error(`image ${i} (${x}, ${y}): colour ${c} is ${d.toFixed(1)} from its texture's colours`);
        if (chroma(c) <= 70) throw new Error(`image ${i} (${x}, ${y}): object pixel of chroma ${chroma(c)}`);
      } else if (chroma(c) >= 70) throw new Error(`image ${i} (${x}, ${y}): background pixel of chroma ${chroma(c)} (backgrounds are desaturated)`);
    }
    assert(objs.length >= 1 && objs.length <= 2, 'default 1–2 objects');
    assertEquals(new Set(objs.map((o) => o.classId)).size, objs.length, 'distinct classes within an image');
  }
});

Deno.test('void band: 255 exactly where a neighbour within the band width has another label', () => {
  const plain = syntheticSegmentationSet({ n: 2, size: 48, classes: 3, seed: 5 });
  const voided = syntheticSegmentationSet({ n: 2, size: 48, classes: 3, seed: 5, voidBorder: 1 });
  for (let i = 0; i < 2; i++) {
    assert(same(plain.images[i].data, voided.images[i].data), 'the void band does not change the pixels');
    const a = plain.masks[i].data, v = voided.masks[i].data;
    let voids = 0;
    for (let y = 0; y < 48; y++) for (let x = 0; x < 48; x++) {
      let differs = false;
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
        const yy = y + dy, xx = x + dx;
        if (yy >= 0 && yy < 48 && xx >= 0 && xx < 48 && a[yy * 48 + xx] !== a[y * 48 + x]) differs = true;
      }
      assertEquals(v[y * 48 + x], differs ? 255 : a[y * 48 + x], `image ${i} (${x}, ${y})`);
      voids += differs ? 1 : 0;
    }
    assert(voids > 0, 'some void');
  }
});

Deno.test('co-segmentation sets share a class; few-shot pools list the images holding a class', () => {
  const set = syntheticSegmentationSet({ n: 5, size: 48, classes: 4, seed: 8, commonClass: 3, objectsPerImage: [1, 3] });
  assertEquals(imagesContaining(set, 3), [0, 1, 2, 3, 4], 'class 3 in every image');
  for (const objs of set.objects) assertEquals(objs[0].classId, 3, 'drawn first');
  const any = syntheticSegmentationSet({ n: 8, size: 48, classes: 4, seed: 9 });
  for (let c = 1; c <= 4; c++) {
    for (const i of imagesContaining(any, c)) assert(any.masks[i].data.includes(c), `image ${i} holds class ${c}`);
  }
  assertThrows(() => syntheticSegmentationSet({ n: 1, size: 48, classes: 2, seed: 1, objectsPerImage: [1, 3] }), /exceeds the 2 classes/, 'too many objects');
  assertThrows(() => syntheticSegmentationSet({ n: 1, size: 8, classes: 2, seed: 1 }), /size must be integers ≥ 16/, 'too small');
  assertThrows(() => syntheticSegmentationSet({ n: 1, size: 32, classes: 2, seed: 1, commonClass: 5 }), /commonClass must be one of 1\.\.2/, 'bad common class');
});

Deno.test('local mean colour segments the classes: nearest class centroid > 90% pixel accuracy on held-out images', () => {
  const C = 5, set = syntheticSegmentationSet({ n: 12, size: 64, classes: C, seed: 2 });
  const feats = set.images.map((im) => meanColour(im, 2));
  const cent = Array.from({ length: C + 1 }, () => [0, 0, 0, 0]);
  for (let i = 0; i < 6; i++) {
    const m = set.masks[i].data;
    for (let p = 0; p < m.length; p++) { for (let k = 0; k < 3; k++) cent[m[p]][k] += feats[i][3 * p + k]; cent[m[p]][3]++; }
  }
  let ok = 0, total = 0;
  for (let i = 6; i < 12; i++) {
    const m = set.masks[i].data;
    for (let p = 0; p < m.length; p++) {
      let best = -1, bd = Infinity;
      for (let c = 0; c <= C; c++) {
        if (!cent[c][3]) continue;
        let d = 0;
        for (let k = 0; k < 3; k++) d += (feats[i][3 * p + k] - cent[c][k] / cent[c][3]) ** 2;
        if (d < bd) { bd = d; best = c; }
      }
      total++;
      if (best === m[p]) ok++;
    }
  }
  assert(ok / total > 0.9, `pixel accuracy ${(ok / total).toFixed(3)} (measured 0.968 at seed 2)`);
});

// ------------------------------------------------------------------------------------------------- correspondence

Deno.test('correspondence pairs: deterministic, keypoints map through the transform, visibility = object pixel, tight boxes', () => {
  for (const transform of ['similarity', 'affine'] as const) {
    const pairs = syntheticCorrespondencePairs({ n: 6, size: 64, seed: 4, transform, occlusion: 1 });
    const again = syntheticCorrespondencePairs({ n: 6, size: 64, seed: 4, transform, occlusion: 1 });
    let hidden = 0;
    pairs.forEach((p, i) => {
      assert(same(p.trg.data, again[i].trg.data) && same(p.srcKps.flat(), again[i].srcKps.flat()), `pair ${i} not deterministic`);
      assertEquals(p.category, `shape${(i % 3) + 1}`, 'categories cycle');
      p.srcKps.forEach((k, j) => {
        const [x, y] = applyAffine(p.transform, k);
        if (Math.hypot(x - p.trgKps[j][0], y - p.trgKps[j][1]) > 1e-9) throw new Error(`pair ${i} keypoint ${j}: transform(src) = (${x}, ${y}), trg = ${p.trgKps[j]}`);
      });
      for (const [kps, vis, mask] of [[p.srcKps, p.srcVisible, p.srcMask], [p.trgKps, p.trgVisible, p.trgMask]] as const) {
        kps.forEach(([x, y], j) => {
          const inside = x >= 0 && x < 64 && y >= 0 && y < 64;
          assertEquals(vis[j], inside && mask.data[Math.floor(y) * 64 + Math.floor(x)] === 1, `pair ${i} keypoint ${j} visibility`);
        });
      }
      assert(p.srcVisible.every(Boolean), `pair ${i}: the unoccluded source shows every keypoint`);
      hidden += p.trgVisible.filter((v) => !v).length;
      for (const [box, mask] of [[p.srcBox, p.srcMask], [p.trgBox, p.trgMask]] as const) {
        let x1 = 64, y1 = 64, x2 = -1, y2 = -1;
        for (let q = 0; q < 64 * 64; q++) if (mask.data[q]) { x1 = Math.min(x1, q % 64); x2 = Math.max(x2, q % 64); y1 = Math.min(y1, Math.floor(q / 64)); y2 = Math.max(y2, Math.floor(q / 64)); }
        assertEquals([...box], [x1, y1, x2 + 1, y2 + 1], `pair ${i} box`);
      }
    });
    assert(hidden > 0, `${transform}: occluders hide some target keypoints`);
    const t = pairs[0].transform;
    const isSimilarity = Math.abs(t[0] - t[4]) < 1e-9 && Math.abs(t[1] + t[3]) < 1e-9;
    assertEquals(isSimilarity, transform === 'similarity', `${transform} map`);
  }
  const clear = syntheticCorrespondencePairs({ n: 4, size: 64, seed: 6, occlusion: 0 });
  for (const p of clear) assert(p.trgVisible.every(Boolean), 'no occluder, object inside the frame: all visible');
});

Deno.test('local mean colour nearest neighbours solve the pairs: PCK@0.1 > 0.75', () => {
  const acc = new PckAccumulator(0.1);
  for (const p of syntheticCorrespondencePairs({ n: 8, size: 64, seed: 1 })) {
    const fs = meanColour(p.src, 1), ft = meanColour(p.trg, 1);
    const pred = p.srcKps.map(([x, y]): [number, number] => {
      const i = Math.floor(y) * 64 + Math.floor(x);
      let best = 0, bd = Infinity;
      for (let q = 0; q < 64 * 64; q++) {
        const d = (fs[3 * i] - ft[3 * q]) ** 2 + (fs[3 * i + 1] - ft[3 * q + 1]) ** 2 + (fs[3 * i + 2] - ft[3 * q + 2]) ** 2;
        if (d < bd) { bd = d; best = q; }
      }
      return [best % 64 + 0.5, Math.floor(best / 64) + 0.5];
    });
    if (p.trgVisible.some(Boolean)) acc.add({ predKps: pred, trgKps: p.trgKps, trgBox: p.trgBox, valid: p.trgVisible, category: p.category });
  }
  const r = acc.result();
  assert(r.perImage > 0.75, `per-image PCK ${r.perImage.toFixed(3)} (measured 0.917 at seed 1)`);
});

// ------------------------------------------------------------------------------------------------- video

Deno.test('videos: deterministic; masks are the topmost placed shape; objects move and scale along their tracks', () => {
  const v = syntheticVideo({ frames: 6, size: 64, objects: 3, seed: 7, maxSpeed: 3 });
  const w = syntheticVideo({ frames: 6, size: 64, objects: 3, seed: 7, maxSpeed: 3 });
  assert(v.frames.every((f, t) => same(f.data, w.frames[t].data) && same(v.masks[t].data, w.masks[t].data)), 'deterministic');
  assert(!same(v.frames[0].data, syntheticVideo({ frames: 6, size: 64, objects: 3, seed: 8 }).frames[0].data), 'seed matters');
  for (let t = 0; t < 6; t++) {
    const shapes = v.tracks.map((tr) => placeShape(tr.outline, similarity(tr.scales[t], 0, tr.centres[t][0], tr.centres[t][1])));
    for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) {
      let want = 0;
      for (let k = shapes.length - 1; k >= 0; k--) if (shapeContains(shapes[k], x + 0.5, y + 0.5)) { want = v.tracks[k].id; break; }
      if (v.masks[t].data[y * 64 + x] !== want) throw new Error(`frame ${t} (${x}, ${y}): mask ${v.masks[t].data[y * 64 + x]}, tracks say ${want}`);
    }
  }
  for (const tr of v.tracks) {
    for (let t = 1; t < 6; t++) {
      const step = Math.hypot(tr.centres[t][0] - tr.centres[t - 1][0], tr.centres[t][1] - tr.centres[t - 1][1]);
      assert(step <= 3 + 1e-9, `object ${tr.id} moves ${step.toFixed(2)} px in a frame, over maxSpeed 3`);
    }
  }
  assert(v.tracks.some((tr) => Math.hypot(tr.centres[5][0] - tr.centres[0][0], tr.centres[5][1] - tr.centres[0][1]) > 2), 'something moves');
});

Deno.test('a lone object\'s mask centroid and area follow its track; its colours move with it', () => {
  const v = syntheticVideo({ frames: 8, size: 96, objects: 1, seed: 21, maxSpeed: 4 });
  const tr = v.tracks[0];
  const stats = (m: LabelMap, im: RgbImage) => {
    let n = 0, sx = 0, sy = 0;
    const col = [0, 0, 0];
    for (let q = 0; q < m.data.length; q++) if (m.data[q] === 1) {
      n++; sx += q % 96 + 0.5; sy += Math.floor(q / 96) + 0.5;
      for (let c = 0; c < 3; c++) col[c] += im.data[3 * q + c];
    }
    return { n, cx: sx / n, cy: sy / n, col: col.map((c) => c / n) };
  };
  const s0 = stats(v.masks[0], v.frames[0]);
  // the shape's own centroid offset g (in scale-1 pixels) from frame 0, then centroid(t) ≈ centre(t) + scale(t)·g
  const gx = (s0.cx - tr.centres[0][0]) / tr.scales[0], gy = (s0.cy - tr.centres[0][1]) / tr.scales[0];
  for (let t = 1; t < 8; t++) {
    const s = stats(v.masks[t], v.frames[t]);
    const ex = tr.centres[t][0] + tr.scales[t] * gx, ey = tr.centres[t][1] + tr.scales[t] * gy;
    assert(Math.hypot(s.cx - ex, s.cy - ey) < 0.5, `frame ${t}: centroid (${s.cx.toFixed(2)}, ${s.cy.toFixed(2)}) vs track (${ex.toFixed(2)}, ${ey.toFixed(2)})`);
    const ratio = s.n / s0.n, want = (tr.scales[t] / tr.scales[0]) ** 2;
    assert(Math.abs(ratio / want - 1) < 0.08, `frame ${t}: area ratio ${ratio.toFixed(3)} vs scale² ${want.toFixed(3)}`);
    for (let c = 0; c < 3; c++) assert(Math.abs(s.col[c] - s0.col[c]) < 12, `frame ${t}: the object's mean colour drifts (${s.col} vs ${s0.col})`);
  }
});

Deno.test('DAVIS J&F of the ground truth is 1; of the masks moved by 4 px it is lower', () => {
  const v = syntheticVideo({ frames: 5, size: 64, objects: 2, seed: 13 });
  const acc = new DavisAccumulator();
  acc.addSequence('synthetic', v.masks, v.masks);
  assertEquals(acc.result().jfMean, 1, 'perfect');
  const moved = v.masks.map((m) => {
    const d = new Uint8Array(m.data.length);
    for (let y = 0; y < 64; y++) for (let x = 4; x < 64; x++) d[y * 64 + x] = m.data[y * 64 + x - 4];
    return { width: 64, height: 64, data: d };
  });
  const off = new DavisAccumulator();
  off.addSequence('synthetic', v.masks, moved);
  const r = off.result();
  assert(r.jMean < 1 && r.fMean < 1 && r.jfMean < 0.95, `moved masks: J ${r.jMean.toFixed(3)}, F ${r.fMean.toFixed(3)}`);
});
