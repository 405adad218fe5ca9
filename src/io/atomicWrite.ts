// A file replaced all at once: written to a temporary name beside it, flushed to disk, then renamed over the
// target, so a reader (or a restart after a kill) sees the old file or the new one, never a part (Deno).

/** Write `data` to `path` atomically (tmp + fsync + rename); errors name the file. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  const tmp = `${path}.tmp-${Deno.pid}`;
  try {
    const f = await Deno.open(tmp, { write: true, create: true, truncate: true });
    try {
      let at = 0;
      while (at < bytes.length) at += await f.write(bytes.subarray(at));
      await f.syncData();
    } finally {
      f.close();
    }
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw new Error(`${path}: cannot write: ${(e as Error).message}${diskHint(e)}`);
  }
}

/** What a person should check when a write failed with this error. */
export function diskHint(e: unknown): string {
  const code = (e as { code?: string }).code ?? '';
  const msg = String((e as Error)?.message ?? e);
  if (code === 'ENOSPC' || /No space left/i.test(msg)) return ' (the disk is full)';
  if (code === 'EROFS' || /Read-only file system/i.test(msg)) return ' (the file system is read-only)';
  if (e instanceof Deno.errors.PermissionDenied || (e as Error)?.name === 'NotCapable' || code === 'EACCES' || code === 'EPERM') return ' (no permission to write there)';
  return '';
}
