/**
 * The connection ladder on loopback (PROTOCOL.md section 6.6). A client that "sits behind NAT"
 * is one that advertises a port where nothing listens, so dials to it are refused, exactly as
 * a NAT router without a forwarded port refuses them (test/nat/ runs the real thing).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PeerLink } from '../../src/client/peer/link.ts';
import { ErrorCode, type ProtocolError } from '../../src/net/errors.ts';
import { startPeerBed as bed, type PeerClient } from '../helpers/peers.ts';
import { nextEvent } from '../helpers/wait.ts';
import { defer } from '../helpers/cleanup.ts';

/** `a` asks `b`, who accepts: both links, or both errors. */
async function ask(a: PeerClient, b: PeerClient): Promise<{ ab: PeerLink; ba: PeerLink }> {
  const incoming = new Promise<PeerLink>((resolve, reject) =>
    b.peers.once('prompt', (p) => void b.peers.accept(p.reqId).then(resolve, reject)),
  );
  const result = await a.peers.requestPeer({ user: b.user });
  if (result.outcome !== 'accepted') throw new Error(`expected accepted, got ${result.outcome}`);
  return { ab: result.link, ba: await incoming };
}

async function chatBothWays(ab: PeerLink, ba: PeerLink): Promise<void> {
  const atB = nextEvent<[{ text: string }]>(ba, 'message');
  const acked = nextEvent<[number]>(ab, 'delivered');
  ab.send('hello from the requester');
  assert.equal((await atB)[0].text, 'hello from the requester');
  assert.equal((await acked)[0], 1);
  const atA = nextEvent<[{ text: string }]>(ab, 'message');
  const ackedB = nextEvent<[number]>(ba, 'delivered');
  ba.send('hello from the target');
  assert.equal((await atA)[0].text, 'hello from the target');
  assert.equal((await ackedB)[0], 1);
}

test('both reachable: direct', async (t) => {
  const b = await bed();
  defer(t, () => b.close());
  const alice = await b.join('alice');
  const bob = await b.join('bob');
  const { ab, ba } = await ask(alice, bob);
  assert.deepEqual([ab.path, ba.path], ['direct', 'direct']);
  await chatBothWays(ab, ba);
});

test('target unreachable: the target dials back (reverse)', async (t) => {
  const b = await bed();
  defer(t, () => b.close());
  const alice = await b.join('alice');
  const bob = await b.join('bob', {}, false);
  const { ab, ba } = await ask(alice, bob);
  assert.deepEqual([ab.path, ba.path], ['reverse', 'reverse']);
  assert.equal(ab.verificationCode, ba.verificationCode);
  await chatBothWays(ab, ba);
});

test('neither reachable: relayed via the server, same verification code, the server sees no plaintext; it ends when the server goes', async (t) => {
  const b = await bed();
  defer(t, () => b.close());
  const relayed: Buffer[] = [];
  b.server.app.core.relay.tap = (_from, chunk) => relayed.push(Buffer.from(chunk));
  const alice = await b.join('alice', {}, false);
  const bob = await b.join('bob', {}, false);
  const { ab, ba } = await ask(alice, bob);
  assert.deepEqual([ab.path, ba.path], ['relay', 'relay']);
  assert.equal(ab.verificationCode, ba.verificationCode);
  await chatBothWays(ab, ba);
  const seen = Buffer.concat(relayed);
  assert.ok(seen.length > 0);
  assert.equal(seen.includes(Buffer.from('hello from')), false);
  const closed = nextEvent<[{ reason: string }]>(ab, 'close');
  await b.server.stopServer();
  assert.match((await closed)[0].reason, /server relaying this chat/);
});

test('neither reachable and the relay off: both sides fail at once, each in its own words', async (t) => {
  const b = await bed({ relay: { maxCircuits: 0 } });
  defer(t, () => b.close());
  const alice = await b.join('alice', { ladder: { directMs: 500, reverseMs: 500 } }, false);
  const bob = await b.join('bob', { ladder: { directMs: 500, reverseMs: 500 } }, false);
  const incoming = new Promise<unknown>((resolve, reject) =>
    bob.peers.once('prompt', (p) => void bob.peers.accept(p.reqId).then(resolve, reject)),
  );
  incoming.catch(() => {}); // awaited below, after alice's
  const mine = await alice.peers.requestPeer({ user: 'bob' }).then(
    () => assert.fail('connected'),
    (e: ProtocolError) => e,
  );
  const theirs = await incoming.then(
    () => assert.fail('connected'),
    (e: ProtocolError) => e,
  );
  assert.equal(mine.code, ErrorCode.PEER_NO_PATH);
  assert.equal(theirs.code, ErrorCode.PEER_NO_PATH);
  assert.match(mine.message, /^No way through to bob\. direct: 127\.0\.0\.1:\d+ refused the connection/);
  assert.match(mine.message, /relay: the server does not relay chats/);
  assert.match(theirs.message, /^No way through to alice\. /);
  assert.match(theirs.message, /calling alice back: 127\.0\.0\.1:\d+ refused the connection/);
  assert.doesNotMatch(mine.message + theirs.message, /Cannot reach the server|did not answer in time/);
});
