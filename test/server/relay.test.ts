/**
 * The server's relay on loopback (PROTOCOL.md section 6.6): tokens and tickets, splicing, the
 * peer TLS-PSK handshake through it, and its limits. Real server, real sockets, no namespaces.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { test } from 'node:test';
import { PeerLink } from '../../src/client/peer/link.ts';
import { pskOverStream } from '../../src/client/peer/psk-stream.ts';
import { ErrorCode, type ProtocolError } from '../../src/net/errors.ts';
import { derivePeerKey } from '../../src/net/peer-tls.ts';
import type { RelayEvents } from '../../src/server/relay/events.ts';
import { RELAY_TOKEN_TTL_MS } from '../../src/net/constants.ts';
import { RawClient } from '../helpers/raw.ts';
import { introduce, joinAs, openHalf, relayPair, ticketFor } from '../helpers/relay.ts';
import { testServer } from '../helpers/server.ts';
import { nextEvent, waitFor } from '../helpers/wait.ts';

async function refusedWith(promise: Promise<unknown>, code: string): Promise<void> {
  const err = (await promise.then(
    () => assert.fail(`expected ${code}`),
    (e: unknown) => e,
  )) as ProtocolError;
  assert.equal(err.code, code, err.message);
}

function collect(stream: Duplex): { bytes: () => number; data: () => Buffer } {
  const chunks: Buffer[] = [];
  let n = 0;
  stream.on('data', (c: Buffer) => {
    chunks.push(c);
    n += c.length;
  });
  stream.resume(); // openRelay hands the stream over paused
  return { bytes: () => n, data: () => Buffer.concat(chunks) };
}

test('a relayed peer link: same TLS-PSK handshake, equal verification codes, chat both ways, the server sees only ciphertext', async (t) => {
  const server = await testServer(t);
  const relayed: Buffer[] = [];
  server.app.core.relay.tap = (_from, chunk) => relayed.push(Buffer.from(chunk));
  const events: Array<[string, unknown]> = [];
  for (const name of ['relay_open', 'relay_closed'] as const) server.app.core.on(name, (e) => events.push([name, e]));
  const alice = await joinAs(server, 'alice');
  const bob = await joinAs(server, 'bob');
  const { reqId, secret, ab, ba } = await relayPair(server, alice, bob);
  assert.equal(server.app.core.relay.circuitCount, 1);
  const key = derivePeerKey(Buffer.from(secret, 'base64url'), reqId);
  const [tlsA, tlsB] = await Promise.all([
    pskOverStream(ab, 'client', reqId, key, 10_000),
    pskOverStream(ba, 'server', reqId, key, 10_000),
  ]);
  const linkA = new PeerLink(tlsA, {
    reqId,
    role: 'requester',
    selfUser: 'alice',
    peerUser: 'bob',
    peerIp: '127.0.0.1',
  });
  const linkB = new PeerLink(tlsB, { reqId, role: 'target', selfUser: 'bob', peerUser: 'alice', peerIp: '127.0.0.1' });
  await Promise.all([linkA.ready(), linkB.ready()]);
  assert.equal(linkA.verificationCode, linkB.verificationCode);
  const secretWords = 'the falcon flies at midnight';
  const gotB = nextEvent<[{ text: string }]>(linkB, 'message');
  const delivered = nextEvent<[number]>(linkA, 'delivered');
  linkA.send(secretWords);
  assert.equal((await gotB)[0].text, secretWords);
  assert.equal((await delivered)[0], 1);
  const gotA = nextEvent<[{ text: string }]>(linkA, 'message');
  linkB.send('and the owl at noon');
  assert.equal((await gotA)[0].text, 'and the owl at noon');
  const all = Buffer.concat(relayed);
  assert.ok(all.length > 0);
  assert.equal(all.includes(Buffer.from(secretWords)), false, 'the plaintext went through the server');
  assert.equal(all.includes(Buffer.from('falcon')), false);
  assert.equal(all.includes(Buffer.from('owl at noon')), false);
  const closed = nextEvent(server.app.core, 'relay_closed');
  linkA.close('done');
  await closed;
  assert.equal(server.app.core.relay.circuitCount, 0);
  const open = events.find(([n]) => n === 'relay_open')?.[1] as RelayEvents['relay_open'][0];
  assert.deepEqual({ from: open.from, to: open.to }, { from: 'alice', to: 'bob' });
  const end = events.find(([n]) => n === 'relay_closed')?.[1] as RelayEvents['relay_closed'][0];
  assert.ok(end.up > 0 && end.down > 0, 'sizes are logged');
  // Never a token, a ticket or content in the events.
  assert.equal(JSON.stringify(events).includes('falcon'), false);
});

test("tokens: unknown, foreign, another user's, spent and late are each refused with their own code", async (t) => {
  let skewMs = 0;
  const server = await testServer(t, { now: () => Date.now() + skewMs });
  const alice = await joinAs(server, 'alice');
  const bob = await joinAs(server, 'bob');
  const carol = await joinAs(server, 'carol');
  const dave = await joinAs(server, 'dave');
  const one = await introduce(alice, bob);
  const two = await introduce(carol, dave);
  const aliceToken = one.forA.relay as string;
  await refusedWith(
    alice.client.request({ t: 'relay_request', reqId: one.forA.reqId, token: randomBytes(16).toString('base64url') }),
    ErrorCode.RELAY_TOKEN_UNKNOWN,
  );
  await refusedWith(
    alice.client.request({ t: 'relay_request', reqId: two.forA.reqId, token: aliceToken }),
    ErrorCode.RELAY_TOKEN_FOREIGN,
  );
  // A third user holding alice's token gets nothing from it; nor does the other party.
  await refusedWith(
    carol.client.request({ t: 'relay_request', reqId: one.forA.reqId, token: aliceToken }),
    ErrorCode.RELAY_WRONG_USER,
  );
  await refusedWith(
    bob.client.request({ t: 'relay_request', reqId: one.forA.reqId, token: aliceToken }),
    ErrorCode.RELAY_WRONG_USER,
  );
  const ticket = await ticketFor(alice, one.forA.reqId, aliceToken);
  assert.match(ticket, /^[A-Za-z0-9_-]{22}$/);
  await refusedWith(
    alice.client.request({ t: 'relay_request', reqId: one.forA.reqId, token: aliceToken }),
    ErrorCode.RELAY_TOKEN_SPENT,
  );
  // Late: the server's clock moves past carol's unused token's TTL.
  skewMs = RELAY_TOKEN_TTL_MS + 1_000;
  await refusedWith(
    carol.client.request({ t: 'relay_request', reqId: two.forA.reqId, token: two.forA.relay as string }),
    ErrorCode.RELAY_TOKEN_EXPIRED,
  );
});

test('tickets: none, made-up, reused; and relay_request before login', async (t) => {
  const server = await testServer(t);
  const alice = await joinAs(server, 'alice');
  const bob = await joinAs(server, 'bob');
  const refusals: Array<RelayEvents['relay_refused'][0]> = [];
  server.app.core.on('relay_refused', (e) => refusals.push(e));
  await refusedWith(openHalf(server, alice, randomBytes(16).toString('base64url')), ErrorCode.RELAY_TOKEN_UNKNOWN);
  const { forA } = await introduce(alice, bob);
  const ticket = await ticketFor(alice, forA.reqId, forA.relay as string);
  const half = openHalf(server, alice, ticket, 30_000);
  half.catch(() => {});
  await waitFor(() => server.app.core.relay.pendingCount === 1, { what: 'the half to wait' });
  await refusedWith(openHalf(server, alice, ticket), ErrorCode.RELAY_TOKEN_SPENT);
  assert.deepEqual(
    refusals.map((r) => r.code),
    [ErrorCode.RELAY_TOKEN_UNKNOWN, ErrorCode.RELAY_TOKEN_SPENT],
  );
  const raw = await RawClient.open(server.port);
  const id = raw.id();
  raw.send({ t: 'relay_request', id, reqId: forA.reqId, token: forA.relay });
  const reply = await raw.reply(id);
  assert.equal(reply.t === 'error' && reply.code, ErrorCode.NOT_AUTHENTICATED);
  raw.socket.destroy();
});

test('a half whose other side never comes is told E_RELAY_PEER_ABSENT and its place is freed', async (t) => {
  const server = await testServer(t, { relay: { pairTimeoutMs: 300 } });
  const alice = await joinAs(server, 'alice');
  const bob = await joinAs(server, 'bob');
  const { forA } = await introduce(alice, bob);
  const ticket = await ticketFor(alice, forA.reqId, forA.relay as string);
  await refusedWith(openHalf(server, alice, ticket), ErrorCode.RELAY_PEER_ABSENT);
  await waitFor(() => server.app.core.relay.pendingCount === 0, { what: 'the place to be freed' });
});

test('circuit limits: per user, then the token is refused with E_RELAY_FULL', async (t) => {
  const server = await testServer(t, { relay: { maxCircuitsPerUser: 1 } });
  const alice = await joinAs(server, 'alice');
  const bob = await joinAs(server, 'bob');
  const carol = await joinAs(server, 'carol');
  const first = await relayPair(server, alice, bob);
  const { forA } = await introduce(alice, carol);
  await refusedWith(
    alice.client.request({ t: 'relay_request', reqId: forA.reqId, token: forA.relay as string }),
    ErrorCode.RELAY_FULL,
  );
  first.ab.destroy();
  await waitFor(() => server.app.core.relay.circuitCount === 0 && server.app.core.relay.pendingCount === 0, {
    what: 'the circuit to end',
  });
  const again = await introduce(alice, carol);
  assert.ok(await ticketFor(alice, again.forA.reqId, again.forA.relay as string));
});

test('a flooding sender is held to its byte rate while another circuit stays responsive', async (t) => {
  const rate = 64 * 1024;
  const server = await testServer(t, { relay: { bytesPerSecond: rate } });
  const [alice, bob, carol, dave] = await Promise.all([
    joinAs(server, 'alice'),
    joinAs(server, 'bob'),
    joinAs(server, 'carol'),
    joinAs(server, 'dave'),
  ]);
  const flood = await relayPair(server, alice, bob);
  const calm = await relayPair(server, carol, dave);
  const received = collect(flood.ba);
  const started = Date.now();
  const block = Buffer.alloc(16 * 1024, 7);
  let stop = false;
  const pump = () => {
    while (!stop && flood.ab.write(block)) {
      // write until the socket's buffer is full
    }
    if (!stop) flood.ab.once('drain', pump);
  };
  pump();
  await waitFor(() => received.bytes() > 3 * rate, { what: 'three seconds of flood', timeoutMs: 30_000 });
  // The calm pair still gets an echo through while the flood runs.
  const echoed = collect(calm.ba);
  calm.ab.write('ping');
  await waitFor(() => echoed.bytes() >= 4, { what: "the calm circuit's bytes" });
  const elapsedS = (Date.now() - started) / 1000;
  stop = true;
  // Upper bound only (a busy machine can only make it lower): burst of one second plus the rate.
  assert.ok(
    received.bytes() <= rate * (elapsedS + 1) + block.length * 4,
    `${received.bytes()} bytes in ${elapsedS} s over the cap`,
  );
  flood.ab.destroy();
  calm.ab.destroy();
});

test('a side that never reads is cut as a slow consumer; the circuit ends', async (t) => {
  const server = await testServer(t, { relay: { stallTimeoutMs: 500, bufferBytes: 32 * 1024 } });
  const alice = await joinAs(server, 'alice');
  const bob = await joinAs(server, 'bob');
  const closed = nextEvent<[RelayEvents['relay_closed'][0]]>(server.app.core, 'relay_closed');
  const { ab, ba } = await relayPair(server, alice, bob);
  ba.pause(); // bob never reads
  const block = Buffer.alloc(64 * 1024, 1);
  const pump = () => {
    while (!ab.destroyed && ab.write(block)) {
      // write until the socket's buffer is full
    }
    if (!ab.destroyed) ab.once('drain', pump);
  };
  ab.on('error', () => {});
  ba.on('error', () => {});
  pump();
  const [info] = await closed;
  assert.equal(info.code, ErrorCode.SLOW_CONSUMER);
  assert.match(info.reason, /bob/);
  await waitFor(() => ab.destroyed || (ab as { closed?: boolean }).closed, { what: "alice's half to close" });
});

test('relay halves do not hold places meant for connections before login (admission, section 3.6)', async (t) => {
  // Four places per address before login: the two logged-in clients free theirs at login,
  // and each relay half must free its own once spliced, or the third pair could not open.
  const server = await testServer(t, { maxPendingPerIp: 4 });
  const alice = await joinAs(server, 'alice');
  const bob = await joinAs(server, 'bob');
  const pairs = [];
  for (let i = 0; i < 3; i++) pairs.push(await relayPair(server, alice, bob));
  assert.equal(server.app.core.relay.circuitCount, 3);
  // And a newcomer from the same address still gets in and logs in.
  const carol = await joinAs(server, 'carol');
  assert.ok(carol.client.session);
  for (const pair of pairs) pair.ab.destroy();
});
