/**
 * users.csv: the default account store (PROTOCOL.md section 4.2 documents the file).
 * Columns: username,password_hash,created_at,last_seen_at (ISO 8601 times).
 *
 * Every change rewrites the file atomically (temp + fsync + rename). Registrations that
 * arrive while a write is in flight are grouped into the next write, so a storm of N
 * registrations costs a handful of rewrites, not N. Password changes and removals go the
 * same way: the file gets them first, memory once they are durable (a removed name is free
 * to register again only then).
 */
import { readFile } from 'node:fs/promises';
import { ErrorCode, ProtocolError } from '../../net/errors.ts';
import { removeStaleTemps, writeFileAtomic } from '../../util/atomic-file.ts';
import { storageError } from '../../util/storage-error.ts';
import { formatUsersCsv, parseUsersCsv } from './csv-format.ts';
import { userKey, type UserRecord, type UserStore } from './store.ts';

export { parseUsersCsv, USERS_CSV_COLUMNS, UserStoreError } from './csv-format.ts';

export const LAST_SEEN_FLUSH_MS = 5_000;

interface PendingWrite {
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class CsvUserStore implements UserStore {
  private readonly users = new Map<string, UserRecord>();
  /** Accepted by create() but not yet durable; they count as taken. */
  private readonly staged = new Map<string, UserRecord>();
  /** New hashes written but not yet durable; the file gets them, get() does not yet. */
  private readonly newHashes = new Map<string, string>();
  /** Removed from `users` but not yet durably from the file: the name is still taken. */
  private readonly removing = new Map<string, UserRecord>();
  private waiting: PendingWrite[] = [];
  private writing: Promise<void> | null = null;
  private lastSeenTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    readonly path: string,
    private readonly lastSeenFlushMs = LAST_SEEN_FLUSH_MS,
  ) {}

  get size(): number {
    return this.users.size;
  }

  async open(): Promise<void> {
    await removeStaleTemps(this.path);
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        await this.writeSnapshot();
        return;
      }
      throw storageError(err, this.path, 'read');
    }
    for (const record of parseUsersCsv(text, this.path)) this.users.set(userKey(record.username), record);
  }

  get(username: string): UserRecord | undefined {
    return this.users.get(userKey(username));
  }

  has(username: string): boolean {
    const key = userKey(username);
    return this.users.has(key) || this.staged.has(key) || this.removing.has(key);
  }

  list(): UserRecord[] {
    return [...this.users.values()];
  }

  async create(input: Omit<UserRecord, 'lastSeenAt'>): Promise<UserRecord> {
    if (this.closed) throw new ProtocolError(ErrorCode.STORAGE, 'the user store is closed');
    const key = userKey(input.username);
    if (this.has(input.username))
      throw new ProtocolError(ErrorCode.USERNAME_TAKEN, `the name ${input.username} is taken`);
    const record: UserRecord = { ...input, lastSeenAt: null };
    this.staged.set(key, record);
    try {
      await this.scheduleWrite();
    } catch (err) {
      this.staged.delete(key);
      throw new ProtocolError(ErrorCode.STORAGE, 'could not save the account; try again', { cause: err });
    }
    this.staged.delete(key);
    this.users.set(key, record);
    return record;
  }

  async setPasswordHash(username: string, passwordHash: string, ifCurrent?: string): Promise<boolean> {
    if (this.closed) throw new ProtocolError(ErrorCode.STORAGE, 'the user store is closed');
    const key = userKey(username);
    const record = this.users.get(key);
    if (!record) return false;
    if (ifCurrent !== undefined && (this.newHashes.get(key) ?? record.passwordHash) !== ifCurrent) return false;
    this.newHashes.set(key, passwordHash);
    try {
      await this.scheduleWrite();
    } catch (err) {
      if (this.newHashes.get(key) === passwordHash) this.newHashes.delete(key);
      throw new ProtocolError(ErrorCode.STORAGE, 'could not save the new password; the old one still works', {
        cause: err,
      });
    }
    // A later change of the same user may have overtaken this one: it then applies its own.
    if (this.newHashes.get(key) === passwordHash) {
      this.newHashes.delete(key);
      record.passwordHash = passwordHash;
    }
    return true;
  }

  async remove(username: string): Promise<boolean> {
    if (this.closed) throw new ProtocolError(ErrorCode.STORAGE, 'the user store is closed');
    const key = userKey(username);
    const record = this.users.get(key);
    if (!record) return false;
    this.users.delete(key);
    this.newHashes.delete(key);
    this.removing.set(key, record);
    try {
      await this.scheduleWrite();
    } catch (err) {
      this.users.set(key, record);
      throw new ProtocolError(ErrorCode.STORAGE, 'could not remove the account; it is unchanged', { cause: err });
    } finally {
      this.removing.delete(key);
    }
    return true;
  }

  touch(username: string, at: number): void {
    const record = this.users.get(userKey(username));
    if (!record || this.closed) return;
    record.lastSeenAt = at;
    this.lastSeenTimer ??= setTimeout(() => {
      this.lastSeenTimer = null;
      this.scheduleWrite().catch(() => {}); // retried with the next write
    }, this.lastSeenFlushMs);
    this.lastSeenTimer.unref();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.lastSeenTimer) {
      clearTimeout(this.lastSeenTimer);
      this.lastSeenTimer = null;
      await this.scheduleWrite().catch(() => {});
    }
    while (this.writing) await this.writing.catch(() => {});
    this.closed = true;
  }

  /** Group commit: one writer at a time; everything staged meanwhile goes into the next write. */
  private scheduleWrite(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      if (!this.writing) this.writing = this.drain();
    });
  }

  private async drain(): Promise<void> {
    while (this.waiting.length > 0) {
      const batch = this.waiting;
      this.waiting = [];
      try {
        await this.writeSnapshot();
        for (const w of batch) w.resolve();
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
    this.writing = null;
  }

  private async writeSnapshot(): Promise<void> {
    const records = [...this.users.values(), ...this.staged.values()].map((u) => ({
      ...u,
      passwordHash: this.newHashes.get(userKey(u.username)) ?? u.passwordHash,
    }));
    await writeFileAtomic(this.path, formatUsersCsv(records));
  }
}
