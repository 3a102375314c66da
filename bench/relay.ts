/**
 * A relayed peer chat (PROTOCOL.md section 6.6) beside a direct PeerLink, in the same run:
 * messages per second and round trip (p50/p99) at 100 B and 16 KiB, the server's CPU per
 * relayed MB, and the server's memory per idle relayed circuit with 1,000 open.
 *
 *   npm run bench -- relay [--quick]
 *
 * The server runs in a child process (bench/lib/relay-server-child.ts) with the relay's byte
 * cap raised to 1 GiB/s so the relay itself is measured; its default cap (1 MiB/s per
 * direction) would hold 16 KiB messages to about 64/s. The senders run in this process, the
 * receivers in another (bench/lib/relay-peer-child.ts), as real peers would, for both chats;
 * the relayed chat's two ends are "unreachable" clients (their advertised port refuses), so
 * the ladder picks the relay.
 */
import { cpus, loadavg, tmpdir } from 'node:os';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { P2PClient } from '../src/client/client.ts';
import type { PeerLink } from '../src/client/peer/link.ts';
import { PeerManager } from '../src/client/peer/manager.ts';
import { openRelay } from '../src/net/relay-dial.ts';
import type { Msg, ServerMessage } from '../src/net/messages.ts';
import { closedPort } from './lib/closed-port.ts';
import { forkChild } from './lib/ipc.ts';
import { measure, peerTransport, type Row, type Size } from './lib/peer-transport.ts';
import { fmt, printTable } from './lib/table.ts';

const quick = process.argv.includes('--quick');
const SIZES: Size[] = [
  { label: '100 B', bytes: 100, count: quick ? 5_000 : 40_000, rtts: quick ? 300 : 2_000 },
  { label: '16 KiB', bytes: 16 * 1024, count: quick ? 500 : 4_000, rtts: quick ? 200 : 1_000 },
];
const IDLE_CIRCUITS = quick ? 200 : 1_000;
/** Circuits opened at once while filling (each is a request, an answer, two tickets, two TLS connections). */
const FILL_CONCURRENCY = 25;

interface Member {
  client: P2PClient;
  peers: PeerManager;
  results: Array<Msg<ServerMessage, 'connect_result'>>;
}

async function member(port: number, user: string, reachable: boolean, dirs: string[]): Promise<Member> {
  const configDir = await mkdtemp(join(tmpdir(), 'p2p-bench-client-'));
  dirs.push(configDir);
  const client = new P2PClient({ host: '127.0.0.1', port, configDir });
  const peers = new PeerManager(client, { host: '127.0.0.1' });
  const results: Member['results'] = [];
  client.on('message', (m) => {
    if (m.t === 'connect_result') results.push(m);
  });
  await peers.start();
  if (!reachable) client.peerPort = await closedPort();
  await client.connect();
  await client.register(user, `password-${user}`);
  return { client, peers, results };
}

/** `a` asks `user` in the receiving process, which accepts. */
async function pair(a: Member, user: string): Promise<PeerLink> {
  const result = await a.peers.requestPeer({ user });
  if (result.outcome !== 'accepted') throw new Error(result.outcome);
  return result.link;
}

/** One raw relayed circuit between a and b (no peer TLS inside: an idle circuit is idle either way). */
async function rawCircuit(a: Member, b: Member, bName: string, port: number): Promise<Duplex[]> {
  const pending = (await a.client.request({ t: 'connect', user: bName })) as Msg<ServerMessage, 'connect_pending'>;
  await b.client.request({ t: 'connect_answer', reqId: pending.reqId, accept: true }).catch(async () => {
    // The prompt may not have arrived yet: answer once it has.
    await new Promise((r) => setTimeout(r, 20));
    await b.client.request({ t: 'connect_answer', reqId: pending.reqId, accept: true });
  });
  const find = (m: Member) => m.results.find((r) => r.reqId === pending.reqId);
  while (!find(a) || !find(b)) await new Promise((r) => setTimeout(r, 2));
  const halves = await Promise.all(
    [a, b].map(async (m) => {
      const r = find(m) as Msg<ServerMessage, 'connect_result'>;
      const t = (await m.client.request({ t: 'relay_request', reqId: r.reqId, token: r.relay as string })) as Msg<
        ServerMessage,
        'relay_ticket'
      >;
      return openRelay({
        host: '127.0.0.1',
        port,
        fingerprint: m.client.fingerprint as string,
        ticket: t.ticket,
        timeoutMs: 60_000,
      });
    }),
  );
  return halves;
}

async function main(): Promise<void> {
  const server = forkChild(new URL('./lib/relay-server-child.ts', import.meta.url).pathname);
  const receivers = forkChild(new URL('./lib/relay-peer-child.ts', import.meta.url).pathname);
  const dirs: string[] = [];
  const members: Member[] = [];
  const streams: Duplex[] = [];
  try {
    const { port } = await server.call<{ port: number }>('start');
    await receivers.call('start', { port });
    const [alice, carol] = await Promise.all([member(port, 'alice', true, dirs), member(port, 'carol', false, dirs)]);
    members.push(alice, carol);
    const direct = await pair(alice, 'bob');
    const relayed = await pair(carol, 'dave');
    if (direct.path !== 'direct' || relayed.path !== 'relay') throw new Error(`paths: ${direct.path}, ${relayed.path}`);

    // Both transports run once untimed first: the first one measured would otherwise pay the
    // JIT's warm-up for both (seen: direct 11k msgs/s at 100 B when measured cold, 100k warm).
    const directT = { ...peerTransport(direct), name: 'direct PeerLink' };
    const relayedT = { ...peerTransport(relayed), name: 'relayed via the server' };
    for (const t of [directT, relayedT])
      for (const size of SIZES)
        await measure(t, { ...size, count: size.count / 4, rtts: size.rtts / 4 }, 'x'.repeat(size.bytes));
    const rows: Row[] = [];
    let cpuUs = 0;
    let bytes = 0;
    for (const size of SIZES) {
      const payload = 'x'.repeat(size.bytes);
      const d = await measure(directT, size, payload);
      const before = await server.call<{ us: number; relayed: number }>('cpu');
      const r = await measure(relayedT, size, payload);
      const after = await server.call<{ us: number; relayed: number }>('cpu');
      cpuUs += after.us - before.us;
      bytes += after.relayed - before.relayed;
      rows.push(d, r);
    }
    console.log(
      `cpus: ${cpus().length}, load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}${quick ? ', --quick' : ''}`,
    );
    printTable(
      ['size', 'transport', 'msgs/s', 'MB/s', 'RTT p50 (us)', 'RTT p99 (us)', 'RTT p50 vs direct'],
      rows.map((row, i) => {
        const base = rows[i - (i % 2)]; // rows come in pairs (direct, relayed): the pair's direct row
        if (!base) throw new Error(`no direct row for row ${i}`);
        return [
          row.size,
          row.transport,
          fmt(row.msgsPerSec, 0),
          fmt(row.mbPerSec, 1),
          fmt(row.p50, 0),
          fmt(row.p99, 0),
          `${fmt(row.p50 / base.p50, 2)}x`,
        ];
      }),
    );
    console.log(
      `\nserver CPU while relaying: ${fmt(cpuUs / 1000, 0)} ms for ${fmt(bytes / 1e6, 1)} MB relayed (both directions, TLS records of both halves): ${fmt(cpuUs / 1000 / (bytes / 1e6), 2)} ms per MB`,
    );

    // Idle circuits: the server's memory with none, then with IDLE_CIRCUITS open. One request
    // between two users may be pending at a time (section 6.1), so each concurrent fill has its pair.
    const fillers = await Promise.all(
      Array.from({ length: FILL_CONCURRENCY }, (_, i) =>
        Promise.all([member(port, `idle${i}a`, true, dirs), member(port, `idle${i}b`, true, dirs)]),
      ),
    );
    for (const [a, b] of fillers) members.push(a, b);
    const empty = await server.call<{ rss: number; heapUsed: number; external: number; circuits: number }>('memory');
    for (let i = 0; i < IDLE_CIRCUITS; i += FILL_CONCURRENCY) {
      const n = Math.min(FILL_CONCURRENCY, IDLE_CIRCUITS - i);
      const batch = await Promise.all(fillers.slice(0, n).map(([a, b], j) => rawCircuit(a, b, `idle${j}b`, port)));
      for (const halves of batch) streams.push(...halves);
    }
    const full = await server.call<{ rss: number; heapUsed: number; external: number; circuits: number }>('memory');
    const opened = full.circuits - empty.circuits;
    const per = (k: 'rss' | 'heapUsed' | 'external') => (full[k] - empty[k]) / opened / 1024;
    console.log('');
    printTable(
      ['idle relayed circuits', 'server rss per circuit', 'heap per circuit', 'external per circuit'],
      [[opened, `${fmt(per('rss'), 1)} KiB`, `${fmt(per('heapUsed'), 1)} KiB`, `${fmt(per('external'), 1)} KiB`]],
    );
    console.log('(a circuit is two TLS connections to the server, one per side, plus its record and pumps)');
  } finally {
    for (const s of streams) s.destroy();
    await Promise.all(members.map((m) => m.peers.close().catch(() => {})));
    await Promise.all(members.map((m) => m.client.close().catch(() => {})));
    await receivers.call('stop').catch(() => {});
    await receivers.stop();
    await server.call('stop').catch(() => {});
    await server.stop();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  }
}

await main();
