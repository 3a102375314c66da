/**
 * A real redis-server for cluster tests, on a free loopback port, with its own temp dir;
 * stopped and removed when the test ends. `.ci/run` installs redis-server when missing; on a
 * machine without it the cluster tests are skipped with REDIS_SKIP, which says so loudly.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';
import type { TestContext } from 'node:test';
import { defer } from './cleanup.ts';
import { tempDir } from './server.ts';
import { waitFor } from './wait.ts';

const REDIS_BINARY = 'redis-server';
/** Attempts at a free port (another process may take the one we picked before Redis binds it). */
const PORT_ATTEMPTS = 5;
const REDIS_START_TIMEOUT_MS = 10_000;

function redisInstalled(): boolean {
  return spawnSync(REDIS_BINARY, ['--version'], { stdio: 'ignore' }).status === 0;
}

/** For `test(name, { skip: REDIS_SKIP }, ...)`: false when redis-server runs here, else why not. */
export const REDIS_SKIP: false | string = redisInstalled()
  ? false
  : 'REDIS-SERVER IS NOT INSTALLED: the cluster tests did not run (apt-get install -y redis-server)';
if (REDIS_SKIP) process.stderr.write(`\n*** ${REDIS_SKIP} ***\n\n`);

export interface RedisOptions {
  /** Durable: appendonly with fsync always, in the instance's dir (for crash tests). */
  appendonly?: boolean;
}

export interface RedisInstance {
  readonly port: number;
  /** redis://127.0.0.1:<port>/0 */
  readonly url: string;
  readonly dir: string;
  /** Stop it (SIGTERM, or SIGKILL for a crash) and wait for the process to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Start it again on the same port and dir (after stop). */
  start(): Promise<void>;
}

export async function startRedis(t: TestContext, options: RedisOptions = {}): Promise<RedisInstance> {
  const dir = await tempDir('redis');
  defer(t, dir.remove);
  let child: ChildProcess | null = null;
  let port = 0;
  const args = () => [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir.path,
    '--save',
    '',
    '--appendonly',
    options.appendonly ? 'yes' : 'no',
    '--appendfsync',
    'always',
    '--daemonize',
    'no',
    '--loglevel',
    'warning',
  ];
  const launch = async (): Promise<boolean> => {
    const proc = spawn(REDIS_BINARY, args(), { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    let exited = false;
    proc.once('exit', () => (exited = true));
    await waitFor(async () => exited || (await ping(port)), {
      timeoutMs: REDIS_START_TIMEOUT_MS,
      what: `redis-server on port ${port}`,
    });
    return !exited;
  };
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    const proc = child;
    child = null;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill(signal);
    await exited;
  };
  defer(t, () => stop('SIGKILL'));
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    if (await launch()) break;
    if (attempt + 1 >= PORT_ATTEMPTS) throw new Error('redis-server did not start');
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    dir: dir.path,
    stop,
    start: async () => {
      if (!(await launch())) throw new Error(`redis-server did not restart on port ${port}`);
    },
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** True if a Redis answers PING on the port. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    socket.setTimeout(1_000, () => socket.destroy());
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => {
      reply += data.toString();
      if (reply.includes('\r\n')) socket.end();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(reply.startsWith('+PONG')));
  });
}
