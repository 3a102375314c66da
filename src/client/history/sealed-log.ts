/**
 * One append-only file of sealed records: each is a 4-byte big-endian length, then
 * nonce || ciphertext || tag (crypto.ts), sealed with the file's name and the record's index
 * as associated data. A record is one write() on an O_APPEND descriptor, so a crash leaves at
 * most a torn last record; open() finds it (a length that runs past the end, or a tag that
 * does not verify) and cuts it off. Over `maxBytes`, the file is rewritten keeping the newest
 * records up to `keepBytes` (temp file + rename: a crash leaves the old or the new file).
 * Only the records' offsets stay in memory; their text is read back a page at a time.
 */
import { open, truncate, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { removeStaleTemps, writeFileAtomic } from '../../util/atomic-file.ts';
import { NONCE_BYTES, openRecord, sealRecord, TAG_BYTES } from './crypto.ts';

const LENGTH_BYTES = 4;
/** No record we write comes near this (a chat message is a few KiB); a larger length is damage. */
export const MAX_RECORD_BYTES = 1024 * 1024;
export const FILE_MODE = 0o600;

export interface LogLimits {
  /** Rewrite the file once it grows past this. */
  maxBytes: number;
  /** What the rewrite keeps (the newest records), below maxBytes so rewrites are rare. */
  keepBytes: number;
}

export interface OpenedLog {
  log: SealedLog;
  /** Bytes cut off the end because the last record was torn or did not verify. */
  tornBytes: number;
}

export class SealedLog {
  /** Start of each record (its length prefix), oldest first; `size` is where the next one goes. */
  private offsets: number[];
  private size: number;
  private writes: Promise<unknown> = Promise.resolve();
  private readonly fileName: string;

  private constructor(
    readonly path: string,
    private handle: FileHandle,
    private readonly dataKey: Buffer,
    private readonly limits: LogLimits,
    offsets: number[],
    size: number,
  ) {
    this.fileName = basename(path);
    this.offsets = offsets;
    this.size = size;
  }

  /** Open (or create) the file and check its tail. */
  static async open(path: string, dataKey: Buffer, limits: LogLimits): Promise<OpenedLog> {
    await removeStaleTemps(path); // a rewrite that a crash interrupted
    const handle = await open(path, 'a+', FILE_MODE);
    try {
      const fileSize = (await handle.stat()).size;
      const offsets = await scan(handle, fileSize);
      let good = offsets.pop() ?? 0; // scan's last entry is where the whole records end
      // A length that fits but a tag that fails is a torn write too (e.g. a tail of zeros after a crash).
      const last = offsets.length - 1;
      const lastStart = offsets[last];
      if (lastStart !== undefined) {
        const bytes = Buffer.alloc(good - lastStart);
        await handle.read(bytes, 0, bytes.length, lastStart);
        if (openAt(bytes, 0, dataKey, basename(path), last) === null) {
          good = lastStart;
          offsets.pop();
        }
      }
      if (good < fileSize) await truncate(path, good);
      return { log: new SealedLog(path, handle, dataKey, limits, offsets, good), tornBytes: fileSize - good };
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  get count(): number {
    return this.offsets.length;
  }

  get bytes(): number {
    return this.size;
  }

  /** Records [start, end) as plaintext, oldest first; one that no longer verifies is left out. */
  async read(start: number, end: number): Promise<Buffer[]> {
    await this.writes;
    const from = Math.max(0, start);
    const to = Math.min(end, this.offsets.length);
    return from < to ? this.readNow(from, to) : [];
  }

  /** Append one record (queued behind earlier appends); rewrites the file when it is over its bound. */
  append(plain: Buffer): Promise<void> {
    const run = this.writes.then(async () => {
      const seq = this.offsets.length;
      const record = frame(sealRecord(this.dataKey, this.fileName, seq, plain));
      // One write on an O_APPEND descriptor: a crash tears at most this record. A short or failed
      // write (a full disk) is cut off at once, so the records after it are not lost behind it.
      try {
        const { bytesWritten } = await this.handle.write(record);
        if (bytesWritten !== record.length) throw new Error(`wrote ${bytesWritten} of ${record.length} bytes`);
      } catch (err) {
        await this.handle.truncate(this.size).catch(() => {});
        throw new Error(`could not append to ${this.path}: ${err instanceof Error ? err.message : String(err)}`, {
          cause: err,
        });
      }
      this.offsets.push(this.size);
      this.size += record.length;
      if (this.size > this.limits.maxBytes) await this.compact();
    });
    this.writes = run.catch(() => {});
    return run;
  }

  /** Resolves once every append so far is written. */
  async flush(): Promise<void> {
    await this.writes;
  }

  async close(): Promise<void> {
    await this.writes;
    await this.handle.close();
  }

  /** Keep the newest records that fit in keepBytes, re-sealed at their new indexes. */
  private async compact(): Promise<void> {
    let first = this.offsets.length;
    while (first > 0 && this.size - (this.offsets[first - 1] ?? 0) <= this.limits.keepBytes) first -= 1;
    const kept = await this.readNow(first, this.offsets.length);
    const offsets: number[] = [];
    let size = 0;
    const chunks = kept.map((plain, seq) => {
      const record = frame(sealRecord(this.dataKey, this.fileName, seq, plain));
      offsets.push(size);
      size += record.length;
      return record;
    });
    await writeFileAtomic(this.path, Buffer.concat(chunks), FILE_MODE);
    await this.handle.close();
    this.handle = await open(this.path, 'a+', FILE_MODE);
    this.offsets = offsets;
    this.size = size;
  }

  /** read() without waiting for the write queue (compact runs inside it). */
  private async readNow(start: number, end: number): Promise<Buffer[]> {
    const begin = this.offsets[start] ?? this.size;
    const stop = this.offsets[end] ?? this.size;
    const bytes = Buffer.alloc(stop - begin);
    await this.handle.read(bytes, 0, bytes.length, begin);
    const out: Buffer[] = [];
    for (let i = start; i < end; i++) {
      const plain = openAt(bytes, (this.offsets[i] ?? 0) - begin, this.dataKey, this.fileName, i);
      if (plain) out.push(plain);
    }
    return out;
  }
}

function frame(record: Buffer): Buffer {
  const out = Buffer.allocUnsafe(LENGTH_BYTES + record.length);
  out.writeUInt32BE(record.length, 0);
  record.copy(out, LENGTH_BYTES);
  return out;
}

/** Bytes read at a time while finding the records: opening a 14 MB log never holds it whole. */
const SCAN_CHUNK_BYTES = 1024 * 1024;

/**
 * Offsets of the whole records, oldest first, then one more: where the last whole one ends.
 * Only the length prefixes are read; the records are checked when read back.
 */
async function scan(handle: FileHandle, fileSize: number): Promise<number[]> {
  const offsets: number[] = [];
  const chunk = Buffer.alloc(Math.min(SCAN_CHUNK_BYTES, Math.max(LENGTH_BYTES, fileSize)));
  let chunkStart = 0;
  let chunkEnd = 0;
  let at = 0;
  while (at + LENGTH_BYTES <= fileSize) {
    if (at + LENGTH_BYTES > chunkEnd) {
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, at);
      chunkStart = at;
      chunkEnd = at + bytesRead;
      if (bytesRead < LENGTH_BYTES) break;
    }
    const length = chunk.readUInt32BE(at - chunkStart);
    if (length < NONCE_BYTES + TAG_BYTES || length > MAX_RECORD_BYTES || at + LENGTH_BYTES + length > fileSize) break;
    offsets.push(at);
    at += LENGTH_BYTES + length;
  }
  offsets.push(at);
  return offsets;
}

function openAt(bytes: Buffer, at: number, dataKey: Buffer, fileName: string, seq: number): Buffer | null {
  if (at < 0 || at + LENGTH_BYTES > bytes.length) return null;
  const length = bytes.readUInt32BE(at);
  const record = bytes.subarray(at + LENGTH_BYTES, at + LENGTH_BYTES + length);
  if (record.length !== length) return null;
  return openRecord(dataKey, fileName, seq, record);
}
