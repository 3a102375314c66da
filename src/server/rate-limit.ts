/**
 * Failed-login back-off (PROTOCOL.md section 4.4). Each key (a username, an IP) gets some
 * free failures; after that every failure doubles the wait before the next attempt, up to a
 * cap. A success clears the key; a key with no failure for FAILURE_MEMORY_MS is forgotten.
 * An attempt still being checked counts as a failure until it is known (admit/finish), so
 * attempts sent in parallel get no more password checks than attempts sent one by one.
 */
import { BACKOFF_BASE_MS, BACKOFF_MAX_MS, FAILURE_MEMORY_MS } from '../net/constants.ts';

export type Clock = () => number;

/** One key's failures, as the back-off keeps them (and a shared one mirrors them). */
export interface FailureState {
  failures: number;
  lastFailureAt: number;
  blockedUntil: number;
}
type Entry = FailureState;

/**
 * When attempts in flight count as failures: 'always' (a username: nobody logs in to one
 * account many times at once), or 'after-failure' (an IP: many users behind one NAT may log
 * in at once, but an address that has failed recently gets its checks one at a time).
 */
export type InFlightRule = 'always' | 'after-failure';

/**
 * Failure back-off as the accounts service uses it. `FailureBackoff` keeps it in this
 * process; a shared one (Redis, for a cluster) must pass test/server/rate-limit-contract.ts.
 */
export interface AttemptThrottle {
  /** Milliseconds until this key may try again; 0 if it may now. */
  retryAfter(key: string): number;
  /** 0 and counts the attempt in flight (finish() it later), or the ms to wait. */
  admit(key: string): number;
  finish(key: string): void;
  recordFailure(key: string): void;
  recordSuccess(key: string): void;
}

/** At most some number of events per window for each key; same contract suite. */
export interface RateLimiter {
  /** 0 and counts the event if allowed; else the ms until one is allowed (nothing counted). */
  take(key: string): number;
  forget(key: string): void;
}

export class FailureBackoff implements AttemptThrottle {
  private readonly entries = new Map<string, Entry>();
  /** Attempts admitted and not finished yet, per key. */
  private readonly inFlight = new Map<string, number>();

  constructor(
    private readonly freeFailures: number,
    private readonly now: Clock = Date.now,
    private readonly inFlightRule: InFlightRule = 'always',
    private readonly baseMs = BACKOFF_BASE_MS,
    private readonly maxMs = BACKOFF_MAX_MS,
  ) {}

  /** Milliseconds until this key may try again; 0 if it may now. */
  retryAfter(key: string): number {
    const entry = this.fresh(key);
    return entry ? Math.max(0, entry.blockedUntil - this.now()) : 0;
  }

  /**
   * 0 and counts the attempt in flight (the caller must finish() it) if it may go ahead;
   * else the ms to wait. Refused when the key is blocked, or when it would be blocked should
   * the attempts in flight all fail.
   */
  admit(key: string): number {
    const wait = this.retryAfter(key);
    if (wait > 0) return wait;
    const pending = this.inFlight.get(key) ?? 0;
    const failures = this.fresh(key)?.failures ?? 0;
    const over = failures + pending + 1 - this.freeFailures;
    const counted = this.inFlightRule === 'always' || failures > 0;
    if (counted && pending > 0 && over > 0) return Math.min(this.maxMs, this.baseMs * 2 ** (over - 1));
    this.inFlight.set(key, pending + 1);
    return 0;
  }

  /** The admitted attempt is over; record its outcome separately. */
  finish(key: string): void {
    const pending = (this.inFlight.get(key) ?? 0) - 1;
    if (pending > 0) this.inFlight.set(key, pending);
    else this.inFlight.delete(key);
  }

  recordFailure(key: string): void {
    const now = this.now();
    const entry = this.fresh(key) ?? { failures: 0, lastFailureAt: now, blockedUntil: 0 };
    entry.failures += 1;
    entry.lastFailureAt = now;
    const over = entry.failures - this.freeFailures;
    if (over > 0) entry.blockedUntil = now + Math.min(this.maxMs, this.baseMs * 2 ** (over - 1));
    this.entries.set(key, entry);
    if (this.entries.size > 100_000) this.sweep();
  }

  recordSuccess(key: string): void {
    this.entries.delete(key);
  }

  /** The key's failures now, if any (a shared back-off compares it with what it learns). */
  state(key: string): Readonly<FailureState> | undefined {
    return this.fresh(key);
  }

  /** Take a key's failures as learnt elsewhere (a cluster's Redis); undefined clears it. */
  load(key: string, state: FailureState | undefined): void {
    if (state) this.entries.set(key, { ...state });
    else this.entries.delete(key);
  }

  private fresh(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && this.now() - entry.lastFailureAt > FAILURE_MEMORY_MS && this.now() >= entry.blockedUntil) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  private sweep(): void {
    for (const key of [...this.entries.keys()]) this.fresh(key);
  }
}

/** A sliding-window counter: at most `limit` events per `windowMs` for each key. */
export class WindowLimiter implements RateLimiter {
  private readonly events = new Map<string, number[]>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: Clock = Date.now,
  ) {}

  /** 0 and counts the event if allowed; else the ms until one is allowed (nothing counted). */
  take(key: string): number {
    const now = this.now();
    const times = (this.events.get(key) ?? []).filter((t) => now - t < this.windowMs);
    if (times.length >= this.limit) {
      this.events.set(key, times);
      const oldest = times[0];
      // Only a limit of 0 comes here with no event kept. It has always let everything through
      // (the NaN it used to compute here compared false with every caller's `wait > 0`).
      if (oldest === undefined) return 0;
      return oldest + this.windowMs - now;
    }
    times.push(now);
    this.events.set(key, times);
    return 0;
  }

  forget(key: string): void {
    this.events.delete(key);
  }

  /** Events of the key in the window, oldest first. */
  times(key: string): readonly number[] {
    const now = this.now();
    return (this.events.get(key) ?? []).filter((t) => now - t < this.windowMs);
  }

  /** Take a key's events as learnt elsewhere (a cluster's Redis). */
  load(key: string, times: number[]): void {
    if (times.length === 0) this.events.delete(key);
    else
      this.events.set(
        key,
        [...times].sort((a, b) => a - b),
      );
  }
}
