/**
 * Limits held across cluster nodes (docs/CLUSTER.md "Shared limits"), with real clients on two
 * in-process nodes sharing one real redis-server. The nodes share a frozen clock, so a back-off
 * or a window never runs out while a slow machine runs the test.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FREE_FAILURES_PER_USER } from '../../../src/net/constants.ts';
import { ErrorCode, ProtocolError } from '../../../src/net/errors.ts';
import type { ClusterRateLimiter } from '../../../src/server/cluster/limits.ts';
import type { RateLimiter } from '../../../src/server/rate-limit.ts';
import { testCluster } from '../../helpers/cluster.ts';
import { REDIS_SKIP } from '../../helpers/redis.ts';
import type { TestServer } from '../../helpers/server.ts';
import { waitFor } from '../../helpers/wait.ts';

const frozen = () => {
  const at = Date.now();
  return () => at;
};

const hasCode = (code: string) => (err: unknown) => {
  assert.ok(err instanceof ProtocolError, String(err));
  assert.equal(err.code, code, err.message);
  if (code === ErrorCode.RATE_LIMITED) assert.ok((err.retryAfterMs ?? 0) > 0, 'with retryAfterMs');
  return true;
};

/** The shared allowance behind a RateLimiter seam (what a node knows, for waiting on the bus). */
const known = (limiter: RateLimiter, key: string) => (limiter as ClusterRateLimiter).inWindow(key);

test('wrong passwords on node1 then node2: the back-off holds across them', { skip: REDIS_SKIP }, async (t) => {
  const { nodes } = await testCluster(t, { nodes: 2, now: frozen() });
  const [one, two] = nodes as [TestServer, TestServer];
  await (await one.client()).register('alice', 'password-alice');
  for (let i = 0; i < FREE_FAILURES_PER_USER; i++)
    await assert.rejects((await one.client()).login('alice', 'wrong-password'), hasCode(ErrorCode.AUTH_FAILED));
  // One more failure, on the other node: the fourth in all, so the name is blocked everywhere.
  await assert.rejects((await two.client()).login('alice', 'wrong-password'), hasCode(ErrorCode.AUTH_FAILED));
  for (const node of [two, one]) {
    await waitFor(() => node.app.core.accounts.userFailures.retryAfter('user:alice') > 0, {
      what: 'the block known to the node',
    });
    await assert.rejects((await node.client()).login('alice', 'password-alice'), hasCode(ErrorCode.RATE_LIMITED));
  }
});

test('registrations from one address are counted across nodes', { skip: REDIS_SKIP }, async (t) => {
  const { nodes } = await testCluster(t, { nodes: 2, now: frozen(), registrationsPerMinutePerIp: 3 });
  const [one, two] = nodes as [TestServer, TestServer];
  const ip = 'ip:127.0.0.1';
  await (await one.client()).register('r1', 'password-r1');
  await (await one.client()).register('r2', 'password-r2');
  await waitFor(() => known(two.app.core.accounts.registrations, ip) === 2, { what: "node1's two at node2" });
  await (await two.client()).register('r3', 'password-r3');
  await assert.rejects((await two.client()).register('r4', 'password-r4'), hasCode(ErrorCode.RATE_LIMITED));
  await waitFor(() => known(one.app.core.accounts.registrations, ip) === 3, { what: "node2's one at node1" });
  await assert.rejects((await one.client()).register('r5', 'password-r5'), hasCode(ErrorCode.RATE_LIMITED));
  assert.equal(one.app.core.store.has('r4') || one.app.core.store.has('r5'), false);
});

test("a sender's broadcasts per minute are counted across nodes", { skip: REDIS_SKIP }, async (t) => {
  const { nodes } = await testCluster(t, { nodes: 2, now: frozen(), broadcastsPerMinute: 2 });
  const [one, two] = nodes as [TestServer, TestServer];
  const onOne = await one.client();
  await onOne.register('bea', 'password-bea');
  for (const text of ['first', 'second'])
    assert.equal((await onOne.request({ t: 'broadcast', text })).t, 'broadcast_ok');
  await onOne.close();
  // Broadcasts keeps its limiter to itself; the test reads it only to wait for the bus.
  const limiterAtTwo = (two.app.core.broadcasts as unknown as { limiter: RateLimiter }).limiter;
  await waitFor(() => known(limiterAtTwo, 'user:bea') === 2, { what: "node1's two broadcasts at node2" });
  const onTwo = await two.client();
  await onTwo.login('bea', 'password-bea');
  await assert.rejects(onTwo.request({ t: 'broadcast', text: 'third' }), hasCode(ErrorCode.RATE_LIMITED));
});
