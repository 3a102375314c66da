/**
 * Reliable delivery over an unreliable path (PROTOCOL.md section 7.2): datagrams lost both
 * ways, a UDP path that never works, and one that dies without the server noticing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { onlineUser, received, type User } from '../helpers/broadcast.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { UdpProxy } from '../helpers/udp-proxy.ts';
import { waitFor } from '../helpers/wait.ts';
import { defer } from '../helpers/cleanup.ts';
import { nth } from '../helpers/assert.ts';
import { BROADCAST_RTO_MIN_MS } from '../../src/net/constants.ts';

/** Short enough that retransmissions and fallbacks happen within a test's second or two. */
const INITIAL_RTO_MS = 100;

async function withProxies(
  count: number,
  options: { dropUp?: number; dropDown?: number },
  server: TestServer,
): Promise<UdpProxy[]> {
  const target = { host: '127.0.0.1', port: server.app.listening.udpPort };
  return Promise.all(Array.from({ length: count }, (_, i) => UdpProxy.start({ target, ...options, seed: 1000 + i })));
}

test('10% of datagrams lost both ways: every user still gets every broadcast, shown exactly once', async (t) => {
  const server = await startTestServer({ broadcastRto: { initialMs: INITIAL_RTO_MS }, broadcastsPerMinute: 100 });
  const proxies = await withProxies(8, { dropUp: 0.1, dropDown: 0.1 }, server);
  defer(t, async () => {
    await server.close();
    await Promise.all(proxies.map((p) => p.close()));
  });
  const users: User[] = [];
  for (const [i, proxy] of proxies.entries()) users.push(await onlineUser(server, `user${i}`, { proxy }));
  const bids: string[] = [];
  for (let round = 0; round < 3; round++) {
    for (const sender of users.slice(0, 4))
      bids.push((await sender.inbox.send(`round ${round} from ${sender.name}`)).bid);
  }
  for (const user of users) {
    await waitFor(() => bids.every((bid) => user.inbox.has(bid)), { what: `${user.name} to have all ${bids.length}` });
  }
  await waitFor(() => server.app.core.broadcasts.pending().every((row) => row.acked === users.length), {
    what: 'every ack to reach the server',
  });
  for (const user of users) {
    const shown = user.inbox.items.map((item) => item.bid).sort();
    assert.deepEqual(shown, [...bids].sort(), `${user.name} shows each broadcast once`);
  }
  const lost = proxies.reduce((n, p) => n + p.counts.droppedUp + p.counts.droppedDown, 0);
  const stats = server.app.core.broadcasts.stats();
  assert.ok(lost > 0, 'the proxies dropped datagrams');
  assert.ok(stats.retransmits > 0, 'the server retransmitted');
});

test('UDP blocked for one client from the start: its broadcasts come over TCP', async (t) => {
  const server = await startTestServer({ broadcastRto: { initialMs: INITIAL_RTO_MS } });
  const blocked = nth(await withProxies(1, { dropUp: 1, dropDown: 1 }, server), 0, 'proxy');
  defer(t, async () => {
    await server.close();
    await blocked.close();
  });
  const alice = await onlineUser(server, 'alice');
  const bob = await onlineUser(server, 'bob', { proxy: blocked, waitUdp: false });
  const sent = await alice.inbox.send('can you hear me');
  assert.equal(await received(bob, sent.bid), 1);
  assert.equal(nth(bob.inbox.items, 0, 'broadcast').via, 'tcp');
  assert.equal(bob.client.udpState, 'connecting', "bob's UDP path never came up");
  await received(alice, sent.bid);
  assert.equal(nth(alice.inbox.items, 0, 'broadcast').via, 'udp', 'the others still get it over UDP');
  await waitFor(() => server.app.core.broadcasts.pending()[0]?.acked === 2, { what: "bob's ack over TCP" });
});

test('UDP path dies silently: after the UDP tries the server falls back to TCP', async (t) => {
  const server = await startTestServer({ broadcastRto: { initialMs: INITIAL_RTO_MS } });
  const proxy = nth(await withProxies(1, {}, server), 0, 'proxy');
  defer(t, async () => {
    await server.close();
    await proxy.close();
  });
  const alice = await onlineUser(server, 'alice');
  const bob = await onlineUser(server, 'bob', { proxy });
  proxy.block(); // the server still thinks the path is alive (it waits 45 s to call it dead)
  const started = Date.now();
  const sent = await alice.inbox.send('are you there');
  assert.equal(await received(bob, sent.bid), 1);
  const tookMs = Date.now() - started;
  assert.equal(nth(bob.inbox.items, 0, 'broadcast').via, 'tcp');
  const stats = server.app.core.broadcasts.stats();
  assert.equal(stats.tcpFallbacks, 1);
  assert.equal(stats.retransmits, 2, 'three UDP tries in all');
  // Tries at 0, RTO, 3 x RTO; TCP at 7 x RTO, and the RTO is never under its floor.
  assert.ok(tookMs >= 7 * BROADCAST_RTO_MIN_MS, `fell back after ${tookMs} ms`);
});

test('a client that holds its acks (as earlier clients did) still gets each broadcast, shown once, and acks it', async (t) => {
  const server = await startTestServer({ broadcastsPerMinute: 100 });
  defer(t, () => server.close());
  const alice = await onlineUser(server, 'alice');
  // Up to 500 ms before each UDP ack: round trips the server measures as long, not as lost.
  const bob = await onlineUser(server, 'bob', { inbox: { ackDelayMaxMs: 500 } });
  const bids: string[] = [];
  for (let i = 0; i < 5; i++) bids.push((await alice.inbox.send(`slow ack ${i}`)).bid);
  await waitFor(() => server.app.core.broadcasts.pending().every((row) => row.acked === 2), { what: 'every ack' });
  assert.deepEqual(bob.inbox.items.map((item) => item.bid).sort(), [...bids].sort());
  assert.ok(bob.inbox.items.every((item) => item.via === 'udp'));
});
