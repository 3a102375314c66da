/**
 * The cluster's account store (src/server/cluster/user-store.ts) on a real redis-server: the
 * UserStore contract, its reopen part (a new store on the same Redis sees everything), and
 * what only a shared store has: two stores (two nodes) racing for one name, and the mirror
 * following the other node's changes.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test, type TestContext } from 'node:test';
import { ErrorCode, ProtocolError } from '../../../src/net/errors.ts';
import { ClusterLink } from '../../../src/server/cluster/link.ts';
import { RedisUserStore } from '../../../src/server/cluster/user-store.ts';
import { defer } from '../../helpers/cleanup.ts';
import { REDIS_SKIP, startRedis, type RedisInstance } from '../../helpers/redis.ts';
import { waitFor } from '../../helpers/wait.ts';
import {
  OTHER_HASH,
  persistentUserStoreContract,
  SAMPLE_HASH,
  userStoreContract,
  type PersistentStoreFixture,
} from '../users/store-contract.ts';

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
let redis: RedisInstance | undefined;
const cleanups: Array<() => unknown> = [];

if (!REDIS_SKIP) {
  // The contract's fixtures take no test context: one Redis for the whole file, stopped at its end.
  before(async () => {
    const fileScope = { after: (fn: () => unknown) => void cleanups.push(fn) } as unknown as TestContext;
    redis = await startRedis(fileScope);
  });
  after(async () => {
    for (let fn = cleanups.pop(); fn; fn = cleanups.pop()) await fn();
  });
}

function redisUrl(): string {
  return redis?.url ?? assert.fail('redis-server did not start');
}

async function connect(prefix: string, nodeId: string): Promise<ClusterLink> {
  return ClusterLink.connect({ url: redisUrl(), prefix, nodeId });
}

/** A store on its own link and key prefix; reopen = a new link and store on the same keys. */
async function redisFixture(): Promise<PersistentStoreFixture> {
  const prefix = `t${randomBytes(4).toString('hex')}:`;
  let link = await connect(prefix, 'a');
  let current = new RedisUserStore(link, 10);
  await current.open();
  const closeAll = async () => {
    await current.close();
    await link.close();
  };
  return {
    store: current,
    async reopen() {
      await closeAll();
      link = await connect(prefix, 'a');
      current = new RedisUserStore(link, 10);
      await current.open();
      return current;
    },
    cleanup: closeAll,
  };
}

if (REDIS_SKIP) test('RedisUserStore contract', { skip: REDIS_SKIP }, () => {});
else {
  userStoreContract('RedisUserStore', redisFixture);
  persistentUserStoreContract('RedisUserStore', redisFixture);
}

/** Two nodes' stores on one Redis and prefix. */
async function twoStores(t: TestContext): Promise<[RedisUserStore, RedisUserStore, ClusterLink]> {
  const prefix = `t${randomBytes(4).toString('hex')}:`;
  const stores: RedisUserStore[] = [];
  let first: ClusterLink | undefined;
  for (const id of ['one', 'two']) {
    const link = await connect(prefix, id);
    defer(t, () => link.close());
    first ??= link;
    const store = new RedisUserStore(link, 10);
    defer(t, () => store.close());
    await store.open();
    stores.push(store);
  }
  const [a, b] = stores as [RedisUserStore, RedisUserStore];
  return [a, b, first as ClusterLink];
}

const isTaken = (err: unknown) => err instanceof ProtocolError && err.code === ErrorCode.USERNAME_TAKEN;

test('two nodes register one name at once, 20 times: exactly one wins each', { skip: REDIS_SKIP }, async (t) => {
  const [a, b] = await twoStores(t);
  for (let i = 0; i < 20; i++) {
    const name = `race${i}`;
    const results = await Promise.allSettled([
      a.create({ username: name, passwordHash: SAMPLE_HASH, createdAt: T0 }),
      b.create({ username: name.toUpperCase(), passwordHash: OTHER_HASH, createdAt: T0 + 1 }),
    ]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, name);
    for (const r of results) if (r.status === 'rejected') assert.ok(isTaken(r.reason), String(r.reason));
  }
  await waitFor(() => a.size === 20 && b.size === 20, { what: 'both mirrors hold the 20 winners' });
  for (let i = 0; i < 20; i++) assert.deepEqual(a.get(`race${i}`), b.get(`race${i}`));
});

test(
  "each node's mirror follows the other's creates, password changes and removals",
  { skip: REDIS_SKIP },
  async (t) => {
    const [a, b] = await twoStores(t);
    await a.create({ username: 'Zoe', passwordHash: SAMPLE_HASH, createdAt: T0 });
    await waitFor(() => b.get('zoe')?.username === 'Zoe', { what: 'the new user at node two' });
    assert.equal(await a.setPasswordHash('zoe', OTHER_HASH, SAMPLE_HASH), true);
    await waitFor(() => b.get('zoe')?.passwordHash === OTHER_HASH, { what: 'the new hash at node two' });
    assert.equal(await b.setPasswordHash('zoe', SAMPLE_HASH, SAMPLE_HASH), false, 'compare-and-set across nodes');
    assert.equal(await b.remove('ZOE'), true);
    await waitFor(() => !a.has('zoe'), { what: 'the removal at node one' });
    assert.equal(await a.remove('zoe'), false);
  },
);

test('refresh reads through to Redis: a user made elsewhere a moment ago is found', { skip: REDIS_SKIP }, async (t) => {
  const [a, b, linkA] = await twoStores(t);
  // Written behind both mirrors' backs (as by a node whose bus news is lost).
  const record = { username: 'Quinn', passwordHash: SAMPLE_HASH, createdAt: T0, lastSeenAt: null };
  await linkA.redis.hset(linkA.key('users'), 'quinn', JSON.stringify(record));
  assert.equal(b.get('quinn'), undefined);
  assert.deepEqual(await b.refresh('QUINN'), record);
  assert.deepEqual(b.get('quinn'), record, 'and the mirror has it now');
  assert.equal(a.get('quinn'), undefined);
  await linkA.redis.hdel(linkA.key('users'), 'quinn');
  assert.equal(await b.refresh('quinn'), undefined);
  assert.equal(b.has('quinn'), false);
});

test('a damaged record or bus message is dropped and counted, not a crash', { skip: REDIS_SKIP }, async (t) => {
  const [a, b, linkA] = await twoStores(t);
  await linkA.redis.hset(linkA.key('users'), 'bad', '{"username":"bad","passwordHash":"plaintext","createdAt":1}');
  await linkA.publish('accounts.changed', { user: 'bad' });
  await linkA.publish('accounts.changed', { user: '../../x', extra: 1 });
  await linkA.publish('accounts.changed', 'nonsense');
  await waitFor(() => b.dropped >= 3, { what: 'three drops at node two' });
  assert.equal(b.has('bad'), false);
  assert.equal(a.size, 0);
});

test(
  'Redis down: changes fail with E_UNAVAILABLE and a retry time; reads keep the mirror',
  { skip: REDIS_SKIP },
  async (t) => {
    const own = await startRedis(t);
    const link = await ClusterLink.connect({ url: own.url, nodeId: 'solo' });
    defer(t, () => link.close());
    const store = new RedisUserStore(link, 10);
    defer(t, () => store.close());
    await store.open();
    await store.create({ username: 'ada', passwordHash: SAMPLE_HASH, createdAt: T0 });
    await own.stop();
    await waitFor(() => !link.available, { what: 'the link to notice' });
    const unavailable = (err: unknown) =>
      err instanceof ProtocolError && err.code === ErrorCode.UNAVAILABLE && (err.retryAfterMs ?? 0) > 0;
    await assert.rejects(store.create({ username: 'bea', passwordHash: SAMPLE_HASH, createdAt: T0 }), unavailable);
    await assert.rejects(store.setPasswordHash('ada', OTHER_HASH), unavailable);
    await assert.rejects(store.remove('ada'), unavailable);
    assert.equal(store.has('bea'), false, 'nothing half-made');
    assert.equal(store.get('ada')?.passwordHash, SAMPLE_HASH, 'the old hash still works');
    assert.equal((await store.refresh('ada'))?.username, 'ada', 'a login reads the mirror');
  },
);

test(
  'after the bus is cut, the mirror is rebuilt from Redis (news lost meanwhile counts)',
  { skip: REDIS_SKIP },
  async (t) => {
    const [a, b, linkA] = await twoStores(t);
    await a.create({ username: 'kept', passwordHash: SAMPLE_HASH, createdAt: T0 });
    await waitFor(() => b.has('kept'), { what: 'kept at node two' });
    // Changes whose news never went out (as if published while the subscribers were away).
    const record = { username: 'Silent', passwordHash: SAMPLE_HASH, createdAt: T0, lastSeenAt: null };
    await linkA.redis.hset(linkA.key('users'), 'silent', JSON.stringify(record));
    await linkA.redis.hdel(linkA.key('users'), 'kept');
    assert.equal(b.has('silent'), false);
    await linkA.redis.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
    await waitFor(() => b.has('silent') && !b.has('kept'), { what: "node two's mirror rebuilt on resync" });
    assert.deepEqual(b.get('silent'), record);
  },
);
