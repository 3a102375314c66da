import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode, type ProtocolError } from '../../src/net/errors.ts';
import { autoAccept, connectPair, startPeerBed } from '../helpers/peers.ts';
import { nextEvent, waitFor } from '../helpers/wait.ts';
import { defer } from '../helpers/cleanup.ts';
import { nth } from '../helpers/assert.ts';

test('accept: both ends open a TLS 1.3 PSK link with (EC)DHE and the same verification code', async (t) => {
  const bed = await startPeerBed();
  defer(t, () => bed.close());
  const alice = await bed.join('alice');
  const bob = await bed.join('bob');
  const { ab, ba } = await connectPair(alice, bob);
  assert.equal(ab.peerUser, 'bob');
  assert.equal(ba.peerUser, 'alice');
  assert.equal(ab.role, 'requester');
  assert.equal(ba.role, 'target');
  assert.match(ab.verificationCode, /^\d{4} \d{4} \d{4}$/);
  assert.equal(ab.verificationCode, ba.verificationCode);
  assert.equal(ab.security.protocol, 'TLSv1.3');
  assert.equal(ba.security.protocol, 'TLSv1.3');
  assert.match(ab.security.cipher, /^TLS_(AES_128_GCM|CHACHA20_POLY1305)_SHA256$/);
  // A key share was negotiated: psk_dhe_ke, not plain psk_ke (which would have none).
  assert.equal(ab.security.keyExchange, 'X25519');
  assert.equal(alice.peers.sessions.get(ab.reqId), ab);
  assert.equal(bob.peers.sessions.get(ba.reqId), ba);
});

test('chat both ways: ordered ids, sent -> delivered by cumulative acks', async (t) => {
  const bed = await startPeerBed();
  defer(t, () => bed.close());
  const alice = await bed.join('alice');
  const bob = await bed.join('bob');
  const { ab, ba } = await connectPair(alice, bob);
  const atBob: string[] = [];
  const atAlice: string[] = [];
  ba.on('message', (m) => atBob.push(`${m.id}:${m.text}`));
  ab.on('message', (m) => atAlice.push(`${m.id}:${m.text}`));
  const delivered: number[] = [];
  ab.on('delivered', (upTo) => delivered.push(upTo));
  assert.equal(ab.send('hello bob'), 1);
  assert.equal(ab.send('second'), 2);
  assert.equal(ba.send('hi alice'), 1);
  await waitFor(() => ab.lastDeliveredId === 2 && ba.lastDeliveredId === 1, { what: 'acks' });
  assert.deepEqual(atBob, ['1:hello bob', '2:second']);
  assert.deepEqual(atAlice, ['1:hi alice']);
  assert.equal(delivered.at(-1), 2);
});

test('decline, timeout, target offline, self, and an ambiguous IP, through the manager', async (t) => {
  const bed = await startPeerBed({ peers: { requestTimeoutMs: 200 } });
  defer(t, () => bed.close());
  const alice = await bed.join('alice');
  const bob = await bed.join('bob');
  bob.peers.once('prompt', (p) => void bob.peers.decline(p.reqId));
  const declined = await alice.peers.requestPeer({ user: 'bob' });
  assert.equal(declined.outcome, 'declined');

  const closedPrompt = nextEvent<[{ reqId: string; outcome: string }]>(bob.peers, 'prompt_closed');
  const pending = nextEvent<[{ reqId: string; user: string }]>(alice.peers, 'pending');
  const timedOut = await alice.peers.requestPeer({ user: 'bob' });
  assert.equal(timedOut.outcome, 'timeout');
  assert.equal((await closedPrompt)[0].outcome, 'timeout');
  assert.equal((await pending)[0].user, 'bob');
  assert.equal(bob.peers.pendingPrompts.length, 0);

  await assert.rejects(
    alice.peers.requestPeer({ user: 'nobody' }),
    (e: ProtocolError) => e.code === ErrorCode.PEER_OFFLINE,
  );
  await assert.rejects(
    alice.peers.requestPeer({ user: 'alice' }),
    (e: ProtocolError) => e.code === ErrorCode.PEER_SELF,
  );

  // Everyone here shares 127.0.0.1: by IP is ambiguous once there are two others.
  await bed.join('carol');
  const ambiguous = await alice.peers.requestPeer({ ip: '127.0.0.1' });
  assert.equal(ambiguous.outcome, 'ambiguous');
  assert.deepEqual(ambiguous.outcome === 'ambiguous' && ambiguous.candidates.map((c) => c.user), ['bob', 'carol']);

  // The requester cancels: it learns `cancelled`, the target's prompt goes away.
  const gone = nextEvent<[{ outcome: string }]>(bob.peers, 'prompt_closed');
  alice.peers.once('pending', (p) => void alice.peers.cancelRequest(p.reqId));
  assert.equal((await alice.peers.requestPeer({ user: 'bob' })).outcome, 'cancelled');
  assert.equal((await gone)[0].outcome, 'cancelled');
});

test('20 sessions at once on one client, chatting both ways', async (t) => {
  const PEERS = 20;
  const bed = await startPeerBed({ peers: { maxPromptsPerTarget: PEERS } });
  defer(t, () => bed.close());
  const hub = await bed.join('hub');
  autoAccept(hub);
  const others = await Promise.all(Array.from({ length: PEERS }, (_, i) => bed.join(`peer${i}`)));
  const results = await Promise.all(others.map((o) => o.peers.requestPeer({ user: 'hub' })));
  const links = results.map((r) => (r.outcome === 'accepted' ? r.link : assert.fail(r.outcome)));
  await waitFor(() => hub.peers.sessions.size === PEERS, { what: '20 sessions at the hub' });
  const heard = new Map<string, string[]>();
  for (const link of hub.peers.sessions.values()) {
    heard.set(link.peerUser, []);
    link.on('message', (m) => heard.get(link.peerUser)?.push(m.text));
    link.send(`hello ${link.peerUser}`);
  }
  const replies = links.map(() => [] as string[]);
  links.forEach((link, i) => {
    link.on('message', (m) => replies[i]?.push(m.text));
    link.send(`from ${link.selfUser}`);
  });
  await waitFor(
    () =>
      links.every((l) => l.lastDeliveredId === 1) &&
      [...hub.peers.sessions.values()].every((l) => l.lastDeliveredId === 1),
    {
      what: 'every message delivered',
    },
  );
  for (const [user, texts] of heard) assert.deepEqual(texts, [`from ${user}`]);
  replies.forEach((texts, i) => assert.deepEqual(texts, [`hello ${nth(others, i, 'peer').user}`]));
});

test('the server stops mid-chat; the peers keep chatting', async (t) => {
  const bed = await startPeerBed();
  defer(t, () => bed.close());
  const alice = await bed.join('alice');
  const bob = await bed.join('bob');
  const { ab, ba } = await connectPair(alice, bob);
  ab.send('before');
  await waitFor(() => ab.lastDeliveredId === 1);
  await bed.server.stopServer();
  await waitFor(() => alice.client.state !== 'online' && bob.client.state !== 'online', {
    what: 'both lose the server',
  });
  const atBob: string[] = [];
  ba.on('message', (m) => atBob.push(m.text));
  const atAlice: string[] = [];
  ab.on('message', (m) => atAlice.push(m.text));
  ab.send('after the server left');
  ba.send('still here');
  await waitFor(() => ab.lastDeliveredId === 2 && ba.lastDeliveredId === 1, { what: 'delivery without the server' });
  assert.deepEqual(atBob, ['after the server left']);
  assert.deepEqual(atAlice, ['still here']);
  assert.equal(alice.peers.sessions.size, 1);
  // Asking for a new peer needs the server, and says so.
  await assert.rejects(
    alice.peers.requestPeer({ user: 'bob' }),
    (e: ProtocolError) => e.code === ErrorCode.DISCONNECTED,
  );
});

test('closing one end tells the manager at the other end at once', async (t) => {
  const bed = await startPeerBed();
  defer(t, () => bed.close());
  const alice = await bed.join('alice');
  const bob = await bed.join('bob');
  const { ab } = await connectPair(alice, bob);
  const closed = nextEvent<[unknown, { byPeer: boolean; reason: string }]>(bob.peers, 'session_closed');
  ab.close('gotta go');
  const [, info] = await closed;
  assert.deepEqual([info.byPeer, info.reason], [true, 'gotta go']);
  assert.equal(bob.peers.sessions.size, 0);
  await waitFor(() => alice.peers.sessions.size === 0);
});
