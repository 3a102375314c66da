/**
 * The churn of bench/soak.ts that churn-child.ts does not do: pairs of real clients that log
 * in, ask each other for a direct chat, chat over the TLS-PSK link and log out again; hostile
 * input (junk frames over TLS, junk datagrams); and half-open floods (TCP connections that
 * send 3 bytes of a TLS record and stop). Each runs until told to stop and reports counts.
 */
import { createSocket } from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect as tcpConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { P2PClient } from '../../src/client/client.ts';
import { PeerManager } from '../../src/client/peer/manager.ts';
import type { PeerLink } from '../../src/client/peer/link.ts';
import { encodeMessage } from '../../src/net/codec.ts';
import { serveCalls } from './ipc.ts';

const counts = { peerCycles: 0, chats: 0, peerErrors: 0, badConnections: 0, junkDatagrams: 0, badErrors: 0 };
const lastErrors: string[] = [];
let running = false;
const loops: Promise<void>[] = [];

function noteError(kind: 'peerErrors' | 'badErrors', err: unknown): void {
  counts[kind] += 1;
  lastErrors.push(`${kind}: ${err instanceof Error ? err.message : String(err)}`);
  if (lastErrors.length > 5) lastErrors.shift();
}

/** One peer request per pair at most this often. */
const PAIR_CYCLE_MS = 7_000;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One login of a pair member with a started peer listener. */
async function member(port: number, configDir: string, user: string, pass: string) {
  const client = new P2PClient({ host: '127.0.0.1', port, configDir, reconnect: false });
  const peers = new PeerManager(client, { host: '127.0.0.1' });
  await peers.start();
  await client.login(user, pass);
  return { client, peers };
}

/** Log both in, a asks b, b accepts, `messages` chats each way, close, log out; again. */
async function pairLoop(
  port: number,
  configDir: string,
  a: string,
  b: string,
  pass: string,
  messages: number,
): Promise<void> {
  while (running) {
    // The server allows 10 peer requests a minute per user (PROTOCOL.md 6.1): stay under it.
    const next = pause(PAIR_CYCLE_MS);
    const ends: Array<{ client: P2PClient; peers: PeerManager }> = [];
    try {
      const left = await member(port, configDir, a, pass);
      ends.push(left);
      const right = await member(port, configDir, b, pass);
      ends.push(right);
      const incoming = new Promise<PeerLink>((resolve, reject) =>
        right.peers.once('prompt', (prompt) => {
          right.peers.accept(prompt.reqId).then(resolve, reject);
        }),
      );
      const result = await left.peers.requestPeer({ user: b });
      if (result.outcome !== 'accepted') throw new Error(`peer request ${result.outcome}`);
      const ab = result.link;
      const ba = await incoming;
      for (let i = 0; i < messages; i++) {
        for (const [from, to] of [
          [ab, ba],
          [ba, ab],
        ] as const) {
          const got = new Promise<void>((resolve) => to.once('message', () => resolve()));
          from.send(`soak chat ${i}: the quick brown fox jumps over the lazy dog`);
          await got;
          counts.chats += 1;
        }
      }
      ab.close('done');
      counts.peerCycles += 1;
    } catch (err) {
      noteError('peerErrors', err);
    } finally {
      for (const end of ends) {
        await end.peers.close().catch(() => {});
        await end.client.close().catch(() => {});
      }
    }
    await next;
  }
}

/** Frames no client should send: each must cost the server an error answer at most. */
const JUNK_FRAMES: Buffer[] = [
  Buffer.from([0, 0, 0, 5, 0x7b, 0x7b, 0x7b, 0x7b, 0x7b]), // "{{{{{": not JSON
  encodeMessage({ t: 'no_such_type', id: 1 }),
  encodeMessage({ t: 'login', id: 2, proto: 1, user: 'x'.repeat(60), pass: '' }),
  encodeMessage({ t: 'broadcast', id: 3, text: 'before login' }),
  encodeMessage({ t: 'passwd', id: 4, old: 1, new: null }),
  Buffer.from([0, 0, 0, 0]), // a zero-length frame
  Buffer.from([0x7f, 0xff, 0xff, 0xff]), // a 2 GiB length: fatal, the server closes
];

/** One TLS connection that sends junk and goes; resolves when the server has closed it or 2 s passed. */
function junkConnection(port: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false });
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    };
    const timer = setTimeout(done, 2_000);
    socket.on('error', () => {});
    socket.on('close', done);
    socket.on('data', () => {});
    socket.once('secureConnect', () => {
      for (const frame of JUNK_FRAMES) socket.write(frame);
    });
  });
}

async function badLoop(port: number, udpPort: number, intervalMs: number): Promise<void> {
  const udp = createSocket('udp4');
  udp.on('error', () => {});
  try {
    while (running) {
      try {
        await junkConnection(port);
        counts.badConnections += 1;
        for (let i = 0; i < 20; i++) {
          udp.send(Buffer.alloc(1 + ((i * 97) % 1400), i), udpPort, '127.0.0.1');
          counts.junkDatagrams += 1;
        }
      } catch (err) {
        noteError('badErrors', err);
      }
      await pause(intervalMs);
    }
  } finally {
    udp.close();
  }
}

/**
 * `count` TCP connections that each send 3 bytes (the start of a TLS record) and stop, opened
 * `parallel` at a time from address `from` and held until the server closes them or `holdMs` passes.
 */
async function flood(args: { port: number; count: number; parallel: number; holdMs: number; from: string }) {
  const held = new Set<Socket>();
  let opened = 0;
  let failed = 0;
  let closedByServer = 0;
  let next = 0;
  const started = performance.now();
  const openOne = () =>
    new Promise<void>((resolve) => {
      const socket = tcpConnect({ host: '127.0.0.1', port: args.port, localAddress: args.from });
      let connected = false;
      socket.on('error', () => {});
      socket.once('connect', () => {
        connected = true;
        opened += 1;
        held.add(socket);
        socket.write(Buffer.from([0x16, 0x03, 0x01]));
        resolve();
      });
      socket.once('close', () => {
        if (!connected) {
          failed += 1;
          resolve();
        } else if (held.delete(socket)) closedByServer += 1; // not ours: we clear `held` before destroying
      });
    });
  const worker = async () => {
    while (next < args.count) {
      next += 1;
      await openOne();
    }
  };
  await Promise.all(Array.from({ length: args.parallel }, worker));
  const openSeconds = (performance.now() - started) / 1000;
  const deadline = Date.now() + args.holdMs;
  while (held.size > 0 && Date.now() < deadline) await pause(100);
  const stillHeld = [...held];
  held.clear();
  for (const socket of stillHeld) socket.destroy();
  return { opened, failed, closedByServer, stillHeldAtEnd: stillHeld.length, openSeconds };
}

let configDir: string | null = null;

serveCalls({
  async start(args: {
    port: number;
    udpPort: number;
    pairs: Array<[string, string]>;
    pass: string;
    messages: number;
    badIntervalMs: number;
  }) {
    running = true;
    configDir = await mkdtemp(join(tmpdir(), 'p2p-soak-client-'));
    for (const [a, b] of args.pairs) loops.push(pairLoop(args.port, configDir, a, b, args.pass, args.messages));
    loops.push(badLoop(args.port, args.udpPort, args.badIntervalMs));
    return true;
  },
  counts: () => ({ ...counts, lastErrors }),
  async stop() {
    running = false;
    await Promise.all(loops.splice(0));
    if (configDir) await rm(configDir, { recursive: true, force: true });
    return { ...counts, lastErrors };
  },
  flood,
});
process.on('SIGTERM', () => process.exit(0));
