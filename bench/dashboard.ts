/**
 * Issue 6 benchmark: what drawing the dashboard costs the server. The same login-churn load
 * runs against the real bin/p2p-server three times per round: headless (JSON lines to a
 * pipe, the default level), headless and silent (--log-level error: the server alone, no
 * output at all), and with the dashboard drawn in a pseudo-terminal; the order rotates so
 * that machine noise falls on all three. Reports login throughput and server CPU per login,
 * and the dashboard's ratio to each baseline.
 * Issue 14: every run first holds --online sessions (10,000) logged in from separate load
 * processes, the dashboard's users table is sorted (--sort keys typed into the pty), and
 * every server serves --metrics: after the churn the bench scrapes /metrics and reports the
 * server CPU and bytes per scrape at that many sessions.
 * Run: npm run bench -- dashboard   (flags: --logins N --parallel N --rounds N --online N --scrypt-cost N)
 */
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { get as httpGet } from 'node:http';
import { connect } from 'node:tls';
import { stringify } from 'csv-stringify/sync';
import pty from 'node-pty';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { createSelfSigned } from '../src/server/identity.ts';
import { USERS_CSV_COLUMNS } from '../src/server/users/csv-store.ts';
import { scryptHash } from '../src/server/users/passwords.ts';
import { freePort } from '../test/helpers/headless.ts';
import { SERVER_BIN, serverEnv } from '../test/helpers/server-pty.ts';
import { forkChild, type Child } from './lib/ipc.ts';
import { fmt, percentile, printTable } from './lib/table.ts';

const here = new URL('.', import.meta.url).pathname;
const PASSWORD = 'bench-password';
/** The account that broadcasts; not one of the churn's, so no login replaces its session. */
const SENDER = 'announcer';
/** The sender's rate is the bench's to choose, not the server's default limit of 10 a minute. */
const BENCH_BROADCASTS_PER_MINUTE = 1_000_000;
const LOAD_PROCESSES = 2;
/** Accounts held online through each run (--online of them). */
const HELD_PREFIX = 'held';
const READY_TIMEOUT_MS = 30_000;
/** How long each run first measures the server idle (the dashboard's clock ticks, no clients). */
const IDLE_SAMPLE_MS = 3_000;
/** Text of the dashboard's footer: once drawn, the dashboard is set up. */
const DASHBOARD_STARTED_MARK = 'SHA-256';
const STARTED_MARK_WINDOW = 4096;
/** Another process may take the free port (TCP or UDP) before the server binds it. */
const START_ATTEMPTS = 3;
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

const args = await yargs(hideBin(process.argv))
  .option('logins', { type: 'number', default: 3_000, describe: 'logins per run' })
  .option('parallel', { type: 'number', default: 40, describe: 'logins in flight' })
  .option('users', { type: 'number', default: 1_000, describe: 'accounts in users.csv (the users table draws them)' })
  .option('rounds', { type: 'number', default: 3, describe: 'rounds of one run in each mode, order rotating' })
  .option('broadcasts', {
    type: 'number',
    default: 5,
    describe: 'broadcasts a second during the churn (0: login load only)',
  })
  .option('broadcast-ttl', {
    type: 'string',
    default: '10s',
    describe: 'their ttl: short, so the pending pane holds broadcasts/s x ttl rows',
  })
  .option('scrypt-cost', {
    type: 'number',
    default: 10,
    describe: 'logN of the accounts: low, so the event loop (not scrypt) is the limit',
  })
  .option('online', { type: 'number', default: 10_000, describe: 'sessions held online through each run' })
  .option('sort', { type: 'string', default: 's', describe: 'keys typed into the dashboard first (s: users by name)' })
  .option('scrapes', { type: 'number', default: 20, describe: '/metrics scrapes measured after each churn' })
  .option('cols', { type: 'number', default: 160 })
  .option('rows', { type: 'number', default: 50 })
  .strict()
  .parseAsync();

const Mode = { HEADLESS: 'headless', SILENT: 'silent', DASHBOARD: 'dashboard' } as const;
type Mode = (typeof Mode)[keyof typeof Mode];
const MODES = [Mode.HEADLESS, Mode.SILENT, Mode.DASHBOARD] as const;

interface RunResult {
  mode: Mode;
  /** Broadcasts the server accepted (broadcast_ok) a second during the churn. */
  broadcastsPerSecond: number;
  /** CPU the server used while idle (no clients), ms per second. */
  idleCpuMsPerSecond: number;
  loginsPerSecond: number;
  cpuMsPerLogin: number;
  outputBytes: number;
  seconds: number;
  p99Ms: number;
  errors: number;
  /** Server CPU and wall time per /metrics scrape, and its size, with `online` sessions held. */
  scrapeCpuMs: number;
  scrapeWallMs: number;
  scrapeBytes: number;
}

/** The last thing a server that failed to start said, for the error when every attempt failed. */
let lastError = '';

interface RunningServer {
  pid: number;
  outputBytes: () => number;
  /** Resolves once the program has shown that it is up (the dashboard's first full frame). */
  started: Promise<void>;
  exited: Promise<number | null>;
  stop(): void;
  kill(): void;
}

/** Server CPU time so far (user + system), from /proc. */
async function cpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of stat(5); the slice above starts at field 3.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

function startServer(mode: Mode, dataDir: string, port: number, metricsPort: number): RunningServer {
  const serverArgs = [
    SERVER_BIN,
    '--metrics',
    `127.0.0.1:${metricsPort}`,
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--data-dir',
    dataDir,
    '--broadcast-ttl',
    args['broadcast-ttl'],
    '--broadcasts-per-minute',
    String(BENCH_BROADCASTS_PER_MINUTE),
  ];
  let bytes = 0;
  if (mode !== Mode.DASHBOARD) {
    const quiet = mode === Mode.SILENT ? ['--log-level', 'error'] : [];
    // stderr is kept, not shown: a start that lost its port to another process is retried.
    const child = spawn(process.execPath, [...serverArgs, '--headless', ...quiet], {
      env: serverEnv({}),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (chunk: Buffer) => (bytes += chunk.length));
    child.stderr.on('data', (chunk: Buffer) => (lastError = chunk.toString().trim()));
    return {
      pid: child.pid as number,
      outputBytes: () => bytes,
      started: Promise.resolve(), // headless is up once it accepts connections
      exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
      stop: () => child.kill('SIGTERM'),
      kill: () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      },
    };
  }
  // A terminal that reads everything the dashboard draws, as a real one would.
  const term = pty.spawn(process.execPath, serverArgs, {
    name: 'xterm-256color',
    cols: args.cols,
    rows: args.rows,
    env: serverEnv({ TERM: 'xterm-256color' }),
  });
  // The dashboard is created after the listeners open; its setup (terminfo, first frame) must
  // not fall into the measured window, so wait for the footer of its first frame.
  let seen = '';
  let isStarted = false;
  let markStarted = () => {};
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  term.onData((data) => {
    bytes += Buffer.byteLength(data);
    if (isStarted) return;
    seen = (seen + data).slice(-STARTED_MARK_WINDOW);
    if (seen.includes(DASHBOARD_STARTED_MARK)) {
      isStarted = true;
      markStarted();
    }
  });
  let running = true;
  return {
    pid: term.pid,
    outputBytes: () => bytes,
    // The operator's view: the users table sorted (the sort runs on every refresh of it).
    started: started.then(() => term.write(args.sort)),
    exited: new Promise((resolve) =>
      term.onExit(({ exitCode }) => {
        running = false;
        resolve(exitCode);
      }),
    ),
    stop: () => term.kill('SIGTERM'),
    kill: () => {
      if (running) term.kill('SIGKILL');
    },
  };
}

/** Wait until the server completes a TLS handshake. */
async function waitReady(port: number): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`server on port ${port} not ready`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A server of this mode on a free port, ready for logins. Ports are re-picked if one was taken meanwhile. */
async function startReady(
  mode: Mode,
  dataDir: string,
): Promise<{ server: RunningServer; port: number; metricsPort: number }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const metricsPort = await freePort();
    const server = startServer(mode, dataDir, port, metricsPort);
    const ready = waitReady(port).then(() => server.started);
    const outcome = await Promise.race([
      ready.then(() => 'ready' as const),
      server.exited.then(() => 'exited' as const),
    ]);
    if (outcome === 'ready') return { server, port, metricsPort };
    server.kill();
    if (attempt >= START_ATTEMPTS)
      throw new Error(`${mode} server did not start (${START_ATTEMPTS} attempts; last: ${lastError})`);
  }
}

/** One GET /metrics: its body's size. */
function scrape(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpGet({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => (res.statusCode === 200 ? resolve(bytes) : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
  });
}

/** Hold `count` sessions online, split over the holders; resolves once all are logged in. */
async function holdOnline(holders: Child[], port: number, count: number): Promise<void> {
  const per = Math.ceil(count / holders.length);
  const results = await Promise.all(
    holders.map((holder, i) =>
      holder.call<{ errorCount: number; errors: string[] }>('openMany', {
        port,
        first: i * per,
        count: Math.max(0, Math.min(per, count - i * per)),
        parallel: 50,
        prefix: HELD_PREFIX,
        pass: PASSWORD,
      }),
    ),
  );
  const errors = results.reduce((n, r) => n + r.errorCount, 0);
  if (errors) throw new Error(`${errors} held sessions failed: ${results.flatMap((r) => r.errors).join('; ')}`);
}

async function run(
  mode: Mode,
  template: string,
  loaders: Child[],
  holders: Child[],
  users: string[],
): Promise<RunResult> {
  const dataDir = await mkdtemp(join(tmpdir(), `p2p-bench-dash-${mode}-`));
  try {
    for (const file of ['users.csv', 'server-key.pem', 'server-cert.pem'])
      await copyFile(join(template, file), join(dataDir, file));
    const [broadcaster] = loaders;
    if (!broadcaster) throw new Error('run() needs at least one load process');
    const { server, port, metricsPort } = await startReady(mode, dataDir);
    try {
      await holdOnline(holders, port, args.online);
      const idleFrom = await cpuMs(server.pid);
      await new Promise((r) => setTimeout(r, IDLE_SAMPLE_MS));
      const idleCpuMsPerSecond = ((await cpuMs(server.pid)) - idleFrom) / (IDLE_SAMPLE_MS / 1000);
      if (args.broadcasts > 0) {
        await broadcaster.call('broadcastStart', { port, user: SENDER, pass: PASSWORD, perSecond: args.broadcasts });
      }
      const cpuBefore = await cpuMs(server.pid);
      const outputBefore = server.outputBytes();
      const started = performance.now();
      const per = Math.ceil(args.logins / loaders.length);
      const results = await Promise.all(
        loaders.map((loader, i) =>
          loader.call<{ times: number[]; errorCount: number; errors: string[] }>('churn', {
            port,
            users: users.filter((_, u) => u % loaders.length === i),
            pass: PASSWORD,
            count: Math.min(per, args.logins - i * per),
            parallel: Math.ceil(args.parallel / loaders.length),
          }),
        ),
      );
      const seconds = (performance.now() - started) / 1000;
      const cpu = (await cpuMs(server.pid)) - cpuBefore;
      const sent = await broadcaster.call<{ sent: number; accepted: number; refused: number }>('broadcastStop');
      if (sent.refused) console.log(`${mode}: ${sent.refused} broadcasts refused`);
      const times = results.flatMap((r) => r.times).sort((a, b) => a - b);
      const errors = results.reduce((n, r) => n + r.errorCount, 0);
      if (errors)
        console.log(
          `${mode}: ${errors} errors (${results
            .flatMap((r) => r.errors)
            .slice(0, 3)
            .join('; ')})`,
        );
      const outputBytes = server.outputBytes() - outputBefore;
      await scrape(metricsPort); // the first scrape sets up what later ones reuse
      const scrapeCpuBefore = await cpuMs(server.pid);
      const scrapeStarted = performance.now();
      let scrapeBytes = 0;
      for (let i = 0; i < args.scrapes; i++) scrapeBytes = await scrape(metricsPort);
      const scrapeWallMs = (performance.now() - scrapeStarted) / args.scrapes;
      const scrapeCpuMs = ((await cpuMs(server.pid)) - scrapeCpuBefore) / args.scrapes;
      await Promise.all(holders.map((h) => h.call('closeAll')));
      server.stop();
      const code = await server.exited;
      if (code !== 0) throw new Error(`${mode} server exited with ${code}`);
      return {
        mode,
        broadcastsPerSecond: sent.accepted / seconds,
        idleCpuMsPerSecond,
        loginsPerSecond: times.length / seconds,
        cpuMsPerLogin: cpu / Math.max(1, times.length),
        outputBytes,
        seconds,
        p99Ms: percentile(times, 99),
        errors,
        scrapeCpuMs,
        scrapeWallMs,
        scrapeBytes,
      };
    } finally {
      server.kill();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** NaN for no values (printed as n/a). */
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

const template = await mkdtemp(join(tmpdir(), 'p2p-bench-dash-template-'));
const loaders: Child[] = [];
const holders: Child[] = [];
// Ctrl-C: stop the load processes; the run in flight then fails, and every `finally` below
// kills its server and removes its temp dir on the way out.
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    void Promise.all([...loaders, ...holders].map((l) => l.stop()));
  });
}
try {
  console.log(
    `machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`,
  );
  console.log(
    `load: ${args.online} sessions held online; ${args.logins} logins a run (connect, login, close), ${args.parallel} in flight, ${args.users} accounts at scrypt logN ${args['scrypt-cost']}; ` +
      `${args.rounds} rounds of headless, silent and dashboard (${args.cols}x${args.rows} pty), order rotating. ` +
      (args.broadcasts > 0
        ? `Broadcasts: ${args.broadcasts}/s from one sender, ttl ${args['broadcast-ttl']}.`
        : 'Broadcasts: none.'),
  );
  const hash = await scryptHash(PASSWORD, args['scrypt-cost']);
  const created = new Date().toISOString();
  const users = Array.from({ length: args.users }, (_, i) => `bench${i}`);
  await mkdir(template, { recursive: true });
  const held = Array.from({ length: args.online }, (_, i) => `${HELD_PREFIX}${i}`);
  const accounts = [...users, ...held, SENDER].map((u) => [u, hash, created, '']);
  await writeFile(join(template, 'users.csv'), stringify([[...USERS_CSV_COLUMNS], ...accounts]));
  const { key, cert } = await createSelfSigned();
  await writeFile(join(template, 'server-key.pem'), key, { mode: 0o600 });
  await writeFile(join(template, 'server-cert.pem'), cert);
  loaders.push(...Array.from({ length: LOAD_PROCESSES }, () => forkChild(join(here, 'lib/churn-child.ts'))));
  holders.push(...Array.from({ length: LOAD_PROCESSES }, () => forkChild(join(here, 'lib/load-child.ts'))));

  const results: RunResult[] = [];
  for (let round = 0; round < args.rounds; round++) {
    // Rotate the order, so a slow spell of the machine does not always hit one mode.
    const shift = round % MODES.length;
    const order = [...MODES.slice(shift), ...MODES.slice(0, shift)];
    for (const mode of order) {
      const r = await run(mode, template, loaders, holders, users);
      results.push(r);
      console.log(
        `round ${round + 1} ${mode.padEnd(9)} ${fmt(r.loginsPerSecond)} logins/s, ${fmt(r.broadcastsPerSecond)} broadcasts/s, ` +
          `${fmt(r.cpuMsPerLogin, 2)} ms CPU a login, ${fmt(r.outputBytes / 1024)} KiB output, ` +
          `/metrics ${fmt(r.scrapeCpuMs, 2)} ms CPU ${fmt(r.scrapeBytes / 1024)} KiB`,
      );
    }
  }
  const of = (mode: Mode) => results.filter((r) => r.mode === mode);
  const summary = (mode: Mode) => {
    const runs = of(mode);
    return {
      rate: median(runs.map((r) => r.loginsPerSecond)),
      cpu: median(runs.map((r) => r.cpuMsPerLogin)),
      p99: median(runs.map((r) => r.p99Ms)),
      broadcasts: median(runs.map((r) => r.broadcastsPerSecond)),
      idle: median(runs.map((r) => r.idleCpuMsPerSecond)),
      outputPerSecond: median(runs.map((r) => r.outputBytes / r.seconds)),
      scrapeCpu: median(runs.map((r) => r.scrapeCpuMs)),
      scrapeWall: median(runs.map((r) => r.scrapeWallMs)),
      scrapeBytes: median(runs.map((r) => r.scrapeBytes)),
    };
  };
  // Ratios are taken within a round (runs back to back) and then the median over rounds:
  // other work on a shared machine moves the runs of a round alike, but not different rounds.
  const paired = (baseline: Mode, measure: (r: RunResult) => number) => {
    const base = of(baseline);
    const ratios = of(Mode.DASHBOARD).map((d, i) => {
      const b = base[i];
      if (!b) throw new Error(`round ${i + 1} has a dashboard run but no ${baseline} run`);
      return measure(d) / measure(b);
    });
    return `${fmt(median(ratios), 3)} (${fmt(Math.min(...ratios), 2)}-${fmt(Math.max(...ratios), 2)})`;
  };
  const headless = summary(Mode.HEADLESS);
  const silent = summary(Mode.SILENT);
  const dashboard = summary(Mode.DASHBOARD);
  const rate = (r: RunResult) => r.loginsPerSecond;
  const cpu = (r: RunResult) => r.cpuMsPerLogin;
  const p99 = (r: RunResult) => r.p99Ms;
  console.log('');
  printTable(
    [
      'measure (median of rounds)',
      'headless, JSON at info',
      'silent (server alone)',
      'dashboard in a pty',
      'dashboard / headless',
      'dashboard / silent',
      'aim',
    ],
    [
      [
        'logins/s',
        fmt(headless.rate),
        fmt(silent.rate),
        fmt(dashboard.rate),
        paired(Mode.HEADLESS, rate),
        paired(Mode.SILENT, rate),
        '> 0.90',
      ],
      [
        'broadcasts/s accepted',
        fmt(headless.broadcasts),
        fmt(silent.broadcasts),
        fmt(dashboard.broadcasts),
        paired(Mode.HEADLESS, (r) => r.broadcastsPerSecond),
        paired(Mode.SILENT, (r) => r.broadcastsPerSecond),
        '',
      ],
      [
        'server CPU per login (all its work)',
        `${fmt(headless.cpu, 2)} ms`,
        `${fmt(silent.cpu, 2)} ms`,
        `${fmt(dashboard.cpu, 2)} ms`,
        paired(Mode.HEADLESS, cpu),
        paired(Mode.SILENT, cpu),
        '< 1.10',
      ],
      [
        'login latency p99',
        `${fmt(headless.p99, 0)} ms`,
        `${fmt(silent.p99, 0)} ms`,
        `${fmt(dashboard.p99, 0)} ms`,
        paired(Mode.HEADLESS, p99),
        paired(Mode.SILENT, p99),
        '',
      ],
      [
        'server CPU idle',
        `${fmt(headless.idle, 0)} ms/s`,
        `${fmt(silent.idle, 0)} ms/s`,
        `${fmt(dashboard.idle, 0)} ms/s`,
        '',
        '',
        '',
      ],
      [
        `/metrics scrape, ${args.online} online: server CPU`,
        `${fmt(headless.scrapeCpu, 2)} ms`,
        `${fmt(silent.scrapeCpu, 2)} ms`,
        `${fmt(dashboard.scrapeCpu, 2)} ms`,
        '',
        '',
        '',
      ],
      [
        '/metrics scrape: wall time, size',
        `${fmt(headless.scrapeWall, 1)} ms, ${fmt(headless.scrapeBytes / 1024, 1)} KiB`,
        `${fmt(silent.scrapeWall, 1)} ms, ${fmt(silent.scrapeBytes / 1024, 1)} KiB`,
        `${fmt(dashboard.scrapeWall, 1)} ms, ${fmt(dashboard.scrapeBytes / 1024, 1)} KiB`,
        '',
        '',
        '',
      ],
      [
        'output',
        `${fmt(headless.outputPerSecond / 1024)} KiB/s JSON`,
        '0',
        `${fmt(dashboard.outputPerSecond / 1024)} KiB/s drawing`,
        '',
        '',
        '',
      ],
    ],
  );
  console.log('ratios: median over rounds of the ratio within each round (lowest-highest round in brackets)');
} catch (err) {
  if (!interrupted) throw err;
  console.log('interrupted');
  process.exitCode = 130;
} finally {
  await Promise.all([...loaders, ...holders].map((l) => l.stop()));
  await rm(template, { recursive: true, force: true });
}
