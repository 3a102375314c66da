/**
 * Failed-login back-off (PROTOCOL.md section 4.4). Each key (a username, an IP) gets some
 * free failures; after that every failure doubles the wait before the next attempt, up to a
 * cap. A success clears the key; a key with no failure for FAILURE_MEMORY_MS is forgotten.
 */
import { BACKOFF_BASE_MS, BACKOFF_MAX_MS, FAILURE_MEMORY_MS } from '../net/constants.ts';

export type Clock = () => number;

interface Entry {
  failures: number;
  lastFailureAt: number;
  blockedUntil: number;
}

export class FailureBackoff {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly freeFailures: number,
    private readonly now: Clock = Date.now,
    private readonly baseMs = BACKOFF_BASE_MS,
    private readonly maxMs = BACKOFF_MAX_MS,
  ) {}

  /** Milliseconds until this key may try again; 0 if it may now. */
  retryAfter(key: string): number {
    const entry = this.fresh(key);
    return entry ? Math.max(0, entry.blockedUntil - this.now()) : 0;
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
export class WindowLimiter {
  private readonly events = new Map<string, number[]>();

  constructor(private readonly limit: number, private readonly windowMs: number, private readonly now: Clock = Date.now) {}

  /** 0 and counts the event if allowed; else the ms until one is allowed (nothing counted). */
  take(key: string): number {
    const now = this.now();
    const times = (this.events.get(key) ?? []).filter((t) => now - t < this.windowMs);
    if (times.length >= this.limit) {
      this.events.set(key, times);
      return times[0] + this.windowMs - now;
    }
    times.push(now);
    this.events.set(key, times);
    return 0;
  }

  forget(key: string): void {
    this.events.delete(key);
  }
}
