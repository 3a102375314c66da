/**
 * The cluster's broadcasts while Redis is down and after it crashed (docs/CLUSTER.md
 * "Broadcasts"): refused with E_UNAVAILABLE (and a retryAfterMs) rather than accepted and
 * lost; and with appendonly + appendfsync always, every broadcast whose broadcast_ok was
 * sent, and every ack written, survives a SIGKILL of Redis, even with every node restarted.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { ErrorCode, ProtocolError } from '../../../src/net/errors.ts';
import { received } from '../../helpers/broadcast.ts';
import { testCluster } from '../../helpers/cluster.ts';
import { ackedAt, userOn } from '../../helpers/cluster-users.ts';
import { REDIS_SKIP } from '../../helpers/redis.ts';
import type { TestServer } from '../../helpers/server.ts';
import { waitFor } from '../../helpers/wait.ts';

/** Two nodes on a durable Redis; alice online on node1, bob on node2. */
async function aliceAndBob(t: TestContext) {
  const { nodes, redis } = await testCluster(t, { nodes: 2, redisOptions: { appendonly: true } });
  const [node1, node2] = nodes as [TestServer, TestServer];
  return { nodes, redis, node1, node2, alice: await userOn(node1, 'alice'), bob: await userOn(node2, 'bob') };
}

test(
  'Redis down: a broadcast is refused with E_UNAVAILABLE and retryAfterMs; it works again once Redis is back',
  { skip: REDIS_SKIP },
  async (t) => {
    const { redis, node1, node2, alice, bob } = await aliceAndBob(t);
    const before = await alice.inbox.send('before the outage');
    assert.equal(await received(bob, before.bid), 1);

    await redis.stop('SIGKILL');
    await waitFor(() => !node1.app.cluster?.available, { what: 'node1 to see Redis gone' });
    const refused = await alice.inbox.send('during the outage').then(
      () => null,
      (err: unknown) => err,
    );
    assert.ok(refused instanceof ProtocolError, `refused: ${String(refused)}`);
    assert.equal(refused.code, ErrorCode.UNAVAILABLE);
    assert.ok((refused.retryAfterMs ?? 0) > 0, 'with a retryAfterMs');
    assert.equal(alice.client.state, 'online', 'the session stays');

    await redis.start();
    await waitFor(() => node1.app.cluster?.available && node2.app.cluster?.available, { what: 'both nodes back' });
    const after = await waitFor(() => alice.inbox.send('after the outage').catch(() => null), {
      what: 'a broadcast accepted again',
    });
    assert.equal(await received(bob, after.bid), 1, 'and delivered across nodes');
    assert.equal(bob.inbox.has(before.bid), true);
    assert.equal(bob.inbox.stats.received, 2, 'nothing from the outage, nothing twice');
  },
);

test(
  'Redis SIGKILLed with appendfsync always, every node restarted: what broadcast_ok confirmed and every written ack survive',
  { skip: REDIS_SKIP },
  async (t) => {
    const { nodes, redis, node1, node2, alice, bob } = await aliceAndBob(t);
    const carol = await userOn(node2, 'carol');
    await carol.client.close(); // offline: owed everything
    const sent = [];
    for (let i = 0; i < 5; i++) sent.push(await alice.inbox.send(`durable ${i}`));
    const bids = sent.map((s) => s.bid);
    for (const bid of bids) assert.equal(await received(bob, bid), 1);
    // bob's acks are written (told to node1 only after Redis took them).
    await waitFor(() => bids.every((bid) => ackedAt(node1, bid, 'bob')), { what: "bob's acks written" });
    await bob.client.close();
    // A client left running would log itself back in once node1 is back (test clients retry
    // every 50 ms) and could replace the new alice below: E_SESSION_REPLACED, no UDP path.
    await alice.client.close();

    // Redis dies first, so no node can write anything after it; then every node stops, so
    // nothing a node still held in memory can be written back: what is left is Redis's own.
    await redis.stop('SIGKILL');
    for (const node of nodes) await node.stopServer();
    await redis.start();
    for (const node of nodes) await node.restart();

    const carolAgain = await userOn(node2, 'carol');
    for (const bid of bids) assert.equal(await received(carolAgain, bid), 1, `carol owed ${bid}`);
    const bobAgain = await userOn(node1, 'bob');
    const aliceAgain = await userOn(node1, 'alice');
    const last = await aliceAgain.inbox.send('after the crash');
    assert.equal(await received(bobAgain, last.bid), 1);
    for (const bid of bids) assert.equal(bobAgain.inbox.has(bid), false, 'an ack written before the crash is kept');
  },
);
