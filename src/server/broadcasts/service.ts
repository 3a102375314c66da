/**
 * Broadcasts as the rest of the server sees them (`core.broadcasts`): the request rules of
 * PROTOCOL.md sections 7.1 and 7.4 (size, per-sender rate, queue cap), the queue, the
 * delivery engine, and a read-only view for the dashboard.
 */
import { EventEmitter } from 'eventemitter3';
import {
  BROADCASTS_PER_MINUTE,
  DEFAULT_BROADCAST_TTL_MS,
  MAX_PENDING_BROADCASTS,
  RATE_WINDOW_MS,
} from '../../net/constants.ts';
import { ErrorCode, ProtocolError } from '../../net/errors.ts';
import type { BroadcastItem } from '../../net/messages.ts';
import { sanitizeLine } from '../../net/sanitize.ts';
import { broadcastTextTooLarge } from '../../net/text-limits.ts';
import { WindowLimiter, type RateLimiter } from '../rate-limit.ts';
import { userKey } from '../users/store.ts';
import {
  BroadcastDelivery,
  type DeliveryHost,
  type DeliveryOptions,
  type DeliveryPeer,
  type DeliveryStats,
} from './delivery.ts';
import type { PendingQueue } from './ports.ts';
import { BroadcastQueue, type PendingBroadcast } from './queue.ts';
import { MemoryBroadcastStore, type BroadcastStore } from './store.ts';

/** Characters of text shown in a dashboard row or a log line. */
export const PREVIEW_CHARS = 60;

export interface BroadcastOptions extends DeliveryOptions {
  /** Where the queue lives; default in memory (app.ts passes the data dir's log). */
  store?: BroadcastStore;
  ttlMs?: number;
  maxPending?: number;
  perMinute?: number;
  /** Per-sender allowance; a WindowLimiter over `perMinute` if not given. */
  limiter?: RateLimiter;
  /** Another queue implementation (a shared one); `store`, `ttlMs`, `maxPending` then do not apply. */
  queue?: PendingQueue;
}

export type AckPath = 'udp' | 'tcp';

/** A user's first ack of a broadcast: when, over which path, how long after its creation. */
export interface AckRecord {
  bid: string;
  user: string;
  via: AckPath;
  at: number;
  latencyMs: number;
}

/** One row of the dashboard's broadcast pane. No secrets: the text is public to every user anyway. */
export interface BroadcastSummary {
  bid: string;
  from: string;
  /** The first PREVIEW_CHARS characters, made safe for a terminal. */
  preview: string;
  bytes: number;
  createdAt: number;
  expiresAt: number;
  timeLeftMs: number;
  /** Users who acknowledged it, of `registered` users now. */
  acked: number;
  registered: number;
}

/**
 * The service needs only what delivery needs: it reports through the same `emit` and reads
 * the same clock and registered-user count.
 */
export type BroadcastsHost<S extends DeliveryPeer> = DeliveryHost<S>;

export class Broadcasts<S extends DeliveryPeer> {
  readonly queue: PendingQueue;
  readonly delivery: BroadcastDelivery<S>;
  readonly perMinute: number;
  private readonly limiter: RateLimiter;
  /**
   * Every first ack of a broadcast by a user (the metrics' latency histogram, the dashboard's
   * delivery detail). Worked out only while someone listens.
   */
  readonly acks = new EventEmitter<{ ack: [AckRecord] }>();

  constructor(
    private readonly host: BroadcastsHost<S>,
    options: BroadcastOptions = {},
  ) {
    this.queue =
      options.queue ??
      new BroadcastQueue(options.store ?? new MemoryBroadcastStore(), {
        now: host.now,
        ttlMs: options.ttlMs ?? DEFAULT_BROADCAST_TTL_MS,
        maxPending: options.maxPending ?? MAX_PENDING_BROADCASTS,
        onError: (err) => host.emit('server_error', { where: 'broadcast queue', message: err.message }),
      });
    this.delivery = new BroadcastDelivery(host, this.queue, options);
    // A cluster's queue: broadcasts made on other nodes reach this node's users too.
    this.queue.onRemoteAdd?.((pending) => this.delivery.fanOut(pending));
    // ...and acks made there may complete a broadcast here (broadcast_delivered).
    this.queue.onRemoteAck?.((bids) => this.delivery.checkDelivered(bids));
    this.perMinute = options.perMinute ?? BROADCASTS_PER_MINUTE;
    this.limiter = options.limiter ?? new WindowLimiter(this.perMinute, RATE_WINDOW_MS, host.now);
  }

  get ttlMs(): number {
    return this.queue.ttlMs;
  }

  /** Load the queue from its store and start delivering. Call before accepting connections. */
  async open(): Promise<{ loaded: number; expired: number; tornRecords: number }> {
    const result = await this.queue.open();
    this.delivery.start();
    return result;
  }

  /**
   * A user's broadcast request (section 7.1). Checks, then makes it durable; `accepted` runs
   * as soon as it is (the handler answers `broadcast_ok` there), then the fan-out starts.
   */
  async create(session: S, text: string, accepted?: (pending: PendingBroadcast) => void): Promise<PendingBroadcast> {
    const user = session.user;
    try {
      const tooLarge = broadcastTextTooLarge(text);
      if (tooLarge) throw tooLarge;
      this.queue.assertRoom();
      const wait = this.limiter.take(`user:${userKey(user)}`);
      if (wait > 0) {
        throw new ProtocolError(
          ErrorCode.RATE_LIMITED,
          `at most ${this.perMinute} broadcasts a minute; try again in ${Math.ceil(wait / 1000)} s`,
          { retryAfterMs: wait },
        );
      }
    } catch (err) {
      if (err instanceof ProtocolError) this.host.emit('broadcast_refused', { user, code: err.code });
      throw err;
    }
    const started = process.hrtime.bigint();
    const pending = await this.queue.add(user, text);
    const durableMs = Number(process.hrtime.bigint() - started) / 1e6;
    const { item } = pending;
    this.host.emit('broadcast_created', {
      ...describeItem(item),
      pending: this.queue.size,
      durableMs: Math.round(durableMs * 100) / 100,
    });
    accepted?.(pending);
    this.delivery.fanOut(pending);
    return pending;
  }

  /** `via`: the path the ack came over (section 7.2: either is fine); `at`: when it was read. */
  ack(session: S, bids: readonly string[], via: AckPath = 'tcp', at = this.host.now()): void {
    if (this.acks.listenerCount('ack') === 0) {
      this.delivery.ack(session, bids, at);
      return;
    }
    // Which of these are first acks, told apart before delivery records them.
    const key = userKey(session.user);
    const fresh = bids.flatMap((bid) => {
      const pending = this.queue.get(bid);
      return pending && !pending.acked.has(key) ? [pending] : [];
    });
    this.delivery.ack(session, bids, at);
    for (const { item, acked } of fresh) {
      if (!acked.has(key)) continue;
      this.acks.emit('ack', { bid: item.bid, user: session.user, via, at, latencyMs: at - item.createdAt });
    }
  }

  /**
   * A deleted account (section 4.6): stop sending to its sessions and drop its acks, so that
   * whoever registers the name next gets the live broadcasts like any new user.
   */
  async forgetUser(user: string): Promise<void> {
    this.delivery.dropUser(user);
    await this.queue.forgetUser(user);
  }

  /** Every live broadcast, oldest first, for the dashboard. */
  pending(): BroadcastSummary[] {
    const now = this.host.now();
    const registered = this.host.registeredUsers();
    return this.queue.live().map(({ item, acked }) => ({
      ...describeItem(item),
      timeLeftMs: Math.max(0, item.expiresAt - now),
      acked: acked.size,
      registered,
    }));
  }

  stats(): DeliveryStats & { pending: number; busyRecipients: number } {
    return { ...this.delivery.stats, pending: this.queue.size, busyRecipients: this.delivery.busyRecipients };
  }

  async close(): Promise<void> {
    this.delivery.stop();
    await this.queue.close();
  }
}

/** Preview and size of each broadcast's text, worked out once: the dashboard asks every second. */
const described = new WeakMap<BroadcastItem, { preview: string; bytes: number }>();

/** What the log and the dashboard show of a broadcast: never more than a safe preview of its text. */
function describeItem(item: BroadcastItem) {
  let text = described.get(item);
  if (!text) described.set(item, (text = { preview: preview(item.text), bytes: Buffer.byteLength(item.text, 'utf8') }));
  return { bid: item.bid, from: item.from, ...text, createdAt: item.createdAt, expiresAt: item.expiresAt };
}

function preview(text: string): string {
  // Only the start matters; sanitising 4 KiB for 60 characters would be waste.
  const chars = [...sanitizeLine(text.slice(0, PREVIEW_CHARS * 8))];
  return chars.length <= PREVIEW_CHARS ? chars.join('') : `${chars.slice(0, PREVIEW_CHARS - 1).join('')}…`;
}
