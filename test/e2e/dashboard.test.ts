/**
 * The real bin/p2p-server in a pseudo-terminal, read from the rendered screen: what an
 * operator sees. Clients are real P2PClients over TLS.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { P2PClient } from '../../src/client/client.ts';
import { ErrorCode } from '../../src/net/errors.ts';
import { parseUsersCsv } from '../../src/server/users/csv-store.ts';
import { dashboardPty, userRow } from '../helpers/dashboard.ts';
import { ServerInPty } from '../helpers/server-pty.ts';
import { TEST_SCRYPT_LOG_N, tempDir } from '../helpers/server.ts';
import { waitFor } from '../helpers/wait.ts';
import { defer } from '../helpers/cleanup.ts';

const WRONG_PASSWORD = 'not-alices-password';

test('dashboard in a pty: counts, users, failed logins, and q shuts down cleanly', async (t) => {
  const data = await tempDir('dash-e2e');
  const config = await tempDir('dash-e2e-client');
  // Wide enough that no event line wraps in the event pane.
  const server = ServerInPty.spawn(
    ['--host', '127.0.0.1', '--port', '0', '--data-dir', data.path, '--scrypt-cost', String(TEST_SCRYPT_LOG_N)],
    { cols: 160, rows: 45 },
  );
  const clients: P2PClient[] = [];
  defer(t, async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    server.kill();
    await data.remove();
    await config.remove();
  });
  const listening = /Listening 127\.0\.0\.1 +TCP (\d+)/;
  const port = Number(listening.exec(await server.waitForText(listening))?.[1]);
  const connect = () => {
    const client = new P2PClient({ host: '127.0.0.1', port, configDir: config.path, reconnect: false });
    clients.push(client);
    return client;
  };
  await server.waitForText('TCP 0  online 0  UDP alive 0');

  // Up: a registered user, then a connection that has not logged in.
  const alice = connect();
  await alice.register('alice', 'alices password');
  await server.waitForText(/TCP 1 {2}online 1/);
  await server.waitForText(/registered alice from 127\.0\.0\.1/);
  const screen = await server.waitForText(/alice .*online +127\.0\.0\.1 +online/);
  assert.ok(userRow(screen, 'alice'));
  const lurker = connect();
  await lurker.connect();
  await server.waitForText(/TCP 2 {2}online 1/);

  // Down: the lurker leaves.
  await lurker.close();
  await server.waitForText(/TCP 1 {2}online 1/);

  // A failed login: username and IP in the log, never the password.
  const guesser = connect();
  await assert.rejects(guesser.login('alice', WRONG_PASSWORD), /wrong username or password/);
  await server.waitForText(/failed login for "alice" from 127\.0\.0\.1 \(E_AUTH_FAILED\)/);
  assert.ok(!server.text().includes(WRONG_PASSWORD));
  await guesser.close();
  await server.waitForText(/TCP 1 {2}online 1/);

  // q asks first; y stops: alice is told, the CSV is flushed, exit code 0.
  const told = new Promise<string>((resolve) => alice.on('disconnected', ({ error }) => resolve(error.code)));
  server.type('q');
  await server.waitForText('Stop the server?');
  server.type('y');
  assert.equal(await server.exited, 0);
  await waitFor(() => server.bufferType() === 'normal', { what: 'the terminal given back (normal screen buffer)' });
  assert.equal(await told, ErrorCode.SERVER_SHUTDOWN);
  // Intact: the file parses and validates (header, scrypt hash, dates) and holds the account.
  const users = parseUsersCsv(await readFile(join(data.path, 'users.csv'), 'utf8'), 'users.csv');
  assert.deepEqual(
    users.map((u) => u.username),
    ['alice'],
  );
});

test('dashboard in a pty: resize to a small terminal shows a message, and back', async (t) => {
  const data = await tempDir('dash-e2e-resize');
  const server = ServerInPty.spawn(['--host', '127.0.0.1', '--port', '0', '--data-dir', data.path], {
    cols: 100,
    rows: 30,
  });
  defer(t, async () => {
    server.kill();
    await data.remove();
  });
  await server.waitForText(/TCP \d+/);
  assert.equal(server.bufferType(), 'alternate', 'the dashboard takes the alternate screen');
  server.resize(50, 15);
  await server.waitForText(/Terminal too small for the dashboard\s+50x15 here/);
  server.resize(120, 40);
  await server.waitForText(/Users 0/);
  server.type('\x03'); // Ctrl-C asks too, and a second one confirms
  await server.waitForText('Stop the server?');
  server.type('\x03');
  assert.equal(await server.exited, 0);
});

test('dashboard in a pty: a broadcast appears in the queue with a countdown and leaves after its ttl', async (t) => {
  const { server, user } = await dashboardPty(t, { cols: 180, rows: 45, args: ['--broadcast-ttl', '5s'] });
  const client = await user('carol');
  const reply = await client.request({ t: 'broadcast', text: 'the server restarts at noon' });
  assert.equal(reply.t, 'broadcast_ok');
  const bid = (reply as { bid: string }).bid.slice(0, 8);
  // Acknowledged n of the 1 registered user; the countdown starts from the 5 s ttl.
  await server.waitForText(new RegExp(`${bid} +carol +00:0[0-5] +[01]/1 +the server restarts at noon`));
  await server.waitForText(/Pending broadcasts 1/);
  await server.waitForText(new RegExp(`broadcast ${bid} from carol: "the server restarts at noon"`));
  await server.waitForText(/Pending broadcasts 0/);
  assert.doesNotMatch(server.text(), new RegExp(`${bid} +carol +\\d\\d:\\d\\d`));
  await server.waitForText(new RegExp(`broadcast ${bid} from carol expired`));
  server.type('q');
  await server.waitForText('Stop the server?');
  server.type('y');
  assert.equal(await server.exited, 0);
});
