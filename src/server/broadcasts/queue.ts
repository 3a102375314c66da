/**
 * The pending-broadcast queue (PROTOCOL.md sections 7.1, 7.3, 7.4): every broadcast that has
 * not expired, with the set of users who acknowledged it, kept durable through a
 * BroadcastStore. A broadcast becomes visible (and `add` resolves, so the sender gets
 * `broadcast_ok`) only once its record is durable. Acks are written in the background, grouped
 * into as few fsyncs as the disk allows; a crash loses at most the acks of the last few
 * milliseconds, and those users get the broadcast once more, which their client drops as a
 * duplicate (section 7.2).
 */
import { BROADCAST_ID_BYTES } from '../../net/constants.ts';
import { ErrorCode, ProtocolError } from '../../net/errors.ts';
import type { BroadcastItem } from '../../net/messages.ts';
import type { Clock } from '../rate-limit.ts';
import { userKey } from '../users/store.ts';
import { liveAll, liveOne, queueFullError, queueLimits, takeExpired } from './live.ts';
import type { PendingBroadcast, PendingQueue } from './ports.ts';
import { newBroadcastId, type BroadcastStore, type QueueRecord } from './store.ts';

/** Compact once the log holds this many records and four times what the live state needs. */
export const COMPACT_MIN_RECORDS = 4096;
const COMPACT_RATIO = 4;

export type { PendingBroadcast } from './ports.ts';

export interface QueueOptions {
  now?: Clock;
  ttlMs?: number;
  maxPending?: number;
  compactMinRecords?: number;
  /** Background writes (acks, compaction) that failed; they are retried with the next write. */
  onError?: (err: Error) => void;
}

interface Commit {
  records: QueueRecord[];
  /** Runs synchronously once the records are durable, before anything else is written. */
  onDurable: () => void;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class BroadcastQueue implements PendingQueue {
  readonly ttlMs: number;
  readonly maxPending: number;
  private readonly now: Clock;
  private readonly compactMinRecords: number;
  private readonly onError: (err: Error) => void;
  /** Live broadcasts in creation order (a Map keeps insertion order). */
  private readonly items = new Map<string, PendingBroadcast>();
  /** Adds accepted but not yet durable: they count against the cap. */
  private staged = 0;
  private commits: Commit[] = [];
  private unwrittenAcks = new Map<string, Set<string>>();
  private writing: Promise<void> | null = null;
  private recordsInLog = 0;
  /** A compaction failed (a full disk): retry after the next write that succeeds. */
  private compactionDeferred = false;
  /** A rewrite is owed (a user's acks were dropped): the log still holds them. */
  private compactWanted = false;
  private state: 'new' | 'open' | 'closed' = 'new';

  constructor(
    private readonly store: BroadcastStore,
    options: QueueOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    ({ ttlMs: this.ttlMs, maxPending: this.maxPending } = queueLimits(options));
    this.compactMinRecords = options.compactMinRecords ?? COMPACT_MIN_RECORDS;
    this.onError = options.onError ?? (() => {});
  }

  /** Load what survived the last run, drop what expired meanwhile, and rewrite the log compactly. */
  async open(): Promise<{ loaded: number; expired: number; tornRecords: number }> {
    if (this.state !== 'new') throw new Error('broadcast queue opened twice');
    const { records, tornRecords } = await this.store.load();
    const now = this.now();
    let expired = 0;
    for (const record of records) {
      if (record.op === 'add') {
        if (this.items.has(record.b.bid)) continue;
        if (record.b.expiresAt <= now) {
          expired += 1;
          continue;
        }
        this.items.set(record.b.bid, { item: record.b, acked: new Set() });
      } else {
        const pending = this.items.get(record.bid);
        if (pending) for (const user of record.users) pending.acked.add(user);
      }
    }
    this.recordsInLog = records.length;
    try {
      await this.compact();
    } catch (err) {
      // Reading needs no space; compacting does. On a full disk, start anyway: the log as
      // it is loads the same state, and compaction runs after the next write that succeeds.
      this.compactionDeferred = true;
      this.onError(err as Error);
    }
    this.state = 'open';
    return { loaded: this.items.size, expired, tornRecords };
  }

  /** Live broadcasts (not staged ones). */
  get size(): number {
    return this.items.size;
  }

  get(bid: string): PendingBroadcast | undefined {
    return liveOne(this.items, bid, this.now());
  }

  /** Live broadcasts, oldest first. */
  live(): PendingBroadcast[] {
    return liveAll(this.items, this.now());
  }

  /**
   * Make a broadcast durable. Rejects with E_QUEUE_FULL at the cap, E_STORAGE if it could not
   * be written (then nothing was created).
   */
  async add(from: string, text: string): Promise<PendingBroadcast> {
    if (this.state !== 'open') throw new ProtocolError(ErrorCode.STORAGE, 'the broadcast queue is not open');
    this.assertRoom();
    const createdAt = this.now();
    let bid = newBroadcastId(BROADCAST_ID_BYTES);
    while (this.items.has(bid)) bid = newBroadcastId(BROADCAST_ID_BYTES);
    const item: BroadcastItem = { bid, from, text, createdAt, expiresAt: createdAt + this.ttlMs };
    const pending: PendingBroadcast = { item, acked: new Set() };
    this.staged += 1;
    try {
      await this.commit([{ op: 'add', b: item }], () => this.items.set(bid, pending));
    } catch (err) {
      throw new ProtocolError(ErrorCode.STORAGE, 'could not save the broadcast; try again', { cause: err });
    } finally {
      this.staged -= 1;
    }
    return pending;
  }

  /** Throws E_QUEUE_FULL if an add would go over the cap (after dropping expired ones). */
  assertRoom(): void {
    if (this.items.size + this.staged < this.maxPending) return;
    this.expire();
    if (this.items.size + this.staged >= this.maxPending) throw queueFullError(this.maxPending);
  }

  /** Record that `user` has the broadcast; true if this is news. Written in the background. */
  ack(bid: string, user: string): boolean {
    const pending = this.get(bid);
    if (!pending || this.state !== 'open') return false;
    const key = userKey(user);
    if (pending.acked.has(key)) return false;
    pending.acked.add(key);
    let users = this.unwrittenAcks.get(bid);
    if (!users) this.unwrittenAcks.set(bid, (users = new Set()));
    users.add(key);
    this.kick();
    return true;
  }

  /**
   * Drop every ack of `user` (a deleted account), durably: the log is rewritten without them,
   * so a new account of the same name gets the live broadcasts after a restart too.
   */
  async forgetUser(user: string): Promise<void> {
    if (this.state !== 'open') return;
    const key = userKey(user);
    let held = false;
    for (const pending of this.items.values()) if (pending.acked.delete(key)) held = true;
    for (const [bid, users] of this.unwrittenAcks) {
      users.delete(key);
      if (users.size === 0) this.unwrittenAcks.delete(bid);
    }
    if (!held) return;
    this.compactWanted = true;
    this.kick();
    await this.flush();
  }

  /** Remove and return the broadcasts whose time is up. Their records go at the next compaction. */
  expire(): PendingBroadcast[] {
    const gone = takeExpired(this.items, this.now());
    for (const { item } of gone) this.unwrittenAcks.delete(item.bid);
    return gone;
  }

  /** Resolves once every ack and add made so far is durable (or its write failed). */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  /** Write what is pending, compact, and stop. Further adds fail with E_STORAGE. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    const wasOpen = this.state === 'open';
    this.state = 'closed';
    await this.flush();
    if (wasOpen) {
      // The snapshot holds every ack in memory, written or not.
      this.expire();
      const acks = this.takeAckRecords();
      try {
        await this.compact();
      } catch (err) {
        this.onError(err as Error);
        await this.store.append(acks).catch((e: Error) => this.onError(e));
      }
    }
    await this.store.close();
  }

  private commit(records: QueueRecord[], onDurable: () => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.commits.push({ records, onDurable, resolve, reject });
      this.kick();
    });
  }

  private kick(): void {
    this.writing ??= this.drain();
  }

  /** Group commit: one write in flight; everything that arrives meanwhile goes in the next. */
  private async drain(): Promise<void> {
    // After a failed write, acks wait for the next kick rather than spin on a broken disk;
    // adds are each tried (and answered) at once.
    let failed = false;
    while (this.commits.length > 0 || (this.unwrittenAcks.size > 0 && !failed) || (this.compactWanted && !failed)) {
      const batch = this.commits;
      this.commits = [];
      const ackRecords = this.takeAckRecords();
      const records = [...batch.flatMap((c) => c.records), ...ackRecords];
      try {
        if (records.length > 0) await this.store.append(records);
        this.recordsInLog += records.length;
        for (const c of batch) c.onDurable();
        for (const c of batch) c.resolve();
      } catch (err) {
        for (const c of batch) c.reject(err);
        this.requeueAcks(ackRecords);
        this.onError(err as Error);
        failed = true;
        continue;
      }
      if (this.compactWanted || this.needsCompaction()) {
        this.compactWanted = false;
        try {
          await this.compact();
        } catch (err) {
          // Retried after the next write that succeeds (a full disk, or a dropped user's acks).
          this.compactionDeferred = true;
          this.onError(err as Error);
        }
      }
    }
    this.writing = null;
  }

  private takeAckRecords(): QueueRecord[] {
    const records: QueueRecord[] = [];
    for (const [bid, users] of this.unwrittenAcks) records.push({ op: 'ack', bid, users: [...users] });
    this.unwrittenAcks.clear();
    return records;
  }

  private requeueAcks(records: QueueRecord[]): void {
    for (const record of records) {
      if (record.op !== 'ack' || !this.items.has(record.bid)) continue;
      let users = this.unwrittenAcks.get(record.bid);
      if (!users) this.unwrittenAcks.set(record.bid, (users = new Set()));
      for (const user of record.users) users.add(user);
    }
  }

  private needsCompaction(): boolean {
    if (this.compactionDeferred) return true;
    return this.recordsInLog > this.compactMinRecords && this.recordsInLog > COMPACT_RATIO * this.items.size * 2;
  }

  /**
   * Rewrite the log as the live state: one `add` and at most one `ack` line per broadcast.
   * Staged adds are not in `items` yet; their records are appended after this, so none is lost.
   */
  private async compact(): Promise<void> {
    const snapshot: QueueRecord[] = [];
    const now = this.now();
    for (const { item, acked } of this.items.values()) {
      if (item.expiresAt <= now) continue;
      snapshot.push({ op: 'add', b: item });
      if (acked.size > 0) snapshot.push({ op: 'ack', bid: item.bid, users: [...acked] });
    }
    await this.store.rewrite(snapshot);
    this.recordsInLog = snapshot.length;
    this.compactionDeferred = false;
  }
}
