/**
 * The client app in-process on a virtual terminal, registered as a user of a test server:
 * what the TUI tests that drive whole chats start from.
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

export async function registeredTui(
  server: { port: number },
  user: string,
  options: { columns?: number; beforeLogin?: AppOptions['beforeLogin']; files?: AppOptions['files'] } = {},
): Promise<RegisteredTui> {
  const config = await tempDir('tui-user');
  const vt = new VirtualTerminal(options.columns ?? 100, 30);
  let bells = 0;
  vt.term.onBell(() => bells++);
  const app = createApp({
    input: vt.input,
    output: vt.output,
    configDir: config.path,
    host: '127.0.0.1',
    port: server.port,
    ...(options.beforeLogin ? { beforeLogin: options.beforeLogin } : {}),
    ...(options.files ? { files: options.files } : {}),
  });
  await trustAndRegister(vt, user, `${user} password`);
  return {
    vt,
    app,
    bells: () => bells,
    async close() {
      await app.quit();
      vt.dispose();
      await config.remove();
    },
  };
}
