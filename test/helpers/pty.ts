/**
 * Run a real program in a pseudo-terminal (node-pty) and read its screen through
 * @xterm/headless: what an operator would see, byte for byte.
 */
import { fileURLToPath } from 'node:url';
import xterm from '@xterm/headless';
import pty from 'node-pty';
import { matches, screenLines } from './terminal.ts';
import { waitFor } from './wait.ts';

const { Terminal } = xterm;

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SERVER_BIN = `${ROOT}bin/p2p-server`;

/**
 * The environment for a server under test: without P2P_* variables, so that a developer's
 * P2P_PORT or P2P_DATA_DIR cannot change the server the test talks to.
 */
export function serverEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !key.startsWith('P2P_')) env[key] = value;
  return { ...env, ...extra };
}

export interface PtyProcess {
  readonly pid: number;
  /** Resolves with the exit code once the program ends. */
  readonly exited: Promise<number>;
  text(): string;
  /** 'alternate' while a full-screen program owns the terminal, 'normal' once it gave it back. */
  bufferType(): string;
  waitFor(pattern: RegExp | string, what?: string, timeoutMs?: number): Promise<string>;
  press(keys: string): void;
  resize(cols: number, rows: number): void;
  /** Kill it if it still runs (SIGKILL), and free the terminal. */
  kill(): void;
}

export function spawnInPty(args: string[], options: { cols?: number; rows?: number; cwd?: string } = {}): PtyProcess {
  const cols = options.cols ?? 120;
  const rows = options.rows ?? 40;
  const term = new Terminal({ cols, rows, allowProposedApi: true });
  const child = pty.spawn(process.execPath, args, {
    name: 'xterm-256color',
    cols,
    rows,
    cwd: options.cwd ?? ROOT,
    env: serverEnv({ TERM: 'xterm-256color' }),
  });
  let running = true;
  child.onData((data) => term.write(data));
  const exited = new Promise<number>((resolve) => {
    child.onExit(({ exitCode }) => {
      running = false;
      resolve(exitCode);
    });
  });
  const text = () => screenLines(term).join('\n');
  return {
    pid: child.pid,
    exited,
    text,
    bufferType: () => term.buffer.active.type,
    waitFor(pattern, what, timeoutMs = 30_000) {
      return waitFor(() => (matches(text(), pattern) ? text() : null), { what: String(what ?? pattern), timeoutMs, intervalMs: 50 }).catch(
        (err: Error) => {
          throw new Error(`${err.message}; screen now:\n${text()}`);
        },
      );
    },
    press(keys) {
      if (running) child.write(keys);
    },
    resize(newCols, newRows) {
      child.resize(newCols, newRows);
      term.resize(newCols, newRows);
    },
    kill() {
      if (running) child.kill('SIGKILL');
      term.dispose();
    },
  };
}
