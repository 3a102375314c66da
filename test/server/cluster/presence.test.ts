/**
 * Presence across nodes (docs/CLUSTER.md "Presence") on a real redis-server: the directory
 * contract against the cluster implementation, users on other nodes in every client's list,
 * a login on another node replacing the session (also two at once), and the mirror rebuilt
 * after Redis restarts empty.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test, type TestContext } from 'node:test';
import { ErrorCode, type ProtocolError } from '../../../src/net/errors.ts';
import { ClusterLink } from '../../../src/server/cluster/link.ts';
import type { ClusterPeers } from '../../../src/server/cluster/peers.ts';
import { ClusterPresence } from '../../../src/server/cluster/presence.ts';
import { defer } from '../../helpers/cleanup.ts';
import { namesOf, online } from '../../helpers/cluster-users.ts';
import { testCluster } from '../../helpers/cluster.ts';
import { REDIS_SKIP, startRedis } from '../../helpers/redis.ts';
import { nextEvent, waitFor, waitForEqual } from '../../helpers/wait.ts';
import { presenceContract } from '../presence-contract.ts';
import type { TestServer } from '../../helpers/server.ts';

type Disconnected = [{ error: ProtocolError; retryInMs: number | null }];

const clusterPresenceOf = (node: TestServer): ClusterPresence => {
  const presence = node.app.core.presence;
  assert.ok(presence instanceof ClusterPresence, 'cluster presence');
  return presence;
};

if (REDIS_SKIP) {
  test('PresenceDirectory contract: ClusterPresence', { skip: REDIS_SKIP }, () => {});
} else {
  describe('cluster presence on one node', () => {
    let link: ClusterLink | null = null;
    // The suite's Redis lives as long as the suite: its cleanups, registered through a
    // stand-in context, run in the suite's `after`, newest first.
    const cleanups: Array<() => unknown> = [];
    const suite = { after: (fn: () => unknown) => void cleanups.push(fn) } as unknown as TestContext;
    before(async () => {
      const redis = await startRedis(suite);
      link = await ClusterLink.connect({ url: redis.url, prefix: `t${randomBytes(4).toString('hex')}:` });
    });
    after(async () => {
      await link?.close();
      for (let fn = cleanups.pop(); fn; fn = cleanups.pop()) await fn();
    });
    presenceContract(
      'ClusterPresence',
      ({ backlogBytes }) => new ClusterPresence(link ?? assert.fail('no link'), { flushMs: 60_000, backlogBytes }),
    );
  });
}

test(
  'users on another node are in the list; their joins, away and leaves reach this node',
  { skip: REDIS_SKIP },
  async (t) => {
    const { nodes } = await testCluster(t, { nodes: 2 });
    const [one, two] = nodes as [TestServer, TestServer];
    const alice = await online(one, 'alice');
    const bob = await online(two, 'bob');
    // bob logged in after alice: his first list already has her.
    await waitForEqual(() => namesOf(bob), ['alice', 'bob'], { what: 'bob sees alice' });
    await waitForEqual(() => namesOf(alice), ['alice', 'bob'], { what: 'alice sees bob join' });
    assert.deepEqual(clusterPresenceOf(one).remote('BOB'), {
      node: 'node2',
      user: 'bob',
      ip: '127.0.0.1',
      peerPort: null,
    });
    assert.equal(clusterPresenceOf(one).remote('alice'), undefined, 'a local user is not remote');
    assert.equal(one.app.core.presence.get('bob'), undefined, 'get() is local sessions only');
    assert.deepEqual([...clusterPresenceOf(two).clusterUsers()].map((u) => [u.user, u.node]).sort(), [
      ['alice', 'node1'],
      ['bob', 'node2'],
    ]);
    assert.deepEqual(
      (await bob.refreshUsers()).map((u) => u.user).sort(),
      ['alice', 'bob'],
      'list_users has the cluster',
    );

    await alice.setAway('lunch');
    await waitFor(() => bob.onlineUsers.find((u) => u.user === 'alice')?.away === 'lunch', {
      what: 'bob sees alice away',
    });
    await alice.setAway(null);
    await waitFor(() => bob.onlineUsers.find((u) => u.user === 'alice')?.away === undefined, {
      what: 'bob sees alice back',
    });

    await alice.close();
    await waitForEqual(() => namesOf(bob), ['bob'], { what: 'bob sees alice leave' });
    assert.equal(clusterPresenceOf(two).remote('alice'), undefined);
  },
);

test(
  'a login on another node replaces the session there with E_SESSION_REPLACED; one entry everywhere',
  { skip: REDIS_SKIP },
  async (t) => {
    const { nodes } = await testCluster(t, { nodes: 3 });
    const [one, two, three] = nodes as [TestServer, TestServer, TestServer];
    const watcher = await online(three, 'watcher');
    const first = await online(one, 'carol', { reconnectBaseMs: 10, reconnectMaxMs: 20 });
    await waitForEqual(() => namesOf(watcher), ['carol', 'watcher'], { what: 'carol seen on node3' });
    const dropped = nextEvent<Disconnected>(first, 'disconnected');
    const second = await online(two, 'carol');
    const [{ error, retryInMs }] = await dropped;
    assert.equal(error.code, ErrorCode.SESSION_REPLACED);
    assert.equal(retryInMs, null, 'the replaced client does not reconnect');
    await waitFor(() => one.app.core.presence.size === 0, { what: 'node1 has no carol' });
    assert.equal(two.app.core.presence.get('carol')?.isOnline, true);
    // Every node agrees: carol once, on node2.
    for (const node of nodes) {
      await waitFor(
        () =>
          [...clusterPresenceOf(node).clusterUsers()].filter((u) => u.user === 'carol').map((u) => u.node)[0] ===
          'node2',
        { what: `carol on node2 as ${node.app.cluster?.nodeId} sees it` },
      );
    }
    await waitForEqual(() => namesOf(watcher), ['carol', 'watcher'], { what: 'carol still online for node3' });
    assert.equal(watcher.onlineUsers.filter((u) => u.user === 'carol').length, 1);
    await waitForEqual(() => namesOf(second), ['carol', 'watcher'], { what: "node2's carol sees the cluster" });
  },
);

test('the same user logging in on two nodes at once ends with exactly one session', { skip: REDIS_SKIP }, async (t) => {
  const { nodes } = await testCluster(t, { nodes: 2 });
  const [one, two] = nodes as [TestServer, TestServer];
  // The account exists on both nodes before the race (with a per-node store, each its own).
  for (const node of nodes) await (await online(node, 'dora')).close();
  await waitFor(() => nodes.every((n) => clusterPresenceOf(n).clusterSize === 0), { what: 'dora gone' });
  for (let round = 0; round < 5; round++) {
    const [a, b] = await Promise.all([one.client(), two.client()]);
    await Promise.all([a.login('dora', 'password-dora'), b.login('dora', 'password-dora')]);
    await waitFor(() => one.app.core.presence.size + two.app.core.presence.size === 1, {
      what: `round ${round}: one session left`,
    });
    const winner = one.app.core.presence.size === 1 ? 'node1' : 'node2';
    for (const node of nodes) {
      await waitFor(
        () => [...clusterPresenceOf(node).clusterUsers()].map((u) => `${u.user}@${u.node}`).join() === `dora@${winner}`,
        { what: `round ${round}: ${node.app.cluster?.nodeId} agrees dora is on ${winner}` },
      );
    }
    await Promise.all([a.close(), b.close()]);
    await waitFor(() => nodes.every((n) => clusterPresenceOf(n).clusterSize === 0), { what: 'dora gone' });
  }
});

test(
  'after Redis restarts empty, every node writes its users back and the lists are right',
  { skip: REDIS_SKIP },
  async (t) => {
    const { nodes, redis } = await testCluster(t, { nodes: 2 });
    const [one, two] = nodes as [TestServer, TestServer];
    const erin = await online(one, 'erin');
    const frank = await online(two, 'frank');
    await waitForEqual(() => namesOf(erin), ['erin', 'frank'], { what: 'erin sees frank' });
    await redis.stop('SIGKILL');
    await redis.start();
    // A leave while the bus was away is lost news: the rebuild must find it.
    const gina = await online(two, 'gina').catch(() => null);
    await waitFor(
      () =>
        nodes.every((n) => {
          const users = [...clusterPresenceOf(n).clusterUsers()].map((u) => `${u.user}@${u.node}`).sort();
          return users.join() === (gina ? 'erin@node1,frank@node2,gina@node2' : 'erin@node1,frank@node2');
        }),
      { what: 'both mirrors rebuilt', timeoutMs: 15_000 },
    );
    await waitForEqual(() => namesOf(erin), gina ? ['erin', 'frank', 'gina'] : ['erin', 'frank'], {
      what: "erin's list after the restart",
    });
    await frank.close();
    await waitForEqual(() => namesOf(erin), gina ? ['erin', 'gina'] : ['erin'], {
      what: 'frank leaves after the restart',
    });
  },
);

test('hostile bus messages are dropped and counted; the node carries on', { skip: REDIS_SKIP }, async (t) => {
  const { nodes, redis, prefix } = await testCluster(t, { nodes: 1 });
  const [one] = nodes as [TestServer];
  const evil = await ClusterLink.connect({ url: redis.url, prefix, nodeId: 'evil' });
  defer(t, () => evil.close());
  const presence = clusterPresenceOf(one);
  const peers = one.app.core.peers as ClusterPeers;
  const record = { node: 'evil', user: 'mallory', ip: '127.0.0.9', since: 1, sid: 'ab' };
  await evil.publish('presence.joined', { ...record, user: 'bad name!' });
  await evil.publish('presence.joined', { ...record, node: 'someone-else' }); // not the sender's own record
  await evil.publish('presence.left', 'nonsense');
  await evil.publish('presence.joined', null);
  await evil.send('node1', 'peers.prompt', { reqId: 'zz', user: 'x' });
  await evil.send('node1', 'peers.result', { reqId: 'ab', outcome: 'accepted', reason: 'x'.repeat(10_000) });
  await waitFor(() => presence.dropped === 4 && peers.dropped === 2, { what: 'six dropped messages' });
  // A valid record, in the hash (the truth a resync rebuilds from) and on the bus.
  await evil.redis.hset(evil.key('presence'), 'mallory', JSON.stringify(record));
  await evil.publish('presence.joined', record);
  await waitFor(() => presence.remote('mallory')?.node === 'evil', { what: 'a valid record still taken' });
  const alice = await online(one, 'alice');
  await waitForEqual(() => namesOf(alice), ['alice', 'mallory'], { what: 'the node still serves' });
});
