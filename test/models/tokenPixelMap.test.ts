// Token → pixel map: token counts and order as the models pack them, rects that tile the image without overlap,
// every sampled pixel found (by an independent forward map through the processor geometry) in its own token's rect,
// rect centres back in their own crop, the anyres_max_9 downscale, Qwen's merged grid, and laying tokens on grids.
import type { ImageTokenPlace } from '../../src/capture/spans.ts';
import { type AnyresSpec, anyresLayout, LLAVA_NEXT_PINPOINTS, oneVisionPinpoints } from '../../src/models/processor/anyres.ts';
import { qwenImageGrid } from '../../src/models/processor/smartResize.ts';
import { llavaTokenPlaces, placesToGrid, qwenTokenPlaces } from '../../src/models/processor/tokenPixelMap.ts';
import { assert, assertEquals, assertThrows } from '../gpu/assert.ts';

const ov: AnyresSpec = { tile: 384, patchesPerSide: 27, pinpoints: oneVisionPinpoints(), maxTiles: 9 };
const next: AnyresSpec = { tile: 336, patchesPerSide: 24, pinpoints: LLAVA_NEXT_PINPOINTS };
const SIZES: [number, number][] = [[384, 384], [50, 50], [480, 640], [512, 512], [600, 800], [720, 1280], [899, 1024], [1024, 1024],
  [1080, 1920], [1000, 300], [3000, 4000]];

type Rect = readonly [number, number, number, number];
const area = (r: Rect) => (r[2] - r[0]) * (r[3] - r[1]);

/**
 * Rects of tokens on a rows × cols grid (in raster order) tile their union without overlap: every row shares one
 * y-interval, every column one x-interval, intervals consecutive and ordered. Returns the union area.
 */
function gridUnionArea(rects: Rect[], rows: number, cols: number, what: string): number {
  assertEquals(rects.length, rows * cols, `${what} token count`);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const k = rects[r * cols + c];
      const [x0, y0, x1, y1] = k;
      if (!(x0 <= x1 && y0 <= y1)) throw new Error(`${what}: rect (${r}, ${c}) inverted ${k}`);
      if (x0 !== rects[c][0] || x1 !== rects[c][2]) throw new Error(`${what}: column ${c} x-interval differs at row ${r}`);
      if (y0 !== rects[r * cols][1] || y1 !== rects[r * cols][3]) throw new Error(`${what}: row ${r} y-interval differs at col ${c}`);
      if (c > 0 && x0 < rects[r * cols + c - 1][2] - 1e-9) throw new Error(`${what}: (${r}, ${c}) overlaps its left neighbour`);
      if (r > 0 && y0 < rects[(r - 1) * cols + c][3] - 1e-9) throw new Error(`${what}: (${r}, ${c}) overlaps the row above`);
    }
  }
  let w = 0, h = 0;
  for (let c = 0; c < cols; c++) w += rects[c][2] - rects[c][0];
  for (let r = 0; r < rows; r++) h += rects[r * cols][3] - rects[r * cols][1];
  return w * h;
}

Deno.test('LLaVA token places: counts equal anyresLayout and follow the packing order', () => {
  for (const [name, spec] of [['OneVision', ov], ['NeXT', next]] as const) {
    const p = spec.patchesPerSide;
    for (const [h, w] of SIZES) {
      const layout = anyresLayout({ height: h, width: w }, spec);
      const t = llavaTokenPlaces({ height: h, width: w }, layout, spec);
      assertEquals(t.length, layout.imageTokens, `${name} ${h}×${w} tokens`);
      // Base p×p raster first.
      for (let i = 0; i < p * p; i++) {
        const k = t[i];
        if (k.kind !== 'base' || k.row !== Math.floor(i / p) || k.col !== i % p || k.crop !== 0) throw new Error(`${name} ${h}×${w} base token ${i}: ${JSON.stringify(k)}`);
      }
      // Then each final grid row left → right, followed by one newline.
      const { height: fh, width: fw } = layout.final;
      let i = p * p;
      for (let r = 0; r < fh; r++) {
        for (let c = 0; c < fw; c++, i++) {
          const k = t[i];
          if (k.kind !== 'grid' || k.row !== r || k.col !== c || k.crop < 1 || k.crop >= layout.tiles) throw new Error(`${name} ${h}×${w} grid token ${i}: ${JSON.stringify(k)}`);
        }
        const nl = t[i++];
        assertEquals([nl.kind, nl.row, nl.col, nl.crop, area(nl.rect)], ['newline', r, fw, -1, 0], `${name} ${h}×${w} newline after row ${r}`);
      }
      assertEquals(i, t.length, 'nothing after the last newline');
    }
  }
  // OneVision multi-image: 729 + 1 newline.
  const multi = llavaTokenPlaces({ height: 20, width: 60 }, null, ov);
  assertEquals([multi.length, multi[729].kind, multi.slice(0, 729).every((k) => k.kind === 'base')], [730, 'newline', true]);
});

Deno.test('LLaVA rects: base tiles the image; grid rects disjoint, inside the image, union = the image part unpad keeps', () => {
  let exactCases = 0, trimmedCases = 0;
  for (const [name, spec] of [['OneVision', ov], ['NeXT', next]] as const) {
    const p = spec.patchesPerSide, cell = spec.tile / p;
    for (const [h, w] of SIZES) {
      const key = `${name} ${h}x${w}`, imageArea = h * w;
      const layout = anyresLayout({ height: h, width: w }, spec);
      const t = llavaTokenPlaces({ height: h, width: w }, layout, spec);
      const baseArea = gridUnionArea(t.filter((k) => k.kind === 'base').map((k) => k.rect), p, p, `${key} base`);
      assert(Math.abs(baseArea - imageArea) < 1e-6 * imageArea, `${key}: base union ${baseArea} ≠ ${imageArea}`);
      const grid = t.filter((k) => k.kind === 'grid');
      for (const k of grid) {
        if (k.rect[0] < 0 || k.rect[1] < 0 || k.rect[2] > w || k.rect[3] > h) throw new Error(`${key}: rect outside the image ${k.rect}`);
      }
      const union = gridUnionArea(grid.map((k) => k.rect), layout.final.height, layout.final.width, `${key} grid`);
      // Expected: the resized image's canvas box [left, left + nw) × [top, top + nh) ∩ the kept window (cells of
      // tile/p canvas pixels), scaled back to original pixels.
      const { height: ph, width: pw } = layout.best, sW = pw / w, sH = ph / h;
      const nh = sW < sH ? Math.min(Math.ceil(h * sW), ph) : ph, nw = sW < sH ? pw : Math.min(Math.ceil(w * sH), pw);
      const top = (ph - nh) >> 1, left = (pw - nw) >> 1, win = layout.window;
      const keptH = Math.min(top + nh, win.rowEnd * cell) - Math.max(top, win.rowStart * cell);
      const keptW = Math.min(left + nw, win.colEnd * cell) - Math.max(left, win.colStart * cell);
      const want = ((keptH * h) / nh) * ((keptW * w) / nw);
      assert(Math.abs(union - want) < 1e-6 * imageArea, `${key}: grid union ${union}, expected ${want}`);
      if (Math.abs(want - imageArea) < 1e-6 * imageArea) exactCases++;
      else {
        trimmedCases++;
        // HF's unpad trims whole tokens: less than one cell row/column per side is lost.
        assert(keptH > nh - 2 * cell && keptW > nw - 2 * cell, `${key}: unpad lost more than a token per side`);
      }
    }
  }
  assert(exactCases >= 10 && trimmedCases >= 3, `exact ${exactCases}, trimmed ${trimmedCases}`);
});

/** Independent forward map: original pixel → (final grid cell, crop) through the processor's resize, letterbox, unpad, downscale. */
function forwardCell(x: number, y: number, h: number, w: number, spec: AnyresSpec) {
  const L = anyresLayout({ height: h, width: w }, spec), { height: ph, width: pw } = L.best, T = spec.tile, p = spec.patchesPerSide;
  const sW = pw / w, sH = ph / h;
  const nh = sW < sH ? Math.min(Math.ceil(h * sW), ph) : ph, nw = sW < sH ? pw : Math.min(Math.ceil(w * sH), pw);
  const cx = (x * nw) / w + ((pw - nw) >> 1), cy = (y * nh) / h + ((ph - nh) >> 1); // canvas pixel
  const crop = 1 + Math.floor(cy / T) * L.gridCols + Math.floor(cx / T);
  const edge = (v: number) => Math.abs(v / T - Math.round(v / T)) < 1e-9;
  const onTileEdge = edge(cx) || edge(cy);
  const u = cx / (T / p), v = cy / (T / p); // full crop-grid cell coordinates
  const { rowStart, rowEnd, colStart, colEnd } = L.window;
  if (v < rowStart || v >= rowEnd || u < colStart || u >= colEnd) return { cell: null, crop, onTileEdge };
  const fr = Math.floor(((v - rowStart) * L.final.height) / L.unpadded.height), fc = Math.floor(((u - colStart) * L.final.width) / L.unpadded.width);
  return { cell: [fr, fc] as const, crop, onTileEdge };
}

Deno.test('LLaVA rects: sampled pixels land in their own token (forward map), centres map back into their crop, downscale', () => {
  for (const [name, spec] of [['OneVision', ov], ['NeXT', next]] as const) {
    for (const [h, w] of [[480, 640], [899, 1024], [1080, 1920], [1000, 300], [3000, 4000]] as [number, number][]) {
      const layout = anyresLayout({ height: h, width: w }, spec);
      const t = llavaTokenPlaces({ height: h, width: w }, layout, spec);
      const grid = t.filter((k) => k.kind === 'grid');
      const at = (r: number, c: number) => grid[r * layout.final.width + c];
      let uncovered = 0, samples = 0;
      for (let y = 0.37; y < h; y += h / 97) {
        for (let x = 0.61; x < w; x += w / 89) {
          samples++;
          const f = forwardCell(x, y, h, w, spec);
          const hits = grid.filter((k) => x >= k.rect[0] && x < k.rect[2] && y >= k.rect[1] && y < k.rect[3]);
          if (f.cell === null) {
            uncovered++;
            assertEquals(hits.length, 0, `${name} ${h}×${w} (${x}, ${y}) is trimmed by unpad but lies in a rect`);
            continue;
          }
          const k = at(f.cell[0], f.cell[1]);
          if (hits.length !== 1 || hits[0] !== k) throw new Error(`${name} ${h}×${w} (${x.toFixed(2)}, ${y.toFixed(2)}): forward cell ${f.cell}, in ${hits.length} rects`);
        }
      }
      assert(uncovered < samples * 0.02, `${name} ${h}×${w}: ${uncovered}/${samples} samples trimmed`);
      for (const k of grid) {
        if (area(k.rect) === 0) continue;
        const c = forwardCell((k.rect[0] + k.rect[2]) / 2, (k.rect[1] + k.rect[3]) / 2, h, w, spec);
        if (c.onTileEdge) continue; // a downscaled cell centred exactly on a crop boundary belongs to either crop
        if (c.crop !== k.crop) throw new Error(`${name} ${h}×${w} token (${k.row}, ${k.col}): centre in crop ${c.crop}, token says ${k.crop}`);
      }
    }
  }
  // 1080×1920 OneVision: unpadded 75×135, downscaled by ratio 1.242 to 60×108; cells stay uniform in canvas pixels.
  const L = anyresLayout({ height: 1080, width: 1920 }, ov);
  assertEquals([L.unpadded, L.final], [{ height: 75, width: 135 }, { height: 60, width: 108 }]);
  const t = llavaTokenPlaces({ height: 1080, width: 1920 }, L, ov).filter((k) => k.kind === 'grid');
  const widths = new Set(t.slice(0, 108).map((k) => (k.rect[2] - k.rect[0]).toFixed(6)));
  assertEquals(widths.size, 1, 'downscaled cells have one width');
  // Canvas 1920 wide holds 1920 image px (pinpoint 1152×1920); a cell is 135/108 · 384/27 canvas px = 17.777… px.
  assert(Math.abs(t[0].rect[2] - t[0].rect[0] - (135 / 108) * (384 / 27)) < 1e-9, `cell width ${t[0].rect[2] - t[0].rect[0]}`);
});

Deno.test('OneVision multi-image: rects inside the square-padded tile; padding tokens empty', () => {
  const t = llavaTokenPlaces({ height: 20, width: 60 }, null, ov).filter((k) => k.kind === 'base');
  const union = gridUnionArea(t.map((k) => k.rect), 27, 27, 'multi-image');
  assert(Math.abs(union - 20 * 60) < 1e-9, `union ${union}`);
  // Square 60×60, image rows 20..40 → the top 9 token rows (cells 60/27 px) lie wholly in padding.
  assert(t.slice(0, 9 * 27).every((k) => area(k.rect) === 0), 'top rows empty');
  assert(area(t[13 * 27 + 13].rect) > 0, 'middle row has pixels');
});

Deno.test('Qwen token places: merged raster grid tiles the image exactly', () => {
  for (const [h, w] of [[480, 640], [899, 1024], [50, 50], [1000, 300], [3000, 4000]] as [number, number][]) {
    const g = qwenImageGrid(h, w);
    const t = qwenTokenPlaces({ height: h, width: w }, g.resized, g.gridThw);
    assertEquals(t.length, g.tokens, `${h}×${w} tokens`);
    const rows = g.gridThw[1] / 2, cols = g.gridThw[2] / 2;
    t.forEach((k, i) => {
      if (k.kind !== 'grid' || k.row !== Math.floor(i / cols) || k.col !== i % cols || k.crop !== 0) throw new Error(`token ${i}: ${JSON.stringify(k)}`);
    });
    const union = gridUnionArea(t.map((k) => k.rect), rows, cols, `qwen ${h}×${w}`);
    assert(Math.abs(union - h * w) < 1e-6 * h * w, `${h}×${w}: union ${union}`);
    // Token (r, c) covers resized pixels [28c, 28(c+1)) scaled back by W / w̄.
    const k = t[cols + 1];
    assert(Math.abs(k.rect[0] - (28 * w) / g.resized.width) < 1e-9 && Math.abs(k.rect[3] - (56 * h) / g.resized.height) < 1e-9, `rect ${k.rect}`);
  }
  assertThrows(() => qwenTokenPlaces({ height: 10, width: 10 }, { height: 56, width: 56 }, [2, 4, 4]), /grid_t = 1/);
  assertThrows(() => llavaTokenPlaces({ height: 0, width: 10 }, null, ov), /zero size/);
});

Deno.test('placesToGrid: main grid (every cell valid), base grid separately, newlines on neither', () => {
  const L = anyresLayout({ height: 899, width: 1024 }, ov);
  const t = llavaTokenPlaces({ height: 899, width: 1024 }, L, ov);
  const { main, base } = placesToGrid(t);
  assertEquals([main.rows, main.cols, base!.rows, base!.cols], [71, 81, 27, 27]);
  let valid = 0;
  t.forEach((k, i) => {
    valid += main.valid[i];
    if (k.kind === 'grid') assertEquals([main.row[i], main.col[i], main.cellToken[k.row * main.cols + k.col], base!.valid[i]], [k.row, k.col, i, 0]);
    else if (k.kind === 'base') assertEquals([base!.row[i], base!.col[i], main.valid[i]], [k.row, k.col, 0]);
    else assertEquals([main.valid[i], base!.valid[i], main.row[i]], [0, 0, -1], `newline ${i}`);
  });
  assertEquals(valid, 71 * 81, 'valid main cells');
  assertEquals(base!.cellToken[0], 0);
  const multi = placesToGrid(llavaTokenPlaces({ height: 20, width: 60 }, null, ov));
  assertEquals([multi.main.rows, multi.main.cols, multi.base, multi.main.valid[729]], [27, 27, null, 0]);
  const g = qwenImageGrid(480, 640);
  const q = placesToGrid(qwenTokenPlaces({ height: 480, width: 640 }, g.resized, g.gridThw));
  assertEquals([q.main.rows, q.main.cols, q.base], [17, 23, null]);
  const dup: ImageTokenPlace[] = [{ kind: 'grid', row: 0, col: 0, crop: 0, rect: [0, 0, 1, 1] }, { kind: 'grid', row: 0, col: 0, crop: 0, rect: [0, 0, 1, 1] }];
  assertThrows(() => placesToGrid(dup), /two grid tokens/);
  assertThrows(() => placesToGrid([{ kind: 'grid', row: 1, col: 1, crop: 0, rect: [0, 0, 1, 1] }]), /has no token/);
});
