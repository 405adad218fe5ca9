// float64 references for the row ops on [rows, width] views.
import { type HostTensor, hostTensor } from '../../gpu/hostTensor.ts';

const widthOf = (x: HostTensor) => x.shape[x.shape.length - 1];

export function sliceRows(x: HostTensor, start: number, count: number): HostTensor {
  const w = widthOf(x);
  return hostTensor([count, w], x.data.subarray(start * w, (start + count) * w));
}

export function sliceCols(x: HostTensor, start: number, width: number): HostTensor {
  const w = widthOf(x), rows = x.data.length / w;
  const out = hostTensor([rows, width]);
  for (let r = 0; r < rows; r++) for (let c = 0; c < width; c++) out.data[r * width + c] = x.data[r * w + start + c];
  return out;
}

export function concatRows(parts: readonly HostTensor[]): HostTensor {
  const w = widthOf(parts[0]);
  const all = parts.flatMap((p) => Array.from(p.data));
  return hostTensor([all.length / w, w], all);
}

export function copyInto(src: HostTensor, dst: HostTensor, dstRow0: number): HostTensor {
  const w = widthOf(dst);
  const out = hostTensor(dst.shape, dst.data);
  out.data.set(src.data, dstRow0 * w);
  return out;
}

export function gatherRows(x: HostTensor, index: readonly number[]): HostTensor {
  const w = widthOf(x), rows = x.data.length / w;
  const out = hostTensor([index.length, w]);
  index.forEach((r, i) => { if (r < rows) out.data.set(x.data.subarray(r * w, (r + 1) * w), i * w); });
  return out;
}

export function scatterRows(src: HostTensor, index: readonly number[], dst: HostTensor): HostTensor {
  const w = widthOf(dst), rows = dst.data.length / w;
  const out = hostTensor(dst.shape, dst.data);
  index.forEach((r, i) => { if (r < rows) out.data.set(src.data.subarray(i * w, (i + 1) * w), r * w); });
  return out;
}
