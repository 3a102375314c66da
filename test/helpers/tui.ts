/**
 * The client app in-process on a virtual terminal, registered as a user of a test server: what
 * the TUI tests that drive whole chats start from (the far side of its chats: tui-chat.ts).
 * With `dataDir` it keeps history there; with `again` it is a later run of the same user
 * (same config dir: no trust question; login).
 */
import { createApp, type AppOptions, type TuiApp } from '../../src/client/tui/app.ts';
import { tempDir } from './server.ts';
import { trustAndRegister, VirtualTerminal } from './terminal.ts';

export interface RegisteredTui {
  vt: VirtualTerminal;
  app: TuiApp;
  /** Bells the terminal rang so far. */
  bells(): number;
  close(): Promise<void>;
}

export interface TuiUserOptions {
  columns?: number;
  rows?: number;
  beforeLogin?: AppOptions['beforeLogin'];
  dataDir?: string;
  historyOptions?: AppOptions['historyOptions'];
  historyPageLines?: number;
  files?: AppOptions['files'];
  /** A config dir the caller owns (kept on close), e.g. to start the same user again. */
  configDir?: string;
  /** Log in to an account made before (through `configDir`) instead of registering. */
  again?: boolean;
  /** Default: `<user> password`. */
  password?: string;
}

export async function registeredTui(
  server: { port: number },
  user: string,
  options: TuiUserOptions = {},
): Promise<RegisteredTui> {
  const own = options.configDir === undefined ? await tempDir('tui-user') : null;
  const configDir = options.configDir ?? (own as { path: string }).path;
  const vt = new VirtualTerminal(options.columns ?? 100, options.rows ?? 30);
  let bells = 0;
  vt.term.onBell(() => bells++);
  const app = createApp({
    input: vt.input,
    output: vt.output,
    configDir,
    host: '127.0.0.1',
    port: server.port,
    ...(options.beforeLogin ? { beforeLogin: options.beforeLogin } : {}),
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...(options.historyOptions ? { historyOptions: options.historyOptions } : {}),
    ...(options.historyPageLines ? { historyPageLines: options.historyPageLines } : {}),
    ...(options.files ? { files: options.files } : {}),
  });
  const pass = options.password ?? `${user} password`;
  if (options.again) {
    await vt.waitForText('[l] Login');
    vt.type('l');
    await vt.waitForText('Password');
    vt.type(`${user}\r${pass}\r`);
    await vt.waitForText(`Logged in as ${user}`);
  } else {
    await trustAndRegister(vt, user, pass);
  }
  return {
    vt,
    app,
    bells: () => bells,
    async close() {
      await app.quit();
      vt.dispose();
      await own?.remove();
    },
  };
}
