/**
 * Cluster benchmark (docs/BENCHMARKS.md, "Cluster"; issue 16):
 *
 *   npm run bench -- cluster [--users 10000] [--nodes 3] [--broadcasts 5] [--presence 10]
 *        [--workers 4] [--scrypt-cost 10] [--timeout 15]
 *
 * In the same run, one plain node (no Redis) and then N nodes sharing a real redis-server, all
 * real `bin/p2p-server` processes on this machine, driven only through the client protocol:
 * - sessions held: `--users` receivers registered and logged in, spread round robin over the
 *   nodes (bench/lib/fanout-receiver.ts, a real TLS session and UDP path each);
 * - broadcast to all of them from a sender on node 1: time until the last receiver, on any
 *   node, has it (p50/p99 over `--broadcasts`), and how many got it;
 * - cross-node presence: an observer on node 1 sees a user log in on node N (p50/p99 over
 *   `--presence` logins, from the login's welcome to the observer's presence batch);
 * - Redis commands per login and per broadcast recipient (INFO commandstats before and after,
 *   less the idle rate of the same nodes), and redis-benchmark's rates for a paper estimate
 *   of how many users one Redis serves.
 */
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import type { TestContext } from 'node:test';
import { parseArgs } from 'node:util';
import { P2PClient } from '../src/client/client.ts';
import { userKey } from '../src/net/names.ts';
import { startRedis, type RedisInstance } from '../test/helpers/redis.ts';
import { tempDir } from '../test/helpers/server.ts';
import { spawnServer, type ServerProcess } from '../test/helpers/server-process.ts';
import { ReceiverPool } from './lib/receiver-pool.ts';
import {
  describeMix,
  difference,
  mixRate,
  RedisProbe,
  redisBenchmark,
  total,
  type CommandCounts,
} from './lib/redis-stats.ts';
import { fmt, percentile, printTable } from './lib/table.ts';

const { values: args } = parseArgs({
  options: {
    users: { type: 'string', default: '10000' },
    nodes: { type: 'string', default: '3' },
    broadcasts: { type: 'string', default: '5' },
    presence: { type: 'string', default: '10' },
    workers: { type: 'string', default: '4' },
    'scrypt-cost': { type: 'string', default: '10' },
    timeout: { type: 'string', default: '15' },
  },
});
const USERS = Number(args.users);
const NODES = Number(args.nodes);
const BROADCASTS = Number(args.broadcasts);
const PRESENCE_SAMPLES = Number(args.presence);
const WORKERS = Number(args.workers);
const SCRYPT_COST = Number(args['scrypt-cost']);
/** A broadcast (or a presence change) not seen everywhere by then is counted as missing. */
const DEADLINE_MS = Number(args.timeout) * 1000;
const PASSWORD = 'bench password';
const TEXT_BYTES = 100;
const REGISTER_CONCURRENCY = 16;
const LOGIN_CONCURRENCY = 32;
const LOGIN_ALL_TIMEOUT_MS = 40 * 60_000;
/** Between two broadcasts: past the retransmissions and the TCP fallback of the last one. */
const SETTLE_MS = 1_500;
/** The nodes' idle command rate is measured over this window. */
const IDLE_WINDOW_MS = 3_000;
const REDIS_BENCHMARK_REQUESTS = 50_000;

const log = (line: string) => process.stderr.write(`# ${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const hrnow = () => Number(process.hrtime.bigint());

interface Result {
  system: string;
  nodes: number;
  held: number;
  loginSeconds: number;
  lastMs: number[];
  delivered: number;
  expected: number;
  presenceMs: number[];
  presenceMissed: number;
  /** Cluster only: Redis commands per login, per broadcast recipient, per second idle (with everyone online). */
  redis: {
    perLogin: number;
    loginMix: CommandCounts;
    perRecipient: number;
    recipientMix: CommandCounts;
    /** Commands a second with nobody online (heartbeats, the features' own upkeep), and with everyone. */
    idleEmpty: number;
    idlePerSecond: number;
  } | null;
}

/** Cleanups for helpers written for tests (test/helpers/redis.ts takes a test's context). */
function benchContext(): { t: TestContext; cleanup: () => Promise<void> } {
  const stack: Array<() => unknown> = [];
  const t = { after: (fn: () => unknown) => stack.push(fn) } as unknown as TestContext;
  return {
    t,
    cleanup: async () => {
      for (let fn = stack.pop(); fn; fn = stack.pop()) await Promise.resolve(fn()).catch(() => undefined);
    },
  };
}

async function startNodes(
  count: number,
  redis: RedisInstance | null,
): Promise<{ nodes: ServerProcess[]; stop: () => Promise<void> }> {
  const dirs = await Promise.all(Array.from({ length: count }, () => tempDir('bench-cluster')));
  const nodes = await Promise.all(
    dirs.map((dir, i) =>
      spawnServer(
        [
          '--port',
          '0',
          '--data-dir',
          dir.path,
          '--scrypt-cost',
          String(SCRYPT_COST),
          '--max-registrations-per-minute',
          '1000000',
          '--broadcasts-per-minute',
          '1000000',
          '--broadcast-ttl',
          '60s',
          ...(redis ? ['--cluster', redis.url, '--node-id', `node${i + 1}`] : []),
        ],
        { startTimeoutMs: 120_000 },
      ),
    ),
  );
  return {
    nodes,
    stop: async () => {
      await Promise.all(nodes.map((n) => n.kill('SIGTERM')));
      await Promise.all(dirs.map((d) => d.remove()));
    },
  };
}

/** Redis commands a second over IDLE_WINDOW_MS with nothing happening but upkeep. */
async function idleRate(probe: RedisProbe | null): Promise<number> {
  if (!probe) return 0;
  const from = await probe.snapshot();
  await sleep(IDLE_WINDOW_MS);
  return total(difference(await probe.snapshot(), from)) / (IDLE_WINDOW_MS / 1000);
}

/** A protocol client on a node, kept for the run. */
function clientOn(node: ServerProcess, configDir: string): P2PClient {
  return new P2PClient({ host: '127.0.0.1', port: node.port, configDir, reconnect: false });
}

/** Register every user through the protocol on its node (accounts are per node without a shared store). */
async function registerAll(nodes: ServerProcess[], users: string[][], configDir: string): Promise<void> {
  const jobs = users.flatMap((names, node) => names.map((name) => ({ name, node })));
  let next = 0;
  const one = async () => {
    for (let job = jobs[next++]; job; job = jobs[next++]) {
      const client = clientOn(nodes[job.node] as ServerProcess, configDir);
      await client.register(job.name, PASSWORD).catch((err: Error) => {
        if (!err.message.includes('taken')) throw err; // shared accounts: registered through another node
      });
      await client.close();
    }
  };
  await Promise.all(Array.from({ length: REGISTER_CONCURRENCY }, one));
}

async function run(system: string, count: number, redis: RedisInstance | null): Promise<Result> {
  log(`${system}: starting ${count} node(s)`);
  const { nodes, stop } = await startNodes(count, redis);
  const config = await tempDir('bench-cluster-client');
  const probe = redis ? new RedisProbe(redis.port) : null;
  const pool = new ReceiverPool(WORKERS);
  const clients: P2PClient[] = [];
  try {
    const users: string[][] = nodes.map(() => []);
    for (let i = 0; i < USERS; i++) users[i % count]?.push(`r${i}`);
    const last = nodes.length - 1;
    users[0]?.push('sender', 'observer');
    users[last]?.push(...Array.from({ length: PRESENCE_SAMPLES }, (_, i) => `probe${i}`));
    await registerAll(nodes, users, config.path);
    log(`${system}: ${USERS} receivers registered`);

    const receivers = users.map((names) => names.filter((n) => n.startsWith('r')));
    const idleEmpty = await idleRate(probe);
    const beforeLogins = await probe?.snapshot();
    const loginStart = Date.now();
    const held = await pool.login(
      nodes.map((n) => n.port),
      receivers,
      PASSWORD,
      LOGIN_CONCURRENCY,
      LOGIN_ALL_TIMEOUT_MS,
    );
    const loginSeconds = (Date.now() - loginStart) / 1000;
    const afterLogins = await probe?.snapshot();
    log(`${system}: ${held} sessions held after ${loginSeconds.toFixed(1)} s`);
    await sleep(IDLE_WINDOW_MS / 3);
    const idlePerSecond = await idleRate(probe);

    const sender = clientOn(nodes[0] as ServerProcess, config.path);
    clients.push(sender);
    await sender.login('sender', PASSWORD);
    const lastMs: number[] = [];
    let delivered = 0;
    const beforeBroadcasts = await probe?.snapshot();
    const broadcastStart = Date.now();
    for (let i = 0; i <= BROADCASTS; i++) {
      const started = hrnow();
      const reply = await sender.request({ t: 'broadcast', text: `bench ${i} `.padEnd(TEXT_BYTES, '.') });
      if (reply.t !== 'broadcast_ok') throw new Error(`broadcast refused: ${reply.t}`);
      const times = await pool.receipts(reply.bid, Date.now() + DEADLINE_MS);
      if (i > 0) {
        // The first one warms up, not counted.
        lastMs.push(times.length === 0 ? Number.NaN : (Math.max(...times) - started) / 1e6);
        delivered += times.length;
      }
      await sleep(SETTLE_MS);
    }
    const broadcastSeconds = (Date.now() - broadcastStart) / 1000;
    const afterBroadcasts = await probe?.snapshot();

    const observer = clientOn(nodes[0] as ServerProcess, config.path);
    clients.push(observer);
    await observer.login('observer', PASSWORD);
    const presenceMs: number[] = [];
    let presenceMissed = 0;
    for (let i = 0; i < PRESENCE_SAMPLES; i++) {
      const name = `probe${i}`;
      const seen = new Promise<number>((resolve) => {
        const onPresence = ({ joined }: { joined: Array<{ user: string }> }) => {
          if (!joined.some((u) => userKey(u.user) === name)) return;
          observer.off('presence', onPresence);
          resolve(hrnow());
        };
        observer.on('presence', onPresence);
        setTimeout(() => {
          observer.off('presence', onPresence);
          resolve(Number.NaN);
        }, DEADLINE_MS);
      });
      const probeClient = clientOn(nodes[last] as ServerProcess, config.path);
      await probeClient.login(name, PASSWORD);
      const welcomed = hrnow();
      const at = await seen;
      if (Number.isNaN(at)) presenceMissed += 1;
      else presenceMs.push((at - welcomed) / 1e6);
      await probeClient.close();
    }

    let redisFigures: Result['redis'] = null;
    if (beforeLogins && afterLogins && beforeBroadcasts && afterBroadcasts) {
      const loginMix = difference(afterLogins, beforeLogins);
      const recipientMix = difference(afterBroadcasts, beforeBroadcasts);
      const recipients = (BROADCASTS + 1) * held;
      redisFigures = {
        perLogin: Math.max(0, total(loginMix) - idlePerSecond * loginSeconds) / Math.max(1, held),
        loginMix,
        perRecipient: Math.max(0, total(recipientMix) - idlePerSecond * broadcastSeconds) / Math.max(1, recipients),
        recipientMix,
        idleEmpty,
        idlePerSecond,
      };
    }
    return {
      system,
      nodes: count,
      held,
      loginSeconds,
      lastMs,
      delivered,
      expected: BROADCASTS * held,
      presenceMs,
      presenceMissed,
      redis: redisFigures,
    };
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await pool.close();
    probe?.close();
    await stop();
    await config.remove();
  }
}

function tableRow(r: Result): string[] {
  const ms = (v: number) => (Number.isFinite(v) ? `${fmt(v, v < 10 ? 1 : 0)} ms` : '-');
  const last = [...r.lastMs].sort((a, b) => a - b);
  const presence = [...r.presenceMs].sort((a, b) => a - b);
  return [
    r.system,
    String(r.nodes),
    r.held.toLocaleString('en'),
    `${fmt(r.loginSeconds, 0)} s`,
    ms(percentile(last, 50)),
    ms(percentile(last, 99)),
    r.expected === 0 ? '-' : `${((100 * r.delivered) / r.expected).toFixed(r.delivered === r.expected ? 0 : 1)}%`,
    ms(percentile(presence, 50)),
    ms(percentile(presence, 99)),
    r.presenceMissed === 0 ? '0' : `${r.presenceMissed} of ${PRESENCE_SAMPLES}`,
    r.redis ? fmt(r.redis.perLogin, 1) : '-',
    r.redis ? fmt(r.redis.perRecipient, 2) : '-',
    r.redis ? fmt(r.redis.idlePerSecond, 0) : '-',
  ];
}

const HEADERS = [
  'system',
  'nodes',
  'sessions held',
  'logins took',
  'broadcast time to last, p50',
  'p99',
  'delivered',
  'cross-node presence, p50',
  'p99',
  'presence not seen',
  'Redis cmds per login',
  'per recipient',
  'Redis cmds/s idle',
];

/** Sessions one node held on 2 cores (docs/BENCHMARKS.md, "Server: sessions, memory, logins"): how many nodes a user count needs. */
const SESSIONS_PER_NODE = 10_000;
/** Assumed load per user for the estimate: logins and broadcasts received an hour. */
const LOGINS_PER_HOUR = 1;
const BROADCASTS_PER_HOUR = 10;

/** Paper estimate (docs/BENCHMARKS.md "Cluster"): users one Redis serves at half its measured rate. */
function estimate(redis: NonNullable<Result['redis']>, rates: Map<string, number>, held: number): string[] {
  const mix = new Map(redis.loginMix);
  for (const [name, n] of redis.recipientMix) mix.set(name, (mix.get(name) ?? 0) + n);
  const rate = mixRate(mix, rates);
  const perNode = redis.idleEmpty / NODES;
  const perUserIdle = Math.max(0, redis.idlePerSecond - redis.idleEmpty) / Math.max(1, held);
  const perUser =
    perUserIdle +
    (LOGINS_PER_HOUR * redis.perLogin) / 3600 +
    (BROADCASTS_PER_HOUR * redis.perRecipient) / 3600 +
    perNode / SESSIONS_PER_NODE;
  const users = (0.5 * rate) / perUser;
  return [
    `redis-benchmark here (-n ${REDIS_BENCHMARK_REQUESTS} -c 50, load average ${loadavg()[0]?.toFixed(1)}): ${[...rates].map(([k, v]) => `${k} ${fmt(v, 0)}/s`).join(', ')}`,
    `per login: ${describeMix(redis.loginMix, held)}; per recipient: ${describeMix(redis.recipientMix, (BROADCASTS + 1) * held)}; this mix at the rates above: ${fmt(rate, 0)} cmds/s`,
    `upkeep: ${fmt(perNode, 1)} cmds/s per node with nobody online; ${fmt(perUserIdle, 4)} more per online user`,
    `paper estimate: one Redis at 50% of ${fmt(rate, 0)} cmds/s, each user logging in ${LOGINS_PER_HOUR}/h and receiving ${BROADCASTS_PER_HOUR} broadcasts/h, ${SESSIONS_PER_NODE.toLocaleString('en')} users a node: about ${Math.round(users).toLocaleString('en')} users on ${Math.ceil(users / SESSIONS_PER_NODE)} nodes (${fmt(perUser, 4)} cmds/s a user)`,
  ];
}

function machine(): string {
  return `machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, node ${process.version}, load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(
      ' ',
    )}; redis-server ${spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout.split(' ')[2] ?? '?'}`;
}

async function main(): Promise<void> {
  const started = Date.now();
  const header = machine();
  log(header);
  const ctx = benchContext();
  try {
    const single = await run('one node (no Redis)', 1, null);
    const redis = await startRedis(ctx.t, { appendonly: true });
    const cluster = await run(`${NODES} nodes, one Redis (appendonly)`, NODES, redis);
    const rates = redisBenchmark(redis.port, REDIS_BENCHMARK_REQUESTS);
    process.stdout.write(
      `\nCluster: ${USERS.toLocaleString('en')} receivers spread round robin over the nodes, ${BROADCASTS} broadcasts of ${TEXT_BYTES} bytes from node 1, ${PRESENCE_SAMPLES} logins on the last node watched from node 1\n${header}\n\n`,
    );
    printTable(HEADERS, [tableRow(single), tableRow(cluster)]);
    process.stdout.write('\n');
    const p99 = (r: Result) =>
      percentile(
        [...r.lastMs].sort((a, b) => a - b),
        99,
      );
    process.stdout.write(
      `- cluster fan-out p99 / one node p99: ${fmt(p99(cluster) / p99(single), 2)}x (the aim: within 1.5x)\n`,
    );
    for (const r of [single, cluster])
      if (r.delivered < r.expected || r.presenceMissed > 0)
        process.stdout.write(
          `- ${r.system}: ${r.delivered} of ${r.expected} receipts, ${r.presenceMissed} logins not seen: this build does not share broadcasts or presence across nodes; the times are of what arrived\n`,
        );
    if (cluster.redis)
      for (const line of estimate(cluster.redis, rates, cluster.held)) process.stdout.write(`- ${line}\n`);
    process.stdout.write(
      `- Redis Cluster: keyed commands spread over its shards (about linear in shards); the bus (PUBLISH) reaches every shard, so it does not spread\n` +
        `- Redis commands: INFO commandstats deltas, less the idle rate over the same time; per login includes the login's presence and session keys\n` +
        `- total run ${((Date.now() - started) / 1000).toFixed(0)} s\n`,
    );
  } finally {
    await ctx.cleanup();
  }
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`bench failed: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
