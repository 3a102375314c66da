/**
 * The retransmission timer of broadcast datagrams (PROTOCOL.md section 7.2): RFC 6298's
 * estimator as a unit, then the real delivery on a clock moved by hand. Times are on the
 * 50 ms delivery tick, so each retransmission is expected at its exact time.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BROADCAST_RTO_INITIAL_MS,
  BROADCAST_RTO_MAX_MS,
  BROADCAST_RTO_MIN_MS,
  BROADCAST_UDP_DEADLINE_MS,
} from '../../../src/net/constants.ts';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { DELIVERY_TICK_MS, MAX_TICKS_SKIPPED_FOR_FANOUT } from '../../../src/server/broadcasts/delivery.ts';
import { DEFAULT_RTO_LIMITS, RttEstimator } from '../../../src/server/broadcasts/rto.ts';
import { tokenHalves } from '../../helpers/ack-token.ts';
import { deliveryBed, times } from '../../helpers/fake-delivery-host.ts';

const limits = { ...DEFAULT_RTO_LIMITS, granularityMs: DELIVERY_TICK_MS };

type Bed = Awaited<ReturnType<typeof deliveryBed>>;
type Session = ReturnType<Bed['host']['login']>;

/** When `bid` went to `session` over UDP, relative to t0. */
const sendTimes = (session: Session, bid: string, t0: number) =>
  times(
    session.datagrams.filter((d) => d.bid === bid),
    t0,
  );

/** Ack a copy by its token (PROTOCOL.md section 5.4), as the server's UDP endpoint does. */
function tokenAck(bed: Bed, session: Session, bid: string, k: string | undefined): void {
  assert.ok(k, 'the copy carries a token');
  const entry = { bid, ...tokenHalves(k) };
  const { bids, forged } = bed.broadcasts.delivery.acceptAckTokens(session, [entry]);
  assert.deepEqual([bids, forged], [[bid], 0]);
  bed.broadcasts.ack(session, bids);
}

/** One broadcast acked by `users` after `rttMs`; then time moves on to the next delivery tick. */
async function measureRoundTrip(bed: Bed, users: Session[], rttMs = 20): Promise<void> {
  const [sender] = users;
  assert.ok(sender);
  const warm = await bed.send(sender);
  bed.clock.advance(rttMs);
  for (const u of users) bed.broadcasts.ack(u, [warm.bid]);
  bed.clock.advance(DELIVERY_TICK_MS - rttMs);
}

describe('RttEstimator (RFC 6298)', () => {
  test('initial RTO before any sample, then SRTT + max(G, 4 x RTTVAR)', () => {
    const e = new RttEstimator(limits);
    assert.equal(e.rto, BROADCAST_RTO_INITIAL_MS);
    assert.equal(e.srtt, null);
    e.sample(200); // first: SRTT = R, RTTVAR = R/2
    assert.deepEqual([e.srtt, e.rttvar, e.rto], [200, 100, 200 + 4 * 100]);
    e.sample(100); // RTTVAR = 3/4 x 100 + 1/4 x |200 - 100|; SRTT = 7/8 x 200 + 1/8 x 100
    assert.deepEqual([e.srtt, e.rttvar, e.rto], [187.5, 100, 187.5 + 4 * 100]);
  });

  test('the RTO stays within its floor and ceiling; G counts when the variation is small', () => {
    const fast = new RttEstimator(limits);
    for (let i = 0; i < 50; i++) fast.sample(10);
    assert.equal(fast.rto, BROADCAST_RTO_MIN_MS, 'a loopback round trip floors at the minimum');
    const granular = new RttEstimator({ ...limits, minMs: 1 });
    for (let i = 0; i < 50; i++) granular.sample(10);
    assert.ok(granular.rto >= 10 + DELIVERY_TICK_MS, `steady 10 ms: ${granular.rto} >= SRTT + G`);
    const slow = new RttEstimator(limits);
    slow.sample(3_000);
    assert.equal(slow.rto, BROADCAST_RTO_MAX_MS);
    const negative = new RttEstimator(limits);
    negative.sample(-5); // a clock step back: counted as 0, never a negative RTO
    assert.equal(negative.srtt, 0);
    assert.equal(negative.rto, BROADCAST_RTO_MIN_MS);
  });
});

describe('broadcast retransmission follows the measured round trip', () => {
  test('after a 20 ms round trip: resends at t + RTO (the floor), t + 3 RTO, then TCP at t + 7 RTO', async () => {
    const bed = await deliveryBed();
    const { clock, host, send, broadcasts, close } = bed;
    const bob = host.login('bob', { udpAlive: true });
    await measureRoundTrip(bed, [bob]);
    assert.equal(broadcasts.delivery.rtoOf(bob), BROADCAST_RTO_MIN_MS);
    const t0 = clock.now();
    const second = await send(bob);
    clock.advance(2_000);
    const R = BROADCAST_RTO_MIN_MS;
    assert.deepEqual(sendTimes(bob, second.bid, t0), [0, R, 3 * R]);
    assert.deepEqual(times(bob.frames, t0), [7 * R], 'TCP after three UDP sends');
    await close();
  });

  test('Karn: the ack of a retransmitted broadcast is no sample; a broadcast sent once is', async () => {
    const initialMs = 200;
    const { clock, host, send, broadcasts, close } = await deliveryBed({ rto: { initialMs } });
    const bob = host.login('bob', { udpAlive: true });
    const first = await send(bob);
    clock.advance(initialMs + 10); // resent at the initial RTO, then acked
    assert.equal(bob.datagrams.length, 2);
    broadcasts.ack(bob, [first.bid]);
    // Which copy was acked is unknown: no sample (210 ms would make it 210 + 4 x 105 = 630),
    // and the RTO stays backed off.
    assert.equal(broadcasts.delivery.rtoOf(bob), 2 * initialMs);
    const second = await send(bob);
    clock.advance(30);
    broadcasts.ack(bob, [second.bid]);
    assert.equal(broadcasts.delivery.rtoOf(bob), BROADCAST_RTO_MIN_MS);
    await close();
  });

  test('each recipient has its own RTO: a slow acker waits longer, up to the ceiling', async () => {
    const { clock, host, send, broadcasts, close } = await deliveryBed();
    const bob = host.login('bob', { udpAlive: true }); // holds his acks, as earlier clients did
    const carol = host.login('carol', { udpAlive: true });
    const first = await send(bob);
    clock.advance(20);
    broadcasts.ack(carol, [first.bid]);
    clock.advance(580);
    broadcasts.ack(bob, [first.bid]);
    const slow = BROADCAST_RTO_MAX_MS; // SRTT 600 + 4 x RTTVAR 300 = 1,800: at the ceiling
    assert.equal(broadcasts.delivery.rtoOf(bob), slow);
    assert.equal(broadcasts.delivery.rtoOf(carol), BROADCAST_RTO_MIN_MS);
    const t0 = clock.now();
    const second = await send(carol);
    clock.advance(BROADCAST_UDP_DEADLINE_MS + 1_000);
    const R = BROADCAST_RTO_MIN_MS;
    assert.deepEqual(sendTimes(carol, second.bid, t0), [0, R, 3 * R]);
    assert.deepEqual(times(carol.frames, t0), [7 * R]);
    // Bob: RTO, then 2 x RTO; the third wait (4 x RTO) ends at the deadline.
    assert.deepEqual(sendTimes(bob, second.bid, t0), [0, slow, 3 * slow]);
    assert.deepEqual(times(bob.frames, t0), [BROADCAST_UDP_DEADLINE_MS], 'TCP at the deadline');
    await close();
  });

  test('a recipient with no round trip of its own starts from everyone’s', async () => {
    const bed = await deliveryBed();
    const { clock, host, send, broadcasts, close } = bed;
    const bob = host.login('bob', { udpAlive: true });
    await measureRoundTrip(bed, [bob]);
    const dave = host.login('dave', { udpAlive: true });
    assert.equal(broadcasts.delivery.rtoOf(dave), BROADCAST_RTO_MIN_MS);
    const t0 = clock.now();
    const second = await send(bob);
    clock.advance(BROADCAST_RTO_MIN_MS);
    assert.deepEqual(sendTimes(dave, second.bid, t0), [0, BROADCAST_RTO_MIN_MS]);
    await close();
  });

  test('an unanswered recipient keeps the backed-off RTO for its next broadcast, until a valid sample', async () => {
    const bed = await deliveryBed();
    const { clock, host, send, broadcasts, close } = bed;
    const bob = host.login('bob', { udpAlive: true });
    await measureRoundTrip(bed, [bob]);
    const R = BROADCAST_RTO_MIN_MS;
    const t0 = clock.now();
    const lost = await send(bob); // bob's acks now come too late: every one ambiguous
    clock.advance(3 * R + 10);
    assert.deepEqual(sendTimes(bob, lost.bid, t0), [0, R, 3 * R]);
    broadcasts.ack(bob, [lost.bid]);
    assert.equal(broadcasts.delivery.rtoOf(bob), 4 * R, 'backed off: RTO doubled at each timeout');
    clock.advance(DELIVERY_TICK_MS - 10);
    const t1 = clock.now();
    const next = await send(bob);
    clock.advance(4 * R);
    assert.deepEqual(sendTimes(bob, next.bid, t1), [0, 4 * R], 'the next broadcast waits the backed-off RTO');
    const t2 = clock.now();
    const third = await send(bob);
    clock.advance(20);
    broadcasts.ack(bob, [third.bid]); // sent once: a valid sample ends the back-off
    assert.equal(broadcasts.delivery.rtoOf(bob), R);
    assert.deepEqual(sendTimes(bob, third.bid, t2), [0]);
    await close();
  });

  test("token acks time resends: after a resend is acked by its copy's token, later resends wait the resend RTO", async () => {
    const bed = await deliveryBed();
    const { clock, host, send, broadcasts, close } = bed;
    const bob = host.login('bob', { udpAlive: true });
    await measureRoundTrip(bed, [bob], 400); // a first send's round trip in a busy fan-out
    const R = BROADCAST_RTO_MAX_MS; // 400 + 4 x 200, at the ceiling
    assert.equal(broadcasts.delivery.rtoOf(bob), R);
    const t0 = clock.now();
    const first = await send(bob);
    clock.advance(R);
    const copies = bob.datagrams.filter((d) => d.bid === first.bid);
    assert.deepEqual(times(copies, t0), [0, R]);
    assert.notEqual(copies[1]?.k, copies[0]?.k, 'each copy carries its own token');
    clock.advance(20);
    tokenAck(bed, bob, first.bid, copies[1]?.k); // the resend, answered in 20 ms
    clock.advance(DELIVERY_TICK_MS - 20);

    const t1 = clock.now();
    const second = await send(bob);
    clock.advance(BROADCAST_UDP_DEADLINE_MS);
    const Rr = BROADCAST_RTO_MIN_MS; // 20 ms measured on the resend: the floor
    // Before: t, t + R, t + 3R, TCP at t + 7R. Now the resends wait the resend RTO, doubled.
    assert.deepEqual(sendTimes(bob, second.bid, t1), [0, R, R + Rr]);
    assert.deepEqual(times(bob.frames, t1), [R + 3 * Rr], 'then once over TCP');
    await close();
  });

  test('a token ack of the first copy after a resend still times the first send (no ambiguity)', async () => {
    const bed = await deliveryBed();
    const { clock, host, send, broadcasts, close } = bed;
    const bob = host.login('bob', { udpAlive: true });
    await measureRoundTrip(bed, [bob]);
    const R = BROADCAST_RTO_MIN_MS;
    const t0 = clock.now();
    const late = await send(bob);
    clock.advance(R + 50); // resent at t + R; then the first copy's ack arrives, 150 ms after it went
    const copies = bob.datagrams.filter((d) => d.bid === late.bid);
    assert.deepEqual(times(copies, t0), [0, R]);
    tokenAck(bed, bob, late.bid, copies[0]?.k);
    // A 150 ms sample on top of a 20 ms one: RTTVAR = 3/4 x 10 + 1/4 x 130, SRTT = 7/8 x 20 + 1/8 x 150.
    const srtt = (7 / 8) * 20 + (1 / 8) * 150;
    const rttvar = (3 / 4) * 10 + (1 / 4) * 130;
    assert.equal(broadcasts.delivery.rtoOf(bob), srtt + 4 * rttvar);
    await close();
  });

  test('datagrams per recipient are counted: one each when acked in time, one more per retransmission', async () => {
    const bed = await deliveryBed({ registered: 3 });
    const { clock, host, send, broadcasts, close } = bed;
    const [alice, bob, carol] = ['alice', 'bob', 'carol'].map((name) => host.login(name, { udpAlive: true })) as [
      Session,
      Session,
      Session,
    ];
    await measureRoundTrip(bed, [alice, bob, carol]);
    const item = await send(alice);
    clock.advance(20);
    broadcasts.ack(alice, [item.bid]);
    broadcasts.ack(bob, [item.bid]);
    clock.advance(BROADCAST_RTO_MIN_MS); // carol's copy was lost: resent once, then acked
    broadcasts.ack(carol, [item.bid]);
    const delivered = host.eventsOf('broadcast_delivered');
    assert.deepEqual(delivered.at(-1), { bid: item.bid, acked: 3, registered: 3, datagrams: 4, frames: 0 });
    assert.equal(carol.datagrams.filter((d) => d.bid === item.bid).length, 2);
    const stats = broadcasts.stats();
    assert.equal(stats.udpSent + stats.retransmits, 3 + 4, 'warm-up 3, then 4');
    await close();
  });
  test('an ack held during a fan-out samples the round trip up to when it was read, not when it was handled', async () => {
    const bed = await deliveryBed();
    const { clock, host, send, broadcasts, close } = bed;
    const alice = host.login('alice', { udpAlive: true });
    const t0 = clock.now();
    const item = await send(alice);
    clock.advance(20); // read here, held ...
    const readAt = clock.now();
    clock.advance(400); // ... and handled here, after the fan-out
    broadcasts.ack(alice, [item.bid], 'udp', readAt);
    assert.equal(readAt - t0, 20);
    assert.equal(broadcasts.delivery.rtoOf(alice), BROADCAST_RTO_MIN_MS, 'a 20 ms sample: the floor');
    await close();
  });

  test('while a fan-out sends, retransmissions wait for its held acks, a few ticks at most, and those acks go first', async () => {
    const B = BROADCAST_RTO_INITIAL_MS;
    let released = 0;
    // One recipient per turn: the fan-out to two is still sending until the next turn.
    const bed = await deliveryBed({ fanoutSlice: 1, releaseHeld: () => void (released += 1) });
    const { clock, host, send, broadcasts, close } = bed;
    const alice = host.login('alice', { udpAlive: true });
    const bob = host.login('bob', { udpAlive: true });
    const t0 = clock.now();
    const item = await send(alice);
    assert.equal(broadcasts.delivery.fanningOut, true);
    assert.equal(alice.datagrams.length, 1);
    assert.equal(bob.datagrams.length, 0, 'his turn has not come');
    const skip = MAX_TICKS_SKIPPED_FOR_FANOUT * DELIVERY_TICK_MS;
    clock.advance(skip);
    assert.equal(released, 0, 'the first ticks wait');
    clock.advance(DELIVERY_TICK_MS);
    assert.equal(released, 1, 'then one releases the held input before looking at retransmissions');
    clock.advance(B - skip - DELIVERY_TICK_MS);
    assert.equal(alice.datagrams.length, 1, 'due at B, but held acks may answer it: waiting');
    clock.advance(2 * DELIVERY_TICK_MS); // the tick at B skipped the 9th time in a row, this one the 10th
    assert.equal(released, 2);
    assert.deepEqual(sendTimes(alice, item.bid, t0), [0, B + 2 * DELIVERY_TICK_MS], 'resent once the wait is over');
    for (let turn = 0; turn < 10 && broadcasts.delivery.fanningOut; turn++) await nextTurn();
    assert.equal(broadcasts.delivery.fanningOut, false);
    assert.equal(bob.datagrams.length, 1);
    assert.equal(released, 3, 'released when the fan-out made its last send');
    await close();
  });
});
