/**
 * The peer listener's handshake (PROTOCOL.md section 6.3): a `hello` that does not validate
 * ends it at once with E_PEER_HANDSHAKE (instead of an E_BAD_MESSAGE and a link left open
 * until the handshake timeout), and a grant is dead at its expiresAt whatever its timer does.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PeerListener } from '../../src/client/peer/listener.ts';
import { dialPeer } from '../../src/client/peer/dial.ts';
import { PEER_SECRET_TTL_MS, PROTOCOL_VERSION } from '../../src/net/constants.ts';
import { ErrorCode, type ProtocolError } from '../../src/net/errors.ts';
import { makeGrant, rawPeer } from '../helpers/peers.ts';
import { waitFor } from '../helpers/wait.ts';
import { defer } from '../helpers/cleanup.ts';

test('a hello whose user breaks the name rules gets E_PEER_HANDSHAKE and the link closes at once', async (t) => {
  // A handshake timeout far beyond the test's own: only the refusal can close this link.
  const listener = await PeerListener.start({ host: '127.0.0.1', link: { handshakeTimeoutMs: 600_000 } });
  defer(t, () => listener.close());
  const grant = makeGrant('alice', 'bob');
  listener.expect(grant);
  const raw = await rawPeer(listener.port, grant);
  defer(t, () => raw.socket.destroy());
  raw.conn.send({ t: 'hello', proto: PROTOCOL_VERSION, user: 'bob<script>' });
  let closed = false;
  void raw.closed.then(() => (closed = true));
  await waitFor(() => closed, { what: 'the listener to close the link', timeoutMs: 5_000 });
  const errors = raw.inbox.filter((m) => m.t === 'error');
  assert.equal(errors.length, 1, JSON.stringify(raw.inbox));
  const [error] = errors;
  assert.equal(error?.t === 'error' && error.code, ErrorCode.PEER_HANDSHAKE);
});

test("the listener honours a grant's expiresAt, not only its timer: a dial after the TTL is refused", async (t) => {
  // The clock moves past the TTL while the expiry timer (real time, 60 s) has not fired.
  let now = 1_000_000;
  const listener = await PeerListener.start({ host: '127.0.0.1', now: () => now });
  const refusals: string[] = [];
  listener.on('refused', (r) => refusals.push(r.reason));
  defer(t, () => listener.close());
  const grant = makeGrant('alice', 'bob');
  listener.expect(grant);
  now += PEER_SECRET_TTL_MS + 1;
  const dialed = dialPeer({
    host: '127.0.0.1',
    port: listener.port,
    reqId: grant.reqId,
    secret: grant.secret,
    selfUser: 'bob',
    peerUser: 'alice',
    attempts: 1,
  });
  // Should the dial succeed (the bug), close the link so the failure does not hang the file.
  const err = (await dialed.then(
    (link) => {
      link.close();
      return assert.fail('a dial after the TTL got a link');
    },
    (e: unknown) => e,
  )) as ProtocolError;
  assert.equal(err.code, ErrorCode.PEER_HANDSHAKE);
  await waitFor(() => refusals.length === 1, { what: 'the refusal' });
  assert.deepEqual(refusals, ['expired']);
});
