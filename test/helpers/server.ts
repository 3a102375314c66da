/** A real server on 127.0.0.1 with OS-chosen ports and a temp data dir, and clients for it. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { P2PClient, type ClientOptions } from '../../src/client/client.ts';
import { startServer, type ServerApp, type ServerAppOptions } from '../../src/server/app.ts';

export const TEST_SCRYPT_LOG_N = 10;

export async function tempDir(prefix: string): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `p2p-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export interface TestServer {
  app: ServerApp;
  port: number;
  dataDir: string;
  /** A connected (not logged-in) client with its own temp config dir. */
  client(options?: Partial<ClientOptions>): Promise<P2PClient>;
  /** Stop the server (not the clients) but keep the data dir. */
  stopServer(): Promise<void>;
  /** Stop everything and remove every temp dir. */
  close(): Promise<void>;
}

export async function startTestServer(options: Partial<ServerAppOptions> = {}): Promise<TestServer> {
  const data = options.dataDir ? null : await tempDir('data');
  const dataDir = options.dataDir ?? (data as { path: string }).path;
  const app = await startServer({
    host: '127.0.0.1',
    port: 0,
    scryptLogN: TEST_SCRYPT_LOG_N,
    registrationsPerMinutePerIp: 100_000,
    ...options,
    dataDir,
  });
  const clients: P2PClient[] = [];
  const dirs: Array<{ remove(): Promise<void> }> = [];
  let serverStopped = false;
  return {
    app,
    port: app.listening.tcpPort,
    dataDir,
    async client(clientOptions = {}) {
      const config = await tempDir('client');
      dirs.push(config);
      const client = new P2PClient({ host: '127.0.0.1', port: app.listening.tcpPort, configDir: config.path, reconnectBaseMs: 50, ...clientOptions });
      clients.push(client);
      await client.connect();
      return client;
    },
    async stopServer() {
      if (serverStopped) return;
      serverStopped = true;
      await app.stop();
    },
    async close() {
      await Promise.all(clients.map((c) => c.close().catch(() => {})));
      if (!serverStopped) await app.stop();
      await Promise.all(dirs.map((d) => d.remove()));
      await data?.remove();
    },
  };
}
