/**
 * The MQTT baseline's broker: mosquitto from Debian's packages, installed with apt-get when it
 * is missing (the bench says so), started on a free loopback port with its own config.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';

const CANDIDATES = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto'];
const INSTALL_TIMEOUT_MS = 120_000;
const START_TIMEOUT_MS = 10_000;

export function findMosquitto(): string | null {
  return CANDIDATES.find((path) => existsSync(path)) ?? null;
}

/** The binary's path, installing the Debian package if needed; null (with the reason logged) if it cannot. */
export function ensureMosquitto(log: (line: string) => void): string | null {
  const found = findMosquitto();
  if (found) return found;
  log('mosquitto is not installed: running `apt-get install -y mosquitto` (Debian package)');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'mosquitto'], {
      env,
      timeout: INSTALL_TIMEOUT_MS,
      encoding: 'utf8',
    });
  let result = install();
  if (result.status !== 0) {
    log('apt-get install failed; running `apt-get update` and trying once more');
    spawnSync('apt-get', ['update'], { env, timeout: INSTALL_TIMEOUT_MS, encoding: 'utf8' });
    result = install();
  }
  const path = findMosquitto();
  if (!path) {
    log(
      `could not install mosquitto (${(result.stderr || result.error?.message || 'unknown error').trim().split('\n').pop()}); skipping the MQTT column`,
    );
    return null;
  }
  // Debian's package may start a system broker on 1883; ours runs on its own port either way.
  log(`installed ${path}`);
  return path;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface Broker {
  port: number;
  version: string;
  /** For its CPU time in the table. */
  pid: number | undefined;
  stop(): Promise<void>;
}

export async function startMosquitto(binary: string, dir: string): Promise<Broker> {
  const port = await freePort();
  const config = join(dir, 'mosquitto.conf');
  await writeFile(
    config,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence false',
      'set_tcp_nodelay true',
      'max_queued_messages 1000',
      'log_dest stderr',
      'log_type error',
      '',
    ].join('\n'),
  );
  const version = ((spawnSync(binary, ['-h'], { encoding: 'utf8' }).stdout ?? '').split('\n', 1)[0] ?? '').trim();
  const proc: ChildProcess = spawn(binary, ['-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await canConnect(port))) {
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`mosquitto did not start: ${stderr.trim()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  return {
    port,
    version,
    pid: proc.pid,
    async stop() {
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
