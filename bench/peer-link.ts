/**
 * Peer link throughput and round trip (PROTOCOL.md section 6.4), beside a bare TLS socket
 * measured in the same run. Two processes, so sender and receiver each get a core as two
 * real peers would: this one dials and sends, a forked child (bench/lib/peer-child.ts)
 * listens and receives. Both transports use the same TLS 1.3 PSK configuration and cipher
 * suite; the bare one carries length-prefixed raw payloads with a 4-byte cumulative count
 * as its ack (no JSON, no validation, no sanitising), so the ratio is what our protocol
 * costs on top of TLS.
 *
 *   node --import tsx bench/peer-link.ts [--quick]
 *
 * Throughput: send N messages as fast as backpressure allows, stop the clock when the last
 * one is acknowledged. Round trip: one message, wait for its ack, repeat.
 */
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import type { TLSSocket } from 'node:tls';
import { FRAME_HEADER_BYTES } from '../src/net/constants.ts';
import { forkChild } from './lib/ipc.ts';
import { dialChild } from './lib/peer-pair.ts';
import { BURST_BYTES, measure, nextTurn, peerTransport, type Row, type Transport } from './lib/peer-transport.ts';
import { fmt, printTable } from './lib/table.ts';

const quick = process.argv.includes('--quick');
const SIZES = [
  { label: '100 B', bytes: 100, count: quick ? 50_000 : 400_000, rtts: quick ? 1_000 : 5_000 },
  { label: '16 KiB', bytes: 16 * 1024, count: quick ? 2_000 : 20_000, rtts: quick ? 500 : 3_000 },
];

function bareTransport(socket: TLSSocket): Transport {
  let acked = 0;
  let ackBuf: Buffer = Buffer.alloc(0);
  let waiter: { count: number; resolve: () => void } | null = null;
  let sent = 0;
  socket.setNoDelay(true);
  socket.on('error', () => {}); // a reset when the receiver process exits at the end
  socket.on('data', (chunk: Buffer) => {
    ackBuf = ackBuf.length ? Buffer.concat([ackBuf, chunk]) : chunk;
    while (ackBuf.length >= 4) {
      acked = ackBuf.readUInt32BE(0);
      ackBuf = ackBuf.subarray(4);
    }
    if (waiter && acked >= waiter.count) {
      const w = waiter;
      waiter = null;
      w.resolve();
    }
  });
  const until = (count: number) =>
    acked >= count ? Promise.resolve() : new Promise<void>((resolve) => (waiter = { count, resolve }));
  const frameOf = (payload: string) => {
    const body = Buffer.from(payload);
    const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.length);
    frame.writeUInt32BE(body.length, 0);
    body.copy(frame, FRAME_HEADER_BYTES);
    return frame;
  };
  return {
    name: 'bare TLS socket (same TLS)',
    async pump(payload, count) {
      // The best case for a raw socket: a burst is one prebuilt buffer, one write.
      const frame = frameOf(payload);
      const burst = Math.max(1, Math.floor(BURST_BYTES / frame.length));
      const block = Buffer.concat(Array.from({ length: burst }, () => frame));
      const target = sent + count;
      const done = until(target);
      while (sent < target) {
        const n = Math.min(burst, target - sent);
        sent += n;
        const ok = socket.write(n === burst ? block : block.subarray(0, n * frame.length));
        if (!ok) await new Promise<void>((resolve) => socket.once('drain', resolve));
        else await nextTurn();
      }
      await done;
    },
    async roundTrip(payload) {
      const frame = frameOf(payload);
      const started = process.hrtime.bigint();
      sent += 1;
      socket.write(frame);
      await until(sent);
      return Number(process.hrtime.bigint() - started) / 1e3;
    },
    close: () => socket.end(),
  };
}

async function main(): Promise<void> {
  const child = forkChild(new URL('./lib/peer-child.ts', import.meta.url).pathname);
  try {
    const { link, bare } = await dialChild(child);
    const bareSocket = await bare();
    const transports = [bareTransport(bareSocket), peerTransport(link)];
    const rows: Row[] = [];
    for (const size of SIZES) {
      // ASCII text, as chat mostly is; varied so nothing compresses or caches specially.
      const payload = randomBytes(size.bytes).toString('base64').slice(0, size.bytes);
      for (const t of transports) rows.push(await measure(t, size, payload));
    }
    for (const t of transports) t.close();

    console.log(
      `Peer link: ${link.security.protocol} ${link.security.cipher}, key share ${link.security.keyExchange}; sender and receiver in two processes`,
    );
    console.log(
      `machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, Node ${process.version}, load average before/after in the notes${quick ? ' (--quick)' : ''}\n`,
    );
    const table: Array<Array<string | number>> = [];
    for (let i = 0; i < rows.length; i += 2) {
      const [bare, peer] = [rows[i], rows[i + 1]];
      if (!bare || !peer) throw new Error('rows come in pairs, one per transport: bare, then PeerLink');
      for (const r of [bare, peer]) {
        table.push([
          r.size,
          r.transport,
          Math.round(r.msgsPerSec).toLocaleString('en-US'),
          fmt(r.mbPerSec),
          fmt(r.p50, 0),
          fmt(r.p99, 0),
        ]);
      }
      table.push([
        peer.size,
        'ratio PeerLink / bare',
        fmt(peer.msgsPerSec / bare.msgsPerSec, 2),
        '',
        fmt(peer.p50 / bare.p50, 2),
        fmt(peer.p99 / bare.p99, 2),
      ]);
    }
    printTable(['size', 'transport', 'msgs/s', 'MB/s', 'RTT p50 us', 'RTT p99 us'], table);
    console.log(`\nload average (1 min) at the end: ${loadavg()[0]?.toFixed(2) ?? '?'} on ${cpus().length} CPUs`);
  } finally {
    await child.stop();
  }
}

await main();
