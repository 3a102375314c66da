/**
 * Where PROTOCOL.md and the server disagreed (issue 11 item 5), each point as the document
 * now states it, checked on the wire with a raw client.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { PROTOCOL_VERSION } from '../../src/net/constants.ts';
import { ErrorCode } from '../../src/net/errors.ts';
import { MAX_INVALID_MESSAGES } from '../../src/server/session.ts';
import { RawClient, rawFrame, type ServerError } from '../helpers/raw.ts';
import { testServer, type TestServer } from '../helpers/server.ts';
import { waitFor } from '../helpers/wait.ts';
import { defer } from '../helpers/cleanup.ts';

/** A test server and a list for the raw clients a test opens: the clients close, then the server, when the test ends. */
async function rawServer(t: TestContext): Promise<{ server: TestServer; clients: RawClient[] }> {
  const server = await testServer(t);
  const clients: RawClient[] = [];
  defer(t, async () => {
    for (const c of clients) await c.close();
  });
  return { server, clients };
}

async function user(server: TestServer, clients: RawClient[], name: string, address: string): Promise<RawClient> {
  const client = await RawClient.open(server.port, { localAddress: address });
  clients.push(client);
  assert.equal((await client.auth('register', name, `${name}-password`)).t, 'welcome');
  return client;
}

test('user_list entries are { user, ip }; presence.left names users as registered (mixed case)', async (t) => {
  const { server, clients } = await rawServer(t);
  const ann = await user(server, clients, 'Ann', '127.0.0.2');
  const bob = await user(server, clients, 'BoB', '127.0.0.3');
  const id = ann.id();
  ann.send({ t: 'list_users', id });
  const list = await ann.reply(id);
  assert.ok(list.t === 'user_list');
  assert.deepEqual(
    [...list.users].sort((a, b) => a.user.localeCompare(b.user)),
    [
      { user: 'Ann', ip: '127.0.0.2' },
      { user: 'BoB', ip: '127.0.0.3' },
    ],
  );
  await bob.close();
  const left = await ann.waitFor((m) => m.t === 'presence' && m.left.length > 0, 'BoB leaves');
  assert.ok(left.t === 'presence');
  assert.deepEqual(left.left, ['BoB']);
});

test('a second login while one is being checked is refused with E_BAD_MESSAGE and its re', async (t) => {
  const { server, clients } = await rawServer(t);
  await user(server, clients, 'carol', '127.0.0.2');
  const c = await RawClient.open(server.port, { localAddress: '127.0.0.2' });
  clients.push(c);
  const [first, second] = [c.id(), c.id()];
  // One write: the second arrives while the first's password is being checked.
  c.sendBytes(
    Buffer.concat([
      rawFrame(
        JSON.stringify({ t: 'login', id: first, proto: PROTOCOL_VERSION, user: 'carol', pass: 'carol-password' }),
      ),
      rawFrame(
        JSON.stringify({ t: 'login', id: second, proto: PROTOCOL_VERSION, user: 'carol', pass: 'carol-password' }),
      ),
    ]),
  );
  const refused = (await c.reply(second)) as ServerError;
  assert.equal(refused.t, 'error');
  assert.equal(refused.code, ErrorCode.BAD_MESSAGE);
  assert.equal((await c.reply(first)).t, 'welcome');
});

test('E_VERSION and the fatal error after too many invalid frames carry the re of the message that caused them', async (t) => {
  const { server, clients } = await rawServer(t);
  const v = await RawClient.open(server.port);
  clients.push(v);
  v.send({ t: 'login', id: 7, proto: PROTOCOL_VERSION + 1, user: 'dora', pass: 'dora-password' });
  const version = (await v.reply(7)) as ServerError;
  assert.deepEqual([version.code, version.fatal], [ErrorCode.VERSION, true]);
  await v.waitClosed();

  const bad = await RawClient.open(server.port);
  clients.push(bad);
  for (let i = 1; i <= MAX_INVALID_MESSAGES + 1; i++) bad.send({ t: 'list_users', id: 100 + i, offset: 'x' });
  await bad.waitClosed();
  const fatal = bad.errors().find((e) => e.fatal);
  assert.ok(fatal, JSON.stringify(bad.errors()));
  assert.equal(typeof fatal.re, 'number', `the fatal error carries re: ${JSON.stringify(fatal)}`);
  assert.ok(
    bad.errors().every((e) => typeof e.re === 'number'),
    'every error answered a request with an id',
  );
});

test('a zero-length frame is E_BAD_FRAME and the stream stays usable; a missing or non-string t is E_UNKNOWN_TYPE', async (t) => {
  const { server, clients } = await rawServer(t);
  const c = await RawClient.open(server.port);
  clients.push(c);
  c.sendBytes(Buffer.alloc(4)); // a length of 0
  c.sendBytes(rawFrame(JSON.stringify({ id: 5 })));
  c.sendBytes(rawFrame(JSON.stringify({ t: 42, id: 6 })));
  await waitFor(() => c.errors().length === 3, { what: 'three errors' });
  assert.deepEqual(
    c.errors().map((e) => [e.code, e.re ?? null, e.fatal ?? false]),
    [
      [ErrorCode.BAD_FRAME, null, false],
      [ErrorCode.UNKNOWN_TYPE, 5, false],
      [ErrorCode.UNKNOWN_TYPE, 6, false],
    ],
  );
  assert.equal((await c.auth('register', 'erin', 'erin-password')).t, 'welcome', 'the stream is still usable');
});

test('broadcast text with a lone surrogate is refused with E_BAD_MESSAGE, not relayed', async (t) => {
  const { server, clients } = await rawServer(t);
  const sender = await user(server, clients, 'fay', '127.0.0.2');
  const other = await user(server, clients, 'gus', '127.0.0.3');
  // JSON can carry "\ud800"; UTF-8 cannot.
  sender.sendBytes(rawFrame('{"t":"broadcast","id":9,"text":"half \\ud800 a pair"}'));
  const refused = (await sender.reply(9)) as ServerError;
  assert.deepEqual([refused.t, refused.code], ['error', ErrorCode.BAD_MESSAGE]);
  // A whole pair (an emoji) is fine, and is the only one anybody gets.
  const id = sender.id();
  sender.sendBytes(rawFrame(`{"t":"broadcast","id":${id},"text":"whole \\ud83d\\ude00"}`));
  assert.equal((await sender.reply(id)).t, 'broadcast_ok');
  const got = await other.waitFor((m) => m.t === 'broadcast', 'the broadcast');
  assert.ok(got.t === 'broadcast');
  assert.equal(got.b.text, 'whole \u{1F600}');
  assert.equal(server.app.core.broadcasts.pending().length, 1);
});
