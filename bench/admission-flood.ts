/**
 * Logins from one address while another holds a half-open connection flood (PROTOCOL.md
 * section 3.6), beside the same logins on the idle server measured in the same run.
 *
 *   node --import tsx bench/admission-flood.ts [--flood 10000] [--reopen 200] [--logins 30]
 *
 * The server runs in this process (real TLS listener, temp data dir); the flood is its own
 * process (test/helpers/flood.ts) from 127.0.0.2: it opens --flood TCP connections, half
 * sending 3 bytes of a TLS header and half nothing, and re-opens what the server closes at
 * --reopen per second. Each login, from 127.0.0.3, is a new TLS connection, `login`, the
 * answer, close: timed end to end, one after another.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../src/server/app.ts';
import { RawClient } from '../test/helpers/raw.ts';
import { fmt, percentile, printTable } from './lib/table.ts';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const FLOOD = arg('flood', 10_000);
const REOPEN_PER_SECOND = arg('reopen', 200);
const LOGINS = arg('logins', 30);
const PASSWORD = 'bench-password';

async function timeLogins(port: number): Promise<{ ms: number[]; failed: number }> {
  const ms: number[] = [];
  let failed = 0;
  for (let i = 0; i < LOGINS; i++) {
    const started = performance.now();
    try {
      const client = await RawClient.open(port, { localAddress: '127.0.0.3' });
      const answer = await client.auth('login', 'alice', PASSWORD, 10_000);
      await client.close();
      if (answer.t === 'welcome') ms.push(performance.now() - started);
      else failed += 1;
    } catch {
      failed += 1;
    }
  }
  return { ms: ms.sort((a, b) => a - b), failed };
}

const dataDir = await mkdtemp(join(tmpdir(), 'p2p-bench-admission-'));
const app = await startServer({
  host: '127.0.0.1',
  port: 0,
  dataDir,
  scryptLogN: 10,
  registrationsPerMinutePerIp: 1_000,
});
const port = app.listening.tcpPort;
let turnedAway = 0;
app.core.on('handshake_failed', ({ ip }) => ip === '127.0.0.2' && (turnedAway += 1));
let flood: ReturnType<typeof spawn> | null = null;
try {
  const owner = await RawClient.open(port, { localAddress: '127.0.0.3' });
  await owner.auth('register', 'alice', PASSWORD);
  await owner.close();

  const idle = await timeLogins(port);
  // The flood starts only now: the baseline ran on an idle server.
  const floodStarted = performance.now();
  flood = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      fileURLToPath(new URL('../test/helpers/flood.ts', import.meta.url)),
      String(port),
      '127.0.0.2',
      String(FLOOD),
      String(REOPEN_PER_SECOND),
    ],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  let ready = false;
  flood.stdout?.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && (ready = true));
  while (!ready || turnedAway < FLOOD) await new Promise((r) => setTimeout(r, 50));
  const rampSeconds = (performance.now() - floodStarted) / 1000;
  const turnedBefore = turnedAway;
  const measuredAt = performance.now();
  const flooded = await timeLogins(port);
  const turnedPerSecond = (turnedAway - turnedBefore) / ((performance.now() - measuredAt) / 1000);

  console.log(
    `${cpus().length} CPUs, load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(
        ' ',
      )}; flood ${FLOOD} connections from 127.0.0.2, re-opened at ${REOPEN_PER_SECOND}/s; ${LOGINS} logins each`,
  );
  console.log(
    `flood ramp: ${fmt(rampSeconds)} s until ${FLOOD} were turned away; during the logins ${fmt(turnedPerSecond, 0)} turned away/s`,
  );
  printTable(
    ['server', 'logins ok', 'failed', 'p50 ms', 'p95 ms', 'max ms'],
    [
      [
        'idle (baseline)',
        idle.ms.length,
        idle.failed,
        fmt(percentile(idle.ms, 50)),
        fmt(percentile(idle.ms, 95)),
        fmt(idle.ms.at(-1) ?? NaN),
      ],
      [
        'under the flood',
        flooded.ms.length,
        flooded.failed,
        fmt(percentile(flooded.ms, 50)),
        fmt(percentile(flooded.ms, 95)),
        fmt(flooded.ms.at(-1) ?? NaN),
      ],
    ],
  );
} finally {
  if (flood) {
    const exited = new Promise((resolve) => flood?.once('exit', resolve));
    flood.stdin?.end();
    await exited;
  }
  await app.stop();
  await rm(dataDir, { recursive: true, force: true });
}
