/**
 * Opening the control channel (PROTOCOL.md section 3.5): the TLS socket is ours before the
 * framed connection takes it, while the user decides whether to trust the fingerprint. A
 * server that dies then must give a clear E_UNREACHABLE, not an uncaught ECONNRESET.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import { test } from 'node:test';
import { createServer } from 'node:tls';
import { KnownHosts } from '../../src/client/known-hosts.ts';
import { ServerLink } from '../../src/client/server-link.ts';
import { ErrorCode, ProtocolError } from '../../src/net/errors.ts';
import { createSelfSigned } from '../../src/server/identity.ts';
import { tempDir } from '../helpers/server.ts';
import { waitFor } from '../helpers/wait.ts';

test('a server reset while the fingerprint is being trusted rejects open() with E_UNREACHABLE', async (t) => {
  const identity = await createSelfSigned();
  const accepted: Socket[] = [];
  const server = createServer({ cert: identity.cert, key: identity.key }, (socket) => {
    socket.on('error', () => {});
    accepted.push(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const config = await tempDir('link');
  t.after(async () => {
    for (const socket of accepted) socket.destroy();
    server.close();
    await config.remove();
  });

  const opening = ServerLink.open({
    host: '127.0.0.1',
    port: (server.address() as AddressInfo).port,
    knownHosts: new KnownHosts(config.path),
    trust: async () => {
      // The user is reading the prompt; the server goes away with a TCP reset meanwhile.
      await waitFor(() => accepted.length === 1, { what: 'the server to hold the connection' });
      const raw = accepted[0] as Socket & { _parent?: Socket };
      (raw._parent ?? raw).resetAndDestroy();
      // On loopback the RST is queued at once; two turns of the event loop (a poll phase
      // between them) deliver it to the client's socket before the user "answers".
      for (let i = 0; i < 2; i++) await new Promise((resolve) => setImmediate(resolve));
      return true;
    },
  });
  const result = await opening.then(
    () => 'opened',
    (err: unknown) => err,
  );
  assert.ok(result instanceof ProtocolError, `open() should fail, got ${String(result)}`);
  assert.equal(result.code, ErrorCode.UNREACHABLE);
  assert.match(result.message, /while checking its identity/);
});
