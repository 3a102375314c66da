/**
 * Limits shared by the nodes of a cluster (docs/CLUSTER.md "Shared limits"): the failed-login
 * back-off per user and per address (AttemptThrottle), the registrations per address, the
 * account changes per user and the broadcasts per sender (RateLimiter).
 *
 * The seams decide synchronously, so each node decides from a local mirror: the in-process
 * FailureBackoff / WindowLimiter, whose state for a key is replaced by what Redis holds. A
 * change of ours is applied locally at once, then in Redis by one Lua script that answers
 * the key's state counting every node's changes (taken into the mirror), then announced on
 * the bus (`limits.changed { limiter, key }`) so the other nodes re-read that key. Attempts in
 * flight stay per node. So a parallel attacker gains, across N nodes, what each node admits
 * before the news arrives: the bound is in docs/CLUSTER.md. While Redis is down each node
 * limits on its own, as a single server does.
 */
import {
  BACKOFF_BASE_MS,
  BACKOFF_MAX_MS,
  BROADCASTS_PER_MINUTE,
  FAILURE_MEMORY_MS,
  FREE_FAILURES_PER_IP,
  FREE_FAILURES_PER_USER,
  RATE_WINDOW_MS,
} from '../../net/constants.ts';
import { obj, str } from '../../net/schema.ts';
import { REGISTRATIONS_PER_IP_PER_MINUTE } from '../defaults.ts';
import {
  FailureBackoff,
  WindowLimiter,
  type AttemptThrottle,
  type Clock,
  type FailureState,
  type InFlightRule,
  type RateLimiter,
} from '../rate-limit.ts';
import { ACCOUNT_CHANGES_PER_HOUR, ACCOUNT_CHANGES_WINDOW_MS, type AccountsOptions } from '../users/accounts.ts';
import type { ClusterLink } from './link.ts';
import { luaScript, type LuaCall } from './redis-calls.ts';

export type LimitsLink = Pick<ClusterLink, 'redis' | 'key' | 'publish' | 'on' | 'nodeId'>;

/** Bus topic: a limiter's key changed; other nodes re-read it. */
export const LIMITS_CHANGED = 'limits.changed';
/** Keys read per SCAN step when a node loads a limiter's state (start, resync). */
const SCAN_COUNT = 500;
/** A back-off key outlives its last failure's memory (or its block) by this much in Redis. */
const EXPIRY_SLACK_MS = 1_000;

/** ARGV: now, free failures, base ms, max ms, memory ms. The same rule as FailureBackoff. */
const FAILURE_LUA = `
local now, free, base, cap, memory = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local v = redis.call('HMGET', KEYS[1], 'failures', 'last', 'blocked')
local failures, blocked = tonumber(v[1]) or 0, tonumber(v[3]) or 0
local last = tonumber(v[2]) or now
if failures > 0 and now - last > memory and now >= blocked then failures = 0; blocked = 0 end
failures = failures + 1
local over = failures - free
if over > 0 then blocked = now + math.min(cap, base * 2 ^ (over - 1)) end
redis.call('HSET', KEYS[1], 'failures', failures, 'last', string.format('%d', now), 'blocked', string.format('%d', blocked))
redis.call('PEXPIRE', KEYS[1], string.format('%d', math.max(memory, blocked - now) + ${EXPIRY_SLACK_MS}))
return {failures, now, blocked}`;
/** ARGV: now, window ms, member. Returns the window's events, member and score pairs. */
const TAKE_LUA = `
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', now - window))
redis.call('ZADD', KEYS[1], string.format('%d', now), ARGV[3])
redis.call('PEXPIRE', KEYS[1], string.format('%d', window))
return redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')`;

const changedNews = obj({ limiter: str({ min: 1, maxBytes: 32 }), key: str({ min: 1, maxBytes: 256 }) });

/**
 * What both kinds share: Redis key names, news in and out, loading every key at start and
 * after a bus cut, and not letting a reply overwrite a newer change of ours.
 */
abstract class SharedLimit {
  /** Bus news that did not validate (dropped). */
  dropped = 0;
  private sequence = 0;
  private readonly changedAt = new Map<string, number>();
  private readonly base: string;

  constructor(
    protected readonly link: LimitsLink,
    readonly name: string,
  ) {
    this.base = link.key('limits', name, '');
    link.on('message', (topic, data) => {
      if (topic !== LIMITS_CHANGED) return;
      let news: { limiter: string; key: string };
      try {
        news = changedNews(data);
      } catch {
        this.dropped += 1;
        return;
      }
      if (news.limiter === this.name) this.reload(news.key);
    });
    link.on('resync', () => void this.loadAll());
  }

  /** Read every key of this limiter from Redis (a new node, or after the bus was cut). */
  async loadAll(): Promise<void> {
    try {
      let cursor = '0';
      do {
        const [next, keys] = await this.link.redis.scan(cursor, 'MATCH', `${this.base}*`, 'COUNT', SCAN_COUNT);
        cursor = next;
        for (const redisKey of keys) this.reload(redisKey.slice(this.base.length));
      } while (cursor !== '0');
    } catch {
      // Redis down: the resync after it comes back loads again.
    }
  }

  protected redisKey(key: string): string {
    return this.base + key;
  }

  /** A change of ours to `key`; the returned mark says whether a later answer is still current. */
  protected mark(key: string): number {
    this.sequence += 1;
    this.changedAt.set(key, this.sequence);
    return this.sequence;
  }

  /** Apply an answer asked at `asked`, unless a change of ours to the key came after. */
  protected current(key: string, asked: number): boolean {
    const at = this.changedAt.get(key) ?? 0;
    if (at === asked) this.changedAt.delete(key); // nothing newer: forget the mark
    return at <= asked;
  }

  protected announce(key: string): void {
    this.link.publish(LIMITS_CHANGED, { limiter: this.name, key }).catch(() => {});
  }

  /** Redis failed: the local decision stands (the node limits alone until Redis is back). */
  protected ignore = (): void => {};

  private reload(key: string): void {
    const asked = this.sequence;
    this.read(key).then((apply) => {
      if (this.current(key, asked)) apply();
    }, this.ignore);
  }

  /** Read the key from Redis; resolves a function that puts it in the mirror. */
  protected abstract read(key: string): Promise<() => void>;
}

/** The failed-login back-off, shared (AttemptThrottle; test/server/rate-limit-contract.ts). */
export class ClusterAttemptThrottle extends SharedLimit implements AttemptThrottle {
  private readonly local: FailureBackoff;
  private readonly failureScript: LuaCall;

  constructor(
    link: LimitsLink,
    name: string,
    private readonly freeFailures: number,
    private readonly now: Clock,
    inFlightRule: InFlightRule,
  ) {
    super(link, name);
    this.local = new FailureBackoff(freeFailures, now, inFlightRule);
    this.failureScript = luaScript(link.redis, 'p2pLimitFailure', FAILURE_LUA);
    void this.loadAll();
  }

  retryAfter(key: string): number {
    return this.local.retryAfter(key);
  }

  admit(key: string): number {
    return this.local.admit(key);
  }

  finish(key: string): void {
    this.local.finish(key);
  }

  recordFailure(key: string): void {
    this.local.recordFailure(key);
    const asked = this.mark(key);
    const args = [this.now(), this.freeFailures, BACKOFF_BASE_MS, BACKOFF_MAX_MS, FAILURE_MEMORY_MS];
    this.failureScript([this.redisKey(key)], args).then((reply) => {
      const state = failureState(reply);
      if (state && this.current(key, asked)) this.local.load(key, state);
      this.announce(key);
    }, this.ignore);
  }

  recordSuccess(key: string): void {
    // Most logins succeed with no failure known: nothing to clear, no Redis command at all.
    if (!this.local.state(key)) return;
    this.local.recordSuccess(key);
    this.mark(key);
    this.link.redis.del(this.redisKey(key)).then(() => this.announce(key), this.ignore);
  }

  protected async read(key: string): Promise<() => void> {
    const [failures, last, blocked] = await this.link.redis.hmget(this.redisKey(key), 'failures', 'last', 'blocked');
    const state = failureState([failures, last, blocked]);
    return () => this.local.load(key, state);
  }
}

/** A sliding-window allowance, shared (RateLimiter; same contract suite). */
export class ClusterRateLimiter extends SharedLimit implements RateLimiter {
  private readonly local: WindowLimiter;
  private readonly takeScript: LuaCall;
  private events = 0;

  constructor(
    link: LimitsLink,
    name: string,
    private readonly windowMs: number,
    limit: number,
    private readonly now: Clock,
  ) {
    super(link, name);
    this.local = new WindowLimiter(limit, windowMs, now);
    this.takeScript = luaScript(link.redis, 'p2pLimitTake', TAKE_LUA);
    void this.loadAll();
  }

  take(key: string): number {
    const wait = this.local.take(key);
    if (wait > 0) return wait;
    const asked = this.mark(key);
    const at = this.now();
    // Unique per event: two nodes (or two events here) in one millisecond are two members.
    const member = `${at}:${this.link.nodeId}:${++this.events}`;
    this.takeScript([this.redisKey(key)], [at, this.windowMs, member]).then((reply) => {
      if (this.current(key, asked)) this.local.load(key, scoresOf(reply));
      this.announce(key);
    }, this.ignore);
    return 0;
  }

  forget(key: string): void {
    this.local.forget(key);
    this.mark(key);
    this.link.redis.del(this.redisKey(key)).then(() => this.announce(key), this.ignore);
  }

  /** Events of the key in the window as this node knows them (for tests and the dashboard). */
  inWindow(key: string): number {
    return this.local.times(key).length;
  }

  protected async read(key: string): Promise<() => void> {
    const reply = await this.link.redis.zrange(this.redisKey(key), 0, -1, 'WITHSCORES');
    return () => this.local.load(key, scoresOf(reply));
  }
}

/** A back-off state from Redis (numbers or their strings), or undefined if there is none. */
function failureState(reply: unknown): FailureState | undefined {
  if (!Array.isArray(reply) || reply.length !== 3) return undefined;
  const [failures, lastFailureAt, blockedUntil] = reply.map((v) => (v === null ? NaN : Number(v)));
  if (!Number.isSafeInteger(failures) || (failures ?? 0) < 1) return undefined;
  if (!Number.isSafeInteger(lastFailureAt) || !Number.isSafeInteger(blockedUntil)) return undefined;
  return { failures: failures ?? 0, lastFailureAt: lastFailureAt ?? 0, blockedUntil: blockedUntil ?? 0 };
}

/** The scores of a ZRANGE ... WITHSCORES reply. */
function scoresOf(reply: unknown): number[] {
  if (!Array.isArray(reply)) return [];
  const times: number[] = [];
  for (let i = 1; i < reply.length; i += 2) {
    const t = Number(reply[i]);
    if (Number.isSafeInteger(t)) times.push(t);
  }
  return times;
}

/** server.ts: the account limits of a cluster node, in place of the in-process ones. */
export function clusterAccountLimits(
  link: LimitsLink,
  now: Clock,
  registrationsPerMinutePerIp = REGISTRATIONS_PER_IP_PER_MINUTE,
): Pick<AccountsOptions, 'userFailures' | 'ipFailures' | 'registrations' | 'accountChanges'> {
  return {
    userFailures: new ClusterAttemptThrottle(link, 'login-user', FREE_FAILURES_PER_USER, now, 'always'),
    ipFailures: new ClusterAttemptThrottle(link, 'login-ip', FREE_FAILURES_PER_IP, now, 'after-failure'),
    registrations: new ClusterRateLimiter(link, 'register-ip', RATE_WINDOW_MS, registrationsPerMinutePerIp, now),
    accountChanges: new ClusterRateLimiter(
      link,
      'account-changes',
      ACCOUNT_CHANGES_WINDOW_MS,
      ACCOUNT_CHANGES_PER_HOUR,
      now,
    ),
  };
}

/** server.ts: the broadcasts-per-sender allowance of a cluster node. */
export function clusterBroadcastLimiter(link: LimitsLink, now: Clock, perMinute = BROADCASTS_PER_MINUTE): RateLimiter {
  return new ClusterRateLimiter(link, 'broadcasts', RATE_WINDOW_MS, perMinute, now);
}
