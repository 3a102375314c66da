/**
 * Contracts for the rate limiters (src/server/rate-limit.ts, PROTOCOL.md section 4.4): the
 * failed-login back-off (AttemptThrottle) and the sliding-window allowance (RateLimiter).
 * The in-process FailureBackoff and WindowLimiter run them today; a shared implementation
 * for a cluster must pass the same suites. Every case runs on an injected clock.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BACKOFF_BASE_MS, BACKOFF_MAX_MS, FAILURE_MEMORY_MS } from '../../src/net/constants.ts';
import type { AttemptThrottle, Clock, InFlightRule, RateLimiter } from '../../src/server/rate-limit.ts';

export function manualClock(start = 1_800_000_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

export type ThrottleFactory = (options: {
  freeFailures: number;
  now: Clock;
  inFlight: InFlightRule;
}) => AttemptThrottle;
export type LimiterFactory = (options: { limit: number; windowMs: number; now: Clock }) => RateLimiter;

export function attemptThrottleContract(name: string, make: ThrottleFactory): void {
  const throttle = (freeFailures: number, now: Clock, inFlight: InFlightRule = 'always') =>
    make({ freeFailures, now, inFlight });

  describe(`AttemptThrottle contract: ${name}`, () => {
    test('free failures, then a wait that doubles up to the cap', () => {
      const clock = manualClock();
      const b = throttle(2, clock.now);
      b.recordFailure('k');
      b.recordFailure('k');
      assert.equal(b.retryAfter('k'), 0);
      const waits: number[] = [];
      for (let i = 0; i < 12; i++) {
        b.recordFailure('k');
        waits.push(b.retryAfter('k'));
        clock.advance(b.retryAfter('k'));
      }
      assert.deepEqual(waits.slice(0, 4), [
        BACKOFF_BASE_MS,
        2 * BACKOFF_BASE_MS,
        4 * BACKOFF_BASE_MS,
        8 * BACKOFF_BASE_MS,
      ]);
      assert.equal(Math.max(...waits), BACKOFF_MAX_MS);
    });

    test('the wait counts down with the clock; success clears it; keys are separate', () => {
      const clock = manualClock();
      const b = throttle(0, clock.now);
      b.recordFailure('a');
      clock.advance(400);
      assert.equal(b.retryAfter('a'), BACKOFF_BASE_MS - 400);
      assert.equal(b.retryAfter('b'), 0);
      b.recordSuccess('a');
      assert.equal(b.retryAfter('a'), 0);
    });

    test('failures are forgotten after FAILURE_MEMORY_MS', () => {
      const clock = manualClock();
      const b = throttle(1, clock.now);
      b.recordFailure('k');
      clock.advance(FAILURE_MEMORY_MS + 1);
      b.recordFailure('k');
      assert.equal(b.retryAfter('k'), 0, 'the first failure no longer counts');
    });

    test('admit refuses a blocked key with its wait, and admits it once the wait is over', () => {
      const clock = manualClock();
      const b = throttle(0, clock.now);
      b.recordFailure('k');
      assert.equal(b.admit('k'), BACKOFF_BASE_MS);
      clock.advance(BACKOFF_BASE_MS);
      assert.equal(b.admit('k'), 0);
      b.finish('k');
    });

    test("a username's attempts in flight count as failures: parallel gets no more checks than one by one", () => {
      const b = throttle(3, manualClock().now, 'always');
      const admitted = Array.from({ length: 10 }, () => b.admit('k')).filter((wait) => wait === 0).length;
      assert.equal(admitted, 3);
      for (let i = 0; i < admitted; i++) {
        b.finish('k');
        b.recordFailure('k');
      }
      // One by one, the fourth is still checked (and then blocks), as without parallelism.
      assert.equal(b.admit('k'), 0);
      assert.ok(b.admit('k') > 0, 'but not a fifth while the fourth is being checked');
    });

    test('finished attempts stop counting as in flight', () => {
      const b = throttle(1, manualClock().now, 'always');
      assert.equal(b.admit('k'), 0);
      assert.ok(b.admit('k') > 0, 'a second while the first is checked would exceed the free failure');
      b.finish('k');
      b.recordSuccess('k');
      assert.equal(b.admit('k'), 0, 'the first is over and succeeded');
      b.finish('k');
    });

    test("an IP's attempts in flight count only once it has failed: a NAT of users may log in at once", () => {
      const b = throttle(20, manualClock().now, 'after-failure');
      for (let i = 0; i < 50; i++) assert.equal(b.admit('ip'), 0);
      for (let i = 0; i < 50; i++) b.finish('ip');
      b.recordFailure('ip');
      const admitted = Array.from({ length: 50 }, () => b.admit('ip')).filter((wait) => wait === 0).length;
      assert.equal(admitted, 19, '20 free failures, one used');
    });
  });
}

export function rateLimiterContract(name: string, make: LimiterFactory): void {
  describe(`RateLimiter contract: ${name}`, () => {
    test('at most `limit` events per window, and how long until the next', () => {
      const clock = manualClock();
      const w = make({ limit: 2, windowMs: 60_000, now: clock.now });
      assert.equal(w.take('ip'), 0);
      clock.advance(10_000);
      assert.equal(w.take('ip'), 0);
      assert.equal(w.take('ip'), 50_000);
      assert.equal(w.take('other'), 0);
      clock.advance(50_000);
      assert.equal(w.take('ip'), 0);
    });

    test('a refused event is not counted; the window slides event by event', () => {
      const clock = manualClock();
      const w = make({ limit: 2, windowMs: 1_000, now: clock.now });
      assert.equal(w.take('k'), 0);
      clock.advance(600);
      assert.equal(w.take('k'), 0);
      for (let i = 0; i < 5; i++) assert.equal(w.take('k'), 400, 'refusals do not extend the wait');
      clock.advance(400);
      assert.equal(w.take('k'), 0, 'the first event left the window');
      assert.equal(w.take('k'), 600, 'the second is still in it');
    });

    test('forget clears a key and only that key', () => {
      const clock = manualClock();
      const w = make({ limit: 1, windowMs: 60_000, now: clock.now });
      w.take('a');
      w.take('b');
      w.forget('a');
      assert.equal(w.take('a'), 0);
      assert.equal(w.take('b'), 60_000);
    });
  });
}
