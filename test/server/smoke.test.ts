import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testServer } from '../helpers/server.ts';
import { waitFor } from '../helpers/wait.ts';

test('register, login and presence across two clients', async (t) => {
  const server = await testServer(t);
  const alice = await server.client();
  const session = await alice.register('alice', 'correct horse');
  assert.equal(session.user, 'alice');
  assert.equal(session.registered, true);
  const bob = await server.client();
  await bob.register('bob', 'battery staple');
  await waitFor(() => alice.onlineUsers.some((u) => u.user === 'bob'), { what: 'alice sees bob' });
  await waitFor(() => alice.udpState === 'alive', { what: 'udp alive' });
});
