/** One peer link over real loopback TLS-PSK sockets, no server (PROTOCOL.md sections 6.4, 6.5). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EMPTIED_TEXT, PeerLinkState, type PeerChatMessage, type PeerLinkClose } from '../../src/client/peer/link.ts';
import {
  FRAME_HEADER_BYTES,
  MAX_CHAT_TEXT_BYTES,
  MAX_INVALID_PEER_FRAMES,
  OUTPUT_QUEUE_BYTES,
} from '../../src/net/constants.ts';
import { encodeMessage } from '../../src/net/codec.ts';
import { ErrorCode, type ProtocolError } from '../../src/net/errors.ts';
import { dialPeer } from '../../src/client/peer/dial.ts';
import { linkPair, makeGrant, rawListener, rawSession } from '../helpers/peers.ts';
import { nextEvent, waitFor } from '../helpers/wait.ts';
import { defer } from '../helpers/cleanup.ts';
import { nth } from '../helpers/assert.ts';

test('message over the limit: refused on send with E_MESSAGE_TOO_LARGE; exactly the limit goes through', async (t) => {
  const pair = await linkPair();
  defer(t, () => pair.close());
  const got: PeerChatMessage[] = [];
  pair.accepted.on('message', (m) => got.push(m));
  assert.throws(
    () => pair.dialer.send('x'.repeat(MAX_CHAT_TEXT_BYTES + 1)),
    (e: ProtocolError) => e.code === ErrorCode.MESSAGE_TOO_LARGE,
  );
  // Counted in UTF-8 bytes: 5462 euro signs are 16,386 bytes.
  assert.throws(
    () => pair.dialer.send('€'.repeat(5462)),
    (e: ProtocolError) => e.code === ErrorCode.MESSAGE_TOO_LARGE,
  );
  assert.throws(
    () => pair.dialer.send(''),
    (e: ProtocolError) => e.code === ErrorCode.BAD_MESSAGE,
  );
  const id = pair.dialer.send('y'.repeat(MAX_CHAT_TEXT_BYTES));
  assert.equal(id, 1, 'refused messages use no id');
  await waitFor(() => pair.dialer.lastDeliveredId === 1, { what: 'delivery' });
  assert.equal(nth(got, 0, 'message').text.length, MAX_CHAT_TEXT_BYTES);
});

test('message over the limit: refused on receipt with E_MESSAGE_TOO_LARGE naming its id; the link goes on', async (t) => {
  const session = await rawSession();
  const { raw, link } = session;
  defer(t, () => session.close());
  const got: string[] = [];
  link.on('message', (m) => got.push(m.text));
  raw.conn.send({ t: 'msg', id: 1, text: 'z'.repeat(MAX_CHAT_TEXT_BYTES + 100), ts: Date.now() });
  raw.conn.send({ t: 'msg', id: 2, text: 'small', ts: Date.now() });
  await waitFor(() => raw.inbox.some((m) => m.t === 'ack' && m.upTo === 2), { what: 'ack of both' });
  const error = raw.inbox.find((m) => m.t === 'error');
  assert.ok(error && error.t === 'error');
  assert.equal(error.code, ErrorCode.MESSAGE_TOO_LARGE);
  assert.equal(error.ref, 1);
  assert.ok(
    raw.inbox.indexOf(error) < raw.inbox.findIndex((m) => m.t === 'ack' && m.upTo >= 1),
    'error before the ack covering it',
  );
  assert.deepEqual(got, ['small']);
  assert.equal(link.state, PeerLinkState.OPEN);
});

test('the sender learns which message the peer refused', async (t) => {
  // A hand-driven acceptor (as a peer with a smaller limit would behave) and a real dialer.
  const grant = makeGrant('mallory', 'bob');
  const raw = await rawListener(grant);
  defer(t, () => raw.close());
  const link = await dialPeer({
    host: '127.0.0.1',
    port: raw.port,
    reqId: grant.reqId,
    secret: grant.secret,
    selfUser: 'bob',
    peerUser: 'mallory',
  });
  const peer = await raw.accepted;
  const rejected = nextEvent<[{ id: number; error: ProtocolError }]>(link, 'rejected');
  link.send('first');
  link.send('second');
  await waitFor(() => peer.inbox.filter((m) => m.t === 'msg').length === 2, { what: 'both messages' });
  peer.conn.send({ t: 'error', code: ErrorCode.MESSAGE_TOO_LARGE, message: 'over my limit', ref: 1 });
  peer.conn.send({ t: 'ack', upTo: 2 });
  const [{ id, error }] = await rejected;
  assert.equal(id, 1);
  assert.equal(error.code, ErrorCode.MESSAGE_TOO_LARGE);
  await waitFor(() => link.lastDeliveredId === 2, { what: 'ack' });
  link.close();
});

test('escape sequences and control characters are stripped on receipt', async (t) => {
  const pair = await linkPair();
  defer(t, () => pair.close());
  const got = nextEvent<[PeerChatMessage]>(pair.accepted, 'message');
  pair.dialer.send('\x1b[2J\x1b[31mred\x1b[0m \x1b]0;owned\x07title\r\nnext\u0007\u009b1m\u202eline\tend');
  const [m] = await got;
  assert.equal(m.text, 'red title\nnextline end');
  // eslint-disable-next-line no-control-regex -- the test is that no control characters are left
  assert.ok(!/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/.test(m.text));
});

test('messages out of order are a protocol error that ends the link', async (t) => {
  const session = await rawSession();
  const { raw, link } = session;
  defer(t, () => session.close());
  const closed = nextEvent<[PeerLinkClose]>(link, 'close');
  raw.conn.send({ t: 'msg', id: 5, text: 'skipped ahead', ts: Date.now() });
  const [info] = await closed;
  assert.equal(info.code, ErrorCode.BAD_MESSAGE);
  assert.equal(info.byPeer, false);
  await raw.closed;
  assert.ok(
    raw.inbox.some((m) => m.t === 'error' && m.code === ErrorCode.BAD_MESSAGE),
    'told why',
  );
});

test('typing: on, off, cleared by a message, and forgotten after its expiry', async (t) => {
  const pair = await linkPair({ timers: { typingExpiryMs: 150, typingRefreshMs: 50 } });
  defer(t, () => pair.close());
  const { dialer, accepted } = pair;
  const seen: boolean[] = [];
  accepted.on('typing', (on) => seen.push(on));
  dialer.setTyping(true);
  dialer.setTyping(true); // no refresh yet: nothing more sent
  await waitFor(() => accepted.peerTyping, { what: 'typing on' });
  dialer.setTyping(false);
  await waitFor(() => !accepted.peerTyping, { what: 'typing off' });
  dialer.setTyping(true);
  await waitFor(() => accepted.peerTyping, { what: 'typing on again' });
  dialer.send('done');
  await waitFor(() => !accepted.peerTyping, { what: 'cleared by the message' });
  dialer.setTyping(true);
  await waitFor(() => accepted.peerTyping);
  const started = Date.now();
  await waitFor(() => !accepted.peerTyping, { what: 'expiry' });
  assert.ok(Date.now() - started >= 100, 'held until about the expiry');
  assert.deepEqual(seen, [true, false, true, false, true, false]);
});

test('bye: the other side hears at once; a dead socket is noticed at once too', async (t) => {
  const first = await linkPair();
  try {
    const closed = nextEvent<[PeerLinkClose]>(first.accepted, 'close');
    const started = Date.now();
    first.dialer.close('see you');
    const [info] = await closed;
    assert.deepEqual(
      { reason: info.reason, byPeer: info.byPeer, code: info.code },
      { reason: 'see you', byPeer: true, code: null },
    );
    assert.ok(Date.now() - started < 500);
  } finally {
    await first.close();
  }
  const second = await linkPair();
  defer(t, () => second.close());
  const closed = nextEvent<[PeerLinkClose]>(second.accepted, 'close');
  second.dialer.send('about to vanish');
  second.dialer.socket.destroy(); // as if the process died
  const [info] = await closed;
  assert.equal(info.code, ErrorCode.DISCONNECTED);
  assert.equal(info.byPeer, true);
});

test('keepalive: a peer that stops reading is declared dead, and both ends close', async (t) => {
  const pair = await linkPair({ timers: { keepaliveMs: 40, deadAfterMs: 160 } });
  defer(t, () => pair.close());
  const deadEnd = nextEvent<[PeerLinkClose]>(pair.accepted, 'close');
  const otherEnd = nextEvent<[PeerLinkClose]>(pair.dialer, 'close');
  // Idle links ping each other and stay up.
  await waitFor(() => pair.dialer.rttMs !== null && pair.accepted.rttMs !== null, { what: 'pongs' });
  assert.equal(pair.dialer.state, PeerLinkState.OPEN);
  pair.accepted.socket.pause(); // hears nothing from now on
  const [info] = await deadEnd;
  assert.equal(info.code, ErrorCode.TIMEOUT);
  await otherEnd;
});

test('a peer that floods pings and never reads the pongs is cut as a slow consumer', async (t) => {
  const session = await rawSession();
  const { raw, link } = session;
  defer(t, () => session.close());
  const closed = nextEvent<[PeerLinkClose]>(link, 'close');
  raw.socket.pause(); // never read a pong
  const ping = encodeMessage({ t: 'ping', n: 1 });
  const burst = Buffer.concat(Array.from({ length: 4096 }, () => ping));
  // Enough pings that their pongs overflow the kernel's buffers and then the 4 MiB cap.
  let sent = 0;
  while (link.state === PeerLinkState.OPEN && sent < 64 * 1024 * 1024) {
    if (!raw.socket.write(burst)) await new Promise((resolve) => setImmediate(resolve));
    sent += burst.length;
    if (sent % (burst.length * 16) === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  const [info] = await closed;
  assert.equal(info.code, ErrorCode.SLOW_CONSUMER);
  assert.ok(
    link.outputBacklogBytes <= OUTPUT_QUEUE_BYTES.PEER_REFUSE_SEND + 64 * 1024,
    `backlog ${link.outputBacklogBytes} stayed near the cap`,
  );
});

test('a message that sanitising leaves empty is shown as a note, not an empty line', async (t) => {
  const pair = await linkPair();
  defer(t, () => pair.close());
  const got = nextEvent<[PeerChatMessage]>(pair.accepted, 'message');
  pair.dialer.send('\x1bP dcs that never ends');
  const [message] = await got;
  assert.equal(message.text, EMPTIED_TEXT);
});

test('more invalid frames than tolerated in one read: each is answered, then the link closes', async (t) => {
  const session = await rawSession();
  const { raw } = session;
  defer(t, () => session.close());
  const bad = Buffer.alloc(FRAME_HEADER_BYTES + 1);
  bad.writeUInt32BE(1, 0);
  bad[FRAME_HEADER_BYTES] = 0x7b; // '{': not JSON
  raw.socket.write(Buffer.concat(Array.from({ length: MAX_INVALID_PEER_FRAMES + 5 }, () => bad)));
  await raw.closed;
  const errors = raw.inbox.filter((m) => m.t === 'error');
  assert.equal(errors.length, MAX_INVALID_PEER_FRAMES + 1, 'one per tolerated frame, then the one that closes');
});
