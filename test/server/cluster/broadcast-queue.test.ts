/**
 * The cluster's broadcast queue (src/server/cluster/broadcast-queue.ts) on a real
 * redis-server: the PendingQueue contract every queue passes, then what only a shared queue
 * has: two nodes' mirrors kept in step through the bus, the cap held cluster-wide, refusal
 * while Redis is unreachable with acks kept and written when it is back, and `resync`.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test, type TestContext } from 'node:test';
import { ErrorCode, ProtocolError } from '../../../src/net/errors.ts';
import type { PendingBroadcast } from '../../../src/server/broadcasts/ports.ts';
import { RedisBroadcastQueue } from '../../../src/server/cluster/broadcast-queue.ts';
import { ClusterLink } from '../../../src/server/cluster/link.ts';
import { defer } from '../../helpers/cleanup.ts';
import { REDIS_SKIP, startRedis, type RedisInstance } from '../../helpers/redis.ts';
import { waitFor } from '../../helpers/wait.ts';
import { pendingQueueContract } from '../broadcasts/queue-contract.ts';

const FAST = { heartbeatMs: 100, nodeTtlMs: 400 };
const isCode = (code: string) => (err: unknown) => err instanceof ProtocolError && err.code === code;

/** One redis-server for the contract cases (they take no test context), stopped after the file. */
const cleanups: (() => unknown)[] = [];
after(async () => {
  for (let fn = cleanups.pop(); fn; fn = cleanups.pop()) await fn();
});
let shared: Promise<RedisInstance> | null = null;
function sharedRedis(): Promise<RedisInstance> {
  const holder = { after: (fn: () => unknown) => void cleanups.push(fn) } as unknown as TestContext;
  return (shared ??= startRedis(holder));
}

if (REDIS_SKIP) test('PendingQueue contract: RedisBroadcastQueue', { skip: REDIS_SKIP }, () => {});
else {
  pendingQueueContract('RedisBroadcastQueue', async ({ now, ttlMs, maxPending }) => {
    const redis = await sharedRedis();
    const prefix = `t${randomBytes(4).toString('hex')}:`;
    const links: ClusterLink[] = [];
    const queues: RedisBroadcastQueue[] = [];
    // Each queue its own link: a reopen is another node (or this one restarted) on the same keys.
    const connect = async () => {
      const link = await ClusterLink.connect({ url: redis.url, prefix, nodeId: `n${links.length}`, ...FAST });
      links.push(link);
      return link;
    };
    const queueOn = (link: ClusterLink) => {
      const queue = new RedisBroadcastQueue(link, { now, ttlMs, maxPending });
      queues.push(queue);
      return queue;
    };
    const first = queueOn(await connect());
    const spare = await connect(); // reopen() is synchronous in the contract: its link is made now
    return {
      queue: first,
      reopen: () => queueOn(spare),
      cleanup: async () => {
        for (const queue of queues) await queue.close();
        for (const link of links) await link.close();
      },
    };
  });
}

/** Two nodes' queues on one Redis and prefix, opened, closed at the end. */
async function twoNodes(t: TestContext, redis: RedisInstance, options: { maxPending?: number; ttlMs?: number } = {}) {
  const prefix = `t${randomBytes(4).toString('hex')}:`;
  const make = async (nodeId: string) => {
    const link = await ClusterLink.connect({ url: redis.url, prefix, nodeId, ...FAST });
    defer(t, () => link.close());
    const queue = new RedisBroadcastQueue(link, { ...options, reconcileMs: 200 });
    defer(t, () => queue.close());
    await queue.open();
    return { link, queue };
  };
  return { a: await make('a'), b: await make('b'), prefix };
}

test(
  'two nodes: an add reaches the other mirror (and its listener), acks go both ways',
  { skip: REDIS_SKIP },
  async (t) => {
    const redis = await startRedis(t);
    const { a, b } = await twoNodes(t, redis);
    const remote: PendingBroadcast[] = [];
    b.queue.onRemoteAdd((p) => remote.push(p));
    const { item } = await a.queue.add('alice', 'hello cluster');
    await waitFor(() => b.queue.get(item.bid) !== undefined, { what: 'the broadcast in the other mirror' });
    assert.deepEqual(b.queue.get(item.bid)?.item, item);
    assert.deepEqual(
      remote.map((p) => p.item.bid),
      [item.bid],
      'announced once for fan-out on the other node',
    );
    assert.equal(a.queue.ack(item.bid, 'Bob'), true);
    assert.equal(b.queue.ack(item.bid, 'carol'), true);
    await waitFor(() => b.queue.get(item.bid)?.acked.has('bob') && a.queue.get(item.bid)?.acked.has('carol'), {
      what: 'each ack in the other mirror',
    });
    assert.equal(b.queue.ack(item.bid, 'bob'), false, 'acked on the other node: not news here');
    await a.queue.flush();
    await b.queue.flush();
    const stored = await a.link.redis.smembers(a.link.key('bcast', item.bid, 'acked'));
    assert.deepEqual(stored.sort(), ['bob', 'carol']);
    const ttl = await a.link.redis.pttl(a.link.key('bcast', item.bid));
    assert.ok(ttl > 0 && ttl <= b.queue.ttlMs + 60_000, `the item key expires (pttl ${ttl})`);

    await b.queue.forgetUser('Bob');
    await waitFor(() => a.queue.get(item.bid)?.acked.has('bob') === false, { what: 'the forgotten ack gone at a' });
    assert.deepEqual(await a.link.redis.smembers(a.link.key('bcast', item.bid, 'acked')), ['carol']);
  },
);

test('the cap holds across nodes', { skip: REDIS_SKIP }, async (t) => {
  const redis = await startRedis(t);
  const { a, b } = await twoNodes(t, redis, { maxPending: 2 });
  await a.queue.add('alice', 'one');
  // b has not heard of the first yet or has: either way the script counts it.
  const results = await Promise.allSettled([a.queue.add('alice', 'two'), b.queue.add('bob', 'three')]);
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  const refused = results.find((r) => r.status === 'rejected');
  assert.ok(refused?.status === 'rejected' && isCode(ErrorCode.QUEUE_FULL)(refused.reason));
  assert.equal(await a.link.redis.zcard(a.link.key('bcast', 'live')), 2);
});

test(
  'Redis unreachable: adds refused with E_UNAVAILABLE, acks kept and written when it is back; resync reloads',
  { skip: REDIS_SKIP },
  async (t) => {
    const redis = await startRedis(t, { appendonly: true });
    const { a, b } = await twoNodes(t, redis);
    const { item } = await a.queue.add('alice', 'before the outage');
    await waitFor(() => b.queue.get(item.bid) !== undefined, { what: 'b has it' });

    await redis.stop('SIGKILL');
    await waitFor(() => !a.link.available, { what: 'a to notice' });
    assert.throws(
      () => a.queue.assertRoom(),
      (err: unknown) => {
        return isCode(ErrorCode.UNAVAILABLE)(err) && (err as ProtocolError).retryAfterMs !== undefined;
      },
    );
    await assert.rejects(a.queue.add('alice', 'during'), isCode(ErrorCode.UNAVAILABLE));
    // What the mirror holds is still there for delivery; an ack is news at once.
    assert.equal(a.queue.get(item.bid)?.item.text, 'before the outage');
    assert.equal(a.queue.ack(item.bid, 'dave'), true);
    assert.equal(a.queue.ack(item.bid, 'dave'), false);

    await redis.start();
    await waitFor(() => a.link.available && b.link.available, { what: 'both nodes back' });
    await waitFor(async () => (await a.link.redis.sismember(a.link.key('bcast', item.bid, 'acked'), 'dave')) === 1, {
      what: "dave's ack written once Redis is back",
    });
    await waitFor(() => b.queue.get(item.bid)?.acked.has('dave'), { what: "dave's ack told to b" });
    const later = await a.queue.add('alice', 'after the outage');
    await waitFor(() => b.queue.get(later.item.bid) !== undefined, { what: 'new broadcasts flow again' });

    // A bus message lost (here: written behind the bus's back) is picked up by resync.
    const sneaky = {
      bid: 'abcdef0123',
      from: 'eve',
      text: 'only in redis',
      createdAt: Date.now(),
      expiresAt: Date.now() + 60_000,
    };
    await a.link.redis
      .multi()
      .set(a.link.key('bcast', sneaky.bid), JSON.stringify(sneaky), 'PX', 120_000)
      .zadd(a.link.key('bcast', 'live'), sneaky.expiresAt, sneaky.bid)
      .sadd(a.link.key('bcast', sneaky.bid, 'acked'), 'frank')
      .exec();
    const remote: string[] = [];
    b.queue.onRemoteAdd((p) => remote.push(p.item.bid));
    await b.queue.resync();
    assert.deepEqual(b.queue.get(sneaky.bid)?.item, sneaky);
    assert.ok(b.queue.get(sneaky.bid)?.acked.has('frank'));
    assert.deepEqual(remote, [sneaky.bid], 'announced for fan-out');
  },
);

test(
  'Redis lost its data (no appendonly): resync writes back what a node still holds',
  { skip: REDIS_SKIP },
  async (t) => {
    const redis = await startRedis(t);
    const { a, b } = await twoNodes(t, redis);
    const { item } = await a.queue.add('alice', 'kept by the nodes');
    a.queue.ack(item.bid, 'bob');
    await a.queue.flush();
    await waitFor(() => b.queue.get(item.bid)?.acked.has('bob'), { what: 'b has it and the ack' });
    await redis.stop('SIGKILL');
    await redis.start(); // empty: nothing was saved
    await waitFor(async () => a.link.available && (await a.link.redis.exists(a.link.key('bcast', item.bid))) === 1, {
      what: 'the broadcast written back',
    });
    await waitFor(async () => (await a.link.redis.sismember(a.link.key('bcast', item.bid, 'acked'), 'bob')) === 1, {
      what: 'its acks written back',
    });
    assert.deepEqual(await a.link.redis.zrange(a.link.key('bcast', 'live'), 0, -1), [item.bid]);
  },
);

test(
  'bus payloads are validated: malformed bcast.* messages are dropped and counted, nothing changes',
  { skip: REDIS_SKIP },
  async (t) => {
    const redis = await startRedis(t);
    const { a, b } = await twoNodes(t, redis);
    const { item } = await a.queue.add('alice', 'hello');
    await waitFor(() => b.queue.get(item.bid) !== undefined, { what: 'b has it' });
    const hostile: [string, unknown][] = [
      ['bcast.added', null],
      ['bcast.added', { b: { ...item, bid: 'NOT-HEX', text: 'x' } }],
      ['bcast.added', { b: { ...item, text: 'y'.repeat(5000) } }],
      ['bcast.acked', { acks: [{ bid: item.bid, users: 'mallory' }] }],
      ['bcast.acked', { acks: 'all' }],
      ['bcast.forgot', { user: 42 }],
      ['bcast.unknown', {}],
    ];
    for (const [topic, data] of hostile) await a.link.publish(topic, data);
    await waitFor(() => b.queue.droppedMessages === hostile.length, { what: 'every bad message counted' });
    assert.deepEqual(
      b.queue.live().map((p) => p.item),
      [item],
    );
    assert.equal(b.queue.get(item.bid)?.acked.size, 0);
    // A good message after them still works.
    a.queue.ack(item.bid, 'bob');
    await waitFor(() => b.queue.get(item.bid)?.acked.has('bob'), { what: 'a valid ack after them' });
  },
);
