/**
 * Cross-node chat with three real server processes on a real redis-server (issue 16):
 * alice on node1 asks bob on node2, he accepts, they talk over their direct peer link; then
 * bob's node is killed with SIGKILL and the chat goes on (a peer link never needs the server).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { P2PClient } from '../../src/client/client.ts';
import type { PeerChatMessage } from '../../src/client/peer/link.ts';
import { PeerManager } from '../../src/client/peer/manager.ts';
import { defer } from '../helpers/cleanup.ts';
import { processCluster } from '../helpers/cluster-process.ts';
import { namesOf } from '../helpers/cluster-users.ts';
import { connectPair, type PeerClient } from '../helpers/peers.ts';
import { REDIS_SKIP } from '../helpers/redis.ts';
import { nextEvent, waitForEqual } from '../helpers/wait.ts';

test(
  'cross-node chat: alice on node1 and bob on node2 connect and talk; killing bob node does not end it',
  { skip: REDIS_SKIP },
  async (t) => {
    const cluster = await processCluster(t, 3);
    const withPeers = async (index: number, user: string): Promise<PeerClient> => {
      let peers: PeerManager | null = null;
      const start = async (client: P2PClient) => {
        peers = new PeerManager(client, { host: '127.0.0.1' });
        defer(t, () => peers?.close());
        await peers.start();
      };
      const client = await cluster.online(index, user, { reconnect: false }, start);
      return { user, client, peers: peers as unknown as PeerManager };
    };
    const alice = await withPeers(0, 'alice');
    const bob = await withPeers(1, 'bob');
    const carol = await withPeers(2, 'carol');
    await waitForEqual(() => namesOf(carol.client), ['alice', 'bob', 'carol'], { what: 'carol on node3 sees both' });
    await waitForEqual(() => namesOf(alice.client), ['alice', 'bob', 'carol'], { what: 'alice sees bob' });

    const { ab, ba } = await connectPair(alice, bob);
    const talk = async (from: typeof ab, to: typeof ab, text: string) => {
      const got = nextEvent<[PeerChatMessage]>(to, 'message');
      from.send(text);
      assert.equal((await got)[0].text, text);
    };
    await talk(ab, ba, 'hello bob, from node1');
    await talk(ba, ab, 'hello alice, from node2');

    await cluster.nodes[1]?.kill('SIGKILL');
    // The cluster notices: bob leaves the lists on the nodes still up.
    await waitForEqual(() => namesOf(carol.client), ['alice', 'carol'], { what: 'bob gone for carol' });
    await talk(ab, ba, 'still there after your server died?');
    await talk(ba, ab, 'yes: our link never went through it');
  },
);
