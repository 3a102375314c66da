/**
 * Who is online across a cluster (docs/CLUSTER.md "Presence"). This node's sessions stay in
 * the in-memory Presence (delivery, the broker and the sweep act on their sockets); the users
 * on other nodes are a mirror of the Redis hash `presence` (user key -> PresenceRecord), kept
 * current by the bus (`presence.joined/left/away`), rebuilt on `resync` and cleared of a dead
 * node's users on `node_down`. `list()`, what clients get, holds everyone.
 *
 * A user is online on at most one node: each login claims the user's field in one atomic
 * step (MULTI: HGET then HSET) and is told who held it before; a holder on another node is
 * told (`presence.replace`) to close that session with E_SESSION_REPLACED. Two logins at
 * once on two nodes are ordered by Redis: the later claim replaces the earlier one.
 * Every record carries the session's random `sid`, so a late leave or away of an old
 * session never touches the newer one (the Lua scripts below compare it).
 */
import { randomBytes } from 'node:crypto';
import { PRESENCE_FLUSH_MS, OUTPUT_QUEUE_BYTES } from '../../net/constants.ts';
import { ErrorCode } from '../../net/errors.ts';
import { userKey } from '../../net/names.ts';
import { userEntry, username, type UserEntry } from '../../net/messages.ts';
import { int, obj, opt, str, type Infer } from '../../net/schema.ts';
import { Presence } from '../presence.ts';
import type { OnlineSession } from '../session.ts';
import { NODE_HEARTBEAT_MS, NODE_TTL_MS, type ClusterLink } from './link.ts';
import { NODE_ID_PATTERN } from './node-id.ts';
import { DELETE_IF, DROP_NODE, SET_IF_MINE } from './presence-scripts.ts';

/**
 * A node that dies (SIGKILL, power) has its users gone from every other node's clients within
 * this: its heartbeat key expires within NODE_TTL_MS, a survivor's next beat (every
 * NODE_HEARTBEAT_MS) sees it, and the leaves go out with the next presence flush.
 */
export const NODE_DEATH_DEADLINE_MS = NODE_TTL_MS + NODE_HEARTBEAT_MS + PRESENCE_FLUSH_MS;

/** After a failed rebuild from Redis (it is still coming back), try again this often. */
export const PRESENCE_RESYNC_RETRY_MS = 500;
const SID_BYTES = 8;

const sid = str({ min: 1, maxBytes: 32, pattern: /^[0-9a-f]+$/ });
const nodeId = str({ min: 1, maxBytes: 32, pattern: NODE_ID_PATTERN });
const recordMeta = obj({
  node: nodeId,
  since: int(0, Number.MAX_SAFE_INTEGER),
  sid,
  /** The user's peer listener port, for peer requests from other nodes (PROTOCOL.md 6.1). */
  peerPort: opt(int(1, 65_535)),
});
const leftMessage = obj({ user: username, sid });
const replaceMessage = leftMessage;

/** One user online somewhere in the cluster, as stored in the `presence` hash and sent on the bus. */
export type PresenceRecord = UserEntry & Infer<typeof recordMeta>;

/** Validate a record from Redis or the bus; throws SchemaError. */
export function parseRecord(value: unknown): PresenceRecord {
  return { ...userEntry(value), ...recordMeta(value) };
}

/** A user on another node, for the broker and the dashboard. */
export interface RemoteUser {
  node: string;
  user: string;
  ip: string;
  /** Its peer listener port, null without one. */
  peerPort: number | null;
}

export interface ClusterPresenceOptions {
  flushMs?: number;
  backlogBytes?: number;
  /** A bus payload or hash entry that did not validate (it is dropped). */
  onDropped?: (what: string) => void;
  /** A Redis command failed (the directory recovers on resync). */
  onError?: (err: Error) => void;
}

export function clusterPresence(link: ClusterLink, options: ClusterPresenceOptions = {}): ClusterPresence {
  return new ClusterPresence(link, options);
}

export class ClusterPresence extends Presence {
  /** user key -> the user's record, for users on other nodes. */
  private readonly remotes = new Map<string, PresenceRecord>();
  /** This node's sessions' records (sid, since), by session. */
  private readonly mine = new Map<OnlineSession, PresenceRecord>();
  private readonly hash: string;
  private stopped = false;
  private resyncTimer: NodeJS.Timeout | null = null;
  private readonly sweepTimer: NodeJS.Timeout;
  /** When each remote record last came (bus or hash), to sweep the users of unknown nodes. */
  private readonly heardAt = new Map<string, number>();
  /** Bus payloads and hash entries dropped because they did not validate. */
  dropped = 0;
  private readonly detach: () => void;

  constructor(
    private readonly link: ClusterLink,
    private readonly opts: ClusterPresenceOptions = {},
  ) {
    super(opts.flushMs ?? PRESENCE_FLUSH_MS, opts.backlogBytes ?? OUTPUT_QUEUE_BYTES.PRESENCE_HOLD);
    this.hash = link.key('presence');
    const onMessage = (topic: string, data: unknown, from: string) => this.onMessage(topic, data, from);
    const onDown = (id: string, reaper: boolean) => this.onNodeDown(id, reaper);
    const onResync = () => this.resync();
    link.on('message', onMessage);
    link.on('node_down', onDown);
    link.on('resync', onResync);
    // A node seen again (after Redis restarted, every node is missing for a beat or two):
    // its users may have been dropped meanwhile.
    link.on('node_up', onResync);
    this.detach = () => {
      link.off('message', onMessage);
      link.off('node_down', onDown);
      link.off('resync', onResync);
      link.off('node_up', onResync);
    };
    this.sweepTimer = setInterval(() => this.sweepUnknownNodes(), NODE_TTL_MS);
    this.sweepTimer.unref();
    this.resync();
  }

  /**
   * A node that started and stopped between two heartbeats is never in the node list, so no
   * node_down ends its users: drop records of nodes the list has not had for NODE_TTL_MS.
   */
  private sweepUnknownNodes(): void {
    const live = new Set(this.link.liveNodes().map((n) => n.id));
    const old = Date.now() - NODE_TTL_MS;
    for (const [key, record] of [...this.remotes]) {
      if (!live.has(record.node) && (this.heardAt.get(key) ?? 0) < old) this.dropRemote(key);
    }
  }

  /** A user on another node (any case), if any. */
  remote(name: string): RemoteUser | undefined {
    const key = userKey(name);
    if (this.online.has(key)) return undefined;
    const record = this.remotes.get(key);
    return record && remoteUser(record);
  }

  /** Users on other nodes at this address (as their node saw it). */
  remotesAt(ip: string): RemoteUser[] {
    const found: RemoteUser[] = [];
    for (const [key, record] of this.remotes) {
      if (record.ip === ip && !this.online.has(key)) found.push(remoteUser(record));
    }
    return found;
  }

  /** Everyone in the cluster with their node, read-only (the dashboard's cluster view). */
  *clusterUsers(): IterableIterator<Readonly<Omit<RemoteUser, 'peerPort'> & { away?: string }>> {
    for (const record of this.mine.values()) yield this.withAway(record);
    for (const [key, record] of this.remotes) if (!this.online.has(key)) yield record;
  }

  /** Users online in the whole cluster (this node's and the mirror's). */
  get clusterSize(): number {
    let n = this.online.size;
    for (const key of this.remotes.keys()) if (!this.online.has(key)) n += 1;
    return n;
  }

  override add(session: OnlineSession): OnlineSession | undefined {
    const key = userKey(session.user);
    const hadRemote = this.remotes.has(key);
    const previous = super.add(session);
    if (previous) this.mine.delete(previous);
    // The entry took the remote one's place: the cached list holds both.
    if (hadRemote) this.invalidateList();
    const record: PresenceRecord = {
      node: this.link.nodeId,
      user: session.user,
      ip: session.ip,
      since: Date.now(),
      sid: randomBytes(SID_BYTES).toString('hex'),
      ...(session.peerPort === null ? {} : { peerPort: session.peerPort }),
    };
    this.mine.set(session, record);
    void this.claim(key, record);
    return previous;
  }

  override remove(session: OnlineSession): boolean {
    const record = this.mine.get(session);
    if (!super.remove(session)) return false;
    this.mine.delete(session);
    const key = userKey(session.user);
    const remote = this.remotes.get(key);
    // The user is still online, on another node (it replaced this session there).
    if (remote) {
      this.invalidateList();
      this.change(key, entryOfRecord(remote));
    }
    if (record && !this.stopped) void this.release(key, record);
    return true;
  }

  override setAway(session: OnlineSession, reason: string | null): boolean {
    if (!super.setAway(session, reason)) return false;
    const record = this.mine.get(session);
    if (record && !this.stopped) {
      const updated = this.withAway(record);
      void this.run(async () => {
        const held = await this.setIfMine(userKey(record.user), updated);
        if (held === null) await this.link.publish('presence.away', updated);
      });
    }
    return true;
  }

  override stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    super.stop();
    this.detach();
    clearInterval(this.sweepTimer);
    if (this.resyncTimer) clearTimeout(this.resyncTimer);
    // Leaving: this node's users leave the hash now; the others drop them from their mirrors
    // when they see the node gone (node_down), within a heartbeat.
    void this.run(() => this.link.redis.eval(DROP_NODE, 1, this.hash, this.link.nodeId));
  }

  protected override buildList(): UserEntry[] {
    const all: Array<{ since: number; entry: UserEntry }> = [];
    for (const session of this.online.values()) {
      all.push({ since: this.mine.get(session)?.since ?? 0, entry: this.entryOf(session) });
    }
    for (const [key, record] of this.remotes) {
      if (!this.online.has(key)) all.push({ since: record.since, entry: entryOfRecord(record) });
    }
    // Join order across nodes, as far as their clocks agree; stable for equal times.
    return all.sort((a, b) => a.since - b.since).map((x) => x.entry);
  }

  /** The session's record with its current away reason. */
  private withAway(record: PresenceRecord): PresenceRecord {
    const { away: _old, ...rest } = record;
    const session = this.online.get(userKey(record.user));
    const away = session && this.mine.get(session) === record ? this.entryOf(session).away : undefined;
    return away === undefined ? rest : { ...rest, away };
  }

  /** Take the user's field; whoever held it on another node closes that session. */
  private async claim(key: string, record: PresenceRecord): Promise<void> {
    await this.run(async () => {
      const replies = await this.link.redis
        .multi()
        .hget(this.hash, key)
        .hset(this.hash, key, JSON.stringify(record))
        .exec();
      const old = replies?.[0]?.[1];
      await this.link.publish('presence.joined', record);
      if (typeof old !== 'string') return;
      const held = this.parse(old, 'hash');
      if (held && held.node !== this.link.nodeId) {
        await this.link.send(held.node, 'presence.replace', { user: held.user, sid: held.sid });
      }
    });
  }

  private async release(key: string, record: PresenceRecord): Promise<void> {
    await this.run(async () => {
      await this.link.redis.eval(DELETE_IF, 1, this.hash, key, 'sid', record.sid);
      await this.link.publish('presence.left', { user: record.user, sid: record.sid });
    });
  }

  /** Write the record if the field is free or ours; null if written, else the holder's record text. */
  private async setIfMine(key: string, record: PresenceRecord): Promise<string | null> {
    const held = (await this.link.redis.eval(SET_IF_MINE, 1, this.hash, key, JSON.stringify(record), record.sid)) as
      string | null;
    return typeof held === 'string' ? held : null;
  }

  private onMessage(topic: string, data: unknown, from: string): void {
    if (!topic.startsWith('presence.')) return;
    try {
      if (topic === 'presence.joined' || topic === 'presence.away') {
        const record = parseRecord(data);
        if (record.node !== from) throw new Error('a record of another node');
        this.putRemote(record);
      } else if (topic === 'presence.left') {
        const { user, sid: gone } = leftMessage(data);
        const key = userKey(user);
        if (this.remotes.get(key)?.sid === gone) this.dropRemote(key);
      } else if (topic === 'presence.replace') {
        const { user, sid: old } = replaceMessage(data);
        const session = this.online.get(userKey(user));
        if (session && this.mine.get(session)?.sid === old) {
          session.closeWith(ErrorCode.SESSION_REPLACED, 'you logged in from another connection');
        }
      }
    } catch {
      this.drop(topic);
    }
  }

  private putRemote(record: PresenceRecord): void {
    const key = userKey(record.user);
    const known = this.remotes.get(key);
    this.remotes.set(key, record);
    this.heardAt.set(key, Date.now());
    if (this.online.has(key)) return; // this node's session shows until it is replaced
    if (!known && this.entries) this.entries.push(entryOfRecord(record));
    else this.invalidateList();
    this.change(key, entryOfRecord(record));
  }

  private dropRemote(key: string): void {
    const record = this.remotes.get(key);
    if (!record) return;
    this.remotes.delete(key);
    this.heardAt.delete(key);
    if (this.online.has(key)) return;
    this.invalidateList();
    this.change(key, { left: record.user });
  }

  /** Every node drops a dead node's users; the reaper also removes them from Redis. */
  private onNodeDown(id: string, reaper: boolean): void {
    for (const [key, record] of [...this.remotes]) if (record.node === id) this.dropRemote(key);
    if (reaper) void this.run(() => this.link.redis.eval(DROP_NODE, 1, this.hash, id));
  }

  /**
   * Rebuild from the hash (at start, and after the bus reconnected: news may have been lost).
   * This node's sessions are written back where missing (Redis restarted empty, or a write
   * failed while it was down); a record of this node without a session here is removed.
   */
  private resync(): void {
    if (this.resyncTimer) clearTimeout(this.resyncTimer);
    this.resyncTimer = null;
    if (this.stopped) return;
    this.rebuild().catch((err: unknown) => {
      this.opts.onError?.(err instanceof Error ? err : new Error(String(err)));
      if (this.stopped) return;
      this.resyncTimer = setTimeout(() => this.resync(), PRESENCE_RESYNC_RETRY_MS);
      this.resyncTimer.unref();
    });
  }

  private async rebuild(): Promise<void> {
    const all = await this.link.redis.hgetall(this.hash);
    const live = new Set(this.link.liveNodes().map((n) => n.id));
    const mySids = new Set([...this.mine.values()].map((r) => r.sid));
    const seen = new Map<string, PresenceRecord>();
    const held = new Map<string, string | undefined>(); // this node's records in the hash: sid -> away
    for (const [key, text] of Object.entries(all)) {
      const record = this.parse(text, 'hash');
      if (!record || userKey(record.user) !== key) continue;
      if (record.node === this.link.nodeId) {
        held.set(record.sid, record.away);
        // Left while Redis was away, or from an earlier run of this node id.
        if (!mySids.has(record.sid)) await this.link.redis.eval(DELETE_IF, 1, this.hash, key, 'sid', record.sid);
        continue;
      }
      if (live.has(record.node)) seen.set(key, record);
    }
    for (const session of [...this.mine.keys()]) {
      const record = this.mine.get(session);
      // Only what is missing is written back: usually nothing, all of it after Redis restarted empty.
      if (!record || this.stopped) continue;
      if (held.has(record.sid) && held.get(record.sid) === this.withAway(record).away) continue;
      const holder = await this.setIfMine(userKey(record.user), this.withAway(record));
      if (holder === null) {
        await this.link.publish('presence.joined', this.withAway(record));
        continue;
      }
      // Another node's login took the user while the news was lost: that one is current.
      const other = this.parse(holder, 'hash');
      if (other && other.node !== this.link.nodeId) {
        seen.set(userKey(other.user), other);
        session.closeWith(ErrorCode.SESSION_REPLACED, 'you logged in from another connection');
      }
    }
    if (this.stopped) return;
    for (const key of [...this.remotes.keys()]) if (!seen.has(key)) this.dropRemote(key);
    for (const record of seen.values()) {
      const known = this.remotes.get(userKey(record.user));
      if (!known || known.sid !== record.sid || known.away !== record.away || known.ip !== record.ip) {
        this.putRemote(record);
      }
    }
  }

  private parse(text: string, where: string): PresenceRecord | null {
    try {
      return parseRecord(JSON.parse(text));
    } catch {
      this.drop(where);
      return null;
    }
  }

  private drop(what: string): void {
    this.dropped += 1;
    this.opts.onDropped?.(what);
  }

  /** Run a Redis step; a failure is reported, and the next resync repairs what it missed. */
  private async run(step: () => Promise<unknown>): Promise<void> {
    try {
      await step();
    } catch (err) {
      this.opts.onError?.(err instanceof Error ? err : new Error(String(err)));
    }
  }
}

function remoteUser(record: PresenceRecord): RemoteUser {
  return { node: record.node, user: record.user, ip: record.ip, peerPort: record.peerPort ?? null };
}

function entryOfRecord(record: PresenceRecord): UserEntry {
  return record.away === undefined
    ? { user: record.user, ip: record.ip }
    : { user: record.user, ip: record.ip, away: record.away };
}
