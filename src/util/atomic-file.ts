/**
 * Replace a file so that a crash at any instant leaves either the old or the new content:
 * write a temp file beside it, fsync it, rename it over the target, fsync the directory.
 */
import { open, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { storageError } from './storage-error.ts';

let sequence = 0;

export async function writeFileAtomic(path: string, data: string | Buffer, mode = 0o600): Promise<void> {
  try {
    await replaceFile(path, data, mode);
  } catch (err) {
    throw storageError(err, path, 'write');
  }
}

async function replaceFile(path: string, data: string | Buffer, mode: number): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${process.pid}.${++sequence}.tmp`);
  const file = await open(temp, 'w', mode);
  try {
    await file.writeFile(data);
    await file.sync();
  } catch (err) {
    await file.close().catch(() => {});
    await unlink(temp).catch(() => {});
    throw err;
  }
  await file.close();
  try {
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => {});
    throw err;
  }
  await syncDirectory(dir);
}

export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is still atomic there.
  } finally {
    await handle.close();
  }
}

/** Remove temp files a crashed writer left behind. */
export async function removeStaleTemps(path: string): Promise<void> {
  const dir = dirname(path);
  const prefix = `.${basename(path)}.`;
  for (const name of await readdir(dir)) {
    if (name.startsWith(prefix) && name.endsWith('.tmp')) await unlink(join(dir, name)).catch(() => {});
  }
}
