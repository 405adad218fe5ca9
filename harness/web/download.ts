// A link that saves text the page made (results.jsonl, trace.json, ...) as a file, without a server.
export function downloadLink(name: string, body: string | Uint8Array, type = 'text/plain'): HTMLAnchorElement {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([body as BlobPart], { type }));
  a.download = name;
  a.textContent = `⬇ ${name}`;
  return a;
}
