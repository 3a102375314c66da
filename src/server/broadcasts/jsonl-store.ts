/**
 * The default broadcast store: `<data-dir>/broadcasts.jsonl`, one JSON record a line
 * (PROTOCOL.md section 7.3). Appends are fsynced before they count; the queue groups the
 * records that arrive during one fsync into the next, so a burst costs a few fsyncs, not one
 * each. Compaction rewrites the file atomically (temp file, fsync, rename, fsync of the dir).
 *
 * A crash can only damage the end of an append-only file: invalid lines after the last valid
 * one, and a last line without its newline, are a torn append, ignored and cut off. An invalid line *followed by* valid ones is
 * damage of another kind, and stops the server with the file and line, as users.csv does.
 */
import { open, readFile, truncate, type FileHandle } from 'node:fs/promises';
import { removeStaleTemps, writeFileAtomic } from '../../util/atomic-file.ts';
import { storageError } from '../../util/storage-error.ts';
import { SchemaError } from '../../net/schema.ts';
import { BroadcastStoreError, parseRecord, type BroadcastStore, type LoadResult, type QueueRecord } from './store.ts';

const FILE_MODE = 0o600;

export class JsonlBroadcastStore implements BroadcastStore {
  private handle: FileHandle | null = null;
  private closed = false;

  constructor(readonly path: string) {}

  async load(): Promise<LoadResult> {
    await removeStaleTemps(this.path);
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], tornRecords: 0 };
      throw storageError(err, this.path, 'read');
    }
    // Split on newlines; the piece after the last newline is empty unless an append was cut
    // short. Such a piece is torn even if it parses: its write never finished.
    const lines = text.split('\n');
    const unterminated = lines.pop() as string;
    const records: QueueRecord[] = [];
    let firstBad: { line: number; detail: string } | null = null;
    let tornRecords = 0;
    let validBytes = 0;
    let offset = 0;
    lines.forEach((line, i) => {
      const lineBytes = Buffer.byteLength(line, 'utf8') + 1;
      const parsed = parseLine(line);
      if (parsed.ok) {
        if (firstBad) throw new BroadcastStoreError(this.path, firstBad.line, firstBad.detail);
        records.push(parsed.record);
        validBytes = offset + lineBytes;
      } else {
        firstBad ??= { line: i + 1, detail: parsed.detail };
        tornRecords += 1;
      }
      offset += lineBytes;
    });
    if (unterminated !== '') tornRecords += 1;
    if (tornRecords > 0) {
      // Cut the torn end off before anything is appended after it.
      await truncate(this.path, validBytes).catch((err: unknown) => {
        throw storageError(err, this.path, 'cut the torn end off');
      });
      await this.syncFile();
    }
    return { records, tornRecords };
  }

  async append(records: QueueRecord[]): Promise<void> {
    if (records.length === 0) return;
    try {
      const handle = await this.openForAppend();
      await handle.writeFile(serialise(records));
      await handle.datasync();
    } catch (err) {
      throw storageError(err, this.path, 'append to');
    }
  }

  async rewrite(records: QueueRecord[]): Promise<void> {
    if (this.closed) throw new Error('broadcast store is closed');
    await writeFileAtomic(this.path, serialise(records), FILE_MODE);
    // The old descriptor points at the replaced file: reopen on the next append.
    const old = this.handle;
    this.handle = null;
    await old?.close();
  }

  async close(): Promise<void> {
    this.closed = true;
    const handle = this.handle;
    this.handle = null;
    await handle?.close();
  }

  private async openForAppend(): Promise<FileHandle> {
    if (this.closed) throw new Error('broadcast store is closed');
    this.handle ??= await open(this.path, 'a', FILE_MODE);
    return this.handle;
  }

  private async syncFile(): Promise<void> {
    const handle = await open(this.path, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}

function serialise(records: QueueRecord[]): string {
  return records.length === 0 ? '' : `${records.map((r) => JSON.stringify(r)).join('\n')}\n`;
}

function parseLine(line: string): { ok: true; record: QueueRecord } | { ok: false; detail: string } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { ok: false, detail: 'not a JSON record' };
  }
  try {
    return { ok: true, record: parseRecord(value) };
  } catch (err) {
    return { ok: false, detail: err instanceof SchemaError ? `invalid record (${err.message})` : 'invalid record' };
  }
}
