/**
 * The dashboard's cluster view (src/server/dashboard/cluster-view.ts): the users table of a
 * node in cluster mode has a Node column, and shows a user online on another node as online
 * there, from the cluster presence directory's `clusterUsers()` (Redis), with nothing injected.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clusterView } from '../../../src/server/dashboard/cluster-view.ts';
import { testCluster } from '../../helpers/cluster.ts';
import { userRow, withDashboard } from '../../helpers/dashboard.ts';
import { startRedis, REDIS_SKIP } from '../../helpers/redis.ts';
import { passwordOf, testServer, type TestServer } from '../../helpers/server.ts';
import { waitFor } from '../../helpers/wait.ts';

test("a user online on node2 is online in node1's users table, with its node", { skip: REDIS_SKIP }, async (t) => {
  const redis = await startRedis(t);
  const node2 = await testServer(t, { cluster: { url: redis.url, nodeId: 'node2' } });
  await withDashboard(
    async ({ server, term }) => {
      const link = server.app.cluster ?? assert.fail('node1 not in cluster mode');
      assert.equal(link.nodeId, 'node1');
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
    { cols: 160, rows: 45, server: { cluster: { url: redis.url, nodeId: 'node1' } } },
  );
});

test("the cluster view lists every node's users with their node, this node first", { skip: REDIS_SKIP }, async (t) => {
  const { nodes } = await testCluster(t, { nodes: 2 });
  const [one, two] = nodes as [TestServer, TestServer];
  const link = one.app.cluster ?? assert.fail('not in cluster mode');
  await (await one.client()).register('cat', passwordOf('cat'));
  await (await two.client()).register('dog', passwordOf('dog'));
  const view = clusterView(link, one.app.core.presence);
  const users = await waitFor(
    () => {
      const all = [...view.clusterUsers()].map(({ user, ip, node }) => ({ user, ip, node }));
      return all.length === 2 ? all : null;
    },
    { what: "dog on node2 in node1's view" },
  );
  assert.deepEqual(
    users.sort((a, b) => a.user.localeCompare(b.user)),
    [
      { user: 'cat', ip: '127.0.0.1', node: 'node1' },
      { user: 'dog', ip: '127.0.0.1', node: 'node2' },
    ],
  );
  const [self, other] = await waitFor(
    () => {
      const rows = view.nodes(Date.now());
      return rows.length === 2 ? rows : null;
    },
    { what: 'both nodes in the view' },
  );
  assert.equal(self?.id, 'node1');
  assert.equal(self?.self, true);
  assert.equal(other?.id, 'node2');
  assert.ok(self?.heartbeatAgeMs !== null && (self?.heartbeatAgeMs ?? -1) >= 0);
});
