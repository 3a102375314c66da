/** An in-memory UserStore: for tests and throwaway servers. Passes the same contract suite. */
import { ErrorCode, ProtocolError } from '../../net/errors.ts';
import { userKey, type UserRecord, type UserStore } from './store.ts';

export class MemoryUserStore implements UserStore {
  private readonly users = new Map<string, UserRecord>();
  private readonly staged = new Set<string>();
  /** Hash changes not yet "durable" (they resolve a tick later, like a real store's). */
  private readonly newHashes = new Map<string, string>();

  async open(): Promise<void> {}
  get size(): number {
    return this.users.size;
  }
  get(username: string): UserRecord | undefined {
    return this.users.get(userKey(username));
  }
  has(username: string): boolean {
    return this.users.has(userKey(username)) || this.staged.has(userKey(username));
  }
  list(): UserRecord[] {
    return [...this.users.values()];
  }
  async create(input: Omit<UserRecord, 'lastSeenAt'>): Promise<UserRecord> {
    const key = userKey(input.username);
    if (this.has(key)) throw new ProtocolError(ErrorCode.USERNAME_TAKEN, `the name ${input.username} is taken`);
    this.staged.add(key);
    await Promise.resolve(); // resolve asynchronously, like a durable store
    this.staged.delete(key);
    const record = { ...input, lastSeenAt: null };
    this.users.set(key, record);
    return record;
  }
  async setPasswordHash(username: string, passwordHash: string, ifCurrent?: string): Promise<boolean> {
    const key = userKey(username);
    const record = this.users.get(key);
    if (!record) return false;
    if (ifCurrent !== undefined && (this.newHashes.get(key) ?? record.passwordHash) !== ifCurrent) return false;
    this.newHashes.set(key, passwordHash);
    await Promise.resolve();
    if (this.newHashes.get(key) === passwordHash) {
      this.newHashes.delete(key);
      if (this.users.get(key) === record) record.passwordHash = passwordHash;
    }
    return true;
  }
  async remove(username: string): Promise<boolean> {
    const key = userKey(username);
    const record = this.users.get(key);
    if (!record) return false;
    this.users.delete(key);
    this.newHashes.delete(key);
    this.staged.add(key); // taken until the removal "is durable", as in a real store
    await Promise.resolve();
    this.staged.delete(key);
    return true;
  }
  touch(username: string, at: number): void {
    const record = this.users.get(userKey(username));
    if (record) record.lastSeenAt = at;
  }
  async close(): Promise<void> {}
}
