/**
 * The client app in-process on a virtual terminal, registered as a user of a test server, and
 * headless users for the far side of its chats: what the TUI tests that drive whole chats start from.
 */
import type { P2PClient } from '../../src/client/client.ts';
import { BroadcastInbox } from '../../src/client/broadcasts.ts';
import { PeerManager } from '../../src/client/peer/manager.ts';
import { createApp, type AppOptions, type TuiApp } from '../../src/client/tui/app.ts';
import { tempDir, type TestServer } from './server.ts';
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
  options: { columns?: number; beforeLogin?: AppOptions['beforeLogin'] } = {},
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

export interface Headless {
  client: P2PClient;
  peers: PeerManager;
  inbox: BroadcastInbox;
}

/** A headless user with the real peer module and inbox: the far side of a TUI user's chats. */
export async function headless(server: TestServer, user: string): Promise<Headless> {
  const client = await server.client();
  const peers = new PeerManager(client);
  await peers.start();
  const inbox = new BroadcastInbox(client);
  await client.register(user, `${user} password`);
  return { client, peers, inbox };
}
