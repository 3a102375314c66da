/**
 * The account store of a cluster (docs/CLUSTER.md "Accounts"): one Redis hash, user key ->
 * JSON record, shared by every node. The UserStore seam reads synchronously, so each node
 * keeps a mirror of the hash: loaded in open(), told of other nodes' changes on the bus
 * (`accounts.changed { user }`: re-read that user) and rebuilt on `resync`. Every change that
 * must be unique is one Lua script, so Redis decides: of two nodes registering one name at
 * once exactly one script finds it free. A login reads the user from Redis first (refresh),
 * so a user registered, re-passworded or deleted on another node a moment ago is seen at once;
 * while Redis is down, logins use the mirror and changes fail with E_UNAVAILABLE.
 */
import { USERNAME_PATTERN } from '../../net/constants.ts';
import { ErrorCode, ProtocolError } from '../../net/errors.ts';
import { int, obj, str, type Validator } from '../../net/schema.ts';
import { LAST_SEEN_FLUSH_MS } from '../users/csv-store.ts';
import { isScryptHash } from '../users/passwords.ts';
import { userKey, type UserRecord, type UserStore } from '../users/store.ts';
import type { ClusterLink } from './link.ts';
import { luaScript, unavailable, type LuaCall } from './redis-calls.ts';

/** What the store uses of the link. */
export type UserStoreLink = Pick<ClusterLink, 'redis' | 'key' | 'publish' | 'on' | 'off'>;

/** Bus topic: a user was created, changed or removed; other nodes re-read it. */
export const ACCOUNTS_CHANGED = 'accounts.changed';
/** Last-seen times written in one script call at most (the rest go in the next). */
const MAX_TOUCHES_PER_FLUSH = 1_000;

// Times are ms since epoch: 13 digits until the year 2286, within the 14 significant digits
// Redis's cjson keeps when it re-encodes a record.
const CREATE_LUA = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1`;
/** ARGV: key, new hash, the hash it must replace ('' for any). 1 done, 0 no user, -1 not current. */
const SET_HASH_LUA = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local record = cjson.decode(raw)
if ARGV[3] ~= '' and record.passwordHash ~= ARGV[3] then return -1 end
record.passwordHash = ARGV[2]
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(record))
return 1`;
/** ARGV: key, at, key, at, ...: last seen, only for users that exist and only forward. */
const TOUCH_LUA = `
for i = 1, #ARGV, 2 do
  local raw = redis.call('HGET', KEYS[1], ARGV[i])
  if raw then
    local record = cjson.decode(raw)
    local at = tonumber(ARGV[i + 1])
    if record.lastSeenAt == cjson.null or record.lastSeenAt < at then
      record.lastSeenAt = at
      redis.call('HSET', KEYS[1], ARGV[i], cjson.encode(record))
    end
  end
end
return 1`;

const changedNews = obj({ user: str({ min: 1, maxBytes: 32, pattern: USERNAME_PATTERN }) });
const recordShape = obj({
  username: str({ min: 1, maxBytes: 32, pattern: USERNAME_PATTERN }),
  passwordHash: str({ min: 1, maxBytes: 1024 }),
  createdAt: int(0, Number.MAX_SAFE_INTEGER),
});
const lastSeen: Validator<number | null> = (v, path) => (v === null ? null : int(0, Number.MAX_SAFE_INTEGER)(v, path));

/** A record as stored in Redis, or null if it is not one (another version's, or damage). */
export function parseStoredUser(raw: string): UserRecord | null {
  try {
    const value = JSON.parse(raw) as Record<string, unknown>;
    const record = { ...recordShape(value), lastSeenAt: lastSeen(value.lastSeenAt ?? null, 'lastSeenAt') };
    return isScryptHash(record.passwordHash) ? record : null;
  } catch {
    return null;
  }
}

export function encodeStoredUser(record: UserRecord): string {
  const { username, passwordHash, createdAt, lastSeenAt } = record;
  return JSON.stringify({ username, passwordHash, createdAt, lastSeenAt });
}

export class RedisUserStore implements UserStore {
  /** The mirror of the Redis hash. */
  private readonly users = new Map<string, UserRecord>();
  /** Keys with a change of ours in flight: created, removed, or re-hashed (the new hash). */
  private readonly creating = new Set<string>();
  private readonly removing = new Set<string>();
  private readonly newHashes = new Map<string, string>();
  /** Last seen times not yet written. */
  private pendingSeen = new Map<string, number>();
  /** Bumped by every change of ours: a re-read sent before one must not overwrite its result. */
  private sequence = 0;
  private readonly changedAt = new Map<string, number>();
  private seenTimer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Bus messages and stored records that did not validate (dropped). */
  dropped = 0;
  private readonly usersKey: string;
  private readonly createScript: LuaCall;
  private readonly setHashScript: LuaCall;
  private readonly touchScript: LuaCall;
  private readonly onMessage = (topic: string, data: unknown) => {
    if (topic !== ACCOUNTS_CHANGED) return;
    let news: { user: string };
    try {
      news = changedNews(data);
    } catch {
      this.dropped += 1;
      return;
    }
    void this.reload(news.user).catch(() => {}); // Redis down: the resync after it rebuilds all
  };
  private readonly onResync = () => void this.loadAll().catch(() => {});

  constructor(
    private readonly link: UserStoreLink,
    private readonly lastSeenFlushMs = LAST_SEEN_FLUSH_MS,
  ) {
    this.usersKey = link.key('users');
    this.createScript = luaScript(link.redis, 'p2pUserCreate', CREATE_LUA);
    this.setHashScript = luaScript(link.redis, 'p2pUserSetHash', SET_HASH_LUA);
    this.touchScript = luaScript(link.redis, 'p2pUserTouch', TOUCH_LUA);
  }

  get size(): number {
    return this.users.size;
  }

  async open(): Promise<void> {
    this.link.on('message', this.onMessage);
    this.link.on('resync', this.onResync);
    await this.loadAll();
  }

  get(username: string): UserRecord | undefined {
    return this.users.get(userKey(username));
  }

  has(username: string): boolean {
    const key = userKey(username);
    return this.users.has(key) || this.creating.has(key) || this.removing.has(key);
  }

  list(): UserRecord[] {
    return [...this.users.values()];
  }

  /**
   * The user as Redis has it now, the mirror updated with it: for a login, so that a change
   * made on another node a moment ago counts. While Redis is down, the mirror's copy.
   */
  async refresh(username: string): Promise<UserRecord | undefined> {
    if (this.closed || !USERNAME_PATTERN.test(username)) return this.get(username);
    try {
      return await this.reload(userKey(username));
    } catch {
      return this.get(username);
    }
  }

  async create(input: Omit<UserRecord, 'lastSeenAt'>): Promise<UserRecord> {
    this.assertOpen();
    const key = userKey(input.username);
    if (this.has(key)) throw taken(input.username);
    const record: UserRecord = { ...input, lastSeenAt: null };
    this.creating.add(key);
    this.changed(key);
    let created: boolean;
    try {
      created = await this.insert(key, record);
    } finally {
      this.creating.delete(key);
      this.changed(key);
    }
    if (!created) {
      // Another node registered it first: our mirror learns of it now rather than from the bus.
      void this.reload(key).catch(() => {});
      throw taken(input.username);
    }
    this.users.set(key, record);
    this.announce(key);
    return record;
  }

  /**
   * `accounts import`: add a whole record (last seen included) unless the name (ignoring
   * case) is there; true if added. Atomic per user, like create().
   */
  async importRecord(record: UserRecord): Promise<boolean> {
    this.assertOpen();
    const key = userKey(record.username);
    this.changed(key);
    if (!(await this.insert(key, record))) return false;
    this.users.set(key, { ...record });
    this.announce(key);
    return true;
  }

  /** The one script that adds a user: of two callers for one name, exactly one gets true. */
  private async insert(key: string, record: UserRecord): Promise<boolean> {
    try {
      return (await this.createScript([this.usersKey], [key, encodeStoredUser(record)])) === 1;
    } catch (err) {
      throw unavailable('could not save the account', err);
    }
  }

  async setPasswordHash(username: string, passwordHash: string, ifCurrent?: string): Promise<boolean> {
    this.assertOpen();
    const key = userKey(username);
    const record = this.users.get(key);
    if (!record) return false;
    if (ifCurrent !== undefined && (this.newHashes.get(key) ?? record.passwordHash) !== ifCurrent) return false;
    this.newHashes.set(key, passwordHash);
    this.changed(key);
    let result: unknown;
    try {
      result = await this.setHashScript([this.usersKey], [key, passwordHash, ifCurrent ?? '']);
    } catch (err) {
      throw unavailable('could not save the new password; the old one still works', err);
    } finally {
      if (this.newHashes.get(key) === passwordHash) this.newHashes.delete(key);
      this.changed(key);
    }
    if (result !== 1) {
      // Changed or removed on another node meanwhile: learn how, and refuse this change.
      void this.reload(key).catch(() => {});
      return false;
    }
    if (this.users.get(key) === record) record.passwordHash = passwordHash;
    this.announce(key);
    return true;
  }

  async remove(username: string): Promise<boolean> {
    this.assertOpen();
    const key = userKey(username);
    const record = this.users.get(key);
    if (!record) return false;
    this.users.delete(key);
    this.newHashes.delete(key);
    this.removing.add(key);
    this.changed(key);
    let removed: number;
    try {
      removed = await this.link.redis.hdel(this.usersKey, key);
    } catch (err) {
      this.users.set(key, record);
      throw unavailable('could not remove the account; it is unchanged', err);
    } finally {
      this.removing.delete(key);
      this.changed(key);
    }
    this.pendingSeen.delete(key);
    this.announce(key);
    return removed === 1;
  }

  touch(username: string, at: number): void {
    const key = userKey(username);
    const record = this.users.get(key);
    if (!record || this.closed) return;
    record.lastSeenAt = at;
    this.pendingSeen.set(key, at);
    this.seenTimer ??= setTimeout(() => {
      this.seenTimer = null;
      void this.flushSeen();
    }, this.lastSeenFlushMs);
    this.seenTimer.unref();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.link.off('message', this.onMessage);
    this.link.off('resync', this.onResync);
    if (this.seenTimer) clearTimeout(this.seenTimer);
    this.seenTimer = null;
    await this.flushSeen();
  }

  /** Write pending last-seen times in one script call; kept for the next try if Redis is down. */
  private async flushSeen(): Promise<void> {
    while (this.pendingSeen.size > 0) {
      const batch = [...this.pendingSeen].slice(0, MAX_TOUCHES_PER_FLUSH);
      for (const [key] of batch) this.pendingSeen.delete(key);
      try {
        await this.touchScript([this.usersKey], batch.flat());
      } catch {
        for (const [key, at] of batch) if (!this.pendingSeen.has(key)) this.pendingSeen.set(key, at);
        return; // lost on a crash, like the CSV store's (PROTOCOL.md section 4.2)
      }
    }
  }

  /** Read one user from Redis into the mirror, unless a change of ours overtook the read. */
  private async reload(key: string): Promise<UserRecord | undefined> {
    const asked = this.sequence;
    const raw = await this.link.redis.hget(this.usersKey, key);
    const record = raw === null ? undefined : this.parse(raw, key);
    if (this.mayApply(key, asked)) {
      if (record) this.users.set(key, this.withSeen(key, record));
      else this.users.delete(key);
    }
    return record;
  }

  /** The whole hash into the mirror (open, and after the bus was cut). */
  private async loadAll(): Promise<void> {
    const asked = this.sequence;
    const all = await this.link.redis.hgetall(this.usersKey);
    for (const key of [...this.users.keys()]) if (!(key in all) && this.mayApply(key, asked)) this.users.delete(key);
    for (const [key, raw] of Object.entries(all)) {
      const record = this.parse(raw, key);
      if (record && this.mayApply(key, asked)) this.users.set(key, this.withSeen(key, record));
    }
  }

  private parse(raw: string, key: string): UserRecord | undefined {
    const record = parseStoredUser(raw);
    if (record && userKey(record.username) === key) return record;
    this.dropped += 1;
    return undefined;
  }

  /** A last-seen time of ours not yet written is newer than what Redis has. */
  private withSeen(key: string, record: UserRecord): UserRecord {
    const pending = this.pendingSeen.get(key);
    return pending === undefined ? record : { ...record, lastSeenAt: Math.max(pending, record.lastSeenAt ?? 0) };
  }

  private mayApply(key: string, asked: number): boolean {
    const busy = this.creating.has(key) || this.removing.has(key) || this.newHashes.has(key);
    return !busy && (this.changedAt.get(key) ?? 0) <= asked;
  }

  private changed(key: string): void {
    this.sequence += 1;
    this.changedAt.set(key, this.sequence);
  }

  /** Tell the other nodes; lost news is repaired by their resync (and by refresh at login). */
  private announce(key: string): void {
    this.link.publish(ACCOUNTS_CHANGED, { user: key }).catch(() => {});
  }

  private assertOpen(): void {
    if (this.closed) throw new ProtocolError(ErrorCode.STORAGE, 'the user store is closed');
  }
}

function taken(username: string): ProtocolError {
  return new ProtocolError(ErrorCode.USERNAME_TAKEN, `the name ${username} is taken`);
}

/** app.ts: the account store of a cluster node. */
export function clusterUserStore(link: ClusterLink): UserStore {
  return new RedisUserStore(link);
}
