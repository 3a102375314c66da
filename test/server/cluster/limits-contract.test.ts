/**
 * The shared limits (src/server/cluster/limits.ts) on a real redis-server: the AttemptThrottle
 * and RateLimiter contracts every limiter passes, then what only a shared one does: several
 * nodes' limiters (each on its own link) counting one key together, and a node that starts
 * later loading what is already counted.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test, type TestContext } from 'node:test';
import { BACKOFF_BASE_MS, FREE_FAILURES_PER_USER } from '../../../src/net/constants.ts';
import { ClusterLink } from '../../../src/server/cluster/link.ts';
import { ClusterAttemptThrottle, ClusterRateLimiter } from '../../../src/server/cluster/limits.ts';
import { defer } from '../../helpers/cleanup.ts';
import { REDIS_SKIP, startRedis, type RedisInstance } from '../../helpers/redis.ts';
import { waitFor } from '../../helpers/wait.ts';
import { attemptThrottleContract, manualClock, rateLimiterContract } from '../rate-limit-contract.ts';

let redis: RedisInstance | undefined;
let shared: ClusterLink | undefined;
const cleanups: Array<() => unknown> = [];
let made = 0;

if (!REDIS_SKIP) {
  // The contract's factories are synchronous and take no test context: one Redis and link for the file.
  before(async () => {
    const fileScope = { after: (fn: () => unknown) => void cleanups.push(fn) } as unknown as TestContext;
    redis = await startRedis(fileScope);
    shared = await ClusterLink.connect({ url: redis.url, prefix: `t${randomBytes(4).toString('hex')}:` });
    cleanups.push(() => shared?.close());
  });
  after(async () => {
    for (let fn = cleanups.pop(); fn; fn = cleanups.pop()) await fn();
  });
}

const link = () => shared ?? assert.fail('the link did not connect');

if (REDIS_SKIP) test('shared limits contract', { skip: REDIS_SKIP }, () => {});
else {
  // Each limiter its own name, so no case sees another's keys in Redis.
  attemptThrottleContract(
    'ClusterAttemptThrottle',
    ({ freeFailures, now, inFlight }) =>
      new ClusterAttemptThrottle(link(), `contract${++made}`, freeFailures, now, inFlight),
  );
  rateLimiterContract(
    'ClusterRateLimiter',
    ({ limit, windowMs, now }) => new ClusterRateLimiter(link(), `contract${++made}`, windowMs, limit, now),
  );
}

/** `count` nodes' links on one fresh prefix. */
async function nodes(t: TestContext, count: number): Promise<ClusterLink[]> {
  const url = redis?.url ?? assert.fail('no redis');
  const prefix = `t${randomBytes(4).toString('hex')}:`;
  const links: ClusterLink[] = [];
  for (let i = 0; i < count; i++) {
    const made = await ClusterLink.connect({ url, prefix, nodeId: `n${i}` });
    defer(t, () => made.close());
    links.push(made);
  }
  return links;
}

test('a back-off counts failures on every node, and a node started later knows it', { skip: REDIS_SKIP }, async (t) => {
  const clock = manualClock();
  const [a, b, c] = await nodes(t, 3);
  const throttle = (l: ClusterLink | undefined) =>
    new ClusterAttemptThrottle(l ?? assert.fail(), 'login-user', FREE_FAILURES_PER_USER, clock.now, 'always');
  const onA = throttle(a);
  const onB = throttle(b);
  for (let i = 0; i < FREE_FAILURES_PER_USER; i++) onA.recordFailure('user:eve');
  assert.equal(onB.retryAfter('user:eve'), 0, 'the free failures are free');
  onB.recordFailure('user:eve'); // one over, counted with A's: blocked
  await waitFor(() => onB.retryAfter('user:eve') === BACKOFF_BASE_MS, { what: 'the block at B' });
  await waitFor(() => onA.retryAfter('user:eve') === BACKOFF_BASE_MS, { what: 'the block at A' });
  const onC = throttle(c);
  await waitFor(() => onC.admit('user:eve') === BACKOFF_BASE_MS, { what: 'the block at a node made later' });
  onA.recordSuccess('user:eve');
  await waitFor(() => onB.retryAfter('user:eve') === 0 && onC.retryAfter('user:eve') === 0, {
    what: 'the success clears it everywhere',
  });
});

test('a window allowance is counted across nodes; forget clears it everywhere', { skip: REDIS_SKIP }, async (t) => {
  const clock = manualClock();
  const [a, b] = await nodes(t, 2);
  const limiter = (l: ClusterLink | undefined) =>
    new ClusterRateLimiter(l ?? assert.fail(), 'register-ip', 60_000, 3, clock.now);
  const onA = limiter(a);
  const onB = limiter(b);
  assert.equal(onA.take('ip:10.0.0.1'), 0);
  clock.advance(1_000);
  assert.equal(onA.take('ip:10.0.0.1'), 0);
  await waitFor(() => onB.inWindow('ip:10.0.0.1') === 2, { what: "A's two events at B" });
  assert.equal(onB.take('ip:10.0.0.1'), 0);
  assert.equal(onB.take('ip:10.0.0.1'), 59_000, 'the fourth waits for the first to leave the window');
  assert.equal(onB.take('ip:10.0.0.2'), 0, 'other keys are separate');
  await waitFor(() => onA.inWindow('ip:10.0.0.1') === 3, { what: "B's event at A" });
  assert.equal(onA.take('ip:10.0.0.1'), 59_000);
  onB.forget('ip:10.0.0.1');
  await waitFor(() => onA.inWindow('ip:10.0.0.1') === 0, { what: 'forgotten at A' });
});

test('bus news that does not validate is dropped and counted', { skip: REDIS_SKIP }, async (t) => {
  const [a, b] = await nodes(t, 2);
  const onB = new ClusterRateLimiter(b ?? assert.fail(), 'broadcasts', 60_000, 3, Date.now);
  await a?.publish('limits.changed', { limiter: 42, key: 'x' });
  await a?.publish('limits.changed', null);
  await waitFor(() => onB.dropped === 2, { what: 'two drops' });
});

test('after the bus is cut, a node re-reads every key of its limiters', { skip: REDIS_SKIP }, async (t) => {
  const clock = manualClock();
  const [a, b] = await nodes(t, 2);
  const onB = new ClusterRateLimiter(b ?? assert.fail(), 'register-ip', 60_000, 3, clock.now);
  const redisA = a?.redis ?? assert.fail();
  // Events whose news never went out.
  const key = a?.key('limits', 'register-ip', 'ip:10.9.9.9') ?? '';
  await redisA.zadd(key, clock.now(), 'x:1', clock.now(), 'x:2');
  assert.equal(onB.inWindow('ip:10.9.9.9'), 0);
  await redisA.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
  await waitFor(() => onB.inWindow('ip:10.9.9.9') === 2, { what: 'the key loaded on resync' });
});
