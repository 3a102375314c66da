/** The real server program (bin/p2p-server) in a child process, for crash and restart tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TEST_SCRYPT_LOG_N } from './server.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const STARTUP_TIMEOUT_MS = 60_000;

export interface ServerProcess {
  child: ChildProcess;
  port: number;
  fingerprint: string;
  /** Every JSON log line so far. */
  lines: Array<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Send a signal and wait for the process to be gone (reaped). */
  kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startServerProcess(dataDir: string, extraArgs: string[] = []): Promise<ServerProcess> {
  const args = [
    'bin/p2p-server',
    '--headless',
    '--host', '127.0.0.1',
    '--port', '0',
    '--data-dir', dataDir,
    '--scrypt-cost', String(TEST_SCRYPT_LOG_N),
    '--max-registrations-per-minute', '100000',
    ...extraArgs,
  ];
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Array<Record<string, unknown>> = [];
  let stderr = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start within ${STARTUP_TIMEOUT_MS} ms; stderr: ${stderr}`));
    }, STARTUP_TIMEOUT_MS);
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    let buffered = '';
    child.stdout?.on('data', (d: Buffer) => {
      buffered += d.toString();
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        let entry: Record<string, unknown>;
        try {
          entry = JSON.parse(line) as Record<string, unknown>;
        } catch {
          continue;
        }
        lines.push(entry);
        if (entry.event === 'listening') {
          clearTimeout(timer);
          resolve({
            child,
            port: entry.tcpPort as number,
            fingerprint: entry.fingerprint as string,
            lines,
            exited,
            async kill(signal) {
              if (child.exitCode === null && child.signalCode === null) child.kill(signal);
              return exited;
            },
          });
        }
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`server exited (code ${code}, signal ${signal}) before listening; stderr: ${stderr}`));
    });
  });
}
