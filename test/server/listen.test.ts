import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { startTestServer } from '../helpers/server.ts';
import { waitFor } from '../helpers/wait.ts';

test('a TCP connection that never starts TLS is closed after the handshake timeout', async () => {
  const server = await startTestServer({ handshakeTimeoutMs: 300 });
  const socket = connect(server.port, '127.0.0.1');
  let closed = false;
  socket.on('close', () => (closed = true));
  socket.on('error', () => {});
  try {
    await waitFor(() => closed, { what: 'server to close the silent connection' });
    assert.equal(closed, true);
  } finally {
    socket.destroy();
    await server.close();
  }
});
