/** p2p-server command line (README "Server"). */
import { resolve } from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import {
  BROADCASTS_PER_MINUTE,
  DEFAULT_BROADCAST_TTL_MS,
  DEFAULT_PORT,
  RELAY_BYTES_PER_SECOND,
  RELAY_IDLE_TIMEOUT_MS,
  RELAY_MAX_CIRCUITS,
  RELAY_MAX_CIRCUITS_PER_USER,
} from '../net/constants.ts';
import { parseDuration } from '../util/duration.ts';
import type { Dashboard } from './dashboard/dashboard.ts';
import { parseMetricsAddress } from './metrics/http.ts';
import { NODE_ID_PATTERN } from './cluster/node-id.ts';
import { parseClusterUrl, redactClusterUrl } from './cluster/url.ts';
import { JsonLog, LOG_LEVELS, type LogLevel, type LogSink } from './log.ts';
import { DEFAULT_MAX_CONNECTIONS, DEFAULT_SCRYPT_LOG_N, REGISTRATIONS_PER_IP_PER_MINUTE } from './defaults.ts';

/** Every option; each can also come from the environment as P2P_<NAME> (README "Server"). */
const OPTIONS = {
  host: { type: 'string', default: '0.0.0.0', describe: 'address to listen on (P2P_HOST)' },
  port: { type: 'number', default: DEFAULT_PORT, describe: 'TCP and UDP port; 0 picks free ones (P2P_PORT)' },
  'data-dir': { type: 'string', default: './data', describe: 'users.csv, broadcast queue, TLS key (P2P_DATA_DIR)' },
  'max-connections': {
    type: 'number',
    default: DEFAULT_MAX_CONNECTIONS,
    describe: 'connections beyond this are refused',
  },
  headless: { type: 'boolean', default: false, describe: 'no dashboard: JSON log lines on stdout' },
  'log-level': {
    choices: LOG_LEVELS,
    default: 'info' as LogLevel,
    describe: "lowest level logged (JSON lines, or the dashboard's event pane)",
  },
  metrics: {
    type: 'string',
    describe: 'serve /metrics and /healthz over HTTP on [host:]port; loopback if only a port (P2P_METRICS)',
  },
  'tls-cert': { type: 'string', describe: 'PEM certificate (default: self-signed, kept in the data dir)' },
  'tls-key': { type: 'string', describe: 'PEM private key for --tls-cert' },
  'scrypt-cost': {
    type: 'number',
    default: DEFAULT_SCRYPT_LOG_N,
    describe: 'scrypt logN for new password hashes (10-20)',
  },
  'max-registrations-per-minute': {
    type: 'number',
    default: REGISTRATIONS_PER_IP_PER_MINUTE,
    describe: 'registrations accepted from one IP per minute',
  },
  'broadcast-ttl': {
    type: 'string',
    default: `${DEFAULT_BROADCAST_TTL_MS / 60_000}m`,
    describe: 'how long a broadcast waits for users to log in: 30m, 90s, 1h (PROTOCOL.md section 7)',
  },
  'broadcasts-per-minute': {
    type: 'number',
    default: BROADCASTS_PER_MINUTE,
    describe: 'broadcasts one user may send per minute',
  },
  cluster: {
    type: 'string',
    describe:
      'share accounts, presence and broadcasts with other nodes through Redis: redis://host:port[/db] (P2P_CLUSTER)',
  },
  'node-id': { type: 'string', describe: "this node's name in a cluster (default: random)" },
  'cluster-advertise': {
    type: 'string',
    describe: 'host:port where clients and other nodes reach this node (default: the listen address)',
  },
  'relay-circuits': {
    type: 'number',
    default: RELAY_MAX_CIRCUITS,
    describe: 'relayed peer chats at once, in all; 0 turns the relay off (PROTOCOL.md section 6.6)',
  },
  'relay-circuits-per-user': {
    type: 'number',
    default: RELAY_MAX_CIRCUITS_PER_USER,
    describe: 'relayed peer chats one user may have at once',
  },
  'relay-bytes-per-second': {
    type: 'number',
    default: RELAY_BYTES_PER_SECOND,
    describe: 'bytes per second each direction of a relayed chat may carry',
  },
  'relay-idle-timeout': {
    type: 'string',
    default: `${RELAY_IDLE_TIMEOUT_MS / 1000}s`,
    describe: 'a relayed chat that carries nothing this long is closed: 120s, 5m',
  },
} as const;

const ENV_PREFIX = 'P2P_';

/**
 * The P2P_* variables that name a server option. yargs' own .env('P2P') would take every
 * P2P_* variable as an option, and strict mode then refuses to start on any other one
 * (P2P_CONFIG_DIR is the client's, P2P_TEST the test runner's).
 */
export function optionsFromEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const found: Record<string, string> = {};
  for (const name of Object.keys(OPTIONS)) {
    const value = env[ENV_PREFIX + name.toUpperCase().replace(/-/g, '_')];
    if (value !== undefined) found[name] = value;
  }
  return found;
}

export async function main(argv = hideBin(process.argv), env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (argv[0] === 'accounts') return accountsMain(argv.slice(1), env);
  const args = await yargs(argv)
    .scriptName('p2p-server')
    .usage(
      '$0 [options]\n\nRuns the p2p-broadcast server on TCP (TLS) and UDP.\n' +
        'p2p-server accounts import|export <file.csv> --cluster redis://...: move accounts between users.csv and a cluster.',
    )
    .options(OPTIONS)
    .config(optionsFromEnv(env))
    .check((a) => {
      if (parseDuration(a['broadcast-ttl']) <= 0) throw new Error('--broadcast-ttl must be longer than 0');
      if (!Number.isInteger(a['broadcasts-per-minute']) || a['broadcasts-per-minute'] < 1)
        throw new Error('--broadcasts-per-minute must be a positive integer');
      if (!Number.isInteger(a.port) || a.port < 0 || a.port > 65535) throw new Error('--port must be 0-65535');
      if (!Number.isInteger(a['max-connections']) || a['max-connections'] < 1)
        throw new Error('--max-connections must be a positive integer');
      if (!Number.isInteger(a['relay-circuits']) || a['relay-circuits'] < 0)
        throw new Error('--relay-circuits must be 0 or a positive integer');
      if (!Number.isInteger(a['relay-circuits-per-user']) || a['relay-circuits-per-user'] < 1)
        throw new Error('--relay-circuits-per-user must be a positive integer');
      if (!Number.isInteger(a['relay-bytes-per-second']) || a['relay-bytes-per-second'] < 1024)
        throw new Error('--relay-bytes-per-second must be an integer of at least 1024');
      if (parseDuration(a['relay-idle-timeout']) <= 0) throw new Error('--relay-idle-timeout must be longer than 0');
      if (a.metrics !== undefined) parseMetricsAddress(a.metrics);
      if (a.cluster !== undefined) parseClusterUrl(a.cluster);
      if (a['node-id'] !== undefined && !NODE_ID_PATTERN.test(a['node-id']))
        throw new Error('--node-id must be 1-32 of A-Z a-z 0-9 _ . -');
      return true;
    })
    .strict()
    .help()
    .alias('h', 'help')
    .version(false)
    .parseAsync();

  // The dashboard needs a terminal for its screen and its keys; anything else gets JSON lines.
  const headless = args.headless || !process.stdout.isTTY || !process.stdin.isTTY;
  const logLevel = args['log-level'];
  // Loaded only now: `--help` and a bad flag need none of the server.
  const { startServer } = await import('./app.ts');
  const app = await startServer({
    host: args.host,
    port: args.port,
    dataDir: resolve(args['data-dir']),
    maxConnections: args['max-connections'],
    tlsCert: args['tls-cert'],
    tlsKey: args['tls-key'],
    scryptLogN: args['scrypt-cost'],
    registrationsPerMinutePerIp: args['max-registrations-per-minute'],
    broadcastTtlMs: parseDuration(args['broadcast-ttl']),
    broadcastsPerMinute: args['broadcasts-per-minute'],
    relay: {
      maxCircuits: args['relay-circuits'],
      maxCircuitsPerUser: args['relay-circuits-per-user'],
      bytesPerSecond: args['relay-bytes-per-second'],
      idleTimeoutMs: parseDuration(args['relay-idle-timeout']),
    },
    metrics: args.metrics === undefined ? undefined : parseMetricsAddress(args.metrics),
    cluster:
      args.cluster === undefined
        ? undefined
        : { url: args.cluster, nodeId: args['node-id'], advertise: args['cluster-advertise'] },
  });

  let dashboard: Dashboard | null = null;
  let log: LogSink;
  if (headless) {
    const json = new JsonLog(process.stdout, logLevel, app.cluster?.nodeId ?? null);
    json.follow(app.core);
    log = json.write;
  } else {
    // Loaded only for a terminal: blessed-contrib costs start-up time (docs/BENCHMARKS.md, "Start-up").
    const { createDashboard } = await import('./dashboard/dashboard.ts');
    dashboard = createDashboard({ app, logLevel, captureConsole: true, onQuit: () => stop('dashboard') });
    log = dashboard.log;
  }
  log('info', 'listening', {
    host: app.listening.host,
    tcpPort: app.listening.tcpPort,
    udpPort: app.listening.udpPort,
    // Below what large fan-outs need: docs/OPERATIONS.md "Large fan-outs".
    udpReceiveBufferBytes: app.listening.udpReceiveBufferBytes,
    dataDir: app.dataDir,
    fingerprint: app.identity.fingerprint,
    certificateCreated: app.identity.created,
    users: app.core.store.size,
    // Where the accounts are: users.csv is not read in a cluster (docs/CLUSTER.md "Accounts").
    accounts: app.cluster ? 'redis' : 'users.csv',
    broadcastTtlMs: app.core.broadcasts.ttlMs,
    broadcastsPending: app.queueLoaded.loaded,
    broadcastsTorn: app.queueLoaded.tornRecords,
    // Where /metrics and /healthz answer (the real port when 0 was asked for), or null.
    metrics: app.metrics ? app.metrics.address : null,
    // Cluster mode: the Redis it shares state through, never with its password.
    ...(app.cluster && args.cluster !== undefined
      ? { cluster: redactClusterUrl(args.cluster), advertise: app.cluster.node(app.cluster.nodeId)?.advertise }
      : {}),
  });

  let stopping = false;
  /** Graceful stop, from a signal or the dashboard's confirmed `q`: clients told, state flushed. */
  function stop(by: string): void {
    if (stopping) {
      // Asked twice (a second SIGINT): stop now, with the terminal given back as best we can.
      void dashboard?.destroy().finally(() => process.exit(1));
      return;
    }
    stopping = true;
    log('info', 'shutdown', { by });
    dashboard?.showStopping();
    app.stop().then(
      async () => {
        await dashboard?.destroy(); // the terminal restored before we go
        if (headless) log('info', 'stopped', {});
        process.exit(0);
      },
      async (err: Error) => {
        await dashboard?.destroy();
        // After destroy() the terminal is ours again, so the error reaches the operator.
        if (headless) log('error', 'server_error', { where: 'shutdown', message: err.message });
        else process.stderr.write(`error while stopping: ${err.message}\n`);
        process.exit(1);
      },
    );
  }
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

/** `p2p-server accounts import|export <file>` (README "Cluster"): users.csv in and out of a cluster's Redis. */
async function accountsMain(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const args = await yargs(argv)
    .scriptName('p2p-server accounts')
    .usage('$0 <import|export> <file.csv> --cluster redis://host:port[/db]')
    .command('import <file>', "add the accounts of a users.csv that the cluster's Redis does not have")
    .command('export <file>', "write every account in the cluster's Redis to a users.csv (mode 0600)")
    .option('cluster', { type: 'string', describe: "the cluster's Redis: redis://host:port[/db] (P2P_CLUSTER)" })
    .config(env.P2P_CLUSTER === undefined ? {} : { cluster: env.P2P_CLUSTER })
    .demandCommand(1, 'say import or export')
    .check((a) => {
      if (a.cluster === undefined) throw new Error('--cluster redis://host:port[/db] is required');
      parseClusterUrl(a.cluster);
      return true;
    })
    .strict()
    .help()
    .alias('h', 'help')
    .version(false)
    .parseAsync();
  const cluster = args.cluster ?? '';
  const file = resolve(String(args.file));
  // Loaded only now, like the server: `--help` needs no Redis client.
  const { exportAccounts, importAccounts } = await import('./cluster/accounts-cli.ts');
  if (args._[0] === 'import') {
    const report = await importAccounts(file, { cluster });
    process.stdout.write(`${report.summary}\n`);
  } else {
    const count = await exportAccounts(file, { cluster });
    process.stdout.write(`exported ${count} accounts to ${file}\n`);
  }
}
