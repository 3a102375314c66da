/**
 * The real bin/p2p-server in a pseudo-terminal (node-pty), its screen read back through
 * @xterm/headless: what an operator sees, byte for byte. (pty.ts does the same for the client.)
 */
import { fileURLToPath } from 'node:url';
import pty from 'node-pty';
import { serverEnv } from './server-process.ts';
import { ScreenReader } from './terminal.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SERVER_BIN = `${ROOT}bin/p2p-server`;
const SERVER_SCREEN_WAIT_MS = 30_000;

export { serverEnv };

export class ServerInPty extends ScreenReader {
  /** Resolves with the exit code once the program ends. */
  readonly exited: Promise<number>;
  private running = true;
  private pending: Promise<void> = Promise.resolve();

  constructor(
    private readonly proc: pty.IPty,
    cols: number,
    rows: number,
  ) {
    super(cols, rows);
    proc.onData((data) => {
      this.pending = this.pending.then(() => this.write(data));
    });
    this.exited = new Promise((resolve) =>
      proc.onExit(({ exitCode }) => {
        this.running = false;
        resolve(exitCode);
      }),
    );
    // Answer the terminal's queries, as a real terminal would.
    this.term.onData((data) => {
      if (this.running) proc.write(data);
    });
  }

  /** `args` after the program: ['--port', '0', ...]. */
  static spawn(args: string[], options: { cols?: number; rows?: number } = {}): ServerInPty {
    const cols = options.cols ?? 120;
    const rows = options.rows ?? 40;
    const proc = pty.spawn(process.execPath, [SERVER_BIN, ...args], {
      name: 'xterm-256color',
      cols,
      rows,
      cwd: ROOT,
      env: serverEnv({ TERM: 'xterm-256color', LANG: 'C.UTF-8' }),
    });
    return new ServerInPty(proc, cols, rows);
  }

  /** The program's screen: a generous deadline, the machine is shared. */
  override waitForText(what: string | RegExp, timeoutMs = SERVER_SCREEN_WAIT_MS): Promise<string> {
    return super.waitForText(what, timeoutMs);
  }

  type(keys: string): void {
    if (this.running) this.proc.write(keys);
  }

  override resize(cols: number, rows: number): void {
    super.resize(cols, rows);
    this.proc.resize(cols, rows);
  }

  /** Kill it if it still runs (SIGKILL), and free the terminal. */
  kill(): void {
    if (this.running) this.proc.kill('SIGKILL');
    this.dispose();
  }
}
