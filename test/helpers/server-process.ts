/** The real `bin/p2p-server` in a child process, for crash and restart tests and benchmarks. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { TestContext } from 'node:test';
import { defer } from './cleanup.ts';
import type { RawClient } from './raw.ts';
import { tempDir, TEST_SCRYPT_LOG_N } from './server.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const START_TIMEOUT_MS = 20_000;

/**
 * The environment for a server under test: without P2P_* variables, so that a developer's
 * P2P_PORT or P2P_DATA_DIR cannot change the server the test talks to; with P2P_FROM_SOURCE,
 * so bin/ runs src/ through tsx (what is being tested), never a stale dist/.
 */
export function serverEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env))
    if (value !== undefined && !key.startsWith('P2P_')) env[key] = value;
  return { ...env, P2P_FROM_SOURCE: '1', ...extra };
}

export type ExitStatus = { code: number | null; signal: NodeJS.Signals | null };

export interface ServerProcess {
  proc: ChildProcess;
  port: number;
  udpPort: number;
  fingerprint: string;
  /** The `listening` log line, with what the queue loaded (broadcastsPending, broadcastsTorn). */
  listening: Record<string, unknown>;
  /** Every JSON log line so far. */
  lines: Array<Record<string, unknown>>;
  exited: Promise<ExitStatus>;
  /** Send a signal and wait for the process to be gone (reaped). */
  kill(signal: NodeJS.Signals): Promise<ExitStatus>;
}

/** `nodeArgs` go to node itself (a profiler, for instance). Resolves once it logs `listening`. */
export async function spawnServer(
  args: string[],
  options: { nodeArgs?: string[]; startTimeoutMs?: number } = {},
): Promise<ServerProcess> {
  const proc = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), 'bin/p2p-server', '--headless', '--host', '127.0.0.1', ...args],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: serverEnv(),
    },
  );
  const lines: Array<Record<string, unknown>> = [];
  let stderr = '';
  proc.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<ExitStatus>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  const kill = async (signal: NodeJS.Signals) => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    return exited;
  };
  const startTimeoutMs = options.startTimeoutMs ?? START_TIMEOUT_MS;
  const listening = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => {
      void kill('SIGKILL');
      reject(new Error(`server did not start within ${startTimeoutMs} ms: ${stderr}`));
    }, startTimeoutMs);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`server exited (code ${code}, signal ${signal}) before listening: ${stderr}`));
    });
    createInterface({ input: proc.stdout }).on('line', (text) => {
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        return;
      }
      lines.push(line);
      if (line.event === 'listening') {
        clearTimeout(timer);
        resolve(line);
      }
    });
  });
  return {
    proc,
    port: listening.tcpPort as number,
    udpPort: listening.udpPort as number,
    fingerprint: listening.fingerprint as string,
    listening,
    lines,
    exited,
    kill,
  };
}

/** A test server on an OS-chosen port with cheap hashing and no registration limit. */
export function startServerProcess(dataDir: string, extraArgs: string[] = []): Promise<ServerProcess> {
  const args = [
    '--port',
    '0',
    '--data-dir',
    dataDir,
    '--scrypt-cost',
    String(TEST_SCRYPT_LOG_N),
    '--max-registrations-per-minute',
    '100000',
  ];
  return spawnServer([...args, ...extraArgs], { startTimeoutMs: 60_000 });
}

/**
 * A crash test's bed: a temp data dir, the server processes started on it and the raw clients
 * opened to them, all killed, destroyed and removed when the test ends (even after a failure).
 */
export async function crashBed(
  t: TestContext,
  prefix: string,
): Promise<{ dir: { path: string }; processes: ServerProcess[]; clients: Set<RawClient> }> {
  const dir = await tempDir(prefix);
  const processes: ServerProcess[] = [];
  const clients = new Set<RawClient>();
  defer(t, async () => {
    for (const c of clients) c.socket.destroy();
    await Promise.all(processes.map((p) => p.kill('SIGKILL')));
    await dir.remove();
  });
  return { dir, processes, clients };
}
