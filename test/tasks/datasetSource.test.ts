// A dataset reader reads the same samples whichever source holds the folder: a directory (Deno), the Files of a
// picked folder (browser), a URL with a files.txt manifest.
import { DavisReader } from '../../src/tasks/datasets/davis.ts';
import { denoFileTree, IMAGE_CODEC } from '../../src/tasks/datasets/dataset.ts';
import { filesSource, type FileSource, httpSource } from '../../src/io/source.ts';
import { assertEquals, assertRejects } from '../gpu/assert.ts';
import { palettePng, rgbJpeg, solid } from './fixtureWriters.ts';

const PALETTE = [[0, 0, 0], [128, 0, 0], [0, 128, 0]];
const w = 7, h = 5;
const ids0 = Uint8Array.from({ length: w * h }, (_, i) => (i % w < 3 ? 1 : i % w < 5 ? 2 : 0));
const TREE: Record<string, Uint8Array | string> = {
  'ImageSets/2017/val.txt': 'dogs\n',
  'JPEGImages/480p/dogs/00000.jpg': rgbJpeg(w, h, solid(w, h, [10, 20, 30])),
  'JPEGImages/480p/dogs/00001.jpg': rgbJpeg(w, h, solid(w, h, [90, 20, 30])),
  'Annotations/480p/dogs/00000.png': palettePng(w, h, ids0, PALETTE),
};

async function summary(files: FileSource) {
  const reader = new DavisReader(files, IMAGE_CODEC, { format: '2017', split: 'val' });
  const seq = await reader.read('dogs');
  return {
    ids: await reader.ids(), frames: seq.frames, objects: seq.numObjects,
    mask: Array.from((await seq.mask(0)).ids), pixel: Array.from((await seq.frame(1)).data.slice(0, 3)),
  };
}

Deno.test('DAVIS through a directory, a picked folder and a URL: the same sequence', async () => {
  const dir = await Deno.makeTempDir({ prefix: 'kvscope-davis-' });
  const files: File[] = [];
  for (const [p, body] of Object.entries(TREE)) {
    await Deno.mkdir(`${dir}/${p.split('/').slice(0, -1).join('/')}`, { recursive: true });
    await Deno.writeFile(`${dir}/${p}`, typeof body === 'string' ? new TextEncoder().encode(body) : body);
    const f = new File([body as BlobPart], p.split('/').pop()!);
    Object.defineProperty(f, 'webkitRelativePath', { value: `DAVIS/${p}` });
    files.push(f);
  }
  const server = Deno.serve({ hostname: '127.0.0.1', port: 0, onListen() {} }, async (req) => {
    const path = new URL(req.url).pathname.slice(1);
    const bytes = path === 'files.txt' ? new TextEncoder().encode(Object.keys(TREE).join('\n')) : await Deno.readFile(`${dir}/${path}`).catch(() => null);
    if (!bytes) return new Response('no', { status: 404 });
    if (req.method === 'HEAD') return new Response(null, { headers: { 'content-length': String(bytes.length) } });
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.get('range') ?? '');
    if (!m) return new Response(bytes);
    const a = Number(m[1]), b = Math.min(Number(m[2]), bytes.length - 1);
    return new Response(bytes.slice(a, b + 1), { status: 206, headers: { 'content-range': `bytes ${a}-${b}/${bytes.length}` } });
  });
  try {
    const want = await summary(denoFileTree(dir));
    assertEquals(want.ids, ['dogs']);
    assertEquals(want.mask, Array.from(ids0));
    assertEquals(JSON.stringify(await summary(filesSource(files))), JSON.stringify(want), 'picked folder');
    assertEquals(JSON.stringify(await summary(httpSource(`http://127.0.0.1:${(server.addr as Deno.NetAddr).port}`))), JSON.stringify(want), 'URL');
    // a picked folder in the wrong layout names what is missing
    await assertRejects(() => new DavisReader(filesSource(files.slice(1)), IMAGE_CODEC, { format: '2017', split: 'val' }).ids(), /picked folder DAVIS\/ImageSets\/2017\/val\.txt/, 'wrong layout');
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
