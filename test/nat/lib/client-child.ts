/**
 * One headless client (P2PClient + PeerManager, the core the TUI runs on) in a child process
 * inside a lab namespace, driven over IPC by test/nat/*.test.ts. It keeps its latest chat.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveCalls } from '../../../bench/lib/ipc.ts';
import { P2PClient } from '../../../src/client/client.ts';
import type { PeerLink } from '../../../src/client/peer/link.ts';
import { PeerManager } from '../../../src/client/peer/manager.ts';
import { openRelay } from '../../../src/net/relay-dial.ts';
import { ProtocolError } from '../../../src/net/errors.ts';
import type { Msg, ServerMessage } from '../../../src/net/messages.ts';

let client: P2PClient;
let peers: PeerManager;
let configDir = '';
let link: PeerLink | null = null;
const inbox: string[] = [];
const results: Array<Msg<ServerMessage, 'connect_result'>> = [];
let closed: { reason: string; code: string | null } | null = null;

function describe(l: PeerLink) {
  return { path: l.path, code: l.verificationCode, peerIp: l.peerIp };
}

function keep(l: PeerLink) {
  link = l;
  closed = null;
  l.on('message', (m) => inbox.push(m.text));
  l.on('close', (info) => (closed = { reason: info.reason, code: info.code }));
  return describe(l);
}

function failure(err: unknown) {
  return {
    error: {
      code: err instanceof ProtocolError ? err.code : 'E_INTERNAL',
      message: err instanceof Error ? err.message : String(err),
    },
  };
}

async function until<T>(check: () => T | null | undefined | false, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

serveCalls({
  async start(args: { host: string; port: number; user: string }) {
    configDir = await mkdtemp(join(tmpdir(), 'p2p-nat-client-'));
    client = new P2PClient({ host: args.host, port: args.port, configDir });
    peers = new PeerManager(client, { host: '0.0.0.0' });
    client.on('message', (m) => {
      if (m.t === 'connect_result') results.push(m);
    });
    await peers.start();
    await client.connect();
    const welcome = await client.register(args.user, `password-${args.user}`);
    return { peerPort: peers.port, ip: welcome.ip };
  },
  async request(args: { user: string }) {
    try {
      const result = await peers.requestPeer({ user: args.user });
      if (result.outcome !== 'accepted') return { outcome: result.outcome };
      return keep(result.link);
    } catch (err) {
      return failure(err);
    }
  },
  /** Accept the next prompt; resolves when the chat is open or failed. */
  async acceptNext() {
    const prompt =
      peers.pendingPrompts[0] ?? (await new Promise<{ reqId: string }>((resolve) => peers.once('prompt', resolve)));
    const started = performance.now();
    try {
      const l = await peers.accept(prompt.reqId);
      // From our accept to an open chat: the ladder's whole climb (reported, never asserted).
      return { ...keep(l), ms: Math.round(performance.now() - started) };
    } catch (err) {
      return failure(err);
    }
  },
  /** Send and wait for the delivery ack. */
  async send(args: { text: string }) {
    if (!link) throw new Error('no chat');
    const l = link;
    const id = l.send(args.text);
    const started = performance.now();
    await until(() => l.lastDeliveredId >= id, 15_000, 'the delivery ack');
    return { id, ackMs: performance.now() - started };
  },
  async nextMessage(args: { index: number }) {
    return until(() => inbox[args.index], 15_000, `message ${args.index}`);
  },
  /** Send 16 KiB messages as fast as the link takes them for `ms`; report what was acknowledged. */
  async flood(args: { ms: number }) {
    if (!link) throw new Error('no chat');
    const l = link;
    const text = 'x'.repeat(16 * 1024);
    const start = performance.now();
    const firstId = l.lastSentId;
    while (performance.now() - start < args.ms && l.isOpen) {
      if (l.writable && l.outputBacklogBytes < 1024 * 1024) l.send(text);
      else await new Promise((r) => setTimeout(r, 5));
    }
    const elapsed = performance.now() - start;
    return { acked: (l.lastDeliveredId - firstId) * text.length, ms: elapsed, open: l.isOpen };
  },
  /** Stop reading from the chat's socket (a side that never reads). */
  stopReading() {
    link?.socket.pause();
    return true;
  },
  closedInfo() {
    return closed;
  },
  /** The relay token and reqId of our latest accepted connect_result (for abuse cases). */
  lastGrant() {
    const r = results[results.length - 1];
    return r ? { reqId: r.reqId, token: r.relay ?? null } : null;
  },
  async relayRequest(args: { reqId: string; token: string }) {
    try {
      const reply = await client.request({ t: 'relay_request', reqId: args.reqId, token: args.token });
      return reply.t === 'relay_ticket' ? { ticket: reply.ticket } : { error: { code: reply.t, message: '' } };
    } catch (err) {
      return failure(err);
    }
  },
  async relayOpen(args: { ticket: string }) {
    try {
      const stream = await openRelay({
        host: client.options.host,
        port: client.options.port,
        fingerprint: client.fingerprint as string,
        ticket: args.ticket,
        timeoutMs: 5_000,
      });
      stream.destroy();
      return { ok: true };
    } catch (err) {
      return failure(err);
    }
  },
  async stop() {
    await peers?.close().catch(() => {});
    await client?.close().catch(() => {});
    await rm(configDir, { recursive: true, force: true });
    return true;
  },
});
