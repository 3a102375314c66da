/**
 * What broadcast delivery needs from around it (PROTOCOL.md section 7.2): the server's side
 * as a DeliveryHost, the queue as a DeliveryQueue, and a Ticker for its timer. Each is the
 * seam a second implementation plugs into (a shared queue, a fake host in unit tests).
 */
import type { Emit } from '../events.ts';
import type { Clock } from '../rate-limit.ts';
import type { BroadcastItem } from '../../net/messages.ts';

export interface PendingBroadcast {
  readonly item: BroadcastItem;
  /** Keys (lower-case names) of the users who acknowledged it. */
  readonly acked: Set<string>;
}

/** A recipient as delivery sees it: a user's online session, or a test's stand-in. */
export interface DeliveryPeer {
  readonly user: string;
}

/**
 * The timer delivery ticks on and the monotonic clock it uses to notice late ticks. Real
 * timers by default; tests drive both by hand.
 */
export interface Ticker {
  every(ms: number, fn: () => void): () => void;
  /** Monotonic milliseconds (performance.now()), not the wall clock. */
  elapsed(): number;
}

export const realTicker: Ticker = {
  every(ms, fn) {
    const timer = setInterval(fn, ms);
    timer.unref();
    return () => clearInterval(timer);
  },
  elapsed: () => performance.now(),
};

/** Everything delivery needs from the server around it (and all a unit test must fake). */
export interface DeliveryHost<S extends DeliveryPeer> {
  now: Clock;
  emit: Emit;
  /** Users registered now: a broadcast acked by that many is reported delivered. */
  registeredUsers(): number;
  onlineSessions(): Iterable<S>;
  /** Subscribe to sessions going online / offline; each returns its unsubscribe. */
  onOnline(listener: (session: S) => void): () => void;
  onOffline(listener: (session: S) => void): () => void;
  /** Seal and send a `bcast` payload over the session's UDP path; false if it has no endpoint. */
  sendDatagram(session: S, payload: Buffer): boolean;
  /** Queue an encoded frame on the session's TLS connection. */
  sendFrame(session: S, frame: Buffer): void;
  /** Bytes queued on the session's TLS connection and not yet written. */
  pendingOutputBytes(session: S): number;
  /** The UDP path has been heard from lately (section 5.3). */
  udpAlive(session: S): boolean;
  isClosed(session: S): boolean;
}

/**
 * The queue as delivery uses it: live broadcasts and who acknowledged each. `BroadcastQueue`
 * implements it in this process; a shared one (Redis) implements the same.
 */
export interface DeliveryQueue {
  get(bid: string): PendingBroadcast | undefined;
  /** Live broadcasts, oldest first. */
  live(): PendingBroadcast[];
  /** Record a user's ack; false if unknown, expired or already acked. */
  ack(bid: string, user: string): boolean;
  /** Remove and return what has expired. */
  expire(): PendingBroadcast[];
}

/**
 * The whole pending-broadcast queue as the broadcasts service uses it (sections 7.1, 7.3,
 * 7.4). `BroadcastQueue` keeps it in this process over a BroadcastStore; a shared one for a
 * cluster must pass test/server/broadcasts/queue-contract.ts.
 */
export interface PendingQueue extends DeliveryQueue {
  readonly ttlMs: number;
  /** Live broadcasts held (expired ones count until expire() removes them). */
  readonly size: number;
  /** Load what survived the last run; call once, before anything else. */
  open(): Promise<{ loaded: number; expired: number; tornRecords: number }>;
  /** Resolves once the broadcast is durable; E_QUEUE_FULL at the cap, E_STORAGE if not written. */
  add(from: string, text: string): Promise<PendingBroadcast>;
  /** Throws E_QUEUE_FULL if an add would go over the cap now. */
  assertRoom(): void;
  /**
   * A deleted account (section 4.6): drop every ack of `user`, durably, so whoever registers
   * the name next is owed the live broadcasts like any new user.
   */
  forgetUser(user: string): Promise<void>;
  /** Make everything durable and stop. */
  close(): Promise<void>;
  /**
   * A shared queue's broadcasts made on another node, as they reach this one: the service fans
   * each out to this node's online users. An in-process queue has no others and leaves it out.
   */
  onRemoteAdd?(listener: (pending: PendingBroadcast) => void): () => void;
  /**
   * Acks made on other nodes, as they reach this one (after they are in `acked`): the last ack
   * of a broadcast may land on any node, so each node checks whether it is now delivered to all.
   */
  onRemoteAck?(listener: (bids: readonly string[]) => void): () => void;
}
