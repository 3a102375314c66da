/**
 * Accounts across cluster nodes (docs/CLUSTER.md "Accounts"), with real clients on two
 * in-process nodes sharing one real redis-server: a user registered on one node logs in on the
 * other at once, one name registered on both at once gives exactly one account, and a
 * password change or deletion on one node holds on the other.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode, ProtocolError } from '../../../src/net/errors.ts';
import { testCluster } from '../../helpers/cluster.ts';
import { REDIS_SKIP } from '../../helpers/redis.ts';
import type { TestServer } from '../../helpers/server.ts';
import { waitFor } from '../../helpers/wait.ts';

const hasCode = (code: string) => (err: unknown) => {
  assert.ok(err instanceof ProtocolError, String(err));
  assert.equal(err.code, code, err.message);
  return true;
};

async function twoNodes(t: Parameters<typeof testCluster>[0]): Promise<[TestServer, TestServer]> {
  const { nodes } = await testCluster(t, { nodes: 2 });
  return nodes as [TestServer, TestServer];
}

test('registered on node1, the user logs in on node2 at once', { skip: REDIS_SKIP }, async (t) => {
  const [one, two] = await twoNodes(t);
  for (let i = 0; i < 5; i++) {
    const name = `Fresh${i}`;
    const other = await two.client(); // connected before, so the login goes out right after the registration
    const first = await one.client();
    await first.register(name, 'password-fresh');
    // Node2's mirror may not have the news yet: the login reads the user through to Redis.
    const session = await other.login(name.toLowerCase(), 'password-fresh');
    assert.equal(session.user, name, 'as registered');
  }
  assert.equal(one.app.core.store.get('fresh0')?.username, 'Fresh0');
});

test('20 names, each registered on both nodes at once: exactly one account each', { skip: REDIS_SKIP }, async (t) => {
  const [one, two] = await twoNodes(t);
  const names = Array.from({ length: 20 }, (_, i) => `dup${i}`);
  const clients = await Promise.all(names.flatMap(() => [one.client(), two.client()]));
  const outcomes = await Promise.allSettled(
    clients.map((client, i) => client.register(names[Math.floor(i / 2)] ?? '', `password-node${i % 2}`)),
  );
  for (const [n, name] of names.entries()) {
    const pair = [outcomes[2 * n], outcomes[2 * n + 1]];
    assert.equal(pair.filter((o) => o?.status === 'fulfilled').length, 1, `${name}: one winner`);
    for (const o of pair) if (o?.status === 'rejected') hasCode(ErrorCode.USERNAME_TAKEN)(o.reason);
  }
  await waitFor(() => one.app.core.store.size === 20 && two.app.core.store.size === 20, {
    what: 'both nodes list the 20 accounts',
  });
  for (const name of names) {
    const winner = outcomes[2 * names.indexOf(name)]?.status === 'fulfilled' ? 0 : 1;
    // Whichever node won, the account works on both with the winner's password.
    for (const node of [one, two]) await (await node.client()).login(name, `password-node${winner}`);
  }
});

test('passwd on node1: the old password is refused on node2 at once', { skip: REDIS_SKIP }, async (t) => {
  const [one, two] = await twoNodes(t);
  const alice = await one.client();
  await alice.register('alice', 'password-old');
  // Node2's mirror has the old hash; the change must count there all the same.
  await waitFor(() => two.app.core.store.get('alice') !== undefined, { what: 'alice in node2 mirror' });
  const oldHash = two.app.core.store.get('alice')?.passwordHash;
  await alice.changePassword('password-old', 'password-new');
  await assert.rejects((await two.client()).login('alice', 'password-old'), hasCode(ErrorCode.AUTH_FAILED));
  await (await two.client()).login('alice', 'password-new');
  assert.notEqual(two.app.core.store.get('alice')?.passwordHash, oldHash);
});

test(
  'delete on node1: node2 refuses the login at once, and the name is free again',
  { skip: REDIS_SKIP },
  async (t) => {
    const [one, two] = await twoNodes(t);
    const bob = await one.client();
    await bob.register('bob', 'password-bob');
    await bob.deleteAccount('password-bob');
    await assert.rejects((await two.client()).login('bob', 'password-bob'), hasCode(ErrorCode.AUTH_FAILED));
    await waitFor(() => !two.app.core.store.has('bob'), { what: 'the deletion at node2' });
    await (await two.client()).register('Bob', 'password-new-bob');
    await (await one.client()).login('bob', 'password-new-bob');
  },
);

test('in a cluster users.csv is not written: the accounts are in Redis', { skip: REDIS_SKIP }, async (t) => {
  const { nodes, redis, prefix } = await testCluster(t, { nodes: 1 });
  const [node] = nodes as [TestServer];
  await (await node.client()).register('carol', 'password-carol');
  const link = node.app.cluster ?? assert.fail('not in cluster mode');
  assert.ok(link.key('users').startsWith(prefix));
  assert.ok(await link.redis.hexists(link.key('users'), 'carol'));
  const { access } = await import('node:fs/promises');
  await assert.rejects(access(node.usersCsv), /ENOENT/);
  assert.ok(redis.port > 0);
});
