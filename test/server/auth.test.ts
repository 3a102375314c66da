/**
 * Register and login over real loopback TLS (PROTOCOL.md section 4), driven by the headless
 * client core.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { ClientState } from '../../src/client/client.ts';
import { ErrorCode, ProtocolError } from '../../src/net/errors.ts';
import { serverWithClients, testServer } from '../helpers/server.ts';
import { nth } from '../helpers/assert.ts';

const hasCode = (code: string) => (err: unknown) => {
  assert.ok(err instanceof ProtocolError, String(err));
  assert.equal(err.code, code, err.message);
  return true;
};

test('register creates the account, logs in, and writes one CSV row', async (t) => {
  const server = await testServer(t);
  const alice = await server.client();
  const session = await alice.register('Alice', 'correct horse');
  assert.deepEqual(
    { user: session.user, ip: session.ip, registered: session.registered },
    { user: 'Alice', ip: '127.0.0.1', registered: true },
  );
  assert.equal(alice.state, ClientState.ONLINE);
  assert.deepEqual(alice.onlineUsers, [{ user: 'Alice', ip: '127.0.0.1' }]);
  const rows = parse(await readFile(server.usersCsv, 'utf8'));
  assert.deepEqual(rows[0], ['username', 'password_hash', 'created_at', 'last_seen_at']);
  assert.equal(rows.length, 2);
  const [name, hash] = nth(rows, 1, 'row');
  assert.equal(name, 'Alice');
  assert.ok(hash !== undefined && !hash.includes('correct horse'));
});

test('login with the right password, in any letter case of the name', async (t) => {
  const { server } = await serverWithClients(t, { users: ['Bob'], password: 'battery staple' });
  const other = await server.client();
  const session = await other.login('bOB', 'battery staple');
  assert.equal(session.user, 'Bob', 'the name as registered');
  assert.equal(session.registered, false);
});

test('wrong password and unknown user give the same E_AUTH_FAILED', async (t) => {
  const { server } = await serverWithClients(t, { users: ['carol'], password: 'carol-password' });
  const client = await server.client();
  const wrong = await client.login('carol', 'not her password').catch((e: unknown) => e);
  const unknown = await client.login('nobody', 'carol-password').catch((e: unknown) => e);
  const malformed = await client.login('no such name!', 'carol-password').catch((e: unknown) => e);
  for (const err of [wrong, unknown, malformed]) hasCode(ErrorCode.AUTH_FAILED)(err);
  assert.equal((wrong as Error).message, (unknown as Error).message);
  assert.equal((wrong as Error).message, (malformed as Error).message);
  assert.equal(client.state, ClientState.CONNECTED, 'a failed login leaves the connection usable');
  await client.login('carol', 'carol-password');
});

test('a taken username is refused, whatever its case', async (t) => {
  const { server } = await serverWithClients(t, { users: ['dave'], password: 'dave-password' });
  const second = await server.client();
  await assert.rejects(second.register('DAVE', 'other-password'), hasCode(ErrorCode.USERNAME_TAKEN));
  assert.equal(server.app.core.store.size, 1);
});

test('20 clients racing to register one name: exactly one wins, the CSV has one row', async (t) => {
  const server = await testServer(t);
  const clients = await Promise.all(Array.from({ length: 20 }, () => server.client()));
  const results = await Promise.allSettled(
    clients.map((c, i) => c.register(i % 2 ? 'Racer' : 'racer', `password-${i}`)),
  );
  const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
  assert.equal(winners.length, 1, JSON.stringify(results.map((r) => r.status)));
  for (const r of results) if (r.status === 'rejected') hasCode(ErrorCode.USERNAME_TAKEN)(r.reason);
  const rows = parse(await readFile(server.usersCsv, 'utf8'));
  assert.equal(rows.length, 2);
  // The winner's password is the one stored.
  const check = await server.client();
  await check.login('racer', `password-${winners[0]}`);
});

test('bad usernames are refused with E_BAD_USERNAME', async (t) => {
  const server = await testServer(t);
  const client = await server.client();
  for (const name of ['has space', '.dot-first', '-dash-first', 'x'.repeat(33), 'semi;colon', 'émile', '=cmd']) {
    await assert.rejects(client.register(name, 'long enough password'), hasCode(ErrorCode.BAD_USERNAME), name);
  }
  assert.equal(client.state, ClientState.CONNECTED);
  await client.register('x'.repeat(32), 'long enough password');
  assert.equal(server.app.core.store.size, 1);
});

test('passwords under 8 characters are refused with E_WEAK_PASSWORD', async (t) => {
  const server = await testServer(t);
  const client = await server.client();
  await assert.rejects(client.register('erin', 'short'), hasCode(ErrorCode.WEAK_PASSWORD));
  await assert.rejects(
    client.register('erin', '🔑🔑🔑🔑🔑🔑🔑'),
    hasCode(ErrorCode.WEAK_PASSWORD),
    '7 characters, 28 bytes',
  );
  await client.register('erin', '🔑🔑🔑🔑🔑🔑🔑🔑');
  assert.equal(server.app.core.store.size, 1);
});

test('login or register again on a logged-in connection is refused', async (t) => {
  const {
    server,
    clients: [client],
  } = await serverWithClients(t, { users: ['frank'], password: 'frank-password' });
  await assert.rejects(
    client.request({ t: 'register', proto: 1, user: 'frank2', pass: 'frank-password' }),
    hasCode(ErrorCode.ALREADY_AUTHENTICATED),
  );
  assert.equal(server.app.core.store.size, 1);
});
