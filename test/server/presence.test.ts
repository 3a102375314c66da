/** Presence (PROTOCOL.md section 4.5): who is online, username and IP only, pushed on every change. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { UserEntry } from '../../src/net/messages.ts';
import { startTestServer } from '../helpers/server.ts';
import { waitFor } from '../helpers/wait.ts';

const names = (list: UserEntry[]) => list.map((u) => u.user).sort();

test('presence updates across three clients: joins and leaves are seen by the others', async () => {
  const server = await startTestServer({ presenceFlushMs: 20 });
  try {
    const alice = await server.client();
    const bob = await server.client();
    const carol = await server.client();
    const seen = new Map<string, Array<{ joined: string[]; left: string[] }>>();
    for (const [name, c] of [['alice', alice], ['bob', bob], ['carol', carol]] as const) {
      seen.set(name, []);
      c.on('presence', (p) => seen.get(name)?.push({ joined: names(p.joined), left: p.left }));
    }

    await alice.register('alice', 'alice-password');
    assert.deepEqual(alice.onlineUsers, [{ user: 'alice', ip: '127.0.0.1' }]);
    const bobSession = await bob.register('bob', 'bob-password');
    assert.equal(bobSession.user, 'bob');
    assert.deepEqual(names(bob.onlineUsers), ['alice', 'bob'], 'welcome carries who is already online');
    await waitFor(() => names(alice.onlineUsers).join() === 'alice,bob', { what: 'alice sees bob join' });

    await carol.register('carol', 'carol-password');
    for (const c of [alice, bob, carol]) {
      await waitFor(() => names(c.onlineUsers).join() === 'alice,bob,carol', { what: 'everyone sees three users' });
      for (const entry of c.onlineUsers) assert.deepEqual(Object.keys(entry).sort(), ['ip', 'user'], 'only name and address');
    }
    assert.ok(seen.get('alice')?.some((p) => p.joined.includes('carol')));
    assert.ok(seen.get('bob')?.some((p) => p.joined.includes('carol')));

    await carol.close();
    for (const c of [alice, bob]) await waitFor(() => names(c.onlineUsers).join() === 'alice,bob', { what: 'carol seen leaving' });
    assert.ok(seen.get('alice')?.some((p) => p.left.includes('carol')));
    assert.ok(seen.get('bob')?.some((p) => p.left.includes('carol')));

    await bob.close();
    await waitFor(() => names(alice.onlineUsers).join() === 'alice', { what: 'bob seen leaving' });
    assert.deepEqual(await alice.refreshUsers(), [{ user: 'alice', ip: '127.0.0.1' }]);
    assert.equal(server.app.core.presence.size, 1);
  } finally {
    await server.close();
  }
});

test('a client that connects but never logs in is not listed and gets no presence', async () => {
  const server = await startTestServer({ presenceFlushMs: 20 });
  try {
    const lurker = await server.client();
    let updates = 0;
    lurker.on('presence', () => updates++);
    const dan = await server.client();
    await dan.register('dan', 'dan-password');
    const eve = await server.client();
    await eve.register('eve', 'eve-password');
    await waitFor(() => dan.onlineUsers.length === 2, { what: 'dan sees eve' });
    assert.equal(updates, 0);
    assert.deepEqual(names(await dan.refreshUsers()), ['dan', 'eve']);
  } finally {
    await server.close();
  }
});
