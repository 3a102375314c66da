/** Servers in cluster mode: each node lists the others with the address it listens on. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testCluster } from '../../helpers/cluster.ts';
import { REDIS_SKIP } from '../../helpers/redis.ts';
import { waitFor } from '../../helpers/wait.ts';

test(
  'two nodes find each other by their listening address; a stopped one leaves the list',
  { skip: REDIS_SKIP },
  async (t) => {
    const { nodes } = await testCluster(t, { nodes: 2 });
    const [one, two] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
    const linkOf = (node: typeof one) => node.app.cluster ?? assert.fail('not in cluster mode');
    await waitFor(() => linkOf(one).node('node2')?.advertise === `127.0.0.1:${two.port}`, {
      what: "node2's address at node1",
    });
    assert.equal(linkOf(two).node('node1')?.advertise, `127.0.0.1:${one.port}`);
    await two.stopServer();
    await waitFor(() => linkOf(one).node('node2') === undefined, { what: 'node2 gone from node1 list' });
  },
);
