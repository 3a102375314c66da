/**
 * Broadcasts across cluster nodes (in-process nodes on a real redis-server): each user is
 * shown a broadcast once whichever node they are on, log in to later, move to, or register
 * on within its TTL (PROTOCOL.md sections 7.2, 7.3; docs/CLUSTER.md "Broadcasts").
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { received } from '../../helpers/broadcast.ts';
import { testCluster } from '../../helpers/cluster.ts';
import { ackedAt, userOn } from '../../helpers/cluster-users.ts';
import { REDIS_SKIP } from '../../helpers/redis.ts';
import type { TestServer } from '../../helpers/server.ts';
import { waitFor } from '../../helpers/wait.ts';

test(
  'sent on node1: shown once to users on node1, node2 and node3, to one who logs in later on node2 and to a new registration',
  { skip: REDIS_SKIP },
  async (t) => {
    const { nodes } = await testCluster(t, { nodes: 3 });
    const [node1, node2, node3] = nodes as [TestServer, TestServer, TestServer];
    const alice = await userOn(node1, 'alice');
    const online = [await userOn(node1, 'dave'), await userOn(node2, 'bob'), await userOn(node3, 'carol')];
    const late = await userOn(node1, 'erin');
    await late.client.close(); // registered, offline while the broadcast is made

    const sent = await alice.inbox.send('to the whole cluster');
    for (const user of [alice, ...online])
      assert.equal(await received(user, sent.bid), 1, `${user.name} shown it once`);
    // Every node learns every ack: nobody is owed it any more wherever they log in.
    for (const node of nodes)
      await waitFor(() => ['alice', 'dave', 'bob', 'carol'].every((u) => ackedAt(node, sent.bid, u)), {
        what: 'every ack known on every node',
      });

    const erin = await userOn(node2, 'Erin');
    assert.equal(await received(erin, sent.bid), 1, 'offline at send time: shown once on another node');
    const frank = await userOn(node3, 'frank'); // registered after the broadcast, within its TTL
    assert.equal(await received(frank, sent.bid), 1, 'a new registration gets it');
    for (const user of [alice, ...online, erin, frank]) assert.equal(user.inbox.stats.received, 1, user.name);
  },
);

test(
  'a user who acked on node1 and moves to node2 is not sent it again; one who had not acked gets it there',
  { skip: REDIS_SKIP },
  async (t) => {
    const { nodes } = await testCluster(t, { nodes: 2 });
    const [node1, node2] = nodes as [TestServer, TestServer];
    const alice = await userOn(node1, 'alice');
    const bob = await userOn(node1, 'bob');
    const first = await alice.inbox.send('before the move');
    assert.equal(await received(bob, first.bid), 1);
    await waitFor(() => ackedAt(node2, first.bid, 'bob'), { what: "bob's ack known on node2" });
    await bob.client.close();

    const moved = await userOn(node2, 'bob'); // a new client: it would show a resent copy as new
    const marker = await alice.inbox.send('after the move');
    assert.equal(await received(moved, marker.bid), 1, 'a broadcast from node1 reaches bob on node2');
    assert.equal(moved.inbox.has(first.bid), false, 'the broadcast bob acked on node1 is not sent again');
    assert.equal(moved.inbox.stats.duplicates, 0);

    // carol is online on node1 but never acks (her client is gone before it reads a byte of it).
    const carol = await userOn(node1, 'carol');
    await carol.client.close();
    const owed = await alice.inbox.send('carol has not seen this');
    const again = await userOn(node2, 'carol');
    assert.equal(await received(again, owed.bid), 1, 'not acked anywhere: delivered on the node she moved to');
  },
);

test(
  'every node reports a broadcast delivered to all, whichever node got the last ack',
  { skip: REDIS_SKIP },
  async (t) => {
    const { nodes } = await testCluster(t, { nodes: 2 });
    const [node1, node2] = nodes as [TestServer, TestServer];
    const alice = await userOn(node1, 'alice');
    const bob = await userOn(node2, 'bob');
    // One of the two nodes always learns the last ack from the bus, not from its own user (each
    // node's own ack cannot be the later one at both), so without onRemoteAck one never reports.
    const reported = nodes.map((node) => {
      const bids: string[] = [];
      node.app.core.on('broadcast_delivered', ({ bid }) => bids.push(bid));
      return bids;
    });
    const sent = await alice.inbox.send('to both nodes');
    assert.equal(await received(bob, sent.bid), 1);
    await waitFor(() => reported.every((bids) => bids.includes(sent.bid)), {
      what: `broadcast_delivered on both nodes (node1 ${reported[0]?.length}, node2 ${reported[1]?.length})`,
    });
    assert.deepEqual(
      reported.map((bids) => bids.filter((bid) => bid === sent.bid).length),
      [1, 1],
      'once per node',
    );
    assert.ok(node1 && node2);
  },
);
