/**
 * A file being received (PROTOCOL.md section 6.7): written to `<name>.part`, created with
 * O_EXCL inside the download directory, hashed as it arrives, given its final name only after
 * the SHA-256 matched, and never over an existing file. A sidecar `<name>.part.state` (JSON)
 * says what the part belongs to, so a transfer cut by a dropped link resumes from it.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, open, readdir, readFile, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, ProtocolError } from '../../net/errors.ts';
import { withSuffix } from './safe-name.ts';

export const PART_SUFFIX = '.part';
export const STATE_SUFFIX = '.part.state';
/** Alternative names tried (" (1)", " (2)", ...) before giving up. */
const MAX_NAME_TRIES = 1000;
/** A state file larger than this is not one of ours. */
const MAX_STATE_FILE_BYTES = 4096;
/** State files looked at when an offer might resume (a download dir with more is not scanned further). */
const MAX_STATE_FILES_SCANNED = 1000;

/** What a part belongs to: the offer it was accepted from. */
export interface PartState {
  v: 1;
  peer: string;
  name: string;
  size: number;
  sha256: string;
}

export class PartialFile {
  /** Bytes handed to write() so far (the next offset expected). */
  received: number;
  private hash: Hash;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private writing: Promise<void> | null = null;
  private written: number;
  private failure: ProtocolError | null = null;
  private closed = false;
  private truncatePending = false;

  private constructor(
    readonly dir: string,
    /** The name without ".part": what the file is called when done (unless taken by then). */
    readonly name: string,
    private readonly fh: FileHandle,
    offset: number,
    hash: Hash,
  ) {
    this.received = offset;
    this.written = offset;
    this.hash = hash;
  }

  get partPath(): string {
    return join(this.dir, this.name + PART_SUFFIX);
  }
  get statePath(): string {
    return join(this.dir, this.name + STATE_SUFFIX);
  }

  /** Bytes received and not yet on disk. */
  get backlogBytes(): number {
    return this.received - this.written;
  }

  /** A fresh part for `state`: the first free "<name> (n).part" in `dir`, created with O_EXCL. */
  static async create(dir: string, state: PartState): Promise<PartialFile> {
    for (let n = 0; n < MAX_NAME_TRIES; n++) {
      const name = withSuffix(state.name, n);
      // The final name must be free too, so the common case ends under the name offered.
      if (await exists(join(dir, name))) continue;
      let fh: FileHandle;
      try {
        fh = await open(join(dir, name + PART_SUFFIX), 'wx', 0o600);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw ioError(err, 'could not create the file');
      }
      const partial = new PartialFile(dir, name, fh, 0, createHash('sha256'));
      try {
        await writeFile(partial.statePath, JSON.stringify(state), { mode: 0o600 });
      } catch (err) {
        await partial.remove();
        throw ioError(err, 'could not write the resume state');
      }
      return partial;
    }
    throw new ProtocolError(ErrorCode.FILE_IO, `no free name for ${state.name} after ${MAX_NAME_TRIES} tries`);
  }

  /**
   * A part left by an interrupted transfer of exactly this offer, reopened at the length it has
   * on disk, with the hash of that prefix recomputed from the disk (nothing in memory is trusted).
   */
  static async resume(dir: string, offer: PartState): Promise<PartialFile | null> {
    let entries: string[];
    try {
      entries = (await readdir(dir)).filter((e) => e.endsWith(STATE_SUFFIX)).slice(0, MAX_STATE_FILES_SCANNED);
    } catch {
      return null;
    }
    for (const entry of entries) {
      const state = await readState(join(dir, entry));
      if (!state || !sameOffer(state, offer)) continue;
      const name = entry.slice(0, -STATE_SUFFIX.length);
      let fh: FileHandle;
      try {
        fh = await open(join(dir, name + PART_SUFFIX), 'r+');
      } catch {
        continue;
      }
      const size = (await fh.stat()).size;
      const offset = Math.min(size, offer.size);
      const hash = await hashPrefix(join(dir, name + PART_SUFFIX), offset);
      return new PartialFile(dir, name, fh, offset, hash);
    }
    return null;
  }

  /** SHA-256 (hex) of the bytes received so far, without ending the running hash. */
  prefixDigest(): string {
    return this.hash.copy().digest('hex');
  }

  /**
   * The sender chose to start over (our prefix did not match its file). Synchronous, so data
   * that follows in the same read lands after it: the truncation runs first in the write chain.
   */
  restart(): void {
    this.received = 0;
    this.written = 0;
    this.hash = createHash('sha256');
    this.truncatePending = true;
    if (!this.writing) this.writing = this.drain();
  }

  /** Queue bytes for the disk; they are hashed now, in order. Throws the write error of an earlier write. */
  write(data: Buffer): void {
    if (this.failure) throw this.failure;
    this.hash.update(data);
    this.pending.push(data);
    this.pendingBytes += data.length;
    this.received += data.length;
    if (!this.writing) this.writing = this.drain();
  }

  /** Resolves when every queued byte is on disk; rejects with E_FILE_DISK_FULL or E_FILE_IO. */
  async settled(): Promise<void> {
    while (this.writing) await this.writing;
    if (this.failure) throw this.failure;
  }

  /** SHA-256 (hex) of everything written; call once, after the last byte. */
  digest(): string {
    return this.hash.digest('hex');
  }

  /**
   * Give the part its final name: hard-link it to the first free "<name> (n)" (link never
   * replaces an existing file), then drop the part and its state. Returns the final path.
   */
  async finish(): Promise<string> {
    await this.settled();
    await this.close();
    for (let n = 0; n < MAX_NAME_TRIES; n++) {
      const target = join(this.dir, withSuffix(this.name, n));
      try {
        await link(this.partPath, target);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw ioError(err, 'could not give the file its name');
      }
      await unlinkQuietly(this.partPath);
      await unlinkQuietly(this.statePath);
      return target;
    }
    throw new ProtocolError(ErrorCode.FILE_IO, `no free name for ${this.name} after ${MAX_NAME_TRIES} tries`);
  }

  /** Delete the part and its state (a failed or cancelled transfer). */
  async remove(): Promise<void> {
    await this.settled().catch(() => {});
    await this.close();
    await unlinkQuietly(this.partPath);
    await unlinkQuietly(this.statePath);
  }

  /** Keep the part for a resume (the link dropped): what arrived is written, then the file closed. */
  async keep(): Promise<void> {
    await this.settled().catch(() => {});
    await this.close();
  }

  private async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close().catch(() => {});
  }

  /** One writev per batch of what arrived while the previous write ran. */
  private async drain(): Promise<void> {
    try {
      if (this.truncatePending) {
        this.truncatePending = false;
        await this.fh.truncate(0);
      }
      while (this.pending.length > 0 && !this.failure) {
        const batch = this.pending;
        const bytes = this.pendingBytes;
        this.pending = [];
        this.pendingBytes = 0;
        let position = this.written;
        let rest = batch;
        while (rest.length > 0) {
          const { bytesWritten } = await this.fh.writev(rest, position);
          position += bytesWritten;
          rest = remainder(rest, bytesWritten);
        }
        this.written += bytes;
      }
    } catch (err) {
      this.failure = ioError(err, 'could not write the file');
      this.pending = [];
      this.pendingBytes = 0;
    } finally {
      this.writing = null;
    }
  }
}

/** The buffers left after `n` bytes of them were written (a short writev). */
function remainder(buffers: Buffer[], n: number): Buffer[] {
  let skip = n;
  const out: Buffer[] = [];
  for (const b of buffers) {
    if (skip >= b.length) {
      skip -= b.length;
      continue;
    }
    out.push(skip > 0 ? b.subarray(skip) : b);
    skip = 0;
  }
  return out;
}

function sameOffer(a: PartState, b: PartState): boolean {
  return (
    a.peer.toLowerCase() === b.peer.toLowerCase() && a.name === b.name && a.size === b.size && a.sha256 === b.sha256
  );
}

async function readState(path: string): Promise<PartState | null> {
  try {
    if ((await stat(path)).size > MAX_STATE_FILE_BYTES) return null;
    const value = JSON.parse(await readFile(path, 'utf8')) as Partial<PartState>;
    const { v, peer, name, size, sha256 } = value;
    if (v !== 1 || typeof peer !== 'string' || typeof name !== 'string') return null;
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || typeof sha256 !== 'string') return null;
    return { v, peer, name, size, sha256 };
  } catch {
    return null;
  }
}

/** SHA-256 of the first `bytes` bytes of a file, as a running hash. */
export async function hashPrefix(path: string, bytes: number): Promise<Hash> {
  const hash = createHash('sha256');
  if (bytes === 0) return hash;
  for await (const chunk of createReadStream(path, { start: 0, end: bytes - 1, highWaterMark: 1024 * 1024 })) {
    hash.update(chunk as Buffer);
  }
  return hash;
}

/** ENOSPC (and EDQUOT) are the user's disk being full: a code of their own and plain words. */
export function ioError(err: unknown, what: string): ProtocolError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new ProtocolError(ErrorCode.FILE_DISK_FULL, 'the disk is full: the partial file was removed', {
      cause: err,
    });
  }
  return new ProtocolError(ErrorCode.FILE_IO, `${what}: ${(err as Error).message}`, { cause: err });
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function unlinkQuietly(path: string): Promise<void> {
  await unlink(path).catch(() => {});
}
