/**
 * A node's dashboard shows its cluster (issue 16; README "Cluster"): the real bin/p2p-server
 * in a pseudo-terminal as node1, a second node in this process on the same real redis-server,
 * and a user logged in on node2: node1's Cluster pane lists node2 with that session and its
 * heartbeat age, and the terminal's title names node1.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dashboardPty } from '../helpers/dashboard.ts';
import { startRedis, REDIS_SKIP } from '../helpers/redis.ts';
import { passwordOf, testServer } from '../helpers/server.ts';

test("node1's dashboard lists node2 and the session of a user logged in on node2", { skip: REDIS_SKIP }, async (t) => {
  const redis = await startRedis(t);
  const dash = await dashboardPty(t, {
    cols: 160,
    rows: 45,
    args: ['--cluster', redis.url, '--node-id', 'node1', '--cluster-advertise', 'chat-1.example:4400'],
  });
  await dash.server.waitForText(/Cluster: node1 · 1 node /);
  await dash.server.waitForText(/\*node1 0 sess beat \d+\.\ds chat-1\.example:4400/);
  await dash.server.waitForText('Redis reachable');

  const node2 = await testServer(t, { cluster: { url: redis.url, nodeId: 'node2' } });
  const bob = await node2.client();
  await bob.register('bob', passwordOf('bob'));
  const screen = await dash.server.waitForText(
    new RegExp(`node2 1 sess beat \\d+\\.\\ds 127\\.0\\.0\\.1:${node2.port}`),
  );
  assert.match(screen, /Cluster: node1 · 2 nodes /);
  // The users table has a Node column in cluster mode; node1's own user shows node1.
  const ann = await dash.user('ann');
  assert.equal(ann.session?.user, 'ann');
  await dash.server.waitForText(/ann .*online +127\.0\.0\.1 .*node1/);
  await dash.server.waitForText(/\*node1 1 sess/);

  await node2.stopServer();
  await dash.server.waitForText(/Cluster: node1 · 1 node /);
  assert.ok(
    dash.titles.some((title) => title === 'p2p-server node1'),
    `title names the node: ${JSON.stringify(dash.titles)}`,
  );
});

/**
 * The same with nothing injected: node1 learns of bob's account from the shared account store
 * and of his session from the cluster presence directory's clusterUsers().
 */
const PRESENCE_WAIT_MS = 15_000;
test("node1's users table shows a user logged in on node2, on node2", { skip: REDIS_SKIP }, async (t) => {
  const redis = await startRedis(t);
  const dash = await dashboardPty(t, { cols: 160, rows: 45, args: ['--cluster', redis.url, '--node-id', 'node1'] });
  const node2 = await testServer(t, { cluster: { url: redis.url, nodeId: 'node2' } });
  const bob = await node2.client();
  await bob.register('bob', passwordOf('bob'));
  await dash.server.waitForText(/bob .*online +127\.0\.0\.1 .*node2/, PRESENCE_WAIT_MS);
});
