/**
 * The account store interface. The CSV file is the default backend; any other must pass
 * the same contract suite (test/server/users/store-contract.ts).
 */
export interface UserRecord {
  /** As the user typed it at registration; lookups ignore case. */
  username: string;
  passwordHash: string;
  createdAt: number;
  /**
   * Last seen, ms since epoch: the last login, logout or disconnect, and refreshed while online
   * (LAST_SEEN_REFRESH_MS); null if never seen.
   */
  lastSeenAt: number | null;
}

export interface UserStore {
  /** Load from durable storage; throws UserStoreError naming the bad line on damage. */
  open(): Promise<void>;
  get(username: string): UserRecord | undefined;
  has(username: string): boolean;
  list(): UserRecord[];
  readonly size: number;
  /**
   * Add a user. Resolves only once the record is durable; rejects with E_USERNAME_TAKEN if
   * the name (ignoring case) exists or is being added, or E_STORAGE if the write failed.
   */
  create(record: Omit<UserRecord, 'lastSeenAt'>): Promise<UserRecord>;
  /**
   * Replace a user's password hash. Resolves true once the new hash is durable, false if there
   * is no such user (or it is being removed); rejects with E_STORAGE if the write failed, and
   * then the old hash stays in force. Until it resolves, get() still gives the old hash.
   * With `ifCurrent`, only if the user's latest hash (counting changes not yet durable) is
   * that one, else false: a compare-and-set, so two changes cannot undo one another.
   */
  setPasswordHash(username: string, passwordHash: string, ifCurrent?: string): Promise<boolean>;
  /**
   * Remove a user. From the call on, get() no longer finds it; the name stays taken until the
   * removal is durable, then it is free to register again. Resolves true once durable, false
   * if there was no such user; rejects with E_STORAGE if the write failed (the user is back).
   */
  remove(username: string): Promise<boolean>;
  /** Note a last-seen time; persisted lazily (lost on a crash, which is acceptable). */
  touch(username: string, at: number): void;
  /**
   * Stores whose get() is a mirror of shared storage (a cluster's, src/server/cluster/) read
   * the user again from it, updating get(), so a login counts a change made elsewhere a moment
   * ago. Stores whose get() is the truth leave it out.
   */
  refresh?(username: string): Promise<UserRecord | undefined>;
  /** Persist anything pending and stop. */
  close(): Promise<void>;
}

/** One rule for client and server (src/net/names.ts); re-exported for the server's stores and services. */
export { userKey } from '../../net/names.ts';
