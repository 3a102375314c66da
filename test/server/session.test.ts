/**
 * Connection lifecycle over loopback (PROTOCOL.md section 3): one session per user, login
 * timeout, connection limit, graceful shutdown.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { ClientState, type P2PClient } from '../../src/client/client.ts';
import { ErrorCode, type ProtocolError } from '../../src/net/errors.ts';
import { CsvUserStore } from '../../src/server/users/csv-store.ts';
import { RawClient, type ServerError } from '../helpers/raw.ts';
import { startTestServer, serverWithClients, testServer } from '../helpers/server.ts';
import { nextEvent, waitFor, waitForEqual } from '../helpers/wait.ts';
import { defer } from '../helpers/cleanup.ts';

type Disconnected = [{ error: ProtocolError; retryInMs: number | null }];

test('a second login of an online user replaces the first session, which does not reconnect', async (t) => {
  const server = await testServer(t);
  const first = await server.client({ reconnectBaseMs: 10, reconnectMaxMs: 20 });
  await first.register('judy', 'judy-password');
  const dropped = nextEvent<Disconnected>(first, 'disconnected');
  const second = await server.client();
  await second.login('judy', 'judy-password');
  const [{ error, retryInMs }] = await dropped;
  assert.equal(error.code, ErrorCode.SESSION_REPLACED);
  assert.equal(retryInMs, null, 'no reconnect is scheduled');
  assert.equal(first.state, ClientState.IDLE);
  await waitFor(() => server.app.core.connectionCount === 1, { what: 'the old connection to close' });
  assert.equal(server.app.core.presence.size, 1);
  assert.equal(server.app.core.presence.get('judy')?.isOnline, true);
  // The new session works, and the old client has not come back.
  assert.deepEqual(await second.refreshUsers(), [{ user: 'judy', ip: '127.0.0.1' }]);
  assert.equal(first.state, ClientState.IDLE);
  assert.equal(server.app.core.connectionCount, 1);
});

test('an unauthenticated connection that says nothing is closed after the login timeout', async (t) => {
  const server = await startTestServer({ loginTimeoutMs: 200 });
  const raw = await RawClient.open(server.port);
  defer(t, async () => {
    await raw.close();
    await server.close();
  });
  const hello = raw.received[0];
  assert.ok(hello?.t === 'hello' && hello.loginTimeoutMs === 200);
  const error = await raw.waitFor<ServerError>((m) => m.t === 'error', 'login timeout error');
  assert.equal(error.code, ErrorCode.LOGIN_TIMEOUT);
  assert.equal(error.fatal, true);
  await raw.waitClosed();
  await waitFor(() => server.app.core.connectionCount === 0, { what: 'the server to drop the session' });
});

test('connections beyond --max-connections are refused with E_SERVER_FULL', async (t) => {
  const {
    server,
    clients: [a],
  } = await serverWithClients(t, { users: ['kim'], password: 'kim-password', maxConnections: 2 });
  await server.client();
  const third = await server.newClient();
  await assert.rejects(third.connect(), (err: ProtocolError) => {
    assert.equal(err.code, ErrorCode.SERVER_FULL);
    assert.match(err.message, /full/);
    return true;
  });
  assert.equal(server.app.core.connectionCount, 2);
  // The refused connection is gone; the others still work.
  assert.deepEqual(await a.refreshUsers(), [{ user: 'kim', ip: '127.0.0.1' }]);
});

test('a slot frees up when a client leaves', async (t) => {
  const server = await testServer(t, { maxConnections: 1 });
  const a = await server.client();
  await a.close();
  await waitFor(() => server.app.core.connectionCount === 0, { what: 'slot to free' });
  const b = await server.client();
  await b.register('lee', 'lee-password');
});

test('graceful shutdown tells every client E_SERVER_SHUTDOWN', async (t) => {
  const server = await testServer(t);
  const clients: P2PClient[] = [];
  for (const name of ['mia', 'ned']) {
    const c = await server.client({ reconnect: false });
    await c.register(name, `${name}-password`);
    clients.push(c);
  }
  const unauthenticated = await RawClient.open(server.port);
  const drops = clients.map((c) => nextEvent<Disconnected>(c, 'disconnected'));
  await server.stopServer();
  for (const drop of drops) {
    const [{ error, retryInMs }] = await drop;
    assert.equal(error.code, ErrorCode.SERVER_SHUTDOWN);
    assert.equal(retryInMs, null);
  }
  const notice = await unauthenticated.waitFor<ServerError>((m) => m.t === 'error', 'shutdown notice');
  assert.equal(notice.code, ErrorCode.SERVER_SHUTDOWN);
  await unauthenticated.waitClosed();
  assert.equal(server.app.core.connectionCount, 0);
  // Users online at shutdown get their last-seen time written before the store closes.
  const saved = new CsvUserStore(join(server.dataDir, 'users.csv'));
  await saved.open();
  for (const name of ['mia', 'ned']) assert.equal(typeof saved.get(name)?.lastSeenAt, 'number', `${name} last seen`);
});

test('logout answers ok, closes the connection, and others see the user leave', async (t) => {
  const {
    server,
    clients: [olga],
  } = await serverWithClients(t, { users: ['olga'], password: 'olga-password' });
  const pat = await RawClient.open(server.port);
  assert.equal((await pat.auth('register', 'pat', 'pat-password')).t, 'welcome');
  await waitForEqual(() => olga.onlineUsers.map((u) => u.user), ['olga', 'pat'], { what: 'olga sees pat' });
  const id = pat.id();
  pat.send({ t: 'logout', id });
  assert.equal((await pat.reply(id)).t, 'ok');
  await pat.waitClosed();
  await waitForEqual(() => olga.onlineUsers.map((u) => u.user), ['olga'], { what: 'olga sees pat leave' });
  await waitFor(() => server.app.core.connectionCount === 1, { what: 'the connection to close' });
});
