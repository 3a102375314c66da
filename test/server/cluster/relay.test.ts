/**
 * The relay across nodes (PROTOCOL.md 6.6, docs/CLUSTER.md "Peer requests and the relay"):
 * alice on node1 and bob on node2, neither reachable (each advertises a port where nothing
 * listens, as behind a NAT), chat through the relay with no client change. Both nodes carry
 * the circuit and neither sees plaintext.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PeerLink } from '../../../src/client/peer/link.ts';
import { PeerManager } from '../../../src/client/peer/manager.ts';
import { defer } from '../../helpers/cleanup.ts';
import { signIn } from '../../helpers/cluster-users.ts';
import { testCluster } from '../../helpers/cluster.ts';
import { closedPort, connectPair, type PeerClient } from '../../helpers/peers.ts';
import { REDIS_SKIP } from '../../helpers/redis.ts';
import type { TestServer } from '../../helpers/server.ts';
import { nextEvent, waitFor } from '../../helpers/wait.ts';

async function unreachable(t: Parameters<typeof defer>[0], node: TestServer, user: string): Promise<PeerClient> {
  const client = await node.client();
  const peers = new PeerManager(client, { host: '127.0.0.1' });
  defer(t, () => peers.close());
  await peers.start();
  client.peerPort = await closedPort();
  await signIn(client, user);
  return { user, client, peers };
}

async function talk(from: PeerLink, to: PeerLink, text: string): Promise<void> {
  const got = nextEvent<[{ text: string }]>(to, 'message');
  from.send(text);
  assert.equal((await got)[0].text, text);
}

test(
  'relayed chat between clients on two nodes: the circuit spans both, no plaintext on either',
  { skip: REDIS_SKIP },
  async (t) => {
    const { nodes } = await testCluster(t, { nodes: 2 });
    const [one, two] = nodes as [TestServer, TestServer];
    const seen = new Map<TestServer, Buffer[]>([
      [one, []],
      [two, []],
    ]);
    for (const [node, chunks] of seen) node.app.core.relay.tap = (_from, chunk) => chunks.push(Buffer.from(chunk));
    const alice = await unreachable(t, one, 'alice');
    const bob = await unreachable(t, two, 'bob');
    await waitFor(() => one.app.core.presence.list().length === 2, { what: 'node1 knows bob' });
    const { ab, ba } = await connectPair(alice, bob);
    assert.deepEqual([ab.path, ba.path], ['relay', 'relay']);
    assert.equal(ab.verificationCode, ba.verificationCode);
    await talk(ab, ba, 'hello from node1, through two relays');
    await talk(ba, ab, 'hello from node2, back the same way');
    assert.equal(one.app.core.relay.circuitCount, 1, 'node1 splices the requester and the bridge');
    assert.equal(two.app.core.relay.circuitCount, 1, 'node2 splices the bridge and the target');
    for (const [node, chunks] of seen) {
      const all = Buffer.concat(chunks);
      assert.ok(all.length > 0, `${node.app.cluster?.nodeId} relayed bytes`);
      assert.equal(all.includes(Buffer.from('hello from')), false, 'ciphertext only');
    }
  },
);
