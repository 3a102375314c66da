/**
 * Broadcasts end to end on real sockets (PROTOCOL.md section 7): who gets one, when, how
 * often, and the limits. Loss and dead paths: broadcast-loss.test.ts; restarts:
 * broadcast-restart.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect } from 'node:tls';
import { FramedConnection } from '../../src/net/connection.ts';
import { serverMessages, type ClientMessage, type ServerMessage } from '../../src/net/messages.ts';
import { MAX_BROADCAST_TEXT_BYTES } from '../../src/net/constants.ts';
import { ErrorCode, ProtocolError } from '../../src/net/errors.ts';
import type { ServerEvents } from '../../src/server/events.ts';
import { bidsOf, onlineUser, received } from '../helpers/broadcast.ts';
import { startTestServer, testServer } from '../helpers/server.ts';
import { UdpProxy } from '../helpers/udp-proxy.ts';
import { waitFor } from '../helpers/wait.ts';
import { defer } from '../helpers/cleanup.ts';
import { nth } from '../helpers/assert.ts';

const isCode = (code: string) => (err: unknown) => err instanceof ProtocolError && err.code === code;

test('every online user gets a broadcast over UDP, the sender too, and everyone acks it', async (t) => {
  const server = await startTestServer();
  const events: Array<keyof ServerEvents> = [];
  for (const name of ['broadcast_created', 'broadcast_fanout', 'broadcast_delivered'] as const) {
    server.app.core.on(name, () => events.push(name));
  }
  defer(t, () => server.close());
  const users = await Promise.all(['alice', 'bob', 'carol'].map((name) => onlineUser(server, name)));
  const sent = await nth(users, 0, 'user').inbox.send('hello, everyone');
  assert.match(sent.bid, /^[0-9a-f]{16}$/);
  assert.equal(sent.expiresAt - sent.createdAt, 30 * 60_000, 'default ttl is 30 minutes');
  for (const user of users) {
    assert.equal(await received(user, sent.bid), 1);
    const item = nth(user.inbox.items, 0, 'broadcast');
    assert.equal(item.from, 'alice');
    assert.equal(item.text, 'hello, everyone');
    assert.equal(item.via, 'udp');
  }
  const core = server.app.core;
  await waitFor(() => core.broadcasts.pending()[0]?.acked === 3, { what: 'three acks' });
  const row = nth(core.broadcasts.pending(), 0, 'pending broadcast');
  assert.equal(row.registered, 3);
  assert.equal(row.from, 'alice');
  assert.equal(row.preview, 'hello, everyone');
  assert.ok(row.timeLeftMs > 29 * 60_000);
  assert.deepEqual(events, ['broadcast_created', 'broadcast_fanout', 'broadcast_delivered']);
  assert.equal(core.broadcasts.stats().retransmits, 0);
});

test('users who log in before the expiry get it once at login, even ones registered after it; later users do not', async (t) => {
  const ttlMs = 2_000;
  const server = await startTestServer({ broadcastTtlMs: ttlMs });
  const expired: string[] = [];
  server.app.core.on('broadcast_expired', (e) => expired.push(e.bid));
  defer(t, () => server.close());
  const alice = await onlineUser(server, 'alice');
  const bob = await onlineUser(server, 'bob');
  await bob.client.close(); // registered, offline
  const first = await alice.inbox.send('while bob is away');

  const bobAgain = await onlineUser(server, 'bob', { login: true, waitUdp: false });
  assert.equal(await received(bobAgain, first.bid), 1);
  assert.equal(nth(bobAgain.inbox.items, 0, 'broadcast').via, 'tcp', 'the login backlog goes over the TLS connection');
  const dave = await onlineUser(server, 'dave', { waitUdp: false }); // registered after the broadcast
  assert.equal(await received(dave, first.bid), 1);

  await waitFor(() => expired.includes(first.bid), { what: 'the first broadcast to expire', timeoutMs: ttlMs + 5_000 });
  assert.deepEqual(server.app.core.broadcasts.pending(), []);
  const second = await alice.inbox.send('after the first expired');
  const erin = await onlineUser(server, 'erin', { waitUdp: false });
  await received(erin, second.bid);
  // The backlog is sent oldest first on one connection: had the first come, it would be here.
  assert.deepEqual(bidsOf(erin), [second.bid]);
});

test('exactly once across reconnects: repeats after a lost ack are dropped, acked ones are not sent again', async (t) => {
  const server = await startTestServer({ broadcastRto: { initialMs: 2_000, minMs: 2_000 } });
  const proxy = await UdpProxy.start({ target: { host: '127.0.0.1', port: server.app.listening.udpPort } });
  defer(t, async () => {
    await server.close();
    await proxy.close();
  });
  const alice = await onlineUser(server, 'alice');
  const bob = await onlineUser(server, 'bob', { proxy });
  proxy.dropUp = 1; // bob's acks are lost from now on; his path still looks alive to the server
  const kick = () => server.app.core.presence.get('bob')?.conn.destroy();
  const gotFirst = new Promise<void>((resolve) => bob.inbox.once('broadcast', () => resolve()));
  const first = await alice.inbox.send('first');
  await gotFirst;
  kick(); // before any retransmission: the server never heard bob's ack
  proxy.dropUp = 0;
  await waitFor(() => bob.inbox.stats.duplicates === 1, { what: 'the login backlog to bring the first again' });
  assert.equal(await received(bob, first.bid), 1, 'shown once although received twice');
  await waitFor(() => server.app.core.broadcasts.pending()[0]?.acked === 2, { what: "bob's ack over TCP" });

  kick(); // now acked: the next login must not bring it
  await waitFor(() => bob.client.state === 'online' && server.app.core.presence.get('bob') !== undefined, {
    what: 'bob back',
  });
  const second = await alice.inbox.send('second');
  await received(bob, second.bid);
  assert.deepEqual(bidsOf(bob), [first.bid, second.bid]);
  assert.equal(bob.inbox.stats.duplicates, 1);
});

test('limits: text size, per-sender rate, queue cap; nothing before login', async (t) => {
  const server = await testServer(t, { broadcastsPerMinute: 2, maxPendingBroadcasts: 3 });
  const alice = await onlineUser(server, 'alice', { waitUdp: false });
  const bob = await onlineUser(server, 'bob', { waitUdp: false });
  const big = 'é'.repeat(MAX_BROADCAST_TEXT_BYTES / 2 + 1); // 4098 bytes, 2049 characters
  await assert.rejects(alice.client.request({ t: 'broadcast', text: big }), isCode(ErrorCode.BROADCAST_TOO_LARGE));
  await assert.rejects(alice.inbox.send(big), isCode(ErrorCode.BROADCAST_TOO_LARGE), 'checked before sending too');
  await alice.inbox.send('x'.repeat(MAX_BROADCAST_TEXT_BYTES)); // exactly the limit is fine
  await alice.inbox.send('two');
  const limited = await alice.inbox.send('three').then(
    () => assert.fail('a third broadcast within a minute must be refused'),
    (err: ProtocolError) => err,
  );
  assert.equal(limited.code, ErrorCode.RATE_LIMITED);
  assert.ok(limited.retryAfterMs !== undefined && limited.retryAfterMs > 50_000 && limited.retryAfterMs <= 60_000);
  await bob.inbox.send('fills the queue');
  await assert.rejects(bob.inbox.send('one too many'), isCode(ErrorCode.QUEUE_FULL));
  await assert.rejects(alice.inbox.send(''), isCode(ErrorCode.BAD_MESSAGE));
  assert.equal(server.app.core.broadcasts.pending().length, 3);

  // Before login the server's guard answers, whatever the client library would allow.
  const socket = connect({ host: '127.0.0.1', port: server.port, rejectUnauthorized: false });
  const conn = new FramedConnection<typeof serverMessages, ClientMessage>(socket, serverMessages);
  const replies: ServerMessage[] = [];
  conn.on('message', (m) => replies.push(m));
  await waitFor(() => replies.some((m) => m.t === 'hello'), { what: 'hello' });
  conn.send({ t: 'broadcast', id: 7, text: 'hi' });
  const refusal = await waitFor(() => replies.find((m) => m.t === 'error'), { what: 'refusal' });
  assert.deepEqual(
    [refusal.t === 'error' && refusal.code, refusal.t === 'error' && refusal.re],
    [ErrorCode.NOT_AUTHENTICATED, 7],
  );
  conn.end();
});

test('text is relayed as sent and sanitised by the client; the dashboard preview is safe and short', async (t) => {
  const server = await testServer(t);
  const alice = await onlineUser(server, 'alice', { waitUdp: false });
  const hostile = `\u001b]0;owned\u0007\u001b[2Jhi\u202e there ${'y'.repeat(100)}`;
  const sent = await alice.inbox.send(hostile);
  await received(alice, sent.bid);
  assert.equal(nth(alice.inbox.items, 0, 'broadcast').text, `hi there ${'y'.repeat(100)}`);
  const row = nth(server.app.core.broadcasts.pending(), 0, 'pending broadcast');
  assert.equal([...row.preview].length, 60);
  assert.ok(row.preview.startsWith('hi there y') && row.preview.endsWith('…'));
  assert.equal(row.bytes, Buffer.byteLength(hostile));
});
