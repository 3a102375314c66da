/**
 * The pending-broadcast queue of a cluster (PROTOCOL.md section 7.3, docs/CLUSTER.md
 * "Broadcasts"): a PendingQueue whose truth is in Redis, so every node delivers every live
 * broadcast to its own online users and nobody who acknowledged one on any node is sent it
 * again.
 *
 * - Keys: `bcast:live` (sorted set of ids by expiresAt), `bcast:<bid>` (the item's JSON),
 *   `bcast:<bid>:acked` (set of user keys). Each expires BCAST_KEY_MARGIN_MS after its
 *   broadcast, so nothing outlives its TTL by more than that.
 * - `add` runs one Lua script (prune, check the cluster-wide cap, store): atomic, and durable
 *   as far as Redis's appendfsync makes it before `broadcast_ok` is sent.
 * - Reads are synchronous, from a local mirror: loaded at `open`, kept current from the bus
 *   (`bcast.added`, `bcast.acked`, `bcast.forgot`), rebuilt on the link's `resync`, and
 *   checked against `bcast:live` every RECONCILE_MS in case a bus message was lost.
 * - An ack is news here at once; it is written (SADD) and told to the other nodes in batches,
 *   one per turn of the event loop. While Redis is unreachable acks wait here and go out
 *   when it is back; new broadcasts are refused with E_UNAVAILABLE.
 */
import { BROADCAST_ID_BYTES } from '../../net/constants.ts';
import { ErrorCode, ProtocolError } from '../../net/errors.ts';
import type { BroadcastItem } from '../../net/messages.ts';
import { liveAll, liveOne, queueFullError, queueLimits, takeExpired } from '../broadcasts/live.ts';
import type { PendingBroadcast, PendingQueue } from '../broadcasts/ports.ts';
import { newBroadcastId } from '../broadcasts/store.ts';
import type { Clock } from '../rate-limit.ts';
import { userKey } from '../users/store.ts';
import {
  ackedMessage,
  addedMessage,
  BCAST_KEY_MARGIN_MS,
  BroadcastKeys,
  BUS,
  chunkAcks,
  forgotMessage,
  type AckBatch,
} from './broadcast-keys.ts';
import type { ClusterLink } from './link.ts';
import { unavailable } from './redis-calls.ts';

/** How often a node compares its mirror with `bcast:live` (a lost `bcast.added`). */
export const RECONCILE_MS = 5_000;
/** What a refused broadcast tells the client to wait while Redis is unreachable. */
export const BCAST_UNAVAILABLE_RETRY_MS = 2_000;
export interface ClusterQueueOptions {
  now?: Clock;
  ttlMs?: number;
  maxPending?: number;
  /** Background writes that failed (they are retried when Redis is back). */
  onError?: (err: Error) => void;
  reconcileMs?: number;
}

/** The factory ServerCore calls in cluster mode. */
export function clusterBroadcastQueue(link: ClusterLink, options: ClusterQueueOptions): RedisBroadcastQueue {
  return new RedisBroadcastQueue(link, options);
}

const refused = (cause?: unknown): ProtocolError =>
  unavailable('broadcasts are unavailable', cause, BCAST_UNAVAILABLE_RETRY_MS);

export class RedisBroadcastQueue implements PendingQueue {
  readonly ttlMs: number;
  readonly maxPending: number;
  /** Bus messages that did not validate (another version, or a bug), dropped. */
  droppedMessages = 0;
  private readonly now: Clock;
  private readonly onError: (err: Error) => void;
  private readonly reconcileMs: number;
  /** The mirror: live broadcasts, oldest first. */
  private items = new Map<string, PendingBroadcast>();
  private staged = 0;
  /** Acks not yet in Redis nor told to the other nodes. */
  private unwritten = new Map<string, Set<string>>();
  /** Deleted users whose acks are still to be removed from Redis. */
  private unforgotten = new Set<string>();
  private flushing: Promise<void> | null = null;
  private flushScheduled = false;
  private resyncing: Promise<void> | null = null;
  private resyncAgain = false;
  private readonly added = new Set<(pending: PendingBroadcast) => void>();
  private readonly acked = new Set<(bids: readonly string[]) => void>();
  private readonly undo: (() => void)[] = [];
  private state: 'new' | 'open' | 'closed' = 'new';
  private readonly keys: BroadcastKeys;

  constructor(
    private readonly link: ClusterLink,
    options: ClusterQueueOptions = {},
  ) {
    this.keys = new BroadcastKeys(link);
    this.now = options.now ?? Date.now;
    ({ ttlMs: this.ttlMs, maxPending: this.maxPending } = queueLimits(options));
    this.onError = options.onError ?? (() => {});
    this.reconcileMs = options.reconcileMs ?? RECONCILE_MS;
  }

  get size(): number {
    return this.items.size;
  }

  /** Load the live broadcasts and their acks from Redis, then follow the bus. */
  async open(): Promise<{ loaded: number; expired: number; tornRecords: number }> {
    if (this.state !== 'new') throw new Error('broadcast queue opened twice');
    const loaded = await this.load();
    this.state = 'open';
    const onMessage = (topic: string, data: unknown) => this.onBus(topic, data);
    const onResync = () => {
      // The bus may be back before the command connection: then `available` comes next.
      if (this.link.available) void this.resync().catch((err: Error) => this.onError(err));
    };
    const onAvailable = (up: boolean) => {
      if (up) onResync();
    };
    this.link.on('message', onMessage);
    this.link.on('resync', onResync);
    this.link.on('available', onAvailable);
    const timer = setInterval(() => void this.reconcile().catch((err: Error) => this.onError(err)), this.reconcileMs);
    timer.unref();
    this.undo.push(
      () => this.link.off('message', onMessage),
      () => this.link.off('resync', onResync),
      () => this.link.off('available', onAvailable),
      () => clearInterval(timer),
    );
    return loaded;
  }

  /** Acks made on other nodes, after they are in the mirror (the service checks completion). */
  onRemoteAck(listener: (bids: readonly string[]) => void): () => void {
    this.acked.add(listener);
    return () => void this.acked.delete(listener);
  }

  /** Broadcasts that reached this node from another one (the service fans them out here). */
  onRemoteAdd(listener: (pending: PendingBroadcast) => void): () => void {
    this.added.add(listener);
    return () => void this.added.delete(listener);
  }

  get(bid: string): PendingBroadcast | undefined {
    return liveOne(this.items, bid, this.now());
  }

  live(): PendingBroadcast[] {
    return liveAll(this.items, this.now());
  }

  assertRoom(): void {
    if (!this.link.available) throw refused();
    if (this.items.size + this.staged < this.maxPending) return;
    this.expire();
    if (this.items.size + this.staged >= this.maxPending) throw queueFullError(this.maxPending);
  }

  async add(from: string, text: string): Promise<PendingBroadcast> {
    if (this.state !== 'open') throw new ProtocolError(ErrorCode.STORAGE, 'the broadcast queue is not open');
    this.assertRoom();
    this.staged += 1;
    try {
      for (;;) {
        const createdAt = this.now();
        const item: BroadcastItem = {
          bid: newBroadcastId(BROADCAST_ID_BYTES),
          from,
          text,
          createdAt,
          expiresAt: createdAt + this.ttlMs,
        };
        let stored: unknown;
        try {
          stored = await this.keys.store(item, createdAt, this.maxPending);
        } catch (err) {
          // A timeout may still have stored it: then it is delivered, and the sender, told to
          // retry, may send it twice. Never the other way round (acknowledged and lost).
          throw refused(err);
        }
        if (stored === 0) throw queueFullError(this.maxPending);
        if (stored !== 1) continue; // the id was taken: draw another
        const pending = this.insert(item);
        this.link.publish(BUS.ADDED, { b: item }).catch((err: Error) => this.onError(err));
        return pending;
      }
    } finally {
      this.staged -= 1;
    }
  }

  ack(bid: string, user: string): boolean {
    const pending = this.get(bid);
    if (!pending || this.state !== 'open') return false;
    const key = userKey(user);
    if (pending.acked.has(key)) return false;
    pending.acked.add(key);
    this.owe(bid, [key]);
    return true;
  }

  expire(): PendingBroadcast[] {
    // Redis forgets it by itself: the keys expire, `add` and `open` prune `bcast:live`.
    const gone = takeExpired(this.items, this.now());
    for (const { item } of gone) this.unwritten.delete(item.bid);
    return gone;
  }

  async forgetUser(user: string): Promise<void> {
    if (this.state !== 'open') return;
    const key = userKey(user);
    for (const pending of this.items.values()) pending.acked.delete(key);
    for (const [bid, users] of this.unwritten) {
      users.delete(key);
      if (users.size === 0) this.unwritten.delete(bid);
    }
    this.unforgotten.add(key);
    this.schedule();
    await this.flush();
  }

  /** Resolves once what was acked so far was written, or its write failed (then it waits for Redis). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    const wasOpen = this.state === 'open';
    this.state = 'closed';
    for (const fn of this.undo.splice(0)) fn();
    if (wasOpen && this.link.available) {
      await this.flush();
      await this.write().catch((err: Error) => this.onError(err));
    }
  }

  /**
   * Rebuild the mirror from Redis (after the bus reconnected, or Redis came back): new
   * broadcasts are added and fanned out, acks merged both ways, and anything this node holds
   * that Redis lost (a restart without appendfsync always) written back.
   */
  resync(): Promise<void> {
    if (this.resyncing) {
      this.resyncAgain = true; // asked again meanwhile: what it read may be stale already
      return this.resyncing;
    }
    const run = async () => {
      do {
        this.resyncAgain = false;
        await this.reload();
      } while (this.resyncAgain);
    };
    this.resyncing = run().finally(() => (this.resyncing = null));
    return this.resyncing;
  }

  private async reload(): Promise<void> {
    if (this.state !== 'open') return;
    const now = this.now();
    const bids = await this.keys.liveIds(now);
    const fetched = await this.keys.fetch(bids);
    const inRedis = new Set(bids);
    for (const { item, acked } of fetched.found) {
      const known = this.items.get(item.bid);
      if (!known) {
        this.announce(this.insert(item, acked));
        continue;
      }
      for (const user of acked) known.acked.add(user);
      const missing = [...known.acked].filter((user) => !acked.has(user));
      if (missing.length > 0) this.owe(item.bid, missing);
    }
    await this.restore(this.live().filter((p) => !inRedis.has(p.item.bid) || fetched.missing.has(p.item.bid)));
    this.schedule();
  }

  /** The light check every RECONCILE_MS: broadcasts this node never heard of, or Redis lost. */
  private async reconcile(): Promise<void> {
    if (this.state !== 'open' || !this.link.available) return;
    const bids = await this.keys.liveIds(this.now());
    const inRedis = new Set(bids);
    const lost = this.live().filter((p) => !inRedis.has(p.item.bid));
    if (lost.length > 0) {
      await this.resync();
      return;
    }
    const unknown = bids.filter((bid) => !this.items.has(bid));
    if (unknown.length === 0) return;
    for (const { item, acked } of (await this.keys.fetch(unknown)).found) {
      if (!this.items.has(item.bid)) this.announce(this.insert(item, acked));
    }
  }

  private async load(): Promise<{ loaded: number; expired: number; tornRecords: number }> {
    const now = this.now();
    const expired = await this.keys.prune(now);
    const bids = await this.keys.liveIds(now);
    const { found, missing } = await this.keys.fetch(bids);
    if (missing.size > 0) await this.link.redis.zrem(this.key('live'), ...missing);
    for (const { item, acked } of found) this.insert(item, acked);
    return { loaded: found.length, expired, tornRecords: missing.size };
  }

  /** Write back broadcasts (and their acks) that Redis lost: no cap, an id already there is left alone. */
  private async restore(lost: PendingBroadcast[]): Promise<void> {
    for (const { item, acked } of lost) {
      await this.keys.store(item, this.now(), 0);
      if (acked.size > 0) this.owe(item.bid, [...acked]);
    }
  }

  /** Into the mirror, keeping it oldest first. */
  private insert(item: BroadcastItem, acked = new Set<string>()): PendingBroadcast {
    const pending: PendingBroadcast = { item, acked };
    const last = [...this.items.values()].at(-1);
    this.items.set(item.bid, pending);
    if (last && last.item.createdAt > item.createdAt) {
      this.items = new Map([...this.items].sort(([, a], [, b]) => a.item.createdAt - b.item.createdAt));
    }
    return pending;
  }

  private announce(pending: PendingBroadcast): void {
    for (const listener of this.added) listener(pending);
  }

  private onBus(topic: string, data: unknown): void {
    if (this.state !== 'open' || !topic.startsWith('bcast.')) return;
    try {
      if (topic === BUS.ADDED) {
        const { b } = addedMessage(data);
        if (this.items.has(b.bid) || b.expiresAt <= this.now()) return;
        this.announce(this.insert(b));
      } else if (topic === BUS.ACKED) {
        const touched: string[] = [];
        for (const { bid, users } of ackedMessage(data).acks) {
          const pending = this.items.get(bid);
          if (!pending) continue;
          for (const user of users) pending.acked.add(user);
          touched.push(bid);
        }
        if (touched.length > 0) for (const listener of this.acked) listener(touched);
      } else if (topic === BUS.FORGOT) {
        const { user } = forgotMessage(data);
        for (const pending of this.items.values()) pending.acked.delete(user);
      } else this.droppedMessages += 1;
    } catch {
      this.droppedMessages += 1;
    }
  }

  private owe(bid: string, users: string[]): void {
    let owed = this.unwritten.get(bid);
    if (!owed) this.unwritten.set(bid, (owed = new Set()));
    for (const user of users) owed.add(user);
    this.schedule();
  }

  /** One batch per turn of the event loop; one write in flight. */
  private schedule(): void {
    if (this.flushScheduled || this.state === 'closed') return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      // Assigned before it settles (a drain with nothing to do finishes at once).
      this.flushing ??= this.drain().finally(() => (this.flushing = null));
    });
  }

  private async drain(): Promise<void> {
    try {
      while ((this.unwritten.size > 0 || this.unforgotten.size > 0) && this.link.available) {
        await this.write();
      }
    } catch (err) {
      this.onError(err as Error); // kept; written when Redis is back (the `available` event)
    }
  }

  /** Write (and tell the other nodes) the acks and forgotten users owed so far; requeued on failure. */
  private async write(): Promise<void> {
    const acks = this.unwritten;
    const forgotten = this.unforgotten;
    this.unwritten = new Map();
    this.unforgotten = new Set();
    if (acks.size === 0 && forgotten.size === 0) return;
    const now = this.now();
    const multi = this.link.redis.multi();
    const told: AckBatch = [];
    for (const [bid, users] of acks) {
      const pending = this.items.get(bid);
      if (!pending || pending.item.expiresAt <= now) continue;
      const key = this.key(bid, 'acked');
      multi.sadd(key, ...users).pexpire(key, pending.item.expiresAt - now + BCAST_KEY_MARGIN_MS);
      told.push({ bid, users: [...users] });
    }
    for (const user of forgotten) for (const bid of this.items.keys()) multi.srem(this.key(bid, 'acked'), user);
    try {
      await multi.exec();
      for (const message of chunkAcks(told)) await this.link.publish(BUS.ACKED, message);
      for (const user of forgotten) await this.link.publish(BUS.FORGOT, { user });
    } catch (err) {
      for (const [bid, users] of acks) if (this.items.has(bid)) this.owe(bid, [...users]);
      for (const user of forgotten) this.unforgotten.add(user);
      throw err;
    }
  }

  private key(...parts: string[]): string {
    return this.keys.key(...parts);
  }
}
