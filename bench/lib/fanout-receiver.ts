/**
 * A bench worker process (forked by bench/broadcast-fanout.ts, driven over IPC): thousands of
 * lightweight p2p-broadcast receivers, or MQTT subscribers for the baseline.
 *
 * A receiver is a real client as far as the server can tell: its own TLS connection, a real
 * registration (scrypt and all), its own UDP socket and session key, the protocol's UDP
 * channel code (replay window, AES-256-GCM, schema), acks at the end of the turn as the
 * reference client does (by token, section 5.4, PROTOCOL.md section 7.2), and keepalives. What it leaves out is a client's comfort: it does
 * not parse presence frames (it only skips them), and keeps no user list.
 *
 * A receipt is timed with process.hrtime (CLOCK_MONOTONIC, shared by every process on the
 * machine) after the datagram was authenticated and decrypted, so the sender's clock and the
 * receivers' agree to the microsecond.
 */
import type { Socket as UdpSocket } from 'node:dgram';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { encodeMessage } from '../../src/net/codec.ts';
import { PROTOCOL_VERSION } from '../../src/net/constants.ts';
import { Direction } from '../../src/net/datagram.ts';
import { FrameDecoder } from '../../src/net/framing.ts';
import {
  udpServerMessages,
  type ClientMessage,
  type ServerMessage,
  type UdpClientMessage,
} from '../../src/net/messages.ts';
import { encodeTokenAck, tokenAckable } from '../../src/net/token-ack.ts';
import { readHeader, UdpChannel } from '../../src/net/udp-channel.ts';
import { createUdpSocket } from '../../src/net/udp-socket.ts';
import * as mqtt from './mqtt.ts';

/** Keepalives well inside the server's 45 s idle and UDP-dead limits (sections 3.1, 5.3). */
const KEEPALIVE_MS = 10_000;
/**
 * Keepalives go out a slice at a time over the interval, as real clients' do (each starts at
 * its own moment): 10,000 pings in one burst would cost the server ~0.5 s at once, and a
 * broadcast that fell into it would measure the burst, not the fan-out.
 */
const KEEPALIVE_SLICES = 100;
const UDP_HELLO_RETRY_MS = 1_000;
const LOGIN_RETRY_MS = 500;
/** A login attempt with no welcome by then is abandoned and retried. */
const LOGIN_ATTEMPT_TIMEOUT_MS = 60_000;
const PROGRESS_INTERVAL_MS = 5_000;

export type WorkerCommand =
  | { cmd: 'login'; host: string; port: number; users: string[]; pass: string; concurrency: number }
  | { cmd: 'loss'; rate: number }
  | { cmd: 'collect'; key: string }
  | { cmd: 'datagrams'; key: string }
  | { cmd: 'mqtt'; port: number; clientIds: string[]; topic: string; concurrency: number }
  | { cmd: 'close' };

export type WorkerReport =
  | { type: 'ready'; receivers: number; udpAlive: number }
  | { type: 'progress'; receivers: number; udpAlive: number; failures: Record<string, number> }
  | { type: 'mqtt-ready'; subscribers: number }
  | { type: 'complete'; key: string; times: number[]; viaTcp: number; duplicates: number }
  | { type: 'partial'; key: string; times: number[]; viaTcp: number; duplicates: number }
  | { type: 'datagrams'; key: string; count: number }
  | { type: 'error'; message: string };

interface Receiver {
  tls: TLSSocket;
  udp: UdpSocket;
  channel: UdpChannel<typeof udpServerMessages> | null;
  udpPort: number;
  alive: boolean;
  seen: Set<string>;
  pings: number;
}

const receivers: Receiver[] = [];
const subscribers: Socket[] = [];
let host = '127.0.0.1';
let lossRate = 0;
let duplicates = 0;
let closing = false;
const failures: Record<string, number> = {};
const receipts = new Map<string, { times: number[]; viaTcp: number; population: number }>();
/** `bcast` datagrams that reached this worker's sockets per broadcast, before emulated loss. */
const datagrams = new Map<string, number>();

const send = (report: WorkerReport) => process.send?.(report);
const hrnow = () => Number(process.hrtime.bigint());

function receipt(key: string, time: number, viaTcp: boolean, population: number, seen: Set<string>): void {
  if (seen.has(key)) {
    duplicates += 1;
    return;
  }
  seen.add(key);
  let entry = receipts.get(key);
  if (!entry) receipts.set(key, (entry = { times: [], viaTcp: 0, population }));
  entry.times.push(time);
  if (viaTcp) entry.viaTcp += 1;
  if (entry.times.length === entry.population) {
    send({ type: 'complete', key, times: entry.times, viaTcp: entry.viaTcp, duplicates });
  }
}

/** The `t` of a frame without parsing it: every payload starts `{"t":"<type>"`. */
function frameType(payload: Buffer): string {
  const end = payload.indexOf(0x22, 6);
  return payload.toString('latin1', 6, end);
}

function sendFrame(socket: TLSSocket, message: ClientMessage): void {
  socket.write(encodeMessage(message));
}

function login(name: string, pass: string, port: number): Promise<Receiver> {
  return new Promise((resolve, reject) => {
    const tls = tlsConnect({ host, port, rejectUnauthorized: false });
    const udp = createUdpSocket('udp4');
    const r: Receiver = { tls, udp, channel: null, udpPort: 0, alive: false, seen: new Set(), pings: 0 };
    const decoder = new FrameDecoder();
    let settled = false;
    const timer = setTimeout(() => fail(new Error('E_TIMEOUT: no welcome')), LOGIN_ATTEMPT_TIMEOUT_MS);
    const fail = (err: Error & { retryAfterMs?: number }) => {
      clearTimeout(timer);
      if (settled) return;
      settled = true;
      const colon = err.message.indexOf(':');
      const reason = colon < 0 ? err.message : err.message.slice(0, colon);
      failures[reason] = (failures[reason] ?? 0) + 1;
      tls.destroy();
      udp.close();
      reject(err);
    };
    tls.on('error', fail);
    tls.on('close', () => fail(new Error('closed before welcome')));
    tls.on('data', (chunk: Buffer) => {
      decoder.push(chunk, (payload) => {
        const type = frameType(payload);
        if (type === 'presence' || type === 'pong') return;
        // The server's own frames: trusted here (the bench measures fan-out, not validation).
        const message = JSON.parse(payload.toString('utf8')) as ServerMessage;
        if (message.t === 'hello') {
          // The bench made the accounts beforehand (users.csv): a login costs the server the same scrypt.
          sendFrame(tls, { t: 'login', id: 1, proto: PROTOCOL_VERSION, user: name, pass });
        } else if (message.t === 'welcome') {
          r.channel = new UdpChannel(
            Buffer.from(message.udp.key, 'base64url'),
            Buffer.from(message.udp.sid, 'base64url'),
            Direction.CLIENT_TO_SERVER,
            udpServerMessages,
          );
          r.udpPort = message.udp.port;
          udp.send(r.channel.seal({ t: 'hello' }), r.udpPort, host);
          clearTimeout(timer);
          settled = true;
          resolve(r);
        } else if (message.t === 'broadcast') {
          const time = hrnow();
          receipt(message.b.bid, time, true, receivers.length, r.seen);
          sendFrame(tls, { t: 'broadcast_ack', bids: [message.b.bid] });
        } else if (message.t === 'error' && !settled) {
          fail(Object.assign(new Error(`${message.code}: ${message.message}`), { retryAfterMs: message.retryAfterMs }));
        }
      });
    });
    udp.on('message', (datagram) => onDatagram(r, datagram));
  });
}

function onDatagram(r: Receiver, datagram: Buffer): void {
  const header = readHeader(datagram);
  if (!header || !r.channel) return;
  const opened = r.channel.open(datagram, header);
  if (!opened.ok) return;
  const message = opened.message;
  if (message.t === 'welcome') r.alive = true;
  else if (message.t === 'bcast') {
    const bid = message.b.bid;
    // Counted as sent by the server (loopback loses nothing), then dropped as if the network had.
    datagrams.set(bid, (datagrams.get(bid) ?? 0) + 1);
    if (lossRate > 0 && Math.random() < lossRate) return; // emulated loss, server to client
    receipt(bid, hrnow(), false, receivers.length, r.seen);
    // Acknowledge at the end of this turn, as the reference client does (section 7.2), duplicates too.
    // By the copy's token when it has one (section 5.4), else a sealed bcast_ack.
    const k = message.k;
    setImmediate(() => {
      if (lossRate > 0 && Math.random() < lossRate) return; // emulated loss, client to server
      const channel = r.channel as UdpChannel<typeof udpServerMessages>;
      const ack: UdpClientMessage = { t: 'bcast_ack', bids: [bid] };
      const datagram = tokenAckable(bid, k) ? encodeTokenAck(channel.sid, [{ bid, k }]) : channel.seal(ack);
      r.udp.send(datagram, r.udpPort, host);
    });
  }
}

async function loginAll(names: string[], pass: string, port: number, concurrency: number): Promise<void> {
  const progress = setInterval(() => {
    send({
      type: 'progress',
      receivers: receivers.length,
      udpAlive: receivers.filter((r) => r.alive).length,
      failures,
    });
  }, PROGRESS_INTERVAL_MS);
  let next = 0;
  const one = async (): Promise<void> => {
    for (let name = names[next++]; name !== undefined; name = names[next++]) {
      for (;;) {
        try {
          receivers.push(await login(name, pass, port));
          break;
        } catch (err) {
          // Busy hashing or a connection refused in a storm: wait and try again.
          await new Promise((resolve) =>
            setTimeout(resolve, (err as { retryAfterMs?: number }).retryAfterMs ?? LOGIN_RETRY_MS),
          );
        }
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, one));
  // Every UDP path registered, so the bench measures UDP fan-out, not the TCP fallback.
  while (receivers.some((r) => !r.alive)) await new Promise((resolve) => setTimeout(resolve, 50));
  clearInterval(progress);
}

async function subscribeAll(port: number, clientIds: string[], topic: string, concurrency: number): Promise<void> {
  let next = 0;
  const one = async (): Promise<void> => {
    for (let id = clientIds[next++]; id !== undefined; id = clientIds[next++])
      subscribers.push(await subscriber(port, id, topic));
  };
  await Promise.all(Array.from({ length: concurrency }, one));
}

function subscriber(port: number, clientId: string, topic: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host, port, noDelay: true });
    const splitter = new mqtt.MqttSplitter();
    const seen = new Set<string>();
    socket.once('error', reject);
    socket.on('connect', () => socket.write(mqtt.connect(clientId)));
    socket.on('data', (chunk: Buffer) =>
      splitter.push(chunk, (p) => {
        if (p.type === mqtt.PacketType.CONNACK) socket.write(mqtt.subscribe(1, topic, 1));
        else if (p.type === mqtt.PacketType.SUBACK) resolve(socket);
        else if (p.type === mqtt.PacketType.PUBLISH) {
          const time = hrnow();
          const { packetId, payload } = mqtt.readPublish(p);
          if (packetId) socket.write(mqtt.puback(packetId));
          receipt(payload.toString('latin1', 0, payload.indexOf(0x20)), time, false, subscribers.length, seen);
        }
      }),
    );
  });
}

let keepaliveSlice = 0;
function keepalive(): void {
  if (closing) return;
  const slice = keepaliveSlice++ % KEEPALIVE_SLICES;
  for (let i = slice; i < receivers.length; i += KEEPALIVE_SLICES) {
    const r = receivers[i];
    if (!r) break; // never: i < receivers.length
    sendFrame(r.tls, { t: 'ping', id: 2 });
    const ping: UdpClientMessage = { t: 'ping', n: ++r.pings };
    if (r.channel && r.alive) r.udp.send(r.channel.seal(ping), r.udpPort, host);
  }
}

function helloAgain(): void {
  if (closing) return;
  for (const r of receivers) if (!r.alive && r.channel) r.udp.send(r.channel.seal({ t: 'hello' }), r.udpPort, host);
}

setInterval(keepalive, KEEPALIVE_MS / KEEPALIVE_SLICES).unref();
setInterval(helloAgain, UDP_HELLO_RETRY_MS).unref();

process.on('message', (command: WorkerCommand) => {
  const run = async () => {
    switch (command.cmd) {
      case 'login':
        host = command.host;
        await loginAll(command.users, command.pass, command.port, command.concurrency);
        send({ type: 'ready', receivers: receivers.length, udpAlive: receivers.filter((r) => r.alive).length });
        return;
      case 'loss':
        lossRate = command.rate;
        return;
      case 'collect': {
        const entry = receipts.get(command.key);
        send({ type: 'partial', key: command.key, times: entry?.times ?? [], viaTcp: entry?.viaTcp ?? 0, duplicates });
        return;
      }
      case 'datagrams':
        send({ type: 'datagrams', key: command.key, count: datagrams.get(command.key) ?? 0 });
        return;
      case 'mqtt':
        await subscribeAll(command.port, command.clientIds, command.topic, command.concurrency);
        send({ type: 'mqtt-ready', subscribers: subscribers.length });
        return;
      case 'close':
        closing = true;
        for (const r of receivers) {
          r.tls.destroy();
          r.udp.close();
        }
        for (const s of subscribers) s.destroy();
        process.disconnect();
        return;
    }
  };
  run().catch((err: Error) => send({ type: 'error', message: err.message }));
});
