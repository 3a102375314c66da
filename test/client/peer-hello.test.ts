/**
 * A peer `hello` that does not validate ends the handshake at once with E_PEER_HANDSHAKE
 * (PROTOCOL.md section 6.3), instead of an E_BAD_MESSAGE and a link left open until the
 * handshake timeout.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PeerListener } from '../../src/client/peer/listener.ts';
import { PROTOCOL_VERSION } from '../../src/net/constants.ts';
import { ErrorCode } from '../../src/net/errors.ts';
import { makeGrant, rawPeer } from '../helpers/peers.ts';
import { waitFor } from '../helpers/wait.ts';

test('a hello whose user breaks the name rules gets E_PEER_HANDSHAKE and the link closes at once', async () => {
  // A handshake timeout far beyond the test's own: only the refusal can close this link.
  const listener = await PeerListener.start({ host: '127.0.0.1', link: { handshakeTimeoutMs: 600_000 } });
  let raw: Awaited<ReturnType<typeof rawPeer>> | undefined;
  try {
    const grant = makeGrant('alice', 'bob');
    listener.expect(grant);
    raw = await rawPeer(listener.port, grant);
    raw.conn.send({ t: 'hello', proto: PROTOCOL_VERSION, user: 'bob<script>' });
    let closed = false;
    void raw.closed.then(() => (closed = true));
    await waitFor(() => closed, { what: 'the listener to close the link', timeoutMs: 5_000 });
    const errors = raw.inbox.filter((m) => m.t === 'error');
    assert.equal(errors.length, 1, JSON.stringify(raw.inbox));
    assert.equal(errors[0].t === 'error' && errors[0].code, ErrorCode.PEER_HANDSHAKE);
  } finally {
    raw?.socket.destroy();
    listener.close();
  }
});
