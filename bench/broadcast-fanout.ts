/**
 * Broadcast fan-out benchmark (docs/BENCHMARKS.md, "Broadcast fan-out"):
 *
 *   node --import tsx bench/broadcast-fanout.ts [--sizes 1000,10000] [--broadcasts 10]
 *        [--loss-broadcasts 3] [--loss 0.05] [--workers 4] [--scrypt-cost 10] [--skip-mqtt]
 *
 * Runs the real server (bin/p2p-server) and N lightweight receivers spread over a few worker
 * processes, each logged in for real with its own session key and UDP socket. One client
 * broadcasts; the table gives the time from its request until the last receiver has the
 * broadcast (p50/p99 over several broadcasts), per-recipient latency, the server's send loop,
 * and the same with datagrams dropped both ways. Beside it, in the same run, the same
 * fan-out through mosquitto (MQTT QoS 1), installed from Debian's packages if missing.
 * BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR" profiles the server (BENCH_RECEIVER_NODE_ARGS the receivers).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { spawnSync } from 'node:child_process';
import { connect as netConnect, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { BroadcastInbox } from '../src/client/broadcasts.ts';
import { P2PClient } from '../src/client/client.ts';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { USERS_CSV_COLUMNS } from '../src/server/users/csv-store.ts';
import { PasswordHasher } from '../src/server/users/passwords.ts';
import { tempDir } from '../test/helpers/server.ts';
import { spawnServer, type ServerProcess } from '../test/helpers/server-process.ts';
import type { WorkerCommand, WorkerReport } from './lib/fanout-receiver.ts';
import { ensureMosquitto, startMosquitto } from './lib/mosquitto.ts';
import * as mqtt from './lib/mqtt.ts';
import { processCpuMs, udpReceiveBufferErrors } from './lib/proc-cpu.ts';
import { fmt, percentile, printTable } from './lib/table.ts';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000,10000' },
    broadcasts: { type: 'string', default: '10' },
    'loss-broadcasts': { type: 'string', default: '2' },
    loss: { type: 'string', default: '0.05' },
    workers: { type: 'string', default: '4' },
    'scrypt-cost': { type: 'string', default: '10' },
    'skip-mqtt': { type: 'boolean', default: false },
  },
});
const SIZES = args.sizes.split(',').map(Number);
const BROADCASTS = Number(args.broadcasts);
const LOSS_BROADCASTS = Number(args['loss-broadcasts']);
const LOSS = Number(args.loss);
const WORKERS = Number(args.workers);
const SCRYPT_COST = Number(args['scrypt-cost']);
/** Broadcast text size; the MQTT payload is the same size. */
const TEXT_BYTES = 100;
/** Logins in flight per worker: well under the server's 512 queued password checks, and few enough
 * that none waits past its 30 s login timeout on a busy machine. */
const LOGIN_CONCURRENCY = 32;
/** Long enough for the TCP fallback (7 s) with lost datagrams; short so that old broadcasts
 * do not ride along as login backlog when the next size logs in. */
const BROADCAST_TTL = '20s';
const COMPLETE_TIMEOUT_MS = 15_000;
const LOGIN_ALL_TIMEOUT_MS = 40 * 60_000;
/**
 * Before the next broadcast, wait until the server has every ack (its broadcast_delivered
 * event, when every registered user is online), or this long: one fan-out at a time. Past
 * the last retransmission at the RTO floor (t + 300 ms) and the TCP fallback (t + 700 ms).
 */
const SETTLE_MAX_MS = 1_500;
const SETTLE_ALL_ONLINE_MAX_MS = 10_000;
const MQTT_SETTLE_MS = 300;
const PASSWORD = 'bench password';

const log = (line: string) => process.stderr.write(`# ${line}\n`);
const hrnow = () => Number(process.hrtime.bigint());
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Sample {
  key: string;
  /** `bcast` datagrams the receivers got (before emulated loss), all copies; p2p only. */
  datagrams: number | null;
  /** Request sent -> last receiver has it. */
  lastMs: number;
  latencies: number[];
  received: number;
  expected: number;
  viaTcp: number;
  /** From the server's log, p2p only: making it durable, and the send loop to every receiver. */
  server: ServerTimes | null;
  /** CPU from the request until every ack is in (settled): the server's (or broker's) process, the receivers'. */
  cpu: CpuShare | null;
}

interface CpuShare {
  serverMs: number;
  receiversMs: number;
}

/** CPU of the server (or broker) and of the receiver processes, to subtract two of. */
function cpuSnapshot(server: number | undefined, workers: Worker[]): CpuShare {
  return {
    serverMs: processCpuMs(server),
    receiversMs: workers.reduce((a, w) => a + processCpuMs(w.proc.pid), 0),
  };
}

function cpuSince(before: CpuShare, after: CpuShare): CpuShare {
  return { serverMs: after.serverMs - before.serverMs, receiversMs: after.receiversMs - before.receiversMs };
}

interface ServerTimes {
  durableMs: number;
  /** Wall time from the first send to the last; `cpuMs` the CPU those sends took. */
  loopMs: number;
  cpuMs: number;
  /** Mean RTO of the UDP sends (the server's round-trip estimate, section 7.2). */
  rtoMs: number;
  /** Acks the server handled between the first send and the last. */
  acksDuring: number;
}

interface Row {
  n: number;
  system: string;
  samples: Sample[];
  /** Datagrams the kernel dropped for a full UDP receive buffer during the row (any socket). */
  rcvbufErrors: number | null;
}

class Worker {
  readonly proc: ChildProcess;
  private readonly complete = new Map<string, Extract<WorkerReport, { type: 'complete' }>>();
  private readonly waiters = new Set<() => void>();
  private readonly replies: WorkerReport[] = [];
  progress: Extract<WorkerReport, { type: 'progress' }> | null = null;
  private closing = false;

  constructor() {
    this.proc = fork(new URL('./lib/fanout-receiver.ts', import.meta.url).pathname, [], {
      execArgv: ['--import', 'tsx', ...(process.env.BENCH_RECEIVER_NODE_ARGS?.split(' ').filter(Boolean) ?? [])],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.proc.on('exit', (code, signal) => {
      if (!this.closing) log(`a receiver process exited (code ${code}, signal ${signal}): the run cannot finish`);
    });
    this.proc.on('message', (report: WorkerReport) => {
      if (report.type === 'complete') this.complete.set(report.key, report);
      else if (report.type === 'error') log(`worker error: ${report.message}`);
      else if (report.type === 'progress') this.progress = report;
      else this.replies.push(report);
      for (const wake of this.waiters) wake();
    });
  }

  command(command: WorkerCommand): void {
    this.proc.send(command);
  }

  async reply<T extends WorkerReport['type']>(
    type: T,
    timeoutMs = 600_000,
  ): Promise<Extract<WorkerReport, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.replies.findIndex((r) => r.type === type);
      if (i >= 0) return this.replies.splice(i, 1)[0] as Extract<WorkerReport, { type: T }>;
      if (Date.now() > deadline) throw new Error(`worker sent no ${type}`);
      await this.wake(deadline - Date.now());
    }
  }

  /** All receipts of `key` once every receiver of this worker has it, or what there is at the deadline. */
  async receipts(key: string, deadline: number): Promise<{ times: number[]; viaTcp: number }> {
    while (!this.complete.has(key) && Date.now() < deadline) await this.wake(deadline - Date.now());
    const done = this.complete.get(key);
    if (done) return done;
    this.command({ cmd: 'collect', key });
    return this.reply('partial');
  }

  private wake(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(1, ms));
      this.waiters.add(done);
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    const exited = new Promise((resolve) => this.proc.once('exit', resolve));
    this.command({ cmd: 'close' });
    await Promise.race([exited, sleep(5_000)]);
    this.proc.kill('SIGKILL');
  }
}

/** Deal `items` round-robin among `workers`: each worker with its share. */
function deal<W, T>(workers: W[], items: T[]): Array<[W, T[]]> {
  return workers.map((w, i) => [w, items.filter((_, j) => j % workers.length === i)]);
}

async function measure(
  workers: Worker[],
  expected: number,
  send: () => Promise<{ key: string; t0: number }>,
  serverTimes: (key: string) => Promise<ServerTimes | null>,
): Promise<Sample> {
  const { key, t0 } = await send();
  const deadline = Date.now() + COMPLETE_TIMEOUT_MS;
  const parts = await Promise.all(workers.map((w) => w.receipts(key, deadline)));
  const times = parts.flatMap((p) => p.times);
  const latencies = times.map((t) => (t - t0) / 1e6).sort((a, b) => a - b);
  return {
    key,
    datagrams: null,
    lastMs: latencies[latencies.length - 1] ?? Number.NaN,
    latencies,
    received: times.length,
    expected,
    viaTcp: parts.reduce((n, p) => n + p.viaTcp, 0),
    server: await serverTimes(key),
    cpu: null,
  };
}

async function datagramsOf(workers: Worker[], key: string): Promise<number> {
  const counts = await Promise.all(
    workers.map(async (w) => {
      w.command({ cmd: 'datagrams', key });
      return (await w.reply('datagrams')).count;
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}

async function benchP2P(rows: Row[]): Promise<void> {
  const data = await tempDir('bench-data');
  const config = await tempDir('bench-client');
  // Accounts made beforehand, all with one hash of the one password: logins still verify a
  // full scrypt each, but the server does not rewrite users.csv 10,000 times during setup.
  const total = Math.max(...SIZES);
  const hash = await new PasswordHasher({ logN: SCRYPT_COST }).hash(PASSWORD);
  const created = new Date().toISOString();
  const accounts = ['bench-sender', ...Array.from({ length: total }, (_, i) => `r${i}`)].map((u) => [
    u,
    hash,
    created,
    '',
  ]);
  await writeFile(join(data.path, 'users.csv'), stringify([[...USERS_CSV_COLUMNS], ...accounts]));
  const server: ServerProcess = await spawnServer(
    [
      '--port',
      '0',
      '--data-dir',
      data.path,
      '--scrypt-cost',
      String(SCRYPT_COST),
      '--max-registrations-per-minute',
      '1000000',
      '--broadcasts-per-minute',
      '1000000',
      '--broadcast-ttl',
      BROADCAST_TTL,
      '--log-level',
      'info',
    ],
    { nodeArgs: process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) },
  );
  const workers = Array.from({ length: WORKERS }, () => new Worker());
  const sender = new P2PClient({ host: '127.0.0.1', port: server.port, configDir: config.path, reconnect: false });
  const inbox = new BroadcastInbox(sender);
  try {
    await sender.login('bench-sender', PASSWORD);
    const delivered = async (bid: string, timeoutMs: number) => {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline && !server.lines.some((l) => l.event === 'broadcast_delivered' && l.bid === bid))
        await sleep(20);
    };
    const serverTimes = async (bid: string): Promise<ServerTimes | null> => {
      for (let i = 0; i < 100; i++) {
        const created = server.lines.find((l) => l.event === 'broadcast_created' && l.bid === bid);
        const fanout = server.lines.find((l) => l.event === 'broadcast_fanout' && l.bid === bid);
        if (created && fanout)
          return {
            durableMs: created.durableMs as number,
            loopMs: fanout.ms as number,
            cpuMs: fanout.cpuMs as number,
            rtoMs: fanout.rtoMs as number,
            acksDuring: fanout.acksDuring as number,
          };
        await sleep(10);
      }
      return null;
    };
    let online = 0;
    for (const n of SIZES) {
      const started = Date.now();
      const names = Array.from({ length: n - online }, (_, i) => `r${online + i}`);
      for (const [w, users] of deal(workers, names)) {
        w.command({
          cmd: 'login',
          host: '127.0.0.1',
          port: server.port,
          users,
          pass: PASSWORD,
          concurrency: LOGIN_CONCURRENCY,
        });
      }
      const ticker = setInterval(() => {
        const p = workers.map((w) => w.progress).filter((x) => x !== null);
        const failed = p.map((x) => JSON.stringify(x.failures)).join(' ');
        log(
          `  logged in ${p.reduce((a, x) => a + x.receivers, 0)}, UDP alive ${p.reduce((a, x) => a + x.udpAlive, 0)}; retries ${failed}`,
        );
      }, 5_000);
      // 10,000 logins took over 10 minutes on a loaded machine (each sends presence to everyone online).
      await Promise.all(workers.map((w) => w.reply('ready', LOGIN_ALL_TIMEOUT_MS))).finally(() =>
        clearInterval(ticker),
      );
      online = n;
      log(`${n} receivers logged in and UDP-registered in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      let count = 0;
      let lastBid = '';
      const send = async () => {
        const text = `bench ${n} ${++count} `.padEnd(TEXT_BYTES, '.');
        const t0 = hrnow();
        const { bid } = await inbox.send(text);
        lastBid = bid;
        return { key: bid, t0 };
      };
      const settle = () => delivered(lastBid, n === total ? SETTLE_ALL_ONLINE_MAX_MS : SETTLE_MAX_MS);
      /** One broadcast, measured, then settled and its datagrams counted. */
      const sample = async (): Promise<Sample> => {
        const before = cpuSnapshot(server.proc.pid, workers);
        const s = await measure(workers, n, send, serverTimes);
        await settle();
        s.cpu = cpuSince(before, cpuSnapshot(server.proc.pid, workers));
        s.datagrams = await datagramsOf(workers, s.key);
        return s;
      };
      await measure(workers, n, send, serverTimes); // warm-up, not counted
      await settle();
      const clean: Row = { n, system: 'p2p-broadcast (UDP, AES-GCM per recipient)', samples: [], rcvbufErrors: null };
      let drops = udpReceiveBufferErrors();
      for (let i = 0; i < BROADCASTS; i++) clean.samples.push(await sample());
      clean.rcvbufErrors = udpReceiveBufferErrors() - drops;
      rows.push(clean);
      log(`${n}: ${clean.samples.map((s) => s.lastMs.toFixed(0)).join(' ')} ms`);
      for (const w of workers) w.command({ cmd: 'loss', rate: LOSS });
      const lossy: Row = {
        n,
        system: `p2p-broadcast, ${LOSS * 100}% datagrams lost each way`,
        samples: [],
        rcvbufErrors: null,
      };
      drops = udpReceiveBufferErrors();
      for (let i = 0; i < LOSS_BROADCASTS; i++) lossy.samples.push(await sample());
      lossy.rcvbufErrors = udpReceiveBufferErrors() - drops;
      for (const w of workers) w.command({ cmd: 'loss', rate: 0 });
      if (lossy.samples.length > 0) rows.push(lossy);
    }
  } finally {
    await sender.close().catch(() => {});
    await Promise.all(workers.map((w) => w.close()));
    await server.kill('SIGTERM');
    await data.remove();
    await config.remove();
  }
}

async function benchMqtt(rows: Row[], notes: string[]): Promise<void> {
  const binary = ensureMosquitto(log);
  if (!binary) {
    notes.push('mosquitto could not be installed: MQTT column skipped');
    return;
  }
  const dir = await tempDir('bench-mqtt');
  const broker = await startMosquitto(binary, dir.path);
  notes.push(`MQTT baseline: ${broker.version}, QoS 1 publish and subscriptions, persistence off, TCP_NODELAY`);
  const workers = Array.from({ length: WORKERS }, () => new Worker());
  const publisher: Socket = netConnect({ host: '127.0.0.1', port: broker.port, noDelay: true });
  try {
    await new Promise<void>((resolve, reject) => {
      publisher.once('error', reject);
      publisher.once('connect', () => {
        publisher.write(mqtt.connect('bench-publisher'));
        resolve();
      });
    });
    publisher.on('data', () => {}); // CONNACK and PUBACKs
    let online = 0;
    let packetId = 0;
    for (const n of SIZES) {
      const started = Date.now();
      const ids = Array.from({ length: n - online }, (_, i) => `s${online + i}`);
      for (const [w, clientIds] of deal(workers, ids)) {
        w.command({ cmd: 'mqtt', port: broker.port, clientIds, topic: 'bench/all', concurrency: LOGIN_CONCURRENCY });
      }
      await Promise.all(workers.map((w) => w.reply('mqtt-ready')));
      online = n;
      log(`${n} MQTT subscribers connected in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      const send = () => {
        packetId = (packetId % 65535) + 1;
        const key = `m${n}-${packetId}`;
        const payload = Buffer.from(`${key} `.padEnd(TEXT_BYTES, '.'));
        const t0 = hrnow();
        publisher.write(mqtt.publish('bench/all', payload, 1, packetId));
        return Promise.resolve({ key, t0 });
      };
      const noServerTimes = () => Promise.resolve(null);
      await measure(workers, n, send, noServerTimes);
      const row: Row = { n, system: 'mosquitto (MQTT QoS 1, TCP)', samples: [], rcvbufErrors: null };
      for (let i = 0; i < BROADCASTS; i++) {
        const before = cpuSnapshot(broker.pid, workers);
        const s = await measure(workers, n, send, noServerTimes);
        await sleep(MQTT_SETTLE_MS);
        s.cpu = cpuSince(before, cpuSnapshot(broker.pid, workers));
        row.samples.push(s);
      }
      rows.push(row);
      log(`${n} via mosquitto: ${row.samples.map((s) => s.lastMs.toFixed(0)).join(' ')} ms`);
    }
  } finally {
    publisher.destroy();
    await Promise.all(workers.map((w) => w.close()));
    await broker.stop();
    await dir.remove();
  }
}

function tableRows(rows: Row[]): string[][] {
  const ms = (v: number) => (Number.isFinite(v) ? `${fmt(v, v < 10 ? 1 : 0)} ms` : '-');
  return rows.map(({ n, system, samples, rcvbufErrors }) => {
    const last = samples.map((s) => s.lastMs).sort((a, b) => a - b);
    const all = samples.flatMap((s) => s.latencies).sort((a, b) => a - b);
    const times = samples.map((s) => s.server).filter((v): v is ServerTimes => v !== null);
    const loops = times.map((t) => t.loopMs).sort((a, b) => a - b);
    const durable = times.map((t) => t.durableMs).sort((a, b) => a - b);
    const cpu = times.map((t) => t.cpuMs).sort((a, b) => a - b);
    const rto = times.map((t) => t.rtoMs).sort((a, b) => a - b);
    const during = times.map((t) => t.acksDuring).sort((a, b) => a - b);
    const shares = samples.map((s) => s.cpu).filter((c): c is CpuShare => c !== null);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const serverCpu = mean(shares.map((c) => c.serverMs));
    const receiversCpu = mean(shares.map((c) => c.receiversMs));
    const got = samples.reduce((a, s) => a + s.received, 0);
    const want = samples.reduce((a, s) => a + s.expected, 0);
    const tcp = samples.reduce((a, s) => a + s.viaTcp, 0);
    const counted = samples.filter((s) => s.datagrams !== null);
    const perRecipient =
      counted.length === 0
        ? '-'
        : fmt(counted.reduce((a, s) => a + (s.datagrams ?? 0), 0) / counted.reduce((a, s) => a + s.expected, 0), 3);
    return [
      n.toLocaleString('en'),
      system,
      String(samples.length),
      ms(percentile(last, 50)),
      ms(percentile(last, 99)),
      ms(percentile(all, 50)),
      ms(percentile(all, 99)),
      ms(percentile(durable, 50)),
      ms(percentile(loops, 50)),
      ms(percentile(cpu, 50)),
      ms(percentile(rto, 50)),
      system.startsWith('mosquitto') ? '-' : fmt(percentile(during, 50), 0),
      ms(serverCpu),
      ms(receiversCpu),
      `${fmt((100 * serverCpu) / (serverCpu + receiversCpu), 0)}%`,
      rcvbufErrors === null ? '-' : String(rcvbufErrors),
      `${((100 * got) / want).toFixed(got === want ? 0 : 2)}%`,
      system.startsWith('mosquitto') ? '-' : String(tcp),
      perRecipient,
    ];
  });
}

const HEADERS = [
  'N receivers',
  'system',
  'broadcasts',
  'time to last, p50',
  'p99',
  'per recipient, p50',
  'p99',
  'of which durable (fsync), p50',
  'server send loop, p50',
  'its CPU time, p50',
  'RTO (mean), p50',
  'acks handled during the loop, p50',
  'server (broker) CPU per broadcast, mean',
  "receivers' CPU, mean",
  'server share',
  'UDP rcvbuf drops',
  'delivered',
  'via TCP',
  'datagrams per recipient',
];

function machine(): string {
  const shell = (cmd: string) => spawnSync('sh', ['-c', cmd], { encoding: 'utf8' }).stdout.trim();
  return [
    `machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB (${(freemem() / 2 ** 30).toFixed(0)} free)`,
    `node ${process.version}, open files limit ${shell('ulimit -n')}, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
    `receivers: ${WORKERS} worker processes; scrypt cost logN ${SCRYPT_COST} (lowered for setup speed: it does not touch the fan-out)`,
  ].join('\n');
}

async function main(): Promise<void> {
  const started = Date.now();
  const header = machine();
  log(header.replaceAll('\n', '\n# '));
  const rows: Row[] = [];
  const notes: string[] = [];
  await benchP2P(rows);
  if (args['skip-mqtt']) notes.push('MQTT column skipped (--skip-mqtt)');
  else await benchMqtt(rows, notes);
  const order = (r: Row) => r.n * 10 + (r.system.startsWith('mosquitto') ? 2 : r.system.includes('lost') ? 1 : 0);
  rows.sort((a, b) => order(a) - order(b));
  process.stdout.write(
    `\nBroadcast fan-out: one ${TEXT_BYTES}-byte broadcast to N online receivers (+ the sender)\n${header}\n\n`,
  );
  printTable(HEADERS, tableRows(rows));
  process.stdout.write('\n');
  for (const note of notes) process.stdout.write(`- ${note}\n`);
  process.stdout.write(
    `- time to last: from the sender's request until the last receiver has it (percentiles over the broadcasts; with 10, p99 is the worst)\n` +
      `- p2p-broadcast includes making the broadcast durable (fsync) before the fan-out; receipt is timed after decryption\n` +
      `- loss is emulated in the receivers: each drops ${LOSS * 100}% of datagrams it gets and of acks it sends\n` +
      `- total run ${((Date.now() - started) / 1000).toFixed(0)} s\n`,
  );
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`bench failed: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
