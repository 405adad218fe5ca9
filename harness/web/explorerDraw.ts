// Drawing for the explorer: a perceptual colour scale (viridis control points, linearly interpolated), an image
// panel, a map panel (one colour per grid cell on the scale [lo, hi]), their blend at an opacity, the clicked cell
// and the best-match marker, and a colour bar with its numbers. Pure canvas code: what is drawn comes in as host
// arrays already read back (one similarity row, one agnostic-key row), nothing here touches the GPU.
import type { FeatureMap } from '../../src/capture/features.ts';
import type { RgbImage } from '../../src/io/rgbImage.ts';

// viridis at t = 0, 0.125, …, 1 (matplotlib's table, 9 samples)
const STOPS: readonly (readonly [number, number, number])[] = [
  [68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141], [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37],
];

/** The colour of t ∈ [0, 1] (clamped). */
export function colourOf(t: number): [number, number, number] {
  const x = Math.max(0, Math.min(1, Number.isFinite(t) ? t : 0)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(x)), f = x - i;
  const a = STOPS[i], b = STOPS[i + 1];
  return [0, 1, 2].map((k) => Math.round(a[k] + (b[k] - a[k]) * f)) as [number, number, number];
}

/** Where a value falls on the scale [lo, hi] (0.5 when the scale is one point). */
export function scaled(v: number, lo: number, hi: number): number {
  return hi > lo ? (v - lo) / (hi - lo) : 0.5;
}

/** The image at its own resolution on an offscreen canvas, to be scaled onto panels. */
export function pictureCanvas(image: RgbImage): HTMLCanvasElement {
  const rgba = new ImageData(image.width, image.height);
  for (let i = 0; i < image.width * image.height; i++) {
    rgba.data.set(image.data.subarray(i * 3, i * 3 + 3), i * 4);
    rgba.data[i * 4 + 3] = 255;
  }
  const pic = document.createElement('canvas');
  pic.width = image.width;
  pic.height = image.height;
  pic.getContext('2d')!.putImageData(rgba, 0, 0);
  return pic;
}

/** The grid a panel draws: which cells hold a token and their pixel rectangles. */
export type PanelGrid = Pick<FeatureMap, 'valid' | 'rects'>;

export interface PanelMap {
  /** One value per grid cell of `fm` (read back from the GPU). */
  values: ArrayLike<number>;
  lo: number;
  hi: number;
}

export interface PanelOptions {
  /** 'image': the picture and the grid; 'map': the cell colours alone; 'blend': the map over the picture at `opacity`. */
  mode: 'image' | 'map' | 'blend';
  map?: PanelMap | null;
  opacity?: number;
  /** The clicked cell (yellow outline). */
  selected?: number;
  /** The best match (white ring and cross). */
  marker?: number;
  /** Cells outlined in red (the input-agnostic keys above the threshold). */
  flagged?: ReadonlySet<number>;
}

const NO_TOKEN_FILL = 'rgb(40, 40, 40)';

/** Draw one panel of `fm`'s grid over `pic` at `scale` canvas pixels per image pixel. */
export function drawPanel(canvas: HTMLCanvasElement, pic: HTMLCanvasElement, fm: PanelGrid, scale: number, o: PanelOptions): void {
  canvas.width = Math.round(pic.width * scale);
  canvas.height = Math.round(pic.height * scale);
  const g = canvas.getContext('2d')!;
  g.imageSmoothingEnabled = false;
  const rect = (i: number) => {
    const [x0, y0, x1, y1] = fm.rects.subarray(i * 4, i * 4 + 4);
    return [x0 * scale, y0 * scale, (x1 - x0) * scale, (y1 - y0) * scale] as const;
  };
  if (o.mode === 'map') {
    g.fillStyle = NO_TOKEN_FILL;
    g.fillRect(0, 0, canvas.width, canvas.height);
  } else {
    g.drawImage(pic, 0, 0, canvas.width, canvas.height);
  }
  if (o.map && o.mode !== 'image') {
    g.globalAlpha = o.mode === 'blend' ? Math.max(0, Math.min(1, o.opacity ?? 0.5)) : 1;
    for (let i = 0; i < fm.valid.length; i++) {
      if (!fm.valid[i]) continue;
      const [r, gg, b] = colourOf(scaled(o.map.values[i], o.map.lo, o.map.hi));
      g.fillStyle = `rgb(${r}, ${gg}, ${b})`;
      // cover the cell and its seam with the neighbour (rects are fractional)
      const [x, y, w, h] = rect(i);
      g.fillRect(Math.floor(x), Math.floor(y), Math.ceil(x + w) - Math.floor(x), Math.ceil(y + h) - Math.floor(y));
    }
    g.globalAlpha = 1;
  }
  if (o.mode === 'image') {
    g.strokeStyle = 'rgba(255, 255, 255, 0.35)';
    g.lineWidth = 1;
    for (let i = 0; i < fm.valid.length; i++) if (fm.valid[i]) g.strokeRect(...rect(i));
  }
  if (o.flagged) {
    g.strokeStyle = 'rgb(255, 40, 40)';
    g.lineWidth = 2;
    for (const i of o.flagged) if (fm.valid[i]) g.strokeRect(...rect(i));
  }
  if (o.selected !== undefined && o.selected >= 0) {
    // black under yellow: visible on the bright end of the scale too
    for (const [style, width] of [['rgb(0, 0, 0)', 5], ['rgb(255, 230, 0)', 2]] as const) {
      g.strokeStyle = style;
      g.lineWidth = width;
      g.strokeRect(...rect(o.selected));
    }
  }
  if (o.marker !== undefined && o.marker >= 0) {
    const [x, y, w, h] = rect(o.marker);
    const cx = x + w / 2, cy = y + h / 2, r = Math.max(6, Math.min(w, h) * 0.6);
    for (const [style, width] of [['rgb(0, 0, 0)', 4], ['rgb(255, 255, 255)', 2]] as const) {
      g.strokeStyle = style;
      g.lineWidth = width;
      g.beginPath();
      g.arc(cx, cy, r, 0, 2 * Math.PI);
      g.moveTo(cx - r * 1.5, cy);
      g.lineTo(cx + r * 1.5, cy);
      g.moveTo(cx, cy - r * 1.5);
      g.lineTo(cx, cy + r * 1.5);
      g.stroke();
    }
  }
}

/** Format a scale end for the colour bar. */
export function barNumber(v: number): string {
  return Number.isFinite(v) ? v.toFixed(4) : '—';
}

/** A horizontal colour bar from lo (left) to hi (right), with the two ends and the middle written under it. */
export function drawColourBar(canvas: HTMLCanvasElement, lo: number, hi: number, width = 320): void {
  const barH = 16, textH = 16;
  canvas.width = width;
  canvas.height = barH + textH;
  const g = canvas.getContext('2d')!;
  g.fillStyle = 'white';
  g.fillRect(0, 0, canvas.width, canvas.height);
  for (let x = 0; x < width; x++) {
    const [r, gg, b] = colourOf(x / (width - 1));
    g.fillStyle = `rgb(${r}, ${gg}, ${b})`;
    g.fillRect(x, 0, 1, barH);
  }
  g.fillStyle = 'rgb(30, 30, 30)';
  g.font = '12px sans-serif';
  g.textBaseline = 'top';
  g.textAlign = 'left';
  g.fillText(barNumber(lo), 0, barH + 2);
  g.textAlign = 'center';
  g.fillText(barNumber((lo + hi) / 2), width / 2, barH + 2);
  g.textAlign = 'right';
  g.fillText(barNumber(hi), width, barH + 2);
}
