import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { test } from 'node:test';
import { UDP_SOCKET_BUFFER_BYTES } from '../../src/server/listen.ts';
import { startTestServer, testServer } from '../helpers/server.ts';
import { waitFor } from '../helpers/wait.ts';
import { defer } from '../helpers/cleanup.ts';

test('a TCP connection that never starts TLS is closed after the handshake timeout', async (t) => {
  const server = await startTestServer({ handshakeTimeoutMs: 300 });
  const socket = connect(server.port, '127.0.0.1');
  let closed = false;
  socket.on('close', () => (closed = true));
  socket.on('error', () => {});
  defer(t, async () => {
    socket.destroy();
    await server.close();
  });
  await waitFor(() => closed, { what: 'server to close the silent connection' });
  assert.equal(closed, true);
});

/** A TCP connection that says nothing, with a flag for when the server closes it. */
function silentConnection(port: number) {
  const socket = connect(port, '127.0.0.1');
  const state = { socket, connected: false, closed: false };
  socket.on('connect', () => (state.connected = true));
  socket.on('close', () => (state.closed = true));
  socket.on('error', () => {});
  return state;
}

test('pending TLS handshakes are capped: beyond the cap a connection is closed at once, and the slot frees', async (t) => {
  // A handshake timeout far beyond the test's deadline: only the cap can close these.
  const server = await testServer(t, { handshakeTimeoutMs: 600_000, maxPendingHandshakes: 3 });
  const silent = [0, 1, 2].map(() => silentConnection(server.port));
  defer(t, () => {
    for (const s of silent) s.socket.destroy();
  });
  await waitFor(() => silent.every((s) => s.connected), { what: 'three silent connections' });
  const extra = silentConnection(server.port);
  defer(t, () => extra.socket.destroy());
  await waitFor(() => extra.closed === true, { what: 'the fourth silent connection to be closed by the cap' });
  assert.equal(
    silent.some((s) => s.closed),
    false,
    'the three within the cap are still open',
  );
  // Once they go, a real client gets in.
  for (const s of silent) s.socket.destroy();
  await waitFor(
    async () => {
      try {
        await (await server.client()).register('after-flood', 'password-1');
        return true;
      } catch {
        return false;
      }
    },
    { what: 'a real client to get in once the slots are free' },
  );
});

test('shutdown closes connections still in their TLS handshake instead of waiting for them', async (t) => {
  const server = await startTestServer({ handshakeTimeoutMs: 600_000 });
  const silent = silentConnection(server.port);
  defer(t, () => silent.socket.destroy());
  await waitFor(() => silent.connected, { what: 'a silent connection' });
  // With a 10-minute handshake timeout, a close that waited for it would time the test out.
  await server.close();
  await waitFor(() => silent.closed, { what: 'the silent connection to be closed by shutdown' });
});

test('the UDP socket asks for UDP_SOCKET_BUFFER_BYTES and reports what the kernel granted', async (t) => {
  const server = await testServer(t);
  // What this machine grants a socket asking the same (capped by net.core.rmem_max).
  const probe = createSocket('udp4');
  defer(t, () => probe.close());
  await new Promise<void>((resolve) => probe.bind(0, '127.0.0.1', resolve));
  probe.setRecvBufferSize(UDP_SOCKET_BUFFER_BYTES);
  // Where rmem_max is above the default (this machine's 4 MiB: 8 MiB reported), a server that
  // did not ask would report the default instead.
  assert.equal(server.app.listening.udpReceiveBufferBytes, probe.getRecvBufferSize());
});
