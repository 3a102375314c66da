/**
 * Assembles a running server from options: data dir, account store, TLS identity, core and
 * listeners. main.ts calls it after parsing the command line; tests call it directly.
 */
import { join } from 'node:path';
import { prepareDataDir } from './data-dir.ts';
import { loadOrCreateIdentity, type TlsIdentity } from './identity.ts';
import { listen, type Listening } from './listen.ts';
import { ServerCore, type ServerCoreOptions } from './server.ts';
import { CsvUserStore } from './users/csv-store.ts';
import { PasswordHasher } from './users/passwords.ts';

export interface ServerAppOptions extends Omit<ServerCoreOptions, 'store' | 'hasher'> {
  host: string;
  port: number;
  udpPort?: number;
  dataDir: string;
  tlsCert?: string;
  tlsKey?: string;
  scryptLogN?: number;
  handshakeTimeoutMs?: number;
}

export interface ServerApp {
  core: ServerCore;
  listening: Listening;
  identity: TlsIdentity;
  dataDir: string;
  /** Graceful stop: tell clients, close listeners, flush state. Idempotent. */
  stop(): Promise<void>;
}

export async function startServer(options: ServerAppOptions): Promise<ServerApp> {
  const lock = await prepareDataDir(options.dataDir);
  try {
    const store = new CsvUserStore(join(options.dataDir, 'users.csv'));
    await store.open();
    const identity = await loadOrCreateIdentity(options.dataDir, { certPath: options.tlsCert, keyPath: options.tlsKey });
    const hasher = new PasswordHasher({ logN: options.scryptLogN });
    const core = new ServerCore({ ...options, store, hasher });
    const listening = await listen(core, {
      host: options.host,
      port: options.port,
      udpPort: options.udpPort,
      key: identity.key,
      cert: identity.cert,
      handshakeTimeoutMs: options.handshakeTimeoutMs,
    });
    let stopping: Promise<void> | null = null;
    const stop = () =>
      (stopping ??= (async () => {
        await core.shutdown();
        await listening.close();
        await lock.release();
      })());
    return { core, listening, identity, dataDir: options.dataDir, stop };
  } catch (err) {
    await lock.release();
    throw err;
  }
}
