/** Run the real p2p-server with stdout on a pipe (not a terminal) and read its JSON log lines. */
import { spawn } from 'node:child_process';
import { closedPort } from '../../bench/lib/closed-port.ts';
import { ROOT, SERVER_BIN, serverEnv } from './server-pty.ts';
import { waitFor } from './wait.ts';

export interface LogRecord {
  time: string;
  level: string;
  event: string;
  [field: string]: unknown;
}

export interface HeadlessServer {
  readonly records: LogRecord[];
  /** Every stdout line as written, to check that each one is JSON. */
  readonly rawLines: string[];
  readonly stderr: () => string;
  readonly exited: Promise<number | null>;
  waitForEvent(event: string, where?: (r: LogRecord) => boolean, timeoutMs?: number): Promise<LogRecord>;
  signal(name: NodeJS.Signals): void;
  kill(): void;
}

export function spawnHeadless(args: string[]): HeadlessServer {
  const child = spawn(process.execPath, [SERVER_BIN, ...args], {
    cwd: ROOT,
    env: serverEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const records: LogRecord[] = [];
  const rawLines: string[] = [];
  let partial = '';
  let stderr = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      rawLines.push(line);
      try {
        records.push(JSON.parse(line) as LogRecord);
      } catch {
        // kept in rawLines: the test asserts every line parses
      }
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    records,
    rawLines,
    stderr: () => stderr,
    exited,
    waitForEvent(event, where = () => true, timeoutMs = 30_000) {
      return waitFor(() => records.find((r) => r.event === event && where(r)), {
        what: `"${event}" in the JSON log (stderr: ${stderr.slice(-500)})`,
        timeoutMs,
      });
    },
    signal(name) {
      if (child.exitCode === null) child.kill(name);
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** A TCP port that was free a moment ago (for runs where the server's log cannot tell us its port). */
export const freePort = closedPort;
