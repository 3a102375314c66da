/**
 * The dashboard's cluster view (src/server/dashboard/cluster-view.ts): the users table of a
 * node in cluster mode has a Node column, and shows a user online on another node as online
 * there, from the cluster's user directory (ClusterUsersSource). Here that directory is read
 * from node2's real presence in this process, standing in for the Redis presence directory
 * the integrator wires in (it has `clusterUsers()`); without one, the node's own sessions.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clusterView, type ClusterUser } from '../../../src/server/dashboard/cluster-view.ts';
import { userRow, withDashboard } from '../../helpers/dashboard.ts';
import { startRedis, REDIS_SKIP } from '../../helpers/redis.ts';
import { passwordOf, testServer, type TestServer } from '../../helpers/server.ts';

const onlineAt = (node: TestServer, id: string): ClusterUser[] =>
  [...node.app.core.presence.sessions()].map((s) => ({ user: s.user, ip: s.ip, node: id }));

test("a user online on node2 is online in node1's users table, with its node", { skip: REDIS_SKIP }, async (t) => {
  const redis = await startRedis(t);
  const node2 = await testServer(t, { cluster: { url: redis.url, nodeId: 'node2' } });
  let node1: TestServer | null = null;
  await withDashboard(
    async ({ server, term }) => {
      node1 = server;
      const link = server.app.cluster ?? assert.fail('node1 not in cluster mode');
      assert.equal(link.nodeId, 'node1');
      // bob's account on both nodes (on this branch each node has its own store), his session on node2.
      const setup = await server.client({ reconnect: false });
      await setup.register('bob', passwordOf('bob'));
      await setup.close();
      const ann = await server.client();
      await ann.register('ann', passwordOf('ann'));
      const bob = await node2.client();
      await bob.register('bob', passwordOf('bob'));
      const screen = await term.waitForText(/bob .*online +127\.0\.0\.1 +- +- +node2/);
      assert.ok(userRow(screen, 'bob'));
      assert.match(userRow(screen, 'ann') ?? '', /online +127\.0\.0\.1 +online .* node1/);
      await term.waitForText(/Cluster: node1 · 2 nodes/);
      await bob.close();
      await term.waitForText(/bob .* (just now|never)/);
    },
    {
      cols: 160,
      rows: 45,
      server: { cluster: { url: redis.url, nodeId: 'node1' } },
      clusterUsers: { clusterUsers: () => [...(node1 ? onlineAt(node1, 'node1') : []), ...onlineAt(node2, 'node2')] },
    },
  );
});

test("without a cluster directory, the view lists this node's own sessions", { skip: REDIS_SKIP }, async (t) => {
  const redis = await startRedis(t);
  const node = await testServer(t, { cluster: { url: redis.url, nodeId: 'solo' } });
  const link = node.app.cluster ?? assert.fail('not in cluster mode');
  const cat = await node.client();
  await cat.register('cat', passwordOf('cat'));
  const view = clusterView(link, node.app.core.presence);
  assert.deepEqual(view.clusterUsers(), [{ user: 'cat', ip: '127.0.0.1', node: 'solo' }]);
  const [self] = view.nodes(Date.now());
  assert.equal(self?.id, 'solo');
  assert.equal(self?.self, true);
  assert.ok(self?.heartbeatAgeMs !== null && (self?.heartbeatAgeMs ?? -1) >= 0);
});
