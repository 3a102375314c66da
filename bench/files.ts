/**
 * File transfer over the peer link (PROTOCOL.md section 6.7) beside an scp-like raw TLS copy
 * measured in the same run: the same file, the same loopback, the same TLS 1.3 PSK
 * configuration and cipher suite, the receiver in a second process writing to disk. The raw
 * copy pipes the file into the socket and the receiver writes what it reads (no framing, no
 * hash); the peer link runs the whole protocol: offer, accept, data frames behind chat,
 * SHA-256 on arrival, rename, file_done. Hashing before the offer is timed on its own.
 * Then chat round trips (msg -> ack) while idle and while the file moves.
 *
 *   npm run bench -- files [--quick]     (--quick: 200 MB instead of 1 GB)
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { FileTransfers, TransferState, type Transfer } from '../src/client/files/transfers.ts';
import type { PeerLink } from '../src/client/peer/link.ts';
import { randomFile } from '../test/helpers/files.ts';
import { forkChild } from './lib/ipc.ts';
import { dialChild } from './lib/peer-pair.ts';
import { fmt, percentile, printTable } from './lib/table.ts';

const quick = process.argv.includes('--quick');
const FILE_BYTES = (quick ? 200 : 1024) * 1024 * 1024;
const IDLE_RTTS = 500;
/** A chat message every this many ms while the file moves. */
const CHAT_INTERVAL_MS = 5;

const MB = 1024 * 1024;

async function rawCopy(path: string, socket: TLSSocket): Promise<number> {
  const started = process.hrtime.bigint();
  const done = new Promise<void>((resolve) => socket.once('data', () => resolve()));
  createReadStream(path, { highWaterMark: 64 * 1024 }).pipe(socket, { end: false });
  await done;
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  socket.end();
  return ms;
}

/** One chat message, timed until its ack (the receiver acks once per read, section 6.4). */
async function chatRtt(link: PeerLink): Promise<number> {
  const started = process.hrtime.bigint();
  const id = link.send('ping from the bench');
  await new Promise<void>((resolve) => {
    const on = (upTo: number) => {
      if (upTo < id) return;
      link.off('delivered', on);
      resolve();
    };
    link.on('delivered', on);
  });
  return Number(process.hrtime.bigint() - started) / 1e6;
}

async function flushToDisk(path: string): Promise<void> {
  const fh = await open(path, 'r+');
  await fh.datasync();
  await fh.close();
}

async function main(): Promise<void> {
  const child = forkChild(new URL('./lib/files-child.ts', import.meta.url).pathname);
  const dir = await mkdtemp(join(tmpdir(), 'p2p-bench-files-src-'));
  try {
    const path = join(dir, 'payload.bin');
    await randomFile(path, FILE_BYTES);
    await flushToDisk(path); // its dirty pages must not be written back during the first run
    const { link, bare } = await dialChild(child);

    const idle: number[] = [];
    for (let i = 0; i < IDLE_RTTS; i++) idle.push(await chatRtt(link));

    // Raw before and after the peer link: the disk and the machine's load drift during a run.
    const raw = async () => {
      await child.call('expect', { bytes: FILE_BYTES });
      const ms = await rawCopy(path, await bare());
      await child.call('clear');
      return ms;
    };
    const rawBefore = await raw();

    const files = new FileTransfers({ downloadDir: dir });
    files.attach(link);
    const hashStart = process.hrtime.bigint();
    const phases = { offered: 0n, active: 0n, done: 0n };
    let transfer: Transfer | null = null;
    const finished = new Promise<void>((resolve, reject) => {
      files.on('update', (t) => {
        const now = process.hrtime.bigint();
        if (t.state === TransferState.OFFERED) phases.offered = now;
        if (t.state === TransferState.ACTIVE) phases.active = now;
        if (t.state === TransferState.DONE) {
          phases.done = now;
          resolve();
        }
        if (t.state === TransferState.FAILED || t.state === TransferState.CANCELLED)
          reject(t.error ?? new Error(t.state));
      });
    });
    transfer = await files.send(link, path);
    const during: number[] = [];
    let moving = true;
    void finished.finally(() => (moving = false));
    const chatter = (async () => {
      while (moving) {
        if (transfer.state === TransferState.ACTIVE) during.push(await chatRtt(link));
        await new Promise((r) => setTimeout(r, CHAT_INTERVAL_MS));
      }
    })();
    await finished;
    await chatter;
    link.close();
    await child.call('clear');
    const rawAfter = await raw();
    const rawMs = Math.min(rawBefore, rawAfter);

    const hashMs = Number(phases.offered - hashStart) / 1e6;
    const peerMs = Number(phases.done - phases.active) / 1e6;
    const mbps = (ms: number) => FILE_BYTES / MB / (ms / 1000);
    console.log(
      `File transfer: ${FILE_BYTES / MB} MiB over ${link.security.protocol} ${link.security.cipher}, receiver in a second process writing to ${tmpdir()}`,
    );
    console.log(
      `machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, Node ${process.version}${quick ? ' (--quick)' : ''}\n`,
    );
    printTable(
      ['transport', 'seconds', 'MiB/s', 'ratio'],
      [
        ['raw TLS copy, before (pipe to socket, write to disk)', fmt(rawBefore / 1000, 2), fmt(mbps(rawBefore)), ''],
        ['raw TLS copy, after', fmt(rawAfter / 1000, 2), fmt(mbps(rawAfter)), ''],
        [
          'peer link file transfer (accept to file_done); ratio to the faster raw run',
          fmt(peerMs / 1000, 2),
          fmt(mbps(peerMs)),
          fmt(rawMs / peerMs, 2),
        ],
        ['(before the offer: SHA-256 of the file)', fmt(hashMs / 1000, 2), fmt(mbps(hashMs)), ''],
      ],
    );
    console.log('');
    const row = (label: string, xs: number[]) => {
      const sorted = [...xs].sort((a, b) => a - b);
      return [
        label,
        xs.length,
        fmt(percentile(sorted, 50), 2),
        fmt(percentile(sorted, 99), 2),
        fmt(sorted.at(-1) ?? NaN, 2),
      ];
    };
    printTable(
      ['chat RTT (msg -> ack)', 'n', 'p50 ms', 'p99 ms', 'max ms'],
      [row('idle', idle), row('during the transfer', during)],
    );
    console.log(`\nload average (1 min) at the end: ${loadavg()[0]?.toFixed(2) ?? '?'} on ${cpus().length} CPUs`);
  } finally {
    await child.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
