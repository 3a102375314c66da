/**
 * Token acks (PROTOCOL.md section 5.4) over real sockets: a client played by hand (a TLS
 * control connection and its own dgram socket with the session key from `welcome`) acks
 * `bcast` copies by echoing their `k` in an unsealed version-2 datagram. A matching token is
 * the ack; a wrong one is counted `forged` and ignored; a malformed datagram or an unknown
 * session is counted and the server goes on; a token ack never moves the endpoint; the sealed
 * `bcast_ack` still works (section 7.2).
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { randomBytes } from 'node:crypto';
import { MAX_BROADCAST_ACK_IDS_UDP, UDP_TOKEN_ACK_VERSION } from '../../src/net/constants.ts';
import type { DropReason } from '../../src/net/datagram.ts';
import { encodeTokenAck } from '../../src/net/token-ack.ts';
import type { ServerEvents } from '../../src/server/events.ts';
import { defer } from '../helpers/cleanup.ts';
import { nth } from '../helpers/assert.ts';
import { RawClient, type Welcome } from '../helpers/raw.ts';
import { RawUdp } from '../helpers/raw-udp.ts';
import { testServer, type TestServer } from '../helpers/server.ts';
import { tokenHalves, tokenText } from '../helpers/ack-token.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * The RTO before any round trip is measured, for tests where no copy may be resent: far past
 * any test's end, so a retransmission (or its absence) says only whether the ack counted.
 */
const NO_RESEND_RTO_MS = 10 * 60_000;
/** Copies resent at 1 s and 3 s, by TCP at 7 s: time enough to ack the second copy by UDP. */
const RESEND_RTO_MS = 1_000;
/** The hand-played client's host; the interloper of the endpoint test is another one. */
const CLIENT_ADDRESS = '127.0.0.2';
const OTHER_ADDRESS = '127.0.0.3';

type Delivered = ServerEvents['broadcast_delivered'][0];

interface RawSession {
  server: TestServer;
  tcp: RawClient;
  udp: RawUdp;
  /** The session's UDP grant from `welcome`. */
  grant: Welcome['udp'];
  /** `broadcast_delivered` events, in order. */
  delivered: Delivered[];
  drops: () => Record<DropReason, number>;
  /** The session's UDP path as the server has it. */
  path: () => { endpoint: { address: string; port: number } | null; lastHeardAt: number };
}

/** One registered user, alone on the server, its UDP endpoint registered from CLIENT_ADDRESS. */
async function rawSession(t: TestContext, rtoMs: number): Promise<RawSession> {
  const server = await testServer(t, { broadcastRto: { initialMs: rtoMs } });
  const delivered: Delivered[] = [];
  server.app.core.on('broadcast_delivered', (event) => delivered.push(event));
  const tcp = await RawClient.open(server.port, { localAddress: CLIENT_ADDRESS });
  defer(t, () => tcp.close());
  const welcome = await tcp.auth('register', 'alice', 'correct horse battery');
  assert.equal(welcome.t, 'welcome');
  const udp = await RawUdp.open(welcome.udp, server.app.listening.udpPort, CLIENT_ADDRESS);
  defer(t, () => udp.close());
  await udp.hello();
  const path = () => {
    const session = server.app.core.presence.get('alice');
    assert.ok(session, 'alice is online');
    return session.udp;
  };
  return { server, tcp, udp, grant: welcome.udp, delivered, drops: () => ({ ...server.app.core.udp.dropped }), path };
}

/** Broadcast over the control connection (the sender gets its own copy, section 7); its bid. */
async function broadcast(tcp: RawClient, text: string): Promise<string> {
  const id = tcp.id();
  tcp.send({ t: 'broadcast', id, text });
  const reply = await tcp.reply(id);
  assert.equal(reply.t, 'broadcast_ok');
  return reply.bid;
}

/** The ack token of the first copy of `bid`. */
async function firstToken(udp: RawUdp, bid: string): Promise<string> {
  const { k } = nth(await udp.waitCopies(bid), 0, 'copy');
  assert.ok(k !== undefined, 'the copy carries an ack token');
  assert.match(k, /^[0-9a-f]{16}$/);
  return k;
}

/** `k` with its last hex digit changed: the right length, the wrong token. */
/** Another token: its first half differs (the last bits tell copies apart, section 5.4). */
function wrongToken(k: string): string {
  return (k.startsWith('0') ? '1' : '0') + k.slice(1);
}

/** Copy `n`'s token: the first copy's with n - 1 xored into its last bits (section 5.4). */
function copyToken(k: string, n: number): string {
  const { hi, lo } = tokenHalves(k);
  return tokenText(hi, (lo ^ (n - 1)) >>> 0);
}

const noDrops = { malformed: 0, unknown_session: 0, replayed: 0, forged: 0 };

function tcpCopies(tcp: RawClient, bid: string): number {
  return tcp.received.filter((m) => m.t === 'broadcast' && m.b.bid === bid).length;
}

function waitDelivered(delivered: Delivered[], bid: string): Promise<Delivered> {
  return waitFor(() => delivered.find((event) => event.bid === bid), { what: `${bid} delivered` });
}

test('a token ack echoing k is the ack: the broadcast is delivered, sent once, over UDP', async (t) => {
  const { server, tcp, udp, delivered, drops } = await rawSession(t, NO_RESEND_RTO_MS);
  const bid = await broadcast(tcp, 'ack me by token');
  const k = await firstToken(udp, bid);

  await udp.tokenAck([{ bid, k }]);
  const event = await waitDelivered(delivered, bid);
  assert.deepEqual(event, { bid, acked: 1, registered: 1, datagrams: 1, frames: 0 });
  assert.deepEqual(
    server.app.core.broadcasts.pending().map((row) => [row.bid, row.acked]),
    [[bid, 1]],
  );
  const stats = server.app.core.broadcasts.stats();
  assert.equal(stats.acks, 1);
  assert.equal(stats.retransmits + stats.tcpSent, 0, 'nothing sent again');
  assert.deepEqual(drops(), noDrops);
  assert.equal(tcpCopies(tcp, bid), 0);
});

test('a wrong token is counted forged and is no ack: the copy is resent, then acked once with k', async (t) => {
  const { server, tcp, udp, delivered, drops } = await rawSession(t, RESEND_RTO_MS);
  const bid = await broadcast(tcp, 'ack me properly');
  const k = await firstToken(udp, bid);

  await udp.tokenAck([{ bid, k: wrongToken(k) }]);
  await waitFor(() => drops().forged === 1, { what: 'the wrong token counted forged' });
  // Counted and matched in one handler: had it been taken as an ack, it would show here.
  assert.equal(server.app.core.broadcasts.pending()[0]?.acked, 0, 'not acked');
  assert.equal(server.app.core.broadcasts.stats().acks, 0);

  // An acked copy is never resent: this one is.
  const copies = await udp.waitCopies(bid, 2);
  assert.deepEqual(
    copies.map((copy) => copy.k),
    copies.map((_, i) => copyToken(k, i + 1)),
    'copy n carries k with n - 1 xored into its last bits',
  );
  await udp.tokenAck([{ bid, k }]); // the first copy's token still acks
  const event = await waitDelivered(delivered, bid);
  assert.equal(event.acked, 1);
  const stats = server.app.core.broadcasts.stats();
  assert.equal(stats.acks, 1);
  assert.ok(stats.retransmits >= 1, 'resent after the forged ack');
  assert.equal(stats.tcpFallbacks, 0, 'acked over UDP before the fallback');
  assert.equal(tcpCopies(tcp, bid), 0);

  // The copy is no longer in flight: acks of it, right or wrong, are a duplicate's and ignored.
  const before = drops();
  await udp.tokenAck([{ bid, k }]);
  await udp.tokenAck([{ bid, k: wrongToken(k) }]);
  await udp.send(Buffer.from([UDP_TOKEN_ACK_VERSION])); // a malformed one behind them, to know they were read
  await waitFor(() => drops().malformed === before.malformed + 1, { what: 'the datagrams to be read' });
  assert.deepEqual(drops(), { ...before, malformed: before.malformed + 1 });
  assert.equal(server.app.core.broadcasts.stats().acks, 1, 'counted once');
  assert.equal(delivered.filter((e) => e.bid === bid).length, 1, 'delivered once');
});

test('each entry of a token ack is matched on its own: the right one acks, the wrong one is forged', async (t) => {
  const { server, tcp, udp, delivered, drops } = await rawSession(t, NO_RESEND_RTO_MS);
  const first = await broadcast(tcp, 'one');
  const second = await broadcast(tcp, 'two');
  const [ka, kb] = [await firstToken(udp, first), await firstToken(udp, second)];
  assert.notEqual(ka, kb, 'a token per broadcast');

  await udp.tokenAck([
    { bid: first, k: ka },
    { bid: second, k: ka }, // the other copy's token: no use for this one
  ]);
  await waitDelivered(delivered, first);
  assert.equal(drops().forged, 1);
  assert.deepEqual(
    server.app.core.broadcasts.pending().map((row) => [row.bid, row.acked]),
    [
      [first, 1],
      [second, 0],
    ],
  );
  await udp.tokenAck([{ bid: second, k: kb }]);
  await waitDelivered(delivered, second);
  assert.equal(server.app.core.broadcasts.stats().acks, 2);
  assert.deepEqual(drops(), { ...noDrops, forged: 1 });
});

test('malformed token acks and unknown sessions are counted and dropped; the next good ack counts', async (t) => {
  const { server, tcp, udp, delivered, drops, path } = await rawSession(t, NO_RESEND_RTO_MS);
  const bid = await broadcast(tcp, 'survive the garbage');
  const k = await firstToken(udp, bid);
  const good = encodeTokenAck(udp.sid, [{ bid, k }]);
  const heardBefore = path().lastHeardAt;

  const zeroEntries = Buffer.from(good);
  zeroEntries[9] = 0; // n = 0 with one entry's bytes
  const tooMany = Buffer.from(good);
  tooMany[9] = 2; // n = 2 with one entry
  const over64 = Buffer.concat([good, Buffer.alloc(16 * MAX_BROADCAST_ACK_IDS_UDP)]);
  over64[9] = MAX_BROADCAST_ACK_IDS_UDP + 1; // 65 whole entries: one more than a token ack may hold
  const malformed = [
    Buffer.from([UDP_TOKEN_ACK_VERSION]), // the version byte alone
    good.subarray(0, good.length - 1), // an entry cut short
    Buffer.concat([good, Buffer.from([0])]), // a byte past the last entry
    zeroEntries,
    tooMany,
    over64,
  ];
  for (const d of malformed) await udp.send(d);
  await udp.tokenAck([{ bid, k }], randomBytes(8)); // the right entry under a session id that is none
  await waitFor(() => drops().malformed === malformed.length && drops().unknown_session === 1, {
    what: 'every bad token ack counted',
  });
  assert.deepEqual(drops(), { ...noDrops, malformed: malformed.length, unknown_session: 1 });
  assert.equal(server.app.core.broadcasts.stats().acks, 0, 'none of them was an ack');
  assert.equal(path().lastHeardAt, heardBefore, 'none of them was heard as the client');

  await udp.tokenAck([{ bid, k }]);
  assert.equal((await waitDelivered(delivered, bid)).acked, 1);
  assert.equal(server.app.core.broadcasts.stats().acks, 1);
});

test('a token ack from another address is an ack but never moves the endpoint', async (t) => {
  const { server, tcp, udp, delivered, drops, path, grant } = await rawSession(t, NO_RESEND_RTO_MS);
  const home = { address: CLIENT_ADDRESS, port: udp.endpoint.port };
  assert.deepEqual(path().endpoint, home);
  // Someone else (or the client behind a NAT mapping that changed) with the session's sid.
  const other = await RawUdp.open(grant, server.app.listening.udpPort, OTHER_ADDRESS);
  defer(t, () => other.close());

  const first = await broadcast(tcp, 'acked from elsewhere');
  const k = await firstToken(udp, first);
  const heardBefore = path().lastHeardAt;
  await waitFor(() => Date.now() > heardBefore, { what: 'the clock to move past the last datagram heard' });
  const sentAt = Date.now();
  await other.tokenAck([{ bid: first, k }]);
  assert.equal((await waitDelivered(delivered, first)).acked, 1, 'the ack counted');
  assert.deepEqual(path().endpoint, home, 'the endpoint did not move');
  assert.ok(path().lastHeardAt >= sentAt, 'the token ack was heard as the client');

  // The next datagram the server sends goes to the endpoint the sealed hello registered.
  const second = await broadcast(tcp, 'still to the first socket');
  const next = await firstToken(udp, second);
  await udp.tokenAck([{ bid: second, k: next }]);
  await waitDelivered(delivered, second);
  assert.equal(other.received.length, 0, 'the other socket got nothing');
  assert.deepEqual(path().endpoint, home);
  assert.deepEqual(drops(), noDrops);
});

test('a client that ignores k and acks with a sealed bcast_ack still works', async (t) => {
  const { server, tcp, udp, delivered, drops } = await rawSession(t, NO_RESEND_RTO_MS);
  const bid = await broadcast(tcp, 'an older client');
  await firstToken(udp, bid); // it carries k, which this client does not know about
  await udp.seal({ t: 'bcast_ack', bids: [bid] });
  const event = await waitDelivered(delivered, bid);
  assert.deepEqual(event, { bid, acked: 1, registered: 1, datagrams: 1, frames: 0 });
  const stats = server.app.core.broadcasts.stats();
  assert.equal(stats.acks, 1);
  assert.equal(stats.retransmits + stats.tcpSent, 0);
  assert.deepEqual(drops(), noDrops);
});
