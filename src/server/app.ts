/**
 * Assembles a running server from options: data dir, account store, TLS identity, core and
 * listeners. main.ts calls it after parsing the command line; tests call it directly.
 */
import { join } from 'node:path';
import { prepareDataDir } from './data-dir.ts';
import { JsonlBroadcastStore } from './broadcasts/jsonl-store.ts';
import { loadOrCreateIdentity, type TlsIdentity } from './identity.ts';
import { listen, type Listening } from './listen.ts';
import { ServerCore, type ServerCoreOptions } from './server.ts';
import { CsvUserStore } from './users/csv-store.ts';
import { PasswordHasher } from './users/passwords.ts';

/** The broadcast queue's log in the data dir (PROTOCOL.md section 7.3). */
export const BROADCAST_LOG_FILE = 'broadcasts.jsonl';

export interface ServerAppOptions extends Omit<ServerCoreOptions, 'store' | 'hasher' | 'broadcastStore'> {
  host: string;
  port: number;
  udpPort?: number;
  dataDir: string;
  tlsCert?: string;
  tlsKey?: string;
  scryptLogN?: number;
  handshakeTimeoutMs?: number;
  maxPendingHandshakes?: number;
  maxPendingPerIp?: number;
}

export interface ServerApp {
  core: ServerCore;
  listening: Listening;
  identity: TlsIdentity;
  dataDir: string;
  /** What the broadcast queue found in the data dir at start (section 7.3). */
  queueLoaded: { loaded: number; expired: number; tornRecords: number };
  /** Graceful stop: tell clients, close listeners, flush state. Idempotent. */
  stop(): Promise<void>;
}

export async function startServer(options: ServerAppOptions): Promise<ServerApp> {
  const lock = await prepareDataDir(options.dataDir);
  try {
    const store = new CsvUserStore(join(options.dataDir, 'users.csv'));
    await store.open();
    const identity = await loadOrCreateIdentity(options.dataDir, {
      certPath: options.tlsCert,
      keyPath: options.tlsKey,
    });
    const hasher = new PasswordHasher({ logN: options.scryptLogN });
    const broadcastStore = new JsonlBroadcastStore(join(options.dataDir, BROADCAST_LOG_FILE));
    const core = new ServerCore({ ...options, store, hasher, broadcastStore });
    let queueLoaded: ServerApp['queueLoaded'];
    try {
      queueLoaded = await core.broadcasts.open();
    } catch (err) {
      await core.shutdown();
      throw err;
    }
    const listening = await listen(core, {
      host: options.host,
      port: options.port,
      udpPort: options.udpPort,
      key: identity.key,
      cert: identity.cert,
      handshakeTimeoutMs: options.handshakeTimeoutMs,
      maxPendingHandshakes: options.maxPendingHandshakes,
      maxPendingPerIp: options.maxPendingPerIp,
    });
    let stopping: Promise<void> | null = null;
    const stop = () =>
      (stopping ??= (async () => {
        await core.shutdown();
        await listening.close();
        await lock.release();
      })());
    return { core, listening, identity, dataDir: options.dataDir, queueLoaded, stop };
  } catch (err) {
    await lock.release();
    throw err;
  }
}
