// The file sources: a directory (Deno), a picked folder's Files (webkitRelativePath), a base URL with Range reads
// and a files.txt manifest — the same calls give the same bytes and listings; bad paths are named.
import { denoSource, filesSource, type FileSource, httpSource, sourceOf } from '../../src/io/source.ts';
import { checkpointLocation } from '../../src/io/safetensors.ts';
import { assert, assertEquals, assertRejects } from '../gpu/assert.ts';

const FILES: Record<string, string> = {
  'config.json': '{"a": 1}',
  'JPEGImages/480p/bear/00000.jpg': 'jpeg bytes 0',
  'JPEGImages/480p/bear/00001.jpg': 'jpeg bytes 1',
  'JPEGImages/480p/boat/00000.jpg': 'boat',
  'ImageSets/2017/val.txt': 'bear\nboat\n',
};
const enc = new TextEncoder(), dec = new TextDecoder();

async function writeTree(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: 'kvscope-source-' });
  for (const [p, text] of Object.entries(FILES)) {
    await Deno.mkdir(`${dir}/${p.split('/').slice(0, -1).join('/')}`, { recursive: true });
    await Deno.writeTextFile(`${dir}/${p}`, text);
  }
  return dir;
}

function pickedFiles(folder: string): File[] {
  return Object.entries(FILES).map(([p, text]) => {
    const f = new File([text], p.split('/').pop()!);
    Object.defineProperty(f, 'webkitRelativePath', { value: `${folder}/${p}` });
    return f;
  });
}

/** A loopback server with Range support (and a files.txt manifest), like Vite or any static server. */
function serve(dir: string): { base: string; close: () => Promise<void> } {
  const server = Deno.serve({ hostname: '127.0.0.1', port: 0, onListen() {} }, async (req) => {
    const path = decodeURIComponent(new URL(req.url).pathname).replace(/^\/+/, '');
    let bytes: Uint8Array;
    try {
      bytes = path === 'files.txt' ? enc.encode(Object.keys(FILES).join('\n')) : await Deno.readFile(`${dir}/${path}`);
    } catch {
      return new Response('not found', { status: 404 });
    }
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.get('range') ?? '');
    if (req.method === 'HEAD') return new Response(null, { headers: { 'content-length': String(bytes.length) } });
    if (range) {
      const a = Number(range[1]), b = Math.min(Number(range[2]), bytes.length - 1);
      return new Response(bytes.slice(a, b + 1), { status: 206, headers: { 'content-range': `bytes ${a}-${b}/${bytes.length}` } });
    }
    return new Response(bytes as BodyInit);
  });
  const { port } = server.addr as Deno.NetAddr;
  return { base: `http://127.0.0.1:${port}`, close: () => server.shutdown() };
}

/** The same checks on any source. */
async function sameTree(src: FileSource): Promise<void> {
  assertEquals(await src.list(''), ['ImageSets', 'JPEGImages', 'config.json'], `${src.root}: root listing`);
  assertEquals(await src.list('JPEGImages/480p'), ['bear', 'boat'], `${src.root}: sub-folder listing`);
  assertEquals(await src.list('JPEGImages/480p/bear/'), ['00000.jpg', '00001.jpg']);
  assertEquals(dec.decode(await src.read('ImageSets/2017/val.txt')), 'bear\nboat\n');
  const f = await src.open('JPEGImages/480p/bear/00001.jpg');
  assertEquals(f.size, 12);
  assertEquals(dec.decode(await f.read(5, 5)), 'bytes', 'random access');
  assert(await src.exists('config.json') && await src.exists('JPEGImages/480p'), 'files and folders exist');
  assert(!(await src.exists('nope.json')), 'a missing file does not');
  await assertRejects(() => src.read('missing/file.png'), /missing\/file\.png/, `${src.root}: a missing file is named`);
  await assertRejects(() => src.read('../etc/passwd'), /'\.\.' is not allowed/, 'no reads outside the root');
}

Deno.test('directory source (Deno)', async () => {
  const dir = await writeTree();
  try {
    await sameTree(denoSource(dir));
    assertEquals(sourceOf(dir).root, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test('picked-folder source: webkitRelativePath without the folder name', async () => {
  const src = filesSource(pickedFiles('DAVIS'));
  assertEquals(src.root, 'picked folder DAVIS');
  await sameTree(src);
  await assertRejects(() => src.list('Annotations'), /picked folder DAVIS\/Annotations: no such folder/);
  assertEquals(sourceOf(pickedFiles('X')).root, 'picked folder X');
});

Deno.test('URL source: Range reads, files.txt listing', async () => {
  const dir = await writeTree();
  const srv = serve(dir);
  try {
    await sameTree(httpSource(`${srv.base}/`));
    assertEquals(sourceOf(srv.base).root, srv.base);
    // without a manifest, listing says what is missing
    const noList = httpSource(`${srv.base}/JPEGImages`);
    await assertRejects(() => noList.list(''), /files\.txt: HTTP 404: listing a folder over HTTP needs this manifest/);
  } finally {
    await srv.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test('a checkpoint location over any source', async () => {
  const loc = checkpointLocation(filesSource(pickedFiles('ckpt')));
  assertEquals(loc.origin, 'picked folder ckpt');
  assert(await loc.has('config.json') && !(await loc.has('model.safetensors')));
  const f = await loc.open('config.json');
  assertEquals(dec.decode(await f.read(0, f.size)), '{"a": 1}');
  // picked Files in sub-folders keep their place (not only their base name)
  const nested = checkpointLocation(pickedFiles('ckpt'));
  assert(await nested.has('ImageSets/2017/val.txt'), 'picked Files found by relative path');
});
