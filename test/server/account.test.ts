/**
 * Account changes over real loopback TLS (PROTOCOL.md section 4.6): change password, delete
 * account, and re-making a hash made at a lower scrypt cost at the next login.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { ClientState } from '../../src/client/client.ts';
import { FREE_FAILURES_PER_USER, PROTOCOL_VERSION } from '../../src/net/constants.ts';
import { ErrorCode, ProtocolError } from '../../src/net/errors.ts';
import { ACCOUNT_CHANGES_PER_HOUR } from '../../src/server/users/accounts.ts';
import { hashCost } from '../../src/server/users/passwords.ts';
import { parseUsersCsv } from '../../src/server/users/csv-store.ts';
import { onlineUser, PASSWORD, received } from '../helpers/broadcast.ts';
import { RawClient, type ServerError } from '../helpers/raw.ts';
import {
  startTestServer,
  serverWithClients,
  testServer,
  TEST_SCRYPT_LOG_N,
  type TestServer,
} from '../helpers/server.ts';
import { nextEvent, waitFor } from '../helpers/wait.ts';
import { defer } from '../helpers/cleanup.ts';
import { nth } from '../helpers/assert.ts';

const NEW_PASSWORD = 'tr0ub4dor & 3';

const hasCode = (code: string) => (err: unknown) => {
  assert.ok(err instanceof ProtocolError, String(err));
  assert.equal(err.code, code, err.message);
  return true;
};

async function csvRows(server: TestServer) {
  return parseUsersCsv(await readFile(server.usersCsv, 'utf8'), server.usersCsv);
}

test('passwd: a wrong old password or a weak new one changes nothing; the right one changes it durably', async (t) => {
  const {
    server,
    clients: [alice],
  } = await serverWithClients(t, { users: ['Alice'], password: PASSWORD });
  const before = nth(await csvRows(server), 0, 'row').passwordHash;
  await assert.rejects(alice.changePassword('not my password', NEW_PASSWORD), hasCode(ErrorCode.AUTH_FAILED));
  await assert.rejects(alice.changePassword(PASSWORD, 'short'), hasCode(ErrorCode.WEAK_PASSWORD));
  await assert.rejects(alice.changePassword(PASSWORD, 'lone \ud800 surrogate'), hasCode(ErrorCode.BAD_MESSAGE));
  assert.equal(nth(await csvRows(server), 0, 'row').passwordHash, before);
  assert.equal(alice.state, ClientState.ONLINE, 'refusals leave the session online');

  await alice.changePassword(PASSWORD, NEW_PASSWORD);
  assert.equal(alice.state, ClientState.ONLINE, 'the session that changed it stays logged in');
  const rows = await csvRows(server);
  assert.equal(rows.length, 1);
  assert.notEqual(nth(rows, 0, 'row').passwordHash, before);
  assert.ok(!(await readFile(server.usersCsv, 'utf8')).includes(NEW_PASSWORD));

  await server.restart();
  const other = await server.client();
  await assert.rejects(other.login('alice', PASSWORD), hasCode(ErrorCode.AUTH_FAILED));
  assert.equal((await other.login('alice', NEW_PASSWORD)).user, 'Alice');
});

test('after passwd the client reconnects with the new password when the server restarts', async (t) => {
  const {
    server,
    clients: [lena],
  } = await serverWithClients(t, { users: ['lena'], password: PASSWORD });
  await lena.changePassword(PASSWORD, NEW_PASSWORD);
  const back = nextEvent(lena, 'online');
  await server.restart();
  await back;
  assert.equal(lena.state, ClientState.ONLINE);
  assert.equal(
    server.app.core.presence.list().some((u) => u.user === 'lena'),
    true,
  );
});

test('passwd: wrong old passwords count as failed logins toward the back-off of section 4.4', async (t) => {
  const {
    server,
    clients: [bob],
  } = await serverWithClients(t, { users: ['bob'], password: PASSWORD });
  // The free failures, then one that starts the back-off.
  for (let i = 0; i <= FREE_FAILURES_PER_USER; i++) {
    await assert.rejects(bob.changePassword(`guess ${i} guess`, NEW_PASSWORD), hasCode(ErrorCode.AUTH_FAILED));
  }
  const limited = await bob.changePassword(PASSWORD, NEW_PASSWORD).catch((e: unknown) => e);
  hasCode(ErrorCode.RATE_LIMITED)(limited);
  assert.ok(((limited as ProtocolError).retryAfterMs ?? 0) > 0);
  // The same back-off guards login to the account.
  const raw = await RawClient.open(server.port);
  defer(t, () => raw.close());
  const reply = (await raw.auth('login', 'bob', PASSWORD)) as ServerError;
  assert.equal(reply.t, 'error');
  assert.equal(reply.code, ErrorCode.RATE_LIMITED);
});

test('at most ACCOUNT_CHANGES_PER_HOUR account changes per user, then E_RATE_LIMITED with retryAfterMs', async (t) => {
  const {
    server,
    clients: [mo],
  } = await serverWithClients(t, { users: ['mo'], password: PASSWORD });
  const passwords = Array.from({ length: ACCOUNT_CHANGES_PER_HOUR + 1 }, (_, i) => `password number ${i}`);
  let current = PASSWORD;
  for (const next of passwords.slice(0, ACCOUNT_CHANGES_PER_HOUR)) {
    await mo.changePassword(current, next);
    current = next;
  }
  const limited = await mo
    .changePassword(current, nth(passwords, ACCOUNT_CHANGES_PER_HOUR, 'password'))
    .catch((e: unknown) => e);
  hasCode(ErrorCode.RATE_LIMITED)(limited);
  assert.ok(((limited as ProtocolError).retryAfterMs ?? 0) > 50 * 60_000, 'about an hour');
  await assert.rejects(mo.deleteAccount(current), hasCode(ErrorCode.RATE_LIMITED));
  assert.equal(server.app.core.store.has('mo'), true);
});

test('passwd and delete_account need a login first, and a missing field is a bad message', async (t) => {
  const server = await startTestServer();
  const raw = await RawClient.open(server.port);
  defer(t, async () => {
    await raw.close();
    await server.close();
  });
  const id = raw.id();
  raw.send({ t: 'passwd', id, old: PASSWORD, new: NEW_PASSWORD });
  assert.equal(((await raw.reply(id)) as ServerError).code, ErrorCode.NOT_AUTHENTICATED);
  const id2 = raw.id();
  raw.send({ t: 'delete_account', id: id2, password: PASSWORD });
  assert.equal(((await raw.reply(id2)) as ServerError).code, ErrorCode.NOT_AUTHENTICATED);
  assert.equal((await raw.auth('register', 'carol', PASSWORD)).t, 'welcome');
  const id3 = raw.id();
  raw.send({ t: 'passwd', id: id3, old: PASSWORD });
  assert.equal(((await raw.reply(id3)) as ServerError).code, ErrorCode.BAD_MESSAGE);
});

test('passwd racing a login with the old password: that login never stays online', async (t) => {
  const {
    server,
    clients: [dave],
  } = await serverWithClients(t, { users: ['dave'], password: PASSWORD });
  const intruder = await RawClient.open(server.port);
  defer(t, () => intruder.close());
  // Sent together: whichever the server finishes first, the old password must not win.
  const login = intruder.auth('login', 'dave', PASSWORD);
  const change = dave.changePassword(PASSWORD, NEW_PASSWORD).then(
    () => 'changed',
    (e: unknown) => e,
  );
  const reply = await login;
  const outcome = await change;
  const stored = server.app.core.store.get('dave');
  const changed = stored !== undefined && (await server.app.core.hasher.verify(stored.passwordHash, NEW_PASSWORD));
  if (!changed) {
    // The intruder's login replaced dave before his request was read: then it is refused.
    assert.equal(reply.t, 'welcome');
    assert.ok(
      outcome instanceof ProtocolError &&
        [ErrorCode.SESSION_REPLACED, ErrorCode.DISCONNECTED].includes(outcome.code as never),
      String(outcome),
    );
  } else if (reply.t === 'welcome') {
    // It got in before the change was durable: the change then closed it.
    const fatal = await intruder.waitFor((m) => m.t === 'error' && m.fatal === true, 'fatal error');
    assert.equal((fatal as ServerError).code, ErrorCode.PASSWORD_CHANGED);
    await intruder.waitClosed();
  } else {
    assert.equal(reply.code, ErrorCode.AUTH_FAILED);
    assert.equal(outcome, 'changed');
  }
  assert.ok(
    server.app.core.presence.list().every((u) => u.user !== 'dave' || !changed || dave.state === ClientState.ONLINE),
    'with the password changed, only the session that changed it may be online',
  );
});

test('delete_account: a wrong password changes nothing; the right one removes the row, closes the session, frees the name', async (t) => {
  const {
    server,
    clients: [frank],
  } = await serverWithClients(t, { users: ['Frank'], password: PASSWORD });
  const grace = await onlineUser(server, 'grace');
  await waitFor(() => grace.client.onlineUsers.length === 2, { what: 'grace to see frank' });
  await assert.rejects(frank.deleteAccount('not my password'), hasCode(ErrorCode.AUTH_FAILED));
  assert.equal((await csvRows(server)).length, 2);

  const gone = nextEvent(frank, 'disconnected');
  await frank.deleteAccount(PASSWORD);
  const [{ error, retryInMs }] = (await gone) as [{ error: ProtocolError; retryInMs: number | null }];
  assert.equal(error.code, ErrorCode.ACCOUNT_DELETED);
  assert.equal(retryInMs, null, 'no reconnect after a deletion');
  assert.equal(frank.state, ClientState.IDLE);
  assert.deepEqual(
    (await csvRows(server)).map((r) => r.username),
    ['grace'],
  );
  await waitFor(() => grace.client.onlineUsers.length === 1, { what: 'frank to leave the list' });
  assert.equal(server.app.core.store.has('frank'), false);

  const again = await server.client();
  await assert.rejects(again.login('frank', PASSWORD), hasCode(ErrorCode.AUTH_FAILED));
  const session = await again.register('FRANK', 'a brand new password');
  assert.equal(session.registered, true);
  await server.restart();
  assert.deepEqual((await csvRows(server)).map((r) => r.username).sort(), ['FRANK', 'grace']);
});

test('delete_account drops what the server owed the user: a new account of the name gets live broadcasts afresh, also after a restart', async (t) => {
  const server = await testServer(t);
  const heidi = await onlineUser(server, 'heidi');
  const ivan = await onlineUser(server, 'ivan');
  const { bid } = await ivan.inbox.send('before the deletion');
  assert.equal(await received(heidi, bid), 1);
  const queue = server.app.core.broadcasts.queue;
  await waitFor(() => queue.get(bid)?.acked.has('heidi'), { what: "heidi's ack" });

  await heidi.client.deleteAccount(PASSWORD);
  await waitFor(() => heidi.client.state === ClientState.IDLE, { what: 'heidi to be disconnected' });
  assert.equal(queue.get(bid)?.acked.has('heidi'), false, 'her ack went with her account');
  assert.deepEqual([...(queue.get(bid)?.acked ?? [])], ['ivan']);

  await server.restart();
  assert.equal(server.app.core.broadcasts.queue.get(bid)?.acked.has('heidi'), false, 'durably');
  const newcomer = await onlineUser(server, 'Heidi');
  assert.equal(await received(newcomer, bid), 1, 'the new Heidi gets it like any new user');
});

test('a hash made at a lower cost is re-made at the current cost at the next login, durably', async (t) => {
  const {
    server,
    clients: [first],
  } = await serverWithClients(t, { users: ['judy'], password: PASSWORD, scryptLogN: TEST_SCRYPT_LOG_N });
  await first.close(); // else it reconnects after the restart and logs in too
  assert.equal(hashCost(nth(await csvRows(server), 0, 'row').passwordHash), TEST_SCRYPT_LOG_N);

  await server.restart({ scryptLogN: TEST_SCRYPT_LOG_N + 1 });
  const judy = await server.client();
  const rehashed = nextEvent(server.app.core, 'account', (f: { change: string }) => f.change === 'rehashed');
  await judy.login('judy', PASSWORD);
  await rehashed;
  await waitFor(async () => hashCost(nth(await csvRows(server), 0, 'row').passwordHash) === TEST_SCRYPT_LOG_N + 1, {
    what: 'the file to hold the new cost',
  });
  const upgraded = nth(await csvRows(server), 0, 'row').passwordHash;

  // At the current cost, a login leaves the hash alone.
  await judy.close();
  const again = await server.client();
  await again.login('judy', PASSWORD);
  assert.equal(nth(await csvRows(server), 0, 'row').passwordHash, upgraded);

  await server.restart({ scryptLogN: TEST_SCRYPT_LOG_N + 1 });
  const third = await server.client();
  assert.equal((await third.login('judy', PASSWORD)).user, 'judy', 'the new hash checks the same password');
  await assert.rejects((await server.client()).login('judy', 'wrong password!'), hasCode(ErrorCode.AUTH_FAILED));
});

test('concurrent logins right after a cost increase all succeed while one of them re-hashes', async (t) => {
  const server = await startTestServer({ scryptLogN: TEST_SCRYPT_LOG_N });
  const raws: RawClient[] = [];
  defer(t, async () => {
    for (const r of raws) await r.close();
    await server.close();
  });
  const first = await server.client();
  await first.register('nora', PASSWORD);
  await first.close();
  await server.restart({ scryptLogN: TEST_SCRYPT_LOG_N + 2 });
  // As many as section 4.4 lets one username have in flight (a 4th is refused E_RATE_LIMITED).
  for (let i = 0; i < FREE_FAILURES_PER_USER; i++) raws.push(await RawClient.open(server.port));
  // Each login replaces the one before; every one must get its welcome first.
  const replies = await Promise.all(raws.map((r) => r.auth('login', 'nora', PASSWORD)));
  assert.deepEqual(
    replies.map((r) => (r.t === 'error' ? r.code : r.t)),
    Array(FREE_FAILURES_PER_USER).fill('welcome'),
  );
  await waitFor(async () => hashCost(nth(await csvRows(server), 0, 'row').passwordHash) === TEST_SCRYPT_LOG_N + 2, {
    what: 'the re-hash on disk',
  });
});

test('the raw protocol: passwd answers ok, delete_account answers ok then a fatal E_ACCOUNT_DELETED', async (t) => {
  const server = await startTestServer();
  const raw = await RawClient.open(server.port);
  defer(t, async () => {
    await raw.close();
    await server.close();
  });
  assert.equal((await raw.auth('register', 'kim', PASSWORD)).t, 'welcome');
  const id = raw.id();
  raw.send({ t: 'passwd', id, old: PASSWORD, new: NEW_PASSWORD });
  assert.deepEqual(await raw.reply(id), { t: 'ok', re: id });
  const del = raw.id();
  raw.send({ t: 'delete_account', id: del, password: NEW_PASSWORD });
  assert.deepEqual(await raw.reply(del), { t: 'ok', re: del });
  const fatal = await raw.waitFor<ServerError>((m) => m.t === 'error', 'fatal error');
  assert.equal(fatal.code, ErrorCode.ACCOUNT_DELETED);
  assert.equal(fatal.fatal, true);
  await raw.waitClosed();
  raw.socket.destroy();
  const check = await RawClient.open(server.port);
  defer(t, () => check.close());
  const id4 = check.id();
  check.send({ t: 'login', id: id4, proto: PROTOCOL_VERSION, user: 'kim', pass: NEW_PASSWORD });
  assert.equal(((await check.reply(id4)) as ServerError).code, ErrorCode.AUTH_FAILED);
});
