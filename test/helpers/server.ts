/** A real server on 127.0.0.1 with OS-chosen ports and a temp data dir, and clients for it. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { P2PClient, type ClientOptions } from '../../src/client/client.ts';
import { startServer, type ServerApp, type ServerAppOptions } from '../../src/server/app.ts';
import { defer } from './cleanup.ts';

export const TEST_SCRYPT_LOG_N = 10;

export async function tempDir(prefix: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `p2p-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export interface TestServer {
  /** The running server (a new one after `restart`). */
  readonly app: ServerApp;
  readonly port: number;
  readonly dataDir: string;
  readonly usersCsv: string;
  /** A connected (not logged-in) client with its own temp config dir. */
  client(options?: Partial<ClientOptions>): Promise<P2PClient>;
  /** A client that has not connected yet (for tests of connect() itself). */
  newClient(options?: Partial<ClientOptions>): Promise<P2PClient>;
  /** Stop the server (not the clients) but keep the data dir. */
  stopServer(): Promise<void>;
  /** Stop the server if running, then start a new one on the same ports and data dir. */
  restart(options?: Partial<ServerAppOptions>): Promise<void>;
  /** Stop everything and remove every temp dir. */
  close(): Promise<void>;
}

export async function startTestServer(options: Partial<ServerAppOptions> = {}): Promise<TestServer> {
  const data = options.dataDir ? null : await tempDir('data');
  const dataDir = options.dataDir ?? (data as { path: string }).path;
  const base: ServerAppOptions = {
    host: '127.0.0.1',
    port: 0,
    scryptLogN: TEST_SCRYPT_LOG_N,
    registrationsPerMinutePerIp: 100_000,
    ...options,
    dataDir,
  };
  let app: ServerApp;
  try {
    app = await startServer(base);
  } catch (err) {
    await data?.remove();
    throw err;
  }
  const port = app.listening.tcpPort;
  const udpPort = app.listening.udpPort;
  const clients: P2PClient[] = [];
  const dirs: Array<{ remove(): Promise<void> }> = [];
  let serverStopped = false;

  const newClient = async (clientOptions: Partial<ClientOptions> = {}) => {
    const config = await tempDir('client');
    dirs.push(config);
    const client = new P2PClient({
      host: '127.0.0.1',
      port,
      configDir: config.path,
      reconnectBaseMs: 50,
      ...clientOptions,
    });
    clients.push(client);
    return client;
  };
  const stopServer = async () => {
    if (serverStopped) return;
    serverStopped = true;
    await app.stop();
  };

  return {
    get app() {
      return app;
    },
    port,
    dataDir,
    usersCsv: join(dataDir, 'users.csv'),
    newClient,
    async client(clientOptions = {}) {
      const client = await newClient(clientOptions);
      await client.connect();
      return client;
    },
    stopServer,
    async restart(restartOptions = {}) {
      await stopServer();
      app = await startServer({ ...base, ...restartOptions, port, udpPort });
      serverStopped = false;
    },
    async close() {
      await Promise.all(clients.map((c) => c.close().catch(() => {})));
      await stopServer();
      await Promise.all(dirs.map((d) => d.remove()));
      await data?.remove();
    },
  };
}

/** `startTestServer`, closed (with its clients and temp dirs) when the test ends. */
export async function testServer(t: TestContext, options: Partial<ServerAppOptions> = {}): Promise<TestServer> {
  const server = await startTestServer(options);
  defer(t, () => server.close());
  return server;
}

/** The password `serverWithClients` registers `user` with. */
export const passwordOf = (user: string): string => `password-${user}`;

export interface ServerWithClientsOptions<U extends readonly string[]> extends Partial<ServerAppOptions> {
  /** One client per name, registered (so logged in) in this order. */
  users: U;
  /** Every user's password (default: `passwordOf(name)`). */
  password?: string;
  /** Options for every client. */
  client?: Partial<ClientOptions>;
}

/**
 * A test server and one registered, logged-in client per user, all closed when the test ends.
 * Every client connects from 127.0.0.1: `P2PClient` has no option to pick a local address, so
 * distinct loopback addresses per user are not possible yet.
 */
export async function serverWithClients<const U extends readonly string[]>(
  t: TestContext,
  { users, password, client: clientOptions, ...serverOptions }: ServerWithClientsOptions<U>,
): Promise<{ server: TestServer; clients: { [K in keyof U]: P2PClient } }> {
  const server = await testServer(t, serverOptions);
  const clients: P2PClient[] = [];
  for (const user of users) {
    const client = await server.client(clientOptions);
    await client.register(user, password ?? passwordOf(user));
    clients.push(client);
  }
  // One client per name, in order: the mapped tuple type says exactly that.
  return { server, clients: clients as { [K in keyof U]: P2PClient } };
}
