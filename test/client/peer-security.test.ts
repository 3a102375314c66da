/**
 * Who may complete a peer handshake (PROTOCOL.md section 6.3): only the holder of a live,
 * unused grant's key, and only as the user the server named. Everything else is refused and
 * the socket closed quickly. Real loopback sockets throughout.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import { test } from 'node:test';
import { createServer as createTlsServer, connect as tlsConnect } from 'node:tls';
import { createSelfSigned } from '../../src/server/identity.ts';
import { dialPeer } from '../../src/client/peer/dial.ts';
import type { PeerLink } from '../../src/client/peer/link.ts';
import { PeerListener, type PeerListenerEvents } from '../../src/client/peer/listener.ts';
import { ErrorCode, type ProtocolError } from '../../src/net/errors.ts';
import { autoAccept, connectPair, makeGrant, startPeerBed } from '../helpers/peers.ts';
import { MAX_PEER_HANDSHAKES_PER_IP } from '../../src/net/constants.ts';
import { peerClientOptions } from '../../src/net/peer-tls.ts';
import { nextEvent, waitFor } from '../helpers/wait.ts';
import { defer } from '../helpers/cleanup.ts';
import { nth } from '../helpers/assert.ts';

type Refusal = PeerListenerEvents['refused'][0];
/** "Closed quickly": well under the handshake timeout in every case but the silent socket. */
const QUICK_MS = 1_000;

function dialWith(listener: PeerListener, reqId: string, secret: Buffer, selfUser = 'bob', peerUser = 'alice') {
  return dialPeer({ host: '127.0.0.1', port: listener.port, reqId, secret, selfUser, peerUser, attempts: 1 });
}

/**
 * The dial must fail with `code`. Should it succeed instead, the link it made is closed
 * before the test fails: left open, it would keep the listener, and the file, running until
 * the runner's timeout.
 */
async function refusedWith(promise: Promise<unknown>, code: string): Promise<void> {
  const err = (await promise.then(
    (made) => {
      (made as Partial<PeerLink> | undefined)?.close?.();
      return assert.fail(`expected ${code}`);
    },
    (e: unknown) => e,
  )) as ProtocolError;
  assert.equal(err.code, code, err.message);
}

test('a replayed secret is refused; a wrong key or unknown identity is refused without burning the grant', async (t) => {
  const listener = await PeerListener.start({ host: '127.0.0.1' });
  const refusals: Refusal[] = [];
  listener.on('refused', (r) => refusals.push(r));
  const links: PeerLink[] = [];
  defer(t, () => {
    for (const l of links) l.close();
    listener.close();
  });
  const grant = makeGrant('alice', 'bob');
  listener.expect(grant);
  // Someone who saw the identity on the wire but has no key.
  await refusedWith(dialWith(listener, grant.reqId, randomBytes(32)), ErrorCode.PEER_HANDSHAKE);
  await refusedWith(dialWith(listener, randomBytes(16).toString('hex'), grant.secret), ErrorCode.PEER_HANDSHAKE);
  // The real peer still gets in.
  links.push(await dialWith(listener, grant.reqId, grant.secret));
  // The same secret again: the TLS handshake may finish, the link does not.
  await refusedWith(dialWith(listener, grant.reqId, grant.secret), ErrorCode.PEER_HANDSHAKE);
  await waitFor(() => refusals.length === 3, { what: 'three refusals' });
  assert.deepEqual(
    refusals.map((r) => r.reason),
    ['handshake', 'unknown', 'replayed'],
  );
  assert.equal(nth(links, 0, 'link').state, 'open', 'the first session is untouched');
});

test('an expired secret is refused', async (t) => {
  const listener = await PeerListener.start({ host: '127.0.0.1', secretTtlMs: 100 });
  defer(t, () => listener.close());
  const grant = makeGrant('alice', 'bob');
  const expired = nextEvent<[string]>(listener, 'expired');
  listener.expect(grant);
  assert.equal((await expired)[0], grant.reqId);
  const refused = nextEvent<[Refusal]>(listener, 'refused');
  await refusedWith(dialWith(listener, grant.reqId, grant.secret), ErrorCode.PEER_HANDSHAKE);
  assert.equal((await refused)[0].reason, 'expired');
});

test('the peer must be the user the server named', async (t) => {
  const listener = await PeerListener.start({ host: '127.0.0.1' });
  defer(t, () => listener.close());
  const grant = makeGrant('alice', 'bob');
  listener.expect(grant);
  // Right key, wrong name (a requester that lies about who it is).
  await refusedWith(dialWith(listener, grant.reqId, grant.secret, 'mallory', 'alice'), ErrorCode.PEER_HANDSHAKE);
});

test('raw TCP, plain TLS and silent sockets are refused and closed quickly', async (t) => {
  const listener = await PeerListener.start({ host: '127.0.0.1', link: { handshakeTimeoutMs: 300 } });
  defer(t, () => listener.close());
  const closedWithin = (
    open: () => { once(e: 'close', f: () => void): unknown; on(e: 'error', f: () => void): unknown },
  ) =>
    new Promise<number>((resolve) => {
      const started = Date.now();
      const socket = open();
      socket.on('error', () => {});
      socket.once('close', () => resolve(Date.now() - started));
    });
  const garbage = await closedWithin(() => {
    const s = netConnect(listener.port, '127.0.0.1');
    s.on('connect', () => s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    return s;
  });
  assert.ok(garbage < QUICK_MS, `garbage closed after ${garbage} ms`);
  // A TLS client that offers no PSK (would accept any certificate): there is none to offer.
  const plainTls = await closedWithin(() =>
    tlsConnect({ port: listener.port, host: '127.0.0.1', rejectUnauthorized: false }),
  );
  assert.ok(plainTls < QUICK_MS, `plain TLS closed after ${plainTls} ms`);
  const silent = await closedWithin(() => netConnect(listener.port, '127.0.0.1'));
  assert.ok(silent >= 250 && silent < 300 + QUICK_MS, `silent socket closed after ${silent} ms`);
});

test('a third client dialing a peer port is refused; the session it tried to join goes on', async (t) => {
  const bed = await startPeerBed();
  defer(t, () => bed.close());
  const alice = await bed.join('alice');
  const bob = await bed.join('bob');
  const carol = await bed.join('carol');
  const refused = nextEvent<[Refusal]>(bob.peers, 'refused');
  const { ab, ba } = await connectPair(alice, bob);
  // Carol knows bob's port and even the session's reqId, but not its secret.
  await refusedWith(
    dialPeer({
      host: '127.0.0.1',
      port: bob.peers.port as number,
      reqId: ab.reqId,
      secret: randomBytes(32),
      selfUser: 'carol',
      peerUser: 'bob',
      attempts: 1,
    }),
    ErrorCode.PEER_HANDSHAKE,
  );
  assert.equal((await refused)[0].address, '127.0.0.1');
  assert.equal(carol.peers.sessions.size, 0);
  ab.send('still here?');
  await waitFor(() => ab.lastDeliveredId === 1, { what: 'delivery after the intrusion' });
  assert.equal(ba.lastReceivedId, 1);
});

test('one host cannot fill the listener with handshakes: it gets a few, real peers still get in', async (t) => {
  const bed = await startPeerBed();
  const flood: Socket[] = [];
  defer(t, async () => {
    for (const s of flood) s.destroy();
    await bed.close();
  });
  const alice = await bed.join('alice');
  const bob = await bed.join('bob');
  const port = alice.client.peerPort as number;
  const refused: Array<PeerListenerEvents['refused'][0]> = [];
  alice.peers.on('refused', (r) => refused.push(r));
  // Silent TCP connections from another loopback address: they never start TLS.
  const open = new Set<Socket>();
  const openSilent = (count: number) => {
    for (let i = 0; i < count; i++) {
      const s = netConnect({ port, host: '127.0.0.1', localAddress: '127.0.0.2' });
      s.on('error', () => {});
      s.on('connect', () => open.add(s));
      s.on('close', () => open.delete(s));
      flood.push(s);
    }
  };
  openSilent(MAX_PEER_HANDSHAKES_PER_IP + 20);
  await waitFor(() => refused.filter((r) => r.address === '127.0.0.2').length >= 20, {
    what: 'the flood beyond the cap refused',
  });
  await waitFor(() => open.size === MAX_PEER_HANDSHAKES_PER_IP, { what: 'the cap held open' });
  // bob, from 127.0.0.1, still gets his session with alice.
  autoAccept(alice);
  const result = await bob.peers.requestPeer({ user: 'alice' });
  assert.equal(result.outcome, 'accepted');
  // When the flood hangs up, its slots free: the same host gets the same few again.
  for (const s of flood) s.destroy();
  await waitFor(() => open.size === 0, { what: 'the flood gone' });
  const capped = () => refused.filter((r) => r.detail.includes('already open')).length;
  const cappedBefore = capped();
  openSilent(MAX_PEER_HANDSHAKES_PER_IP + 1);
  await waitFor(() => capped() === cappedBefore + 1, { what: 'only the one beyond the cap refused' });
  await waitFor(() => open.size === MAX_PEER_HANDSHAKES_PER_IP, { what: 'the cap held open again' });
});

test('refusals name the address they came from, and a made-up identity is not passed on', async (t) => {
  const listener = await PeerListener.start({ host: '127.0.0.1' });
  const refused = nextEvent<PeerListenerEvents['refused']>(listener, 'refused');
  defer(t, () => listener.close());
  const identity = '\x1b[31mred\x1b]0;title\x07';
  const socket = tlsConnect(peerClientOptions('127.0.0.1', listener.port, identity, randomBytes(32)));
  socket.on('error', () => {});
  const [info] = await refused;
  assert.equal(info.address, '127.0.0.1');
  assert.equal(info.reqId, undefined);
  // eslint-disable-next-line no-control-regex -- the test is that no raw escape character gets through
  assert.doesNotMatch(JSON.stringify(info), /\\u001b|\x1b/);
  socket.destroy();
});

test('dialing an endpoint that is not a peer listener fails at once, without retries', async (t) => {
  // A TLS server with a certificate, as any other service would be.
  const { key, cert } = await createSelfSigned();
  let connections = 0;
  const impostor = createTlsServer({ key, cert }, (s) => s.destroy());
  impostor.on('connection', () => (connections += 1));
  impostor.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve));
  const grant = makeGrant('alice', 'bob');
  defer(t, () => new Promise<void>((resolve) => impostor.close(() => resolve())));
  const port = (impostor.address() as { port: number }).port;
  await assert.rejects(
    dialPeer({ host: '127.0.0.1', port, reqId: grant.reqId, secret: grant.secret, selfUser: 'bob', peerUser: 'alice' }),
    (err: ProtocolError) => err.code === ErrorCode.PEER_HANDSHAKE,
  );
  assert.equal(connections, 1, 'no retry');
});
