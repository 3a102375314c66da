/**
 * The client core reconnects with back-off after the server goes away and logs back in
 * (issue 2, "Client core"); it does not when that would be wrong.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClientState } from '../../src/client/client.ts';
import { ErrorCode, type ProtocolError } from '../../src/net/errors.ts';
import { testServer } from '../helpers/server.ts';
import { nextEvent, waitFor, waitForEqual } from '../helpers/wait.ts';

type Disconnected = [{ error: ProtocolError; retryInMs: number | null }];

test('after the server stops and restarts on the same port and data dir, clients log back in', async (t) => {
  const server = await testServer(t, { presenceFlushMs: 20 });
  const alice = await server.client({ reconnectBaseMs: 50, reconnectMaxMs: 400 });
  const bob = await server.client({ reconnectBaseMs: 50, reconnectMaxMs: 400 });
  await alice.register('alice', 'alice-password');
  await bob.register('bob', 'bob-password');
  const fingerprint = alice.fingerprint;
  const dropped = nextEvent<Disconnected>(alice, 'disconnected');
  await server.stopServer();
  const [{ error, retryInMs }] = await dropped;
  assert.equal(error.code, ErrorCode.SERVER_SHUTDOWN);
  assert.ok(retryInMs !== null && retryInMs > 0, 'a reconnect is scheduled');
  await waitFor(() => alice.state === ClientState.RECONNECTING, { what: 'alice reconnecting' });

  await server.restart();
  for (const c of [alice, bob])
    await waitFor(() => c.state === ClientState.ONLINE, { what: 'client back online', timeoutMs: 30_000 });
  assert.equal(alice.session?.user, 'alice');
  assert.equal(alice.session?.registered, false, 'logged in, not registered again');
  assert.equal(alice.fingerprint, fingerprint, 'same data dir, same certificate');
  assert.equal(server.app.core.presence.size, 2);
  await waitForEqual(() => alice.onlineUsers.map((u) => u.user), ['alice', 'bob'], { what: 'alice sees bob again' });
  await waitFor(() => alice.udpState === 'alive', { what: 'UDP path re-established' });
  assert.equal(server.app.core.store.size, 2, 'accounts survived the restart');
});

test('a client keeps retrying while the server is down, with growing delays', async (t) => {
  const server = await testServer(t);
  const carol = await server.client({ reconnectBaseMs: 20, reconnectMaxMs: 160 });
  await carol.register('carol', 'carol-password');
  const delays: Array<number | null> = [];
  carol.on('disconnected', ({ retryInMs }) => delays.push(retryInMs));
  await server.stopServer();
  await waitFor(() => delays.length >= 5, { what: 'five failed attempts' });
  assert.ok(
    delays.every((d) => d !== null && d <= 160),
    JSON.stringify(delays),
  );
  await server.restart();
  await waitFor(() => carol.state === ClientState.ONLINE, { what: 'carol back online' });
});

test('close() stops for good: no reconnect after the server restarts', async (t) => {
  const server = await testServer(t);
  const dave = await server.client({ reconnectBaseMs: 20 });
  await dave.register('dave', 'dave-password');
  await dave.close();
  assert.equal(dave.state, ClientState.CLOSED);
  await server.restart();
  const eve = await server.client();
  await eve.register('eve', 'eve-password');
  assert.equal(server.app.core.presence.size, 1);
  assert.equal(dave.state, ClientState.CLOSED);
});
