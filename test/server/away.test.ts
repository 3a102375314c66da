/**
 * away and back (PROTOCOL.md section 4.7) over real TLS sockets on loopback: the state
 * reaches every other user's list through presence and `list_users`, a login starts
 * available, an over-long reason is refused with its own code, nothing is accepted before
 * login, and a receiving client makes the reason safe for a terminal.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { P2PClient } from '../../src/client/client.ts';
import { MAX_AWAY_REASON_BYTES } from '../../src/net/constants.ts';
import { ErrorCode, ProtocolError } from '../../src/net/errors.ts';
import type { UserEntry } from '../../src/net/messages.ts';
import { defer } from '../helpers/cleanup.ts';
import { RawClient, type ServerError } from '../helpers/raw.ts';
import { passwordOf, serverWithClients, testServer } from '../helpers/server.ts';
import { waitFor } from '../helpers/wait.ts';

const entryOf = (client: P2PClient, user: string): UserEntry | undefined =>
  client.onlineUsers.find((u) => u.user === user);

/** Wait until `client` lists `user` with exactly this away state (undefined: available). */
const seesAway = (client: P2PClient, user: string, away: string | undefined) =>
  waitFor(
    () => {
      const entry = entryOf(client, user);
      return entry !== undefined && entry.away === away ? entry : null;
    },
    { what: `${user} listed with away=${String(away)}` },
  );

const hasCode = (code: string) => (err: unknown) => err instanceof ProtocolError && err.code === code;

test('away with a reason and back reach the other users, in presence and in list_users', async (t) => {
  const {
    clients: [alice, bob],
  } = await serverWithClients(t, { users: ['alice', 'bob'] });
  await alice.setAway('lunch, back at 2');
  await seesAway(bob, 'alice', 'lunch, back at 2');
  // Our own entry says so too (the client shows "away" in its status line from it).
  await seesAway(alice, 'alice', 'lunch, back at 2');
  assert.equal(
    (await bob.refreshUsers()).find((u) => u.user === 'alice')?.away,
    'lunch, back at 2',
    'list_users carries it',
  );
  // Sent again: the reason is replaced. Without a reason: away with ''.
  await alice.setAway('');
  await seesAway(bob, 'alice', '');
  await alice.setAway(null);
  await seesAway(bob, 'alice', undefined);
  assert.equal(entryOf(bob, 'bob')?.away, undefined, 'bob never went away');
  // back when not away is fine.
  await alice.setAway(null);
});

test('a new login starts available: away ends with the session', async (t) => {
  const {
    server,
    clients: [alice, bob],
  } = await serverWithClients(t, { users: ['alice', 'bob'] });
  await alice.setAway('gone home');
  await seesAway(bob, 'alice', 'gone home');
  await alice.close();
  await waitFor(() => entryOf(bob, 'alice') === undefined, { what: 'alice gone from the list' });
  const again = await server.client();
  await again.login('alice', passwordOf('alice'));
  await seesAway(bob, 'alice', undefined);
  // A login that replaces a session that was away starts available too.
  await again.setAway('brb');
  await seesAway(bob, 'alice', 'brb');
  const third = await server.client();
  await third.login('alice', passwordOf('alice'));
  await waitFor(() => entryOf(third, 'alice'), { what: 'alice listed for the new session' });
  await seesAway(bob, 'alice', undefined);
});

test('an over-long reason is refused with E_AWAY_TOO_LARGE, by the client before sending and by the server', async (t) => {
  const {
    clients: [alice, bob],
  } = await serverWithClients(t, { users: ['alice', 'bob'] });
  const long = 'é'.repeat(MAX_AWAY_REASON_BYTES / 2 + 1); // 2 bytes each: just over
  await assert.rejects(alice.setAway(long), hasCode(ErrorCode.AWAY_TOO_LARGE));
  // Past the client's own check, straight to the server.
  await assert.rejects(alice.request({ t: 'away', reason: long }), hasCode(ErrorCode.AWAY_TOO_LARGE));
  await alice.setAway('é'.repeat(MAX_AWAY_REASON_BYTES / 2)); // exactly the limit
  await seesAway(bob, 'alice', 'é'.repeat(MAX_AWAY_REASON_BYTES / 2));
});

test('away and back need a login; a reason that is not text is a bad message', async (t) => {
  const server = await testServer(t);
  const raw = await RawClient.open(server.port);
  defer(t, () => raw.close());
  const id = raw.id();
  raw.send({ t: 'away', id, reason: 'x' });
  assert.equal(((await raw.reply(id)) as ServerError).code, ErrorCode.NOT_AUTHENTICATED);
  const id2 = raw.id();
  raw.send({ t: 'back', id: id2 });
  assert.equal(((await raw.reply(id2)) as ServerError).code, ErrorCode.NOT_AUTHENTICATED);
  assert.equal((await raw.auth('register', 'carol', passwordOf('carol'))).t, 'welcome');
  const id3 = raw.id();
  raw.send({ t: 'away', id: id3, reason: 42 });
  assert.equal(((await raw.reply(id3)) as ServerError).code, ErrorCode.BAD_MESSAGE);
  const id4 = raw.id();
  raw.send({ t: 'away', id: id4, reason: 'ok\ud800' });
  assert.equal(((await raw.reply(id4)) as ServerError).code, ErrorCode.BAD_MESSAGE);
  const id5 = raw.id();
  raw.send({ t: 'away', id: id5 });
  assert.equal((await raw.reply(id5)).t, 'ok');
});

test('a receiving client strips escape sequences and line breaks from a reason', async (t) => {
  const {
    clients: [mallory, bob],
  } = await serverWithClients(t, { users: ['mallory', 'bob'] });
  await mallory.request({ t: 'away', reason: '\x1b]0;owned\x07out\x1b[2J\nto\tlunch\x9b31m' });
  await seesAway(bob, 'mallory', 'out to lunch');
});
