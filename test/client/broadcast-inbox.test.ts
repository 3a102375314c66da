/**
 * The client's side of broadcasts (PROTOCOL.md sections 5.2, 7.2): forged, altered and
 * replayed datagrams never reach the inbox and are counted; the inbox is bounded.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { UDP_TOKEN_ACK_VERSION } from '../../src/net/constants.ts';
import { Direction, sealDatagram } from '../../src/net/datagram.ts';
import { decodeTokenAck } from '../../src/net/token-ack.ts';
import { tokenText } from '../helpers/ack-token.ts';
import { onlineUser, received } from '../helpers/broadcast.ts';
import { startTestServer, testServer } from '../helpers/server.ts';
import { UdpProxy } from '../helpers/udp-proxy.ts';
import { waitFor } from '../helpers/wait.ts';
import { defer } from '../helpers/cleanup.ts';
import { nth } from '../helpers/assert.ts';

const SEQ_OFFSET = 9;

test('forged, altered and replayed broadcast datagrams are dropped and counted, never shown', async (t) => {
  const server = await startTestServer();
  const proxy = await UdpProxy.start({ target: { host: '127.0.0.1', port: server.app.listening.udpPort } });
  defer(t, async () => {
    await server.close();
    await proxy.close();
  });
  const alice = await onlineUser(server, 'alice');
  const bob = await onlineUser(server, 'bob', { proxy });
  const sent = await alice.inbox.send('the real one');
  await received(bob, sent.bid);
  // The broadcast is the largest datagram the proxy relayed (the others are welcome/pong).
  const real = proxy.capturedDown.reduce((a, b) => (b.length > a.length ? b : a));
  const sid = real.subarray(1, SEQ_OFFSET);
  const drops = bob.client.udpDrops;

  proxy.inject(real); // a replay, byte for byte
  await waitFor(() => drops.replayed === 1, { what: 'the replay to be dropped' });

  const reheadered = Buffer.from(real);
  reheadered.writeUInt32BE(0, SEQ_OFFSET);
  reheadered.writeUInt32BE(1_000_000, SEQ_OFFSET + 4); // a fresh sequence number: the tag no longer matches
  proxy.inject(reheadered);
  const altered = Buffer.from(reheadered);
  altered.writeUInt32BE(1_000_001, SEQ_OFFSET + 4);
  altered.writeUInt8(altered.readUInt8(20) ^ 0x01, 20); // one bit of ciphertext
  proxy.inject(altered);
  // Someone who saw the session id (it travels in clear) but has no key makes a whole new broadcast.
  const spoof = Buffer.from(
    JSON.stringify({
      t: 'bcast',
      b: { bid: 'badbad', from: 'alice', text: 'send me your password', createdAt: 1, expiresAt: 2 ** 40 },
    }),
  );
  proxy.inject(sealDatagram(randomBytes(32), sid, Direction.SERVER_TO_CLIENT, 2_000_000, spoof));
  await waitFor(() => drops.forged === 3, { what: 'three forgeries to be dropped' });

  proxy.inject(sealDatagram(randomBytes(32), randomBytes(8), Direction.SERVER_TO_CLIENT, 1, spoof));
  proxy.inject(Buffer.from('not a datagram'));
  await waitFor(() => drops.unknown_session === 1 && drops.malformed === 1, { what: 'stray datagrams to be dropped' });

  assert.deepEqual(
    bob.inbox.items.map((item) => item.bid),
    [sent.bid],
  );
  assert.equal(bob.inbox.stats.duplicates, 0, 'nothing forged or replayed got as far as the inbox');
  assert.equal(bob.inbox.has('badbad'), false);
  assert.equal(bob.client.udpState, 'alive', 'the real path still works');
});

test('the inbox acks a copy that carries k by token (section 5.4), and the server counts it', async (t) => {
  // No copy is resent before the test ends (a first RTO of 10 minutes): one copy, one ack each.
  const server = await testServer(t, { broadcastRto: { initialMs: 10 * 60_000 } });
  const proxy = await UdpProxy.start({ target: { host: '127.0.0.1', port: server.app.listening.udpPort } });
  defer(t, () => proxy.close());
  const delivered: string[] = [];
  server.app.core.on('broadcast_delivered', ({ bid }) => delivered.push(bid));
  const alice = await onlineUser(server, 'alice');
  const bob = await onlineUser(server, 'bob', { proxy });
  const tokens = new Map<string, string | undefined>();
  bob.client.on('udpMessage', (m) => {
    if (m.t === 'bcast') tokens.set(m.b.bid, m.k);
  });

  const sent = await alice.inbox.send('ack me by token');
  await received(bob, sent.bid);
  assert.equal(nth(bob.inbox.items, 0, 'broadcast').via, 'udp');
  await waitFor(() => delivered.includes(sent.bid), { what: 'both acks counted' });
  const k = tokens.get(sent.bid);
  assert.ok(k, 'the copy bob got carried a token');
  // What went up through bob's proxy: a token ack naming the copy and echoing its k.
  const tokenAcks = proxy.capturedUp.filter((d) => d[0] === UDP_TOKEN_ACK_VERSION).map((d) => decodeTokenAck(d));
  assert.deepEqual(
    tokenAcks.flatMap((ack) => ack?.entries.map((e) => [e.bid, tokenText(e.hi, e.lo)]) ?? [['undecodable']]),
    [[sent.bid, k]],
  );
  assert.equal(bob.inbox.stats.acksSent, 1);
  const stats = server.app.core.broadcasts.stats();
  assert.equal(stats.acks, 2);
  assert.equal(stats.retransmits + stats.tcpSent, 0, 'each ack counted at the first copy');
  assert.deepEqual(server.app.core.udp.dropped, { malformed: 0, unknown_session: 0, replayed: 0, forged: 0 });
});

test('the inbox keeps the newest broadcasts up to its bound and counts them all', async (t) => {
  const server = await testServer(t, { broadcastsPerMinute: 100 });
  const alice = await onlineUser(server, 'alice', { inbox: { maxItems: 3 } });
  const bids: string[] = [];
  for (let i = 0; i < 5; i++) bids.push((await alice.inbox.send(`number ${i}`)).bid);
  await waitFor(() => alice.inbox.stats.received === 5, { what: 'all five' });
  assert.deepEqual(
    alice.inbox.items.map((item) => item.text),
    ['number 2', 'number 3', 'number 4'],
  );
  assert.equal(
    alice.inbox.has(nth(bids, 0, 'bid')),
    true,
    'ids outlive the display bound, so an old one is not shown again',
  );
});

test('a different account on the same client starts with an empty inbox', async (t) => {
  const server = await testServer(t);
  const alice = await onlineUser(server, 'alice');
  const sent = await alice.inbox.send('for alice and bob');
  await received(alice, sent.bid);
  // Another login as alice takes over; this client is left idle and may log in as someone else.
  await onlineUser(server, 'alice', { login: true, waitUdp: false });
  await waitFor(() => alice.client.state === 'idle', { what: 'the first alice to be replaced' });
  await alice.client.register('carol', 'correct horse battery');
  await received(alice, sent.bid); // carol gets it at login, as a new item
  assert.deepEqual(
    alice.inbox.items.map((item) => [item.bid, item.via]),
    [[sent.bid, 'tcp']],
  );
});
