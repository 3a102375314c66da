/**
 * Issue 2 benchmark: sessions held, memory per idle session against a bare TLS socket,
 * login throughput against the scrypt limit, event-loop delay during a login storm.
 * Run: npm run bench -- server-load   (flags: --sessions N --storm N --scrypt-cost N)
 */
import { availableParallelism, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { stringify } from 'csv-stringify/sync';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { createSelfSigned } from '../src/server/identity.ts';
import { USERS_CSV_COLUMNS } from '../src/server/users/csv-store.ts';
import { DEFAULT_SCRYPT_LOG_N, scryptHash } from '../src/server/users/passwords.ts';
import { forkChild, type Child } from './lib/ipc.ts';
import { fmt, percentile, printTable } from './lib/table.ts';

const here = new URL('.', import.meta.url).pathname;
const PASSWORD = 'bench-password';
const LOAD_PROCESSES = 2;
const BASELINE_EXCHANGE_BYTES = 1024;

const args = await yargs(hideBin(process.argv))
  .option('sessions', { type: 'number', default: 10_000, describe: 'idle sessions to open and hold' })
  .option('storm', { type: 'number', default: 200, describe: 'simultaneous logins in the storm' })
  .option('scrypt-cost', {
    type: 'number',
    default: DEFAULT_SCRYPT_LOG_N,
    describe: 'logN of the storm users (the server default)',
  })
  .option('census', {
    type: 'boolean',
    default: false,
    describe: 'heap snapshots before and after the idle sessions: the heap per session by constructor',
  })
  .option('session-scrypt-cost', {
    type: 'number',
    default: 10,
    describe: 'logN of the idle-session users (lowered to open many quickly)',
  })
  .strict()
  .parseAsync();

type MemoryUsage = NodeJS.MemoryUsage;

async function timeHash(logN: number, samples: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t = performance.now();
    await scryptHash(PASSWORD, logN);
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)] ?? Number.NaN; // NaN (printed n/a) for no samples
}

async function openSpread(
  loaders: Child[],
  port: number,
  count: number,
  prefix: string,
  pass: string | null,
  parallel: number,
  exchangeBytes = 0,
) {
  const per = Math.ceil(count / loaders.length);
  const started = performance.now();
  const results = await Promise.all(
    loaders.map((loader, i) =>
      loader.call<{ times: number[]; errors: string[]; errorCount: number }>('openMany', {
        port,
        first: i * per,
        count: Math.max(0, Math.min(per, count - i * per)),
        parallel,
        prefix,
        pass,
        exchangeBytes,
      }),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  const times = results.flatMap((r) => r.times).sort((a, b) => a - b);
  const errorCount = results.reduce((n, r) => n + r.errorCount, 0);
  return { seconds, times, errorCount, errors: results.flatMap((r) => r.errors).slice(0, 3) };
}

const perConnectionKb = (before: MemoryUsage, after: MemoryUsage, n: number) =>
  (after.rss - before.rss) / 1024 / Math.max(1, n);

const dir = await mkdtemp(join(tmpdir(), 'p2p-bench-'));
const children: Child[] = [];
try {
  console.log(
    `machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`,
  );
  console.log(
    `scrypt: storm users at logN ${args['scrypt-cost']} (server default ${DEFAULT_SCRYPT_LOG_N}); idle-session users LOWERED to logN ${args['session-scrypt-cost']} so ${args.sessions} can log in quickly`,
  );

  // Accounts, written straight into users.csv (one hash per cost: every bench user has the same password).
  const [sessionHash, stormHash] = await Promise.all([
    scryptHash(PASSWORD, args['session-scrypt-cost']),
    scryptHash(PASSWORD, args['scrypt-cost']),
  ]);
  const now = new Date().toISOString();
  const rows = [
    ...Array.from({ length: args.sessions }, (_, i) => [`idle${i}`, sessionHash, now, '']),
    ...Array.from({ length: args.storm }, (_, i) => [`storm${i}`, stormHash, now, '']),
  ];
  await writeFile(join(dir, 'users.csv'), stringify([[...USERS_CSV_COLUMNS], ...rows]));
  const { key, cert } = await createSelfSigned();

  const loaders = Array.from({ length: LOAD_PROCESSES }, () => forkChild(join(here, 'lib/load-child.ts')));
  children.push(...loaders);

  // Baselines: a bare Node TLS server holding the same number of connections, idle (as the
  // issue states it), and after a 1 KiB exchange each way: the first write or read of
  // application data makes OpenSSL and Node keep per-connection buffers, which any session
  // that has logged in pays.
  const bareRun = async (exchangeBytes: number) => {
    const bare = forkChild(join(here, 'lib/server-child.ts'));
    children.push(bare);
    const barePort = (await bare.call<{ port: number }>('start', { kind: 'bare', key, cert, exchangeBytes })).port;
    const before = await bare.call<MemoryUsage>('memory');
    await openSpread(loaders, barePort, args.sessions, '', null, 100, exchangeBytes);
    const held = await bare.call<number>('count');
    const after = await bare.call<MemoryUsage>('memory');
    await Promise.all(loaders.map((l) => l.call('closeAll')));
    await bare.stop();
    return {
      held,
      kb: perConnectionKb(before, after, held),
      heapKb: (after.heapUsed - before.heapUsed) / 1024 / Math.max(1, held),
    };
  };
  const bareIdle = await bareRun(0);
  const bareUsed = await bareRun(BASELINE_EXCHANGE_BYTES);

  // The real server: idle sessions logged in and held.
  const server = forkChild(join(here, 'lib/server-child.ts'));
  children.push(server);
  const { port } = await server.call<{ port: number }>('start', {
    kind: 'real',
    dataDir: dir,
    scryptLogN: args['scrypt-cost'],
    maxConnections: args.sessions + args.storm + 100,
  });
  const censusBefore = args.census ? await server.call<Record<string, number>>('census') : {};
  const before = await server.call<MemoryUsage>('memory');
  const held = await openSpread(loaders, port, args.sessions, 'idle', PASSWORD, 100);
  const heldCount = await server.call<number>('count');
  const lost = await server.call<Record<string, number>>('closeReasons');
  const after = await server.call<MemoryUsage>('memory');
  const censusAfter = args.census ? await server.call<Record<string, number>>('census') : {};
  await Promise.all(loaders.map((l) => l.call('closeAll')));
  for (let i = 0; i < 600 && (await server.call<number>('count')) > 0; i++) await new Promise((r) => setTimeout(r, 50));

  // Login storm on an idle server, at the real password cost.
  const hashMs = await timeHash(args['scrypt-cost'], 5);
  const cores = availableParallelism();
  const scryptLimit = cores / (hashMs / 1000);
  await server.call('loopStart');
  const storm = await openSpread(loaders, port, args.storm, 'storm', PASSWORD, args.storm);
  const loop = await server.call<{ p50: number; p99: number; max: number }>('loopStop');
  await Promise.all(loaders.map((l) => l.call('closeAll')));

  const ourKb = perConnectionKb(before, after, heldCount);
  const stormRate = (args.storm - storm.errorCount) / storm.seconds;
  console.log('');
  printTable(
    ['measure', 'p2p-server', 'baseline (same run)', 'ratio', 'aim'],
    [
      [
        'sessions logged in and held',
        `${heldCount} of ${args.sessions} (${fmt(held.seconds)} s to open, ${held.errorCount} errors)`,
        `bare TLS: ${bareIdle.held} held`,
        fmt(heldCount / Math.max(1, bareIdle.held), 2),
        '10,000',
      ],
      [
        'memory per idle session (RSS)',
        `${fmt(ourKb)} KB`,
        `bare idle TLS socket: ${fmt(bareIdle.kb)} KB`,
        `${fmt(ourKb / bareIdle.kb, 2)}x`,
        '< 2x',
      ],
      ['', '', `bare TLS socket after 1 KiB each way: ${fmt(bareUsed.kb)} KB`, `${fmt(ourKb / bareUsed.kb, 2)}x`, ''],
      [
        `logins/s, storm of ${args.storm} at logN ${args['scrypt-cost']}`,
        fmt(stormRate),
        `scrypt limit ${cores} cores / ${fmt(hashMs)} ms = ${fmt(scryptLimit)}`,
        fmt(stormRate / scryptLimit, 2),
        '~1',
      ],
      [
        `login latency in the storm p50 / p99`,
        `${fmt(percentile(storm.times, 50), 0)} / ${fmt(percentile(storm.times, 99), 0)} ms`,
        '',
        '',
        '',
      ],
      [
        `event-loop delay p99 during the storm`,
        `${fmt(loop.p99)} ms (p50 ${fmt(loop.p50)}, max ${fmt(loop.max)})`,
        '',
        '',
        '< 20 ms',
      ],
    ],
  );
  const kb = (a: number, b: number, n: number) => fmt((b - a) / 1024 / Math.max(1, n));
  console.log(
    `per-session breakdown: heap ${kb(before.heapUsed, after.heapUsed, heldCount)} KB, external ${kb(before.external, after.external, heldCount)} KB; ` +
      `bare idle: heap ${fmt(bareIdle.heapKb)} KB`,
  );
  if (args.census) {
    const rows = Object.entries(censusAfter)
      .map(([name, bytes]) => [name, (bytes - (censusBefore[name] ?? 0)) / Math.max(1, heldCount)] as const)
      .sort((a, b) => b[1] - a[1]);
    const total = rows.reduce((a, [, b]) => a + b, 0);
    console.log(`\nheap per idle session by constructor (snapshot self sizes, after - before): ${fmt(total)} B in all`);
    printTable(
      ['type:constructor', 'bytes per session'],
      rows.slice(0, 20).map(([name, b]) => [name, fmt(b, 0)]),
    );
    const d = (k: keyof NodeJS.MemoryUsage) => (after[k] - before[k]) / 1024 / Math.max(1, heldCount);
    console.log(
      `per session: rss ${fmt(d('rss'))} KB = V8 heap (committed) ${fmt(d('heapTotal'))} KB + external ${fmt(d('external'))} KB + native (rest) ${fmt(d('rss') - d('heapTotal') - d('external'))} KB`,
    );
  }
  if (heldCount < args.sessions)
    console.log(`sessions the server closed during the ramp, by reason: ${JSON.stringify(lost)}`);
  if (held.errorCount || storm.errorCount) console.log(`errors: ${[...held.errors, ...storm.errors].join('; ')}`);
} finally {
  await Promise.all(children.map((c) => c.stop()));
  await rm(dir, { recursive: true, force: true });
}
