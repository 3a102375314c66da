/**
 * A node that dies (SIGKILL) has its users removed from every other node's clients within
 * NODE_DEATH_DEADLINE_MS (docs/CLUSTER.md "Presence"), and from the Redis hash by the reaper.
 * Real server processes on a real redis-server.
 */
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { NODE_DEATH_DEADLINE_MS } from '../../src/server/cluster/presence.ts';
import { namesOf } from '../helpers/cluster-users.ts';
import { processCluster } from '../helpers/cluster-process.ts';
import { REDIS_SKIP } from '../helpers/redis.ts';
import { defer } from '../helpers/cleanup.ts';
import { waitFor, waitForEqual } from '../helpers/wait.ts';

/** What a loaded 2-core machine may add to the deadline (process scheduling, tsx start-up). */
const SCHEDULING_SLACK_MS = 2_000;

test(
  "a SIGKILLed node's users leave every other node's lists within the deadline, and the hash",
  { skip: REDIS_SKIP },
  async (t) => {
    const cluster = await processCluster(t, 2);
    const [doomed] = cluster.nodes;
    const alice = await cluster.online(0, 'alice', { reconnect: false });
    const amy = await cluster.online(0, 'amy', { reconnect: false });
    const bob = await cluster.online(1, 'bob');
    await waitForEqual(() => namesOf(bob), ['alice', 'amy', 'bob'], { what: "bob sees node1's users" });
    await waitForEqual(() => namesOf(alice), ['alice', 'amy', 'bob'], { what: 'alice sees bob' });
    await waitForEqual(() => namesOf(amy), ['alice', 'amy', 'bob'], { what: 'amy sees bob' });

    const killedAt = Date.now();
    await doomed?.kill('SIGKILL');
    await waitForEqual(() => namesOf(bob), ['bob'], {
      what: "node1's users gone for bob",
      timeoutMs: NODE_DEATH_DEADLINE_MS + SCHEDULING_SLACK_MS,
    });
    t.diagnostic(`node1's users left bob's list ${Date.now() - killedAt} ms after the SIGKILL`);

    const redis = new Redis(cluster.redis.url);
    defer(t, () => redis.disconnect());
    await waitFor(async () => Object.keys(await redis.hgetall('p2p:presence')).join() === 'bob', {
      what: 'the reaper removed them from the hash',
    });
  },
);
