/**
 * Assembles a running server from options: data dir, account store, TLS identity, core and
 * listeners. main.ts calls it after parsing the command line; tests call it directly.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { AckRecord } from './broadcasts/service.ts';
import { ClusterLink } from './cluster/link.ts';
import { clusterUserStore } from './cluster/user-store.ts';
import { prepareDataDir } from './data-dir.ts';
import { JsonlBroadcastStore } from './broadcasts/jsonl-store.ts';
import { loadOrCreateIdentity, type TlsIdentity } from './identity.ts';
import { listen, type Listening } from './listen.ts';
import { serveMetrics, type MetricsAddress, type MetricsEndpoint } from './metrics/http.ts';
import { ServerMetrics, type MetricsHost } from './metrics/metrics.ts';
import { ServerCore, type ServerCoreOptions } from './server.ts';
import { UdpPathState } from './session.ts';
import { CsvUserStore } from './users/csv-store.ts';
import { PasswordHasher } from './users/passwords.ts';

/** The broadcast queue's log in the data dir (PROTOCOL.md section 7.3). */
export const BROADCAST_LOG_FILE = 'broadcasts.jsonl';

export interface ServerAppOptions extends Omit<ServerCoreOptions, 'store' | 'hasher' | 'broadcastStore' | 'cluster'> {
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
  /** Serve /metrics and /healthz here (README "Monitoring"); off when not given. */
  metrics?: MetricsAddress;
  /** Cluster mode (README "Cluster"): shared state in this Redis; one node alone without it. */
  cluster?: ClusterAppOptions;
}

export interface ClusterAppOptions {
  /** redis://host:port[/db] */
  url: string;
  nodeId?: string;
  /** host:port where clients and other nodes reach this node; default the listen address and port. */
  advertise?: string;
  /** Key prefix in Redis (tests give each cluster its own); default `p2p:`. */
  prefix?: string;
}

export interface ServerApp {
  core: ServerCore;
  listening: Listening;
  identity: TlsIdentity;
  dataDir: string;
  /** What the broadcast queue found in the data dir at start (section 7.3). */
  queueLoaded: { loaded: number; expired: number; tornRecords: number };
  /** The monitoring endpoint, if `metrics` was given. */
  metrics: MetricsEndpoint | null;
  /** This node's link to the cluster, in cluster mode. */
  cluster: ClusterLink | null;
  /** Graceful stop: tell clients, close listeners, flush state. Idempotent. */
  stop(): Promise<void>;
}

export async function startServer(options: ServerAppOptions): Promise<ServerApp> {
  const lock = await prepareDataDir(options.dataDir);
  let cluster: ClusterLink | null = null;
  try {
    if (options.cluster) {
      const { url, nodeId, prefix } = options.cluster;
      cluster = await ClusterLink.connect({ url, nodeId, prefix });
    }
    // In a cluster the accounts live in Redis (docs/CLUSTER.md "Accounts"); users.csv is not used.
    const store = cluster ? clusterUserStore(cluster) : new CsvUserStore(join(options.dataDir, 'users.csv'));
    await store.open();
    const identity = await loadOrCreateIdentity(options.dataDir, {
      certPath: options.tlsCert,
      keyPath: options.tlsKey,
    });
    const hasher = new PasswordHasher({ logN: options.scryptLogN });
    const broadcastStore = new JsonlBroadcastStore(join(options.dataDir, BROADCAST_LOG_FILE));
    const core = new ServerCore({ ...options, store, hasher, broadcastStore, cluster });
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
    if (cluster) {
      const link = cluster;
      link.sessionCount = () => core.presence.size;
      await link.advertise(options.cluster?.advertise ?? advertiseAddress(listening.host, listening.tcpPort));
    }
    let stopping: Promise<void> | null = null;
    let metrics: { values: ServerMetrics; endpoint: MetricsEndpoint } | null = null;
    if (options.metrics) {
      const values = new ServerMetrics(metricsHost(core));
      try {
        metrics = { values, endpoint: await serveMetrics(values, options.metrics, () => stopping !== null) };
      } catch (err) {
        values.dispose();
        await core.shutdown();
        await listening.close();
        throw err;
      }
    }
    // /healthz answers 503 from the first moment of the stop until its very end.
    const stop = () =>
      (stopping ??= (async () => {
        await core.shutdown();
        await listening.close();
        await cluster?.close();
        await lock.release();
        await metrics?.endpoint.close();
        metrics?.values.dispose();
      })());
    return {
      core,
      listening,
      identity,
      dataDir: options.dataDir,
      queueLoaded,
      metrics: metrics?.endpoint ?? null,
      cluster,
      stop,
    };
  } catch (err) {
    await cluster?.close();
    await lock.release();
    throw err;
  }
}

/** Where others reach a node listening on `host`: a wildcard address says nothing, so the host name. */
function advertiseAddress(host: string, port: number): string {
  const name = host === '0.0.0.0' || host === '::' ? hostname() : host;
  return name.includes(':') ? `[${name}]:${port}` : `${name}:${port}`;
}

/** What the metrics read from the core: its events and a few counts, nothing it could change. */
function metricsHost(core: ServerCore): MetricsHost {
  return {
    events: core,
    connections: () => core.connectionCount,
    sessionsOnline: () => core.presence.size,
    udpAlive: () => {
      let alive = 0;
      for (const session of core.presence.sessions()) if (session.udp.state === UdpPathState.ALIVE) alive += 1;
      return alive;
    },
    broadcastsPending: () => core.broadcasts.queue.size,
    delivery: () => core.broadcasts.delivery.stats,
    onAck: (listener) => {
      const observe = ({ latencyMs }: AckRecord) => listener(latencyMs);
      core.broadcasts.acks.on('ack', observe);
      return () => void core.broadcasts.acks.off('ack', observe);
    },
    hashQueue: () => ({ inFlight: core.hasher.inFlight, queued: core.hasher.queued }),
    relayCircuits: () => core.relay.circuitCount,
  };
}
