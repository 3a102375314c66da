/** The cluster link on a real redis-server: node list, heartbeats, the bus, a dead node, a Redis restart. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { ClusterLink } from '../../../src/server/cluster/link.ts';
import { parseClusterUrl, redactClusterUrl } from '../../../src/server/cluster/url.ts';
import { defer } from '../../helpers/cleanup.ts';
import { REDIS_SKIP, startRedis } from '../../helpers/redis.ts';
import { nextEvent, waitFor } from '../../helpers/wait.ts';

const FAST = { heartbeatMs: 100, nodeTtlMs: 400 };

async function link(t: Parameters<typeof defer>[0], url: string, prefix: string, nodeId: string) {
  const made = await ClusterLink.connect({ url, prefix, nodeId, ...FAST });
  defer(t, () => made.close());
  return made;
}

test('cluster URLs: host, port, db, credentials; bad ones named; the password never shown', () => {
  assert.deepEqual(parseClusterUrl('redis://10.0.0.5:7000/3'), { host: '10.0.0.5', port: 7000, db: 3 });
  assert.deepEqual(parseClusterUrl('redis://h'), { host: 'h', port: 6379, db: 0 });
  assert.deepEqual(parseClusterUrl('rediss://u:p%40ss@h:1/0'), {
    host: 'h',
    port: 1,
    db: 0,
    username: 'u',
    password: 'p@ss',
    tls: {},
  });
  assert.throws(() => parseClusterUrl('http://h'), /redis:\/\//);
  assert.throws(() => parseClusterUrl('redis://h/16'), /database/);
  assert.throws(() => parseClusterUrl('nonsense'), /redis:\/\/host/);
  assert.equal(redactClusterUrl('redis://u:secret@h:1/0'), 'redis://u:***@h:1/0');
});

test(
  'nodes see each other, talk on the bus and to one node; a graceful stop is seen',
  { skip: REDIS_SKIP },
  async (t) => {
    const redis = await startRedis(t);
    const prefix = `t${randomBytes(4).toString('hex')}:`;
    const a = await link(t, redis.url, prefix, 'a');
    const b = await link(t, redis.url, prefix, 'b');
    await waitFor(() => a.liveNodes().some((n) => n.id === 'b') && b.liveNodes().some((n) => n.id === 'a'), {
      what: 'each node in the other one list',
    });
    await a.advertise('127.0.0.1:4400');
    await waitFor(() => b.node('a')?.advertise === '127.0.0.1:4400', { what: "a's address at b" });

    const toAll = nextEvent<[string, unknown, string]>(b, 'message', (topic) => topic === 'hi');
    await a.publish('hi', { n: 1 });
    assert.deepEqual(await toAll, ['hi', { n: 1 }, 'a']);
    const toOne = nextEvent<[string, unknown, string]>(a, 'message', (topic) => topic === 'direct');
    await b.send('a', 'direct', 'x');
    assert.deepEqual(await toOne, ['direct', 'x', 'b']);

    const down = nextEvent<[string, boolean]>(a, 'node_down');
    await b.close();
    assert.deepEqual(await down, ['b', false]);
  },
);

test('a node killed without a goodbye is reaped by exactly one survivor', { skip: REDIS_SKIP }, async (t) => {
  const redis = await startRedis(t);
  const prefix = `t${randomBytes(4).toString('hex')}:`;
  const survivors = [await link(t, redis.url, prefix, 's1'), await link(t, redis.url, prefix, 's2')];
  // The doomed node is a real process, so SIGKILL leaves its keys as a crash would.
  const script = `const { ClusterLink } = await import(${JSON.stringify(new URL('../../../src/server/cluster/link.ts', import.meta.url).href)});
await ClusterLink.connect({ url: ${JSON.stringify(redis.url)}, prefix: ${JSON.stringify(prefix)}, nodeId: 'doomed', heartbeatMs: 100, nodeTtlMs: 400 });
process.stdout.write('up\\n'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  defer(t, () => void child.kill('SIGKILL'));
  await waitFor(() => survivors.every((s) => s.node('doomed') !== undefined), { what: 'the doomed node seen' });
  const reaped: boolean[] = [];
  for (const s of survivors) s.on('node_down', (id, reaper) => id === 'doomed' && reaped.push(reaper));
  child.kill('SIGKILL');
  await waitFor(() => reaped.length === 2, { what: 'both survivors to see the death' });
  assert.deepEqual(reaped.sort(), [false, true], 'exactly one survivor is the reaper');
  assert.equal(await survivors[0]!.redis.hexists(`${prefix}nodes`, 'doomed'), 0);
});

test('Redis going away and coming back: unavailable, then available and a resync', { skip: REDIS_SKIP }, async (t) => {
  const redis = await startRedis(t);
  const a = await link(t, redis.url, `t${randomBytes(4).toString('hex')}:`, 'a');
  assert.equal(a.available, true);
  const gone = nextEvent<[boolean]>(a, 'available', (up) => !up);
  await redis.stop();
  await gone;
  await assert.rejects(a.publish('x', 1), 'commands fail fast while Redis is down');
  const back = nextEvent<[boolean]>(a, 'available', (up) => up);
  const resync = nextEvent(a, 'resync');
  await redis.start();
  await back;
  await resync;
  await a.publish('x', 1);
});

test('connecting to a Redis that is not there fails with a clear error', async () => {
  await assert.rejects(
    ClusterLink.connect({ url: 'redis://127.0.0.1:1/0', ...FAST }),
    /cannot reach the cluster's Redis/,
  );
});
