/**
 * Broadcast delivery (PROTOCOL.md section 7.2) as a unit: the real Broadcasts service,
 * BroadcastDelivery and BroadcastQueue (memory store) against an in-process host whose
 * sessions record what they are sent, on a clock moved by hand. A 30-minute TTL and the
 * retransmission timer (RFC 6298 RTO) run in milliseconds; no socket, no timer, no sleep.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import {
  BROADCAST_RTO_INITIAL_MS,
  BROADCAST_UDP_TRIES,
  MAX_BROADCAST_TEXT_BYTES,
  MAX_BROADCASTS_IN_FLIGHT_UDP,
  OUTPUT_QUEUE_BYTES,
} from '../../../src/net/constants.ts';
import { DELIVERY_TICK_MS } from '../../../src/server/broadcasts/delivery.ts';
import { deliveryBed as setup, times } from '../../helpers/fake-delivery-host.ts';

/** The RTO before any round trip was measured. */
const B = BROADCAST_RTO_INITIAL_MS;

describe('broadcast delivery', () => {
  test('no round trip measured yet: sends at t, t+b, t+3b (initial RTO b, backed off), then once over TCP at t+7b', async () => {
    const { clock, host, send, broadcasts, close } = await setup();
    const bob = host.login('bob', { udpAlive: true });
    const t0 = clock.now();
    const item = await send(bob);
    assert.deepEqual(times(bob.datagrams, t0), [0], 'the first send goes by UDP at once');
    clock.advance(B - DELIVERY_TICK_MS);
    assert.equal(bob.datagrams.length, 1, 'nothing is resent before b');
    clock.advance(10 * B);
    assert.deepEqual(times(bob.datagrams, t0), [0, B, 3 * B], 'waits of b, then 2b');
    assert.equal(bob.datagrams.length, BROADCAST_UDP_TRIES);
    assert.deepEqual(times(bob.frames, t0), [7 * B], 'TCP once, after the last UDP wait');
    assert.ok(bob.datagrams.every((d) => d.bid === item.bid) && bob.frames[0]?.bid === item.bid);
    const stats = broadcasts.stats();
    assert.equal(stats.udpSent, 1);
    assert.equal(stats.retransmits, BROADCAST_UDP_TRIES - 1);
    assert.equal(stats.tcpFallbacks, 1);
    assert.equal(stats.tcpSent, 1);
    clock.advance(60 * B);
    assert.equal(bob.frames.length, 1, 'TCP is not repeated on the same connection');
    assert.equal(bob.datagrams.length, BROADCAST_UDP_TRIES);
    await close();
  });

  test('an ack stops the retransmissions and counts the user as having it', async () => {
    const { clock, host, send, broadcasts, close } = await setup({ registered: 2 });
    const alice = host.login('alice', { udpAlive: true });
    const bob = host.login('Bob', { udpAlive: true });
    const item = await send(alice);
    clock.advance(B / 2);
    broadcasts.ack(bob, [item.bid]);
    clock.advance(20 * B);
    assert.equal(bob.datagrams.length, 1);
    assert.equal(bob.frames.length, 0);
    assert.ok(broadcasts.queue.get(item.bid)?.acked.has('bob'), 'acked by key (case folded)');
    assert.equal(host.eventsOf('broadcast_delivered').length, 0, 'one of two registered users has it');
    // Alice's own copy fell back to TCP; acking it completes the broadcast.
    assert.equal(alice.frames.length, 1);
    broadcasts.ack(alice, [item.bid]);
    // Bob's one datagram; Alice's three (0, b, 3b) and her TCP copy.
    assert.deepEqual(host.eventsOf('broadcast_delivered'), [
      { bid: item.bid, acked: 2, registered: 2, datagrams: 4, frames: 1 },
    ]);
    broadcasts.ack(alice, [item.bid]);
    assert.equal(host.eventsOf('broadcast_delivered').length, 1, 'reported once, duplicate acks ignored');
    assert.equal(broadcasts.stats().acks, 2);
    await close();
  });

  test('TCP at once when the path is not alive, and when it dies before a retransmission', async () => {
    const { clock, host, send, close } = await setup();
    const fresh = host.login('fresh'); // path not registered yet
    const carol = host.login('carol', { udpAlive: true });
    const t0 = clock.now();
    const item = await send(carol);
    assert.deepEqual(times(fresh.frames, t0), [0]);
    assert.equal(fresh.datagrams.length, 0);
    assert.equal(carol.datagrams.length, 1);
    carol.udpAlive = false; // the sweep declared it dead
    clock.advance(B);
    assert.deepEqual(times(carol.frames, t0), [B], 'due retransmission goes to TCP instead');
    assert.equal(carol.datagrams.length, 1);
    assert.equal(carol.frames[0]?.bid, item.bid);
    await close();
  });

  test('a path that is alive but has no endpoint to send to gets TCP', async () => {
    const { host, send, close } = await setup();
    const dan = host.login('dan', { udpAlive: true });
    dan.hasEndpoint = false;
    await send(dan);
    assert.equal(dan.datagrams.length, 0);
    assert.equal(dan.frames.length, 1);
    await close();
  });

  test('a broadcast whose sealed datagram would not fit goes by TCP only', async () => {
    const { host, send, close } = await setup();
    const olga = host.login('olga', { udpAlive: true });
    // Within the text limit, but JSON writes each control character as six bytes.
    const item = await send(olga, '\u0001'.repeat(MAX_BROADCAST_TEXT_BYTES));
    assert.equal(olga.datagrams.length, 0);
    assert.deepEqual(
      olga.frames.map((f) => f.item.text),
      [item.text],
    );
    await close();
  });

  test(`at most ${MAX_BROADCASTS_IN_FLIGHT_UDP} unacknowledged over UDP per recipient; the next goes by TCP`, async () => {
    const { host, send, broadcasts, close } = await setup();
    const paul = host.login('paul', { udpAlive: true });
    const items = [];
    for (let i = 0; i <= MAX_BROADCASTS_IN_FLIGHT_UDP; i++) items.push(await send(paul, `n${i}`));
    assert.equal(paul.datagrams.length, MAX_BROADCASTS_IN_FLIGHT_UDP);
    assert.deepEqual(
      paul.frames.map((f) => f.bid),
      [items[MAX_BROADCASTS_IN_FLIGHT_UDP]?.bid],
    );
    const [first] = items;
    assert.ok(first);
    broadcasts.ack(paul, [first.bid]);
    await send(paul, 'room again');
    assert.equal(paul.datagrams.length, MAX_BROADCASTS_IN_FLIGHT_UDP + 1, 'an ack makes room');
    await close();
  });

  test('TCP sends wait while the connection is backed up and follow as it drains', async () => {
    const { clock, host, send, close } = await setup();
    const erin = host.login('erin');
    erin.pendingOutputBytes = OUTPUT_QUEUE_BYTES.SERVER_PAUSE_READ;
    const first = await send(erin, 'one');
    const second = await send(erin, 'two');
    clock.advance(5 * DELIVERY_TICK_MS);
    assert.equal(erin.frames.length, 0, 'owed, not sent, while over the high-water mark');
    erin.pendingOutputBytes = 0;
    clock.advance(DELIVERY_TICK_MS);
    assert.deepEqual(
      erin.frames.map((f) => f.bid),
      [first.bid, second.bid],
      'in creation order',
    );
    await close();
  });

  test('TTL: a broadcast expires once, is reported, and is never sent after', async () => {
    const ttlMs = 30 * 60 * 1000;
    const { clock, host, send, broadcasts, close } = await setup({ ttlMs, registered: 3 });
    const frank = host.login('frank', { udpAlive: true });
    const t0 = clock.now();
    const item = await send(frank);
    assert.equal(item.expiresAt - item.createdAt, ttlMs);
    clock.advance(ttlMs - DELIVERY_TICK_MS);
    assert.ok(broadcasts.queue.get(item.bid), 'still live just before its expiry');
    const late = host.login('late');
    assert.deepEqual(
      late.frames.map((f) => f.bid),
      [item.bid],
      'a login just before expiry still gets it',
    );
    clock.advance(DELIVERY_TICK_MS);
    assert.equal(broadcasts.queue.get(item.bid), undefined);
    assert.deepEqual(host.eventsOf('broadcast_expired'), [
      { bid: item.bid, from: 'frank', acked: 0, registered: 3, datagrams: BROADCAST_UDP_TRIES, frames: 2 },
    ]);
    const after = host.login('after');
    clock.advance(10 * B);
    assert.equal(after.frames.length + after.datagrams.length, 0, 'nothing after expiry');
    assert.equal(host.eventsOf('broadcast_expired').length, 1);
    assert.ok(frank.frames.every((f) => f.at - t0 < ttlMs));
    await close();
  });

  test('late recipients get every live broadcast they have not acked, oldest first, over TCP', async () => {
    const { clock, host, send, broadcasts, close } = await setup();
    const gina = host.login('gina', { udpAlive: true });
    const a = await send(gina, 'first');
    clock.advance(DELIVERY_TICK_MS);
    const b = await send(gina, 'second');
    clock.advance(DELIVERY_TICK_MS);
    const c = await send(gina, 'third');
    // Hank registers later and has acked `b` on an earlier session.
    const old = host.login('hank');
    broadcasts.ack(old, [b.bid]);
    host.logout(old);
    const hank = host.login('HANK', { udpAlive: true });
    assert.deepEqual(
      hank.frames.map((f) => f.bid),
      [a.bid, c.bid],
    );
    assert.equal(hank.datagrams.length, 0, 'the path is not registered at login: TCP');
    await close();
  });

  test('exactly once per connection across reconnects, never again once acked', async () => {
    const { clock, host, send, broadcasts, close } = await setup();
    const ivy = host.login('ivy');
    const item = await send(ivy);
    assert.equal(ivy.frames.length, 1);
    clock.advance(20 * B);
    assert.equal(ivy.frames.length, 1, 'not repeated on the same connection');
    host.logout(ivy);
    const again = host.login('ivy');
    assert.deepEqual(
      again.frames.map((f) => f.bid),
      [item.bid],
      'unacked: delivered again on the new connection',
    );
    assert.equal(ivy.frames.length, 1, 'the old connection got nothing more');
    // Over UDP too: an ack ends it, and the next session gets nothing.
    again.udpAlive = true;
    const second = await send(again, 'second');
    assert.equal(again.datagrams.length, 1);
    broadcasts.ack(again, [item.bid, second.bid]);
    host.logout(again);
    const third = host.login('ivy', { udpAlive: true });
    clock.advance(20 * B);
    assert.equal(third.frames.length + third.datagrams.length, 0);
    assert.equal(again.datagrams.length, 1, 'no retransmission to a closed session');
    await close();
  });

  test('a replaced session stops getting retransmissions; its successor gets the broadcast', async () => {
    const { clock, host, send, close } = await setup();
    const jack = host.login('jack', { udpAlive: true });
    const item = await send(jack);
    host.logout(jack);
    const next = host.login('jack', { udpAlive: true });
    clock.advance(20 * B);
    assert.equal(jack.datagrams.length, 1);
    assert.equal(jack.frames.length, 0);
    assert.equal(next.frames.filter((f) => f.bid === item.bid).length, 1);
    await close();
  });

  test('a late tick is skipped (acks may be unread), but never two in a row', async () => {
    const { clock, host, send, close } = await setup();
    const kim = host.login('kim', { udpAlive: true });
    await send(kim);
    clock.advance(B - DELIVERY_TICK_MS);
    clock.stall(3 * DELIVERY_TICK_MS); // the loop was blocked; the retransmission is now due
    clock.advance(DELIVERY_TICK_MS);
    assert.equal(kim.datagrams.length, 1, 'the late tick held it');
    clock.advance(DELIVERY_TICK_MS);
    assert.equal(kim.datagrams.length, 2, 'the next tick sends');
    assert.equal(kim.datagrams[1]?.at, clock.now());
    await close();
  });

  test('fan-out reports once per broadcast with its counts, and skips senders that are gone', async () => {
    const { host, send, close } = await setup();
    const luke = host.login('luke', { udpAlive: true });
    const mia = host.login('mia');
    const gone = host.login('gone');
    gone.closed = true; // closed, offline not reported yet
    const item = await send(luke);
    await nextTurn();
    assert.deepEqual(
      host.eventsOf('broadcast_fanout').map(({ bid, recipients, udp, tcp }) => ({ bid, recipients, udp, tcp })),
      [{ bid: item.bid, recipients: 2, udp: 1, tcp: 1 }],
    );
    assert.equal(mia.frames.length, 1);
    assert.equal(gone.frames.length + gone.datagrams.length, 0);
    await close();
  });
});
