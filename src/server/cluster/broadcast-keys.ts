/**
 * The cluster's broadcast queue as Redis keys and bus messages (docs/CLUSTER.md
 * "Broadcasts"): key names, the add script, reading items with their ack sets, and the
 * validators of `bcast.*` bus payloads. broadcast-queue.ts keeps the mirror over these.
 */
import { broadcastItem, type BroadcastItem } from '../../net/messages.ts';
import { arr, obj, str } from '../../net/schema.ts';
import type { ClusterLink } from './link.ts';

/** Keys live this long past their broadcast's expiry (clock skew between nodes). */
export const BCAST_KEY_MARGIN_MS = 60_000;
/** User keys in one `bcast.acked` bus message (32 bytes each at most: well under the bus limit). */
export const MAX_ACKS_PER_BUS_MESSAGE = 2_048;

export const BUS = { ADDED: 'bcast.added', ACKED: 'bcast.acked', FORGOT: 'bcast.forgot' } as const;

const userKeyText = str({ min: 1, maxBytes: 64 });
const bidText = str({ min: 1, maxBytes: 64, pattern: /^[0-9a-f]+$/ });
export const addedMessage = obj({ b: broadcastItem });
export const ackedMessage = obj({
  acks: arr(obj({ bid: bidText, users: arr(userKeyText, MAX_ACKS_PER_BUS_MESSAGE) }), MAX_ACKS_PER_BUS_MESSAGE),
});
export const forgotMessage = obj({ user: userKeyText });

export type AckBatch = { bid: string; users: string[] }[];

/**
 * KEYS: live, item. ARGV: now, maxPending (0: no cap, a restore), expiresAt, item JSON, key
 * lifetime in ms, bid. Returns 1 (stored), 0 (the cap), -1 (the id is taken; a restore then
 * only puts the id back in `live`).
 */
const ADD_SCRIPT = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local max = tonumber(ARGV[2])
if max > 0 and redis.call('ZCARD', KEYS[1]) >= max then return 0 end
if redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[5], 'NX') == false and max > 0 then return -1 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[6])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < tonumber(ARGV[5]) then redis.call('PEXPIRE', KEYS[1], ARGV[5]) end
return 1`;

export class BroadcastKeys {
  constructor(private readonly link: ClusterLink) {}

  key(...parts: string[]): string {
    return this.link.key('bcast', ...parts);
  }

  /** Ids in `bcast:live` that are live after `now`. */
  liveIds(now: number): Promise<string[]> {
    return this.link.redis.zrangebyscore(this.key('live'), `(${now}`, '+inf');
  }

  /** Remove the ids (and keys) of broadcasts dead at `now`; returns how many. */
  async prune(now: number): Promise<number> {
    const dead = await this.link.redis.zrangebyscore(this.key('live'), '-inf', now);
    if (dead.length > 0) {
      const multi = this.link.redis.multi().zrem(this.key('live'), ...dead);
      for (const bid of dead) multi.del(this.key(bid), this.key(bid, 'acked'));
      await multi.exec();
    }
    return dead.length;
  }

  /** The add script: 1 stored, 0 the cap, -1 the id is taken. `maxPending` 0: a restore, no cap. */
  store(item: BroadcastItem, now: number, maxPending: number): Promise<unknown> {
    return this.link.redis.eval(
      ADD_SCRIPT,
      2,
      this.key('live'),
      this.key(item.bid),
      now,
      maxPending,
      item.expiresAt,
      JSON.stringify(item),
      item.expiresAt - now + BCAST_KEY_MARGIN_MS,
      item.bid,
    );
  }

  /** Items and acked sets of `bids`; `missing`: ids whose item is gone or does not validate. */
  async fetch(bids: string[]) {
    const found: { item: BroadcastItem; acked: Set<string> }[] = [];
    const missing = new Set<string>();
    if (bids.length === 0) return { found, missing };
    const pipeline = this.link.redis.pipeline();
    for (const bid of bids) pipeline.get(this.key(bid)).smembers(this.key(bid, 'acked'));
    const replies = (await pipeline.exec()) ?? [];
    for (const [i, bid] of bids.entries()) {
      const [itemErr, text] = replies[2 * i] ?? [];
      const [ackErr, users] = replies[2 * i + 1] ?? [];
      const item = itemErr || ackErr ? null : parseItem(text);
      if (!item || item.bid !== bid || !Array.isArray(users)) {
        missing.add(bid);
        continue;
      }
      found.push({ item, acked: new Set(users.filter((u): u is string => typeof u === 'string')) });
    }
    return { found, missing };
  }
}

function parseItem(text: unknown): BroadcastItem | null {
  if (typeof text !== 'string') return null;
  try {
    return broadcastItem(JSON.parse(text));
  } catch {
    return null;
  }
}

/** `bcast.acked` messages of at most MAX_ACKS_PER_BUS_MESSAGE users each. */
export function chunkAcks(acks: AckBatch): { acks: AckBatch }[] {
  const messages: { acks: AckBatch }[] = [];
  let current: AckBatch = [];
  let count = 0;
  for (const { bid, users } of acks) {
    for (let i = 0; i < users.length; i += MAX_ACKS_PER_BUS_MESSAGE) {
      const part = users.slice(i, i + MAX_ACKS_PER_BUS_MESSAGE);
      if (count + part.length > MAX_ACKS_PER_BUS_MESSAGE) {
        messages.push({ acks: current });
        current = [];
        count = 0;
      }
      current.push({ bid, users: part });
      count += part.length;
    }
  }
  if (current.length > 0) messages.push({ acks: current });
  return messages;
}
