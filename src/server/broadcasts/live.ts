/**
 * The rules every pending-broadcast queue applies to what it holds in memory (PROTOCOL.md
 * sections 7.3, 7.4), shared by the in-process queue and a cluster's mirror: a broadcast is
 * live until its expiresAt instant, the held ones are kept oldest first, and the cap's error.
 */
import { DEFAULT_BROADCAST_TTL_MS, MAX_PENDING_BROADCASTS } from '../../net/constants.ts';
import { ErrorCode, ProtocolError } from '../../net/errors.ts';
import type { PendingBroadcast } from './ports.ts';

/** Held broadcasts by id, in creation order. */
export type HeldBroadcasts = Map<string, PendingBroadcast>;

export function liveOne(items: HeldBroadcasts, bid: string, now: number): PendingBroadcast | undefined {
  const pending = items.get(bid);
  return pending && pending.item.expiresAt > now ? pending : undefined;
}

export function liveAll(items: HeldBroadcasts, now: number): PendingBroadcast[] {
  return [...items.values()].filter((p) => p.item.expiresAt > now);
}

/** Remove and return what has expired at `now`. */
export function takeExpired(items: HeldBroadcasts, now: number): PendingBroadcast[] {
  const gone: PendingBroadcast[] = [];
  for (const [bid, pending] of items) {
    if (pending.item.expiresAt > now) continue;
    items.delete(bid);
    gone.push(pending);
  }
  return gone;
}

export function queueFullError(maxPending: number): ProtocolError {
  return new ProtocolError(
    ErrorCode.QUEUE_FULL,
    `the broadcast queue is full (${maxPending} pending); try again when some expire`,
  );
}

/** A queue's TTL and cap from its options, with the defaults of section 7.4. */
export function queueLimits(options: { ttlMs?: number; maxPending?: number }): { ttlMs: number; maxPending: number } {
  const ttlMs = options.ttlMs ?? DEFAULT_BROADCAST_TTL_MS;
  if (!Number.isInteger(ttlMs) || ttlMs <= 0) throw new RangeError('broadcast ttl must be a positive number of ms');
  return { ttlMs, maxPending: options.maxPending ?? MAX_PENDING_BROADCASTS };
}
