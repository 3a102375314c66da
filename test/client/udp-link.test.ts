/**
 * The client's UDP path (PROTOCOL.md section 5.2), against a test-held UDP socket playing the
 * server with the same session key, and against the real server.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { test } from 'node:test';
import { UdpLink, UdpState } from '../../src/client/udp-link.ts';
import { Direction, readHeader, sealDatagram } from '../../src/net/datagram.ts';
import { udpClientMessages, type UdpClientMessage, type UdpServerMessage } from '../../src/net/messages.ts';
import { UdpChannel } from '../../src/net/udp-channel.ts';
import { testServer } from '../helpers/server.ts';
import { nextEvent, waitFor } from '../helpers/wait.ts';
import { defer } from '../helpers/cleanup.ts';
import { nth } from '../helpers/assert.ts';

interface FakeServer {
  socket: Socket;
  port: number;
  channel: UdpChannel<typeof udpClientMessages>;
  received: Array<{ message: UdpClientMessage; port: number; raw: Buffer }>;
  send(message: UdpServerMessage, port: number): Buffer;
  sendRaw(datagram: Buffer, port: number): void;
}

async function fakeServer(key: Buffer, sid: Buffer): Promise<FakeServer> {
  const socket = createSocket('udp4');
  const channel = new UdpChannel(key, sid, Direction.SERVER_TO_CLIENT, udpClientMessages);
  const received: FakeServer['received'] = [];
  socket.on('message', (raw, rinfo) => {
    const header = readHeader(raw);
    if (!header) return;
    const opened = channel.open(raw, header);
    if (opened.ok) received.push({ message: opened.message, port: rinfo.port, raw });
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const sendRaw = (datagram: Buffer, port: number) => socket.send(datagram, port, '127.0.0.1');
  return {
    socket,
    port: socket.address().port,
    channel,
    received,
    send(message, port) {
      const datagram = channel.seal(message);
      sendRaw(datagram, port);
      return datagram;
    },
    sendRaw,
  };
}

test('UdpLink registers with hello, goes alive on welcome, and drops forged and replayed datagrams', async (t) => {
  const key = randomBytes(32);
  const sid = randomBytes(8);
  const server = await fakeServer(key, sid);
  const link = new UdpLink({ host: '127.0.0.1', port: server.port, sid, key, keepaliveMs: 60_000 });
  defer(t, () => {
    link.close();
    server.socket.close();
  });
  const messages: UdpServerMessage[] = [];
  link.on('message', (m) => messages.push(m));
  const alive = nextEvent(link, 'state', (s: UdpState) => s === UdpState.ALIVE);
  link.start();
  await waitFor(() => server.received.find((r) => r.message.t === 'hello'), { what: 'hello from the client' });
  const clientPort = nth(server.received, 0, 'datagram').port;
  server.send({ t: 'welcome' }, clientPort);
  await alive;
  assert.equal(link.state, UdpState.ALIVE);

  const item = { bid: 'ab', from: 'alice', text: 'hi', createdAt: 1, expiresAt: 2 };
  const real = server.send({ t: 'bcast', b: item }, clientPort);
  await waitFor(() => messages.length === 1, { what: 'the broadcast' });
  assert.deepEqual(messages[0], { t: 'bcast', b: item });

  // Replayed, forged with another key, for another session, and plain junk: all dropped.
  server.sendRaw(real, clientPort);
  server.sendRaw(
    sealDatagram(randomBytes(32), sid, Direction.SERVER_TO_CLIENT, 99, Buffer.from('{"t":"welcome"}')),
    clientPort,
  );
  server.sendRaw(
    sealDatagram(key, randomBytes(8), Direction.SERVER_TO_CLIENT, 100, Buffer.from('{"t":"welcome"}')),
    clientPort,
  );
  server.sendRaw(randomBytes(64), clientPort);
  await waitFor(() => link.dropped === 4, { what: 'four drops' });
  assert.equal(messages.length, 1, 'nothing dropped reached the listener');
});

test('UdpLink keeps re-sending hello until the server answers', async (t) => {
  const key = randomBytes(32);
  const sid = randomBytes(8);
  const server = await fakeServer(key, sid);
  const link = new UdpLink({ host: '127.0.0.1', port: server.port, sid, key });
  defer(t, () => {
    link.close();
    server.socket.close();
  });
  link.start();
  await waitFor(() => server.received.filter((r) => r.message.t === 'hello').length >= 2, { what: 'a second hello' });
  assert.equal(link.state, UdpState.CONNECTING);
  const seqs = server.received.map((r) => readHeader(r.raw)?.seq);
  assert.deepEqual(
    seqs,
    [...new Set(seqs)].sort((a, b) => (a ?? 0) - (b ?? 0)),
    'a fresh sequence number each time',
  );
});

test('the server tracks each client UDP path: alive after hello, dead when the client goes silent', async (t) => {
  const server = await testServer(t, { udpDeadAfterMs: 300 });
  const states: string[] = [];
  server.app.core.on('udp_path', (e) => states.push(`${e.user}:${e.state}`));
  // A client that never pings after registering its endpoint.
  const quiet = await server.client({ udpKeepaliveMs: 10 * 60_000 });
  await quiet.register('quiet', 'quiet-password');
  await waitFor(() => quiet.udpState === UdpState.ALIVE, { what: 'client sees UDP alive' });
  await waitFor(() => states.includes('quiet:alive'), { what: 'server marks the path alive' });
  assert.equal(server.app.core.presence.get('quiet')?.udp?.state, 'alive');
  await waitFor(() => states.includes('quiet:dead'), { what: 'server marks the path dead' });
  assert.equal(server.app.core.presence.get('quiet')?.udp?.state, 'dead');
});
