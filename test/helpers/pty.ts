/**
 * The real bin/p2p-client in a pseudo-terminal (node-pty), its screen read back through
 * @xterm/headless. Each process gets its own temp config dir (P2P_CONFIG_DIR), removed on kill,
 * with its history data dir (P2P_DATA_DIR) inside it: a test never writes to the real home.
 */
import pty from 'node-pty';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './server.ts';
import { ScreenReader } from './terminal.ts';
import { waitFor } from './wait.ts';

const CLIENT_BIN = fileURLToPath(new URL('../../bin/p2p-client', import.meta.url));
export const DEFAULT_COLS = 100;
export const DEFAULT_ROWS = 30;
const EXIT_WAIT_MS = 10_000;

export class ClientProcess extends ScreenReader {
  exitCode: number | null = null;
  private pending: Promise<void> = Promise.resolve();

  private constructor(
    private readonly proc: pty.IPty,
    cols: number,
    rows: number,
    private readonly removeConfig: () => Promise<void>,
    readonly configDir: string,
  ) {
    super(cols, rows);
    proc.onData((data) => {
      this.pending = this.pending.then(() => this.write(data));
    });
    proc.onExit(({ exitCode }) => {
      this.exitCode = exitCode;
    });
    this.term.onData((data) => {
      if (this.exitCode === null) proc.write(data);
    });
  }

  /** `wrap`: a command that execs node, e.g. `['ip', 'netns', 'exec', ns]` (test/nat/). */
  static async spawn(
    args: string[],
    options: { cols?: number; rows?: number; configDir?: string; env?: Record<string, string>; wrap?: string[] } = {},
  ): Promise<ClientProcess> {
    const cols = options.cols ?? DEFAULT_COLS;
    const rows = options.rows ?? DEFAULT_ROWS;
    const own = options.configDir ? null : await tempDir('tui-config');
    const configDir = options.configDir ?? (own as { path: string }).path;
    const wrap = options.wrap ?? [];
    const [wrapper, ...wrapArgs] = wrap;
    const command = wrapper ?? process.execPath;
    const argv = wrapper !== undefined ? [...wrapArgs, process.execPath, CLIENT_BIN, ...args] : [CLIENT_BIN, ...args];
    const proc = pty.spawn(command, argv, {
      name: 'xterm-256color',
      cols,
      rows,
      cwd: process.cwd(),
      env: {
        ...process.env,
        TERM: 'xterm-256color',
        LANG: 'C.UTF-8',
        P2P_CONFIG_DIR: configDir,
        P2P_DATA_DIR: join(configDir, 'data'),
        P2P_FROM_SOURCE: '1', // bin/ runs src/ through tsx: the code under test, not dist/
        ...options.env,
      },
    });
    return new ClientProcess(proc, cols, rows, async () => await own?.remove(), configDir);
  }

  type(keys: string): void {
    this.proc.write(keys);
  }

  /** Type text then Enter, once `ready` is on screen (keys sent before a screen is drawn can be lost). */
  enter(text: string): Promise<void> {
    this.type(text);
    this.type('\r');
    return Promise.resolve();
  }

  override resize(cols: number, rows: number): void {
    super.resize(cols, rows);
    this.proc.resize(cols, rows);
  }

  async waitForExit(timeoutMs = EXIT_WAIT_MS): Promise<number> {
    return waitFor(() => (this.exitCode === null ? null : { code: this.exitCode }), {
      timeoutMs,
      what: 'client exit',
    }).then((r) => r.code);
  }

  /** Kill the process (if still running) and remove its config dir. */
  async kill(): Promise<void> {
    if (this.exitCode === null) {
      this.proc.kill('SIGKILL');
      await this.waitForExit().catch(() => {});
    }
    this.dispose();
    await this.removeConfig();
  }
}
