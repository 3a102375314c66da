/**
 * Issue 11 soak: about 10 minutes of mixed churn against one real server in a child process
 * (logins and logouts, peer requests and chats, broadcasts, bad input, half-open floods),
 * sampling its RSS, heap, libuv handles and open fds over time, beside an idle server started
 * the same way in the same run. Prints every sample, the slope per hour of each measure
 * (least squares after the warm-up), and RSS across the floods.
 * Run: npm run bench -- soak   (flags: --minutes N --flood N --flood-every S --sample-every S)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import * as ScryptTyped from 'scrypt-kdf';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { USERS_CSV_COLUMNS } from '../src/server/users/csv-store.ts';
import { forkChild, type Child } from './lib/ipc.ts';
import { fmt, printTable } from './lib/table.ts';

const Scrypt = (ScryptTyped as unknown as { default: typeof ScryptTyped }).default;
const here = new URL('.', import.meta.url).pathname;
const PASSWORD = 'soak-password';
/** Lowered from the default 15 so that churn measures the server, not scrypt. */
const SCRYPT_LOG_N = 10;
const CHURN_USERS = 64;
const PEER_PAIRS = 3;
/** Floods come from their own loopback address: a server that is fair per address keeps the churn (127.0.0.1) going. */
const FLOOD_FROM = '127.0.0.2';
/** Samples in the first minute are warm-up (caches, JIT, pools): left out of the slopes. */
const WARMUP_MS = 60_000;

const args = await yargs(hideBin(process.argv))
  .option('minutes', { type: 'number', default: 10, describe: 'how long the churn runs' })
  .option('flood', { type: 'number', default: 16_000, describe: 'TCP connections in each half-open flood' })
  .option('flood-every', { type: 'number', default: 60, describe: 'seconds between the starts of floods' })
  .option('sample-every', { type: 'number', default: 20, describe: 'seconds between samples' })
  .option('broadcast-ttl', {
    type: 'number',
    default: 60,
    describe: 'seconds a broadcast lives (short, to reach a steady state)',
  })
  .strict()
  .parseAsync();

interface Sample {
  atMs: number;
  label: string;
  real: Measures;
  idle: Measures;
}
interface Measures {
  rss: number;
  heapUsed: number;
  external: number;
  handles: number;
  fds: number;
  sessions: number;
  resources: Record<string, number>;
}

const MB = 1024 * 1024;

function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** VmRSS from /proc, in bytes: what the kernel charges, without asking the process. */
function procRss(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(/\d+/.exec(line ?? '')?.[0] ?? 0) * 1024;
}

async function measure(child: Child): Promise<Measures> {
  const s = await child.call<{
    heapUsed: number;
    external: number;
    handles: number;
    resources: Record<string, number>;
    sessions: number;
  }>('sample');
  const pid = child.proc.pid as number;
  return {
    rss: procRss(pid),
    heapUsed: s.heapUsed,
    external: s.external,
    handles: s.handles,
    fds: fdCount(pid),
    sessions: s.sessions,
    resources: s.resources,
  };
}

/** Least-squares slope of y over time, per hour. */
function slopePerHour(points: Array<[number, number]>): number {
  if (points.length < 2) return NaN;
  const n = points.length;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? NaN : (num / den) * 3_600_000;
}

const dir = await mkdtemp(join(tmpdir(), 'p2p-soak-'));
const children: Child[] = [];
try {
  console.log(
    `machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`,
  );
  console.log(
    `soak: ${args.minutes} min; floods of ${args.flood} half-open connections every ${args['flood-every']} s; ` +
      `${CHURN_USERS} churn users, ${PEER_PAIRS} peer pairs, 1 broadcaster; scrypt logN ${SCRYPT_LOG_N} (lowered); broadcast TTL ${args['broadcast-ttl']} s`,
  );

  const hash = Buffer.from(await Scrypt.kdf(PASSWORD, { logN: SCRYPT_LOG_N, r: 8, p: 1 })).toString('base64');
  const pairs = Array.from({ length: PEER_PAIRS }, (_, i): [string, string] => [`peerA${i}`, `peerB${i}`]);
  const churnUsers = Array.from({ length: CHURN_USERS }, (_, i) => `churn${i}`);
  const names = [...churnUsers, 'caster', ...pairs.flat()];
  const created = new Date().toISOString();
  const realDir = join(dir, 'real');
  const idleDir = join(dir, 'idle');
  for (const d of [realDir, idleDir]) {
    await mkdir(d);
    await writeFile(
      join(d, 'users.csv'),
      stringify([[...USERS_CSV_COLUMNS], ...names.map((n) => [n, hash, created, ''])]),
    );
  }

  const start = (child: Child, dataDir: string) =>
    child.call<{ port: number; udpPort: number }>('start', {
      kind: 'real',
      dataDir,
      scryptLogN: SCRYPT_LOG_N,
      maxConnections: 16_000,
      broadcastTtlMs: args['broadcast-ttl'] * 1000,
    });
  const real = forkChild(join(here, 'lib/server-child.ts'));
  const idle = forkChild(join(here, 'lib/server-child.ts'));
  const churn = forkChild(join(here, 'lib/churn-child.ts'));
  const mixed = forkChild(join(here, 'lib/soak-child.ts'));
  const flooder = forkChild(join(here, 'lib/soak-child.ts'));
  children.push(real, idle, churn, mixed, flooder);
  const { port, udpPort } = await start(real, realDir);
  await start(idle, idleDir);

  const t0 = performance.now();
  const elapsed = () => performance.now() - t0;
  const endAt = args.minutes * 60_000;
  const samples: Sample[] = [];
  const take = async (label: string) => {
    const [r, i] = await Promise.all([measure(real), measure(idle)]);
    samples.push({ atMs: elapsed(), label, real: r, idle: i });
  };
  await take('start');

  // Churn: logins/logouts in a loop, a broadcaster, peer pairs and bad input.
  let stopping = false;
  const churnTotals = { logins: 0, errors: 0, lastErrors: [] as string[] };
  const churnLoop = (async () => {
    while (!stopping) {
      const r = await churn.call<{ times: number[]; errorCount: number; errors: string[] }>('churn', {
        port,
        users: churnUsers,
        pass: PASSWORD,
        count: 200,
        parallel: 4,
      });
      churnTotals.logins += r.times.length;
      churnTotals.errors += r.errorCount;
      if (r.errors.length) churnTotals.lastErrors = r.errors;
    }
  })();
  await churn.call('broadcastStart', { port, user: 'caster', pass: PASSWORD, perSecond: 0.1 });
  await mixed.call('start', { port, udpPort, pairs, pass: PASSWORD, messages: 5, badIntervalMs: 200 });

  // Floods at fixed times, samples between; a sample right after each flood has drained.
  const floods: Array<{
    atMs: number;
    opened: number;
    failed: number;
    closedByServer: number;
    stillHeldAtEnd: number;
    openSeconds: number;
  }> = [];
  let nextFlood = (args['flood-every'] * 1000) / 2;
  let nextSample = args['sample-every'] * 1000;
  while (elapsed() < endAt) {
    if (elapsed() >= nextFlood && elapsed() + 15_000 < endAt) {
      const atMs = elapsed();
      const f = await flooder.call<Omit<(typeof floods)[number], 'atMs'>>('flood', {
        port,
        count: args.flood,
        parallel: 500,
        holdMs: 12_000,
        from: FLOOD_FROM,
      });
      floods.push({ atMs, ...f });
      await take(`after flood ${floods.length}`);
      nextFlood = atMs + args['flood-every'] * 1000;
    } else if (elapsed() >= nextSample) {
      await take('');
      nextSample = elapsed() + args['sample-every'] * 1000;
    } else {
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  stopping = true;
  const broadcasts = await churn.call<{ sent: number; accepted: number; refused: number }>('broadcastStop');
  const mixedTotals = await mixed.call<Record<string, unknown>>('stop');
  await churnLoop;
  // Everything stopped: what is left is what the server keeps.
  await new Promise((r) => setTimeout(r, 5_000));
  await take('churn stopped + 5 s');

  console.log('');
  const row = (s: Sample) => [
    fmt(s.atMs / 60_000, 1),
    s.label,
    fmt(s.real.rss / MB),
    fmt(s.real.heapUsed / MB),
    fmt(s.real.external / MB),
    s.real.handles,
    s.real.fds,
    s.real.sessions,
    fmt(s.idle.rss / MB),
    fmt(s.idle.heapUsed / MB),
    s.idle.handles,
    s.idle.fds,
  ];
  printTable(
    [
      'min',
      'event',
      'RSS MB',
      'heap MB',
      'ext MB',
      'handles',
      'fds',
      'online',
      'idle RSS MB',
      'idle heap MB',
      'idle handles',
      'idle fds',
    ],
    samples.map(row),
  );

  const steady = samples.filter((s) => s.atMs >= WARMUP_MS && s.label !== 'churn stopped + 5 s');
  // The second half tells a plateau (allocator high-water mark) from steady growth.
  const secondHalf = steady.filter((s) => s.atMs >= endAt / 2);
  const slope = (over: Sample[], pick: (m: Measures) => number, which: 'real' | 'idle') =>
    slopePerHour(over.map((s) => [s.atMs, pick(s[which])]));
  const rows = (over: Sample[], when: string): Array<Array<string>> => [
    [
      `RSS, ${when}`,
      `${fmt(slope(over, (m) => m.rss / MB, 'real'))} MB/h`,
      `${fmt(slope(over, (m) => m.rss / MB, 'idle'))} MB/h`,
    ],
    [
      `heap used (after GC), ${when}`,
      `${fmt(slope(over, (m) => m.heapUsed / MB, 'real'))} MB/h`,
      `${fmt(slope(over, (m) => m.heapUsed / MB, 'idle'))} MB/h`,
    ],
    [
      `external, ${when}`,
      `${fmt(slope(over, (m) => m.external / MB, 'real'))} MB/h`,
      `${fmt(slope(over, (m) => m.external / MB, 'idle'))} MB/h`,
    ],
    [
      `libuv handles, ${when}`,
      `${fmt(slope(over, (m) => m.handles, 'real'))} /h`,
      `${fmt(slope(over, (m) => m.handles, 'idle'))} /h`,
    ],
    [
      `open fds, ${when}`,
      `${fmt(slope(over, (m) => m.fds, 'real'))} /h`,
      `${fmt(slope(over, (m) => m.fds, 'idle'))} /h`,
    ],
  ];
  console.log('');
  console.log(
    `slopes per hour, least squares while the churn ran: ${steady.length} samples after the first minute, ${secondHalf.length} in the second half:`,
  );
  printTable(
    ['measure', 'churned server', 'idle server (same run)'],
    [...rows(steady, 'after 1 min'), ...rows(secondHalf, 'second half')],
  );

  const afterFloods = samples.filter((s) => s.label.startsWith('after flood'));
  console.log('');
  console.log(
    `half-open floods (${args.flood} TCP connections each from ${FLOOD_FROM}, 3 bytes sent, held up to 12 s):`,
  );
  printTable(
    [
      'flood',
      'min',
      'connected',
      'failed to connect',
      'closed by server',
      'still open after 12 s',
      'open time s',
      'RSS after MB',
      'heap after MB',
      'fds after',
    ],
    floods.map((f, i) => [
      i + 1,
      fmt(f.atMs / 60_000),
      f.opened,
      f.failed,
      f.closedByServer,
      f.stillHeldAtEnd,
      fmt(f.openSeconds),
      fmt((afterFloods[i]?.real.rss ?? NaN) / MB),
      fmt((afterFloods[i]?.real.heapUsed ?? NaN) / MB),
      afterFloods[i]?.real.fds ?? '',
    ]),
  );
  const [firstFlood] = afterFloods;
  const lastFlood = afterFloods.at(-1);
  if (afterFloods.length >= 2 && firstFlood && lastFlood) {
    const first = firstFlood.real.rss / MB;
    const last = lastFlood.real.rss / MB;
    console.log(
      `RSS after flood 1 -> after flood ${afterFloods.length}: ${fmt(first)} -> ${fmt(last)} MB (${fmt(last - first)} MB)`,
    );
  }
  console.log('');
  console.log(
    `work done: ${churnTotals.logins} churn logins (${churnTotals.errors} errors), broadcasts ${broadcasts.accepted} accepted of ${broadcasts.sent} (${broadcasts.refused} refused), ` +
      `mixed: ${JSON.stringify(mixedTotals)}`,
  );
  if (churnTotals.lastErrors.length) console.log(`last churn errors: ${churnTotals.lastErrors.join('; ')}`);
  const last = samples.at(-1);
  if (last)
    console.log(
      `resources held at the end: churned ${JSON.stringify(last.real.resources)}; idle ${JSON.stringify(last.idle.resources)}`,
    );
} finally {
  await Promise.all(children.map((c) => c.stop()));
  await rm(dir, { recursive: true, force: true });
}
