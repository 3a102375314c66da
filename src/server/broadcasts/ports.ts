/**
 * What broadcast delivery needs from around it (PROTOCOL.md section 7.2): the server's side
 * as a DeliveryHost, the queue as a DeliveryQueue, and a Ticker for its timer. Each is the
 * seam a second implementation plugs into (a shared queue, a fake host in unit tests).
 */
import type { Emit } from '../events.ts';
import type { Clock } from '../rate-limit.ts';
import type { PendingBroadcast } from './queue.ts';

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
