/**
 * Accounts in cluster mode (docs/CLUSTER.md "Accounts", "Shared limits") beside one server
 * with users.csv, in the same run: login time end to end, Redis commands per login, and how
 * long a change on one node takes to reach another node's mirror (the window W of the
 * shared limits' bound).
 *
 *   node --import tsx bench/accounts-cluster.ts [--logins 200] [--samples 300]
 *
 * Needs redis-server (Debian: apt-get install redis-server); one is started on a free
 * loopback port and removed at the end. Both nodes run in this process, so W includes two
 * nodes sharing one event loop. Logins are one after another: new TLS connection, `login`,
 * the answer, close.
 */
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import type { TestContext } from 'node:test';
import { startServer, type ServerApp } from '../src/server/app.ts';
import { ClusterLink } from '../src/server/cluster/link.ts';
import { ClusterRateLimiter } from '../src/server/cluster/limits.ts';
import { RedisUserStore } from '../src/server/cluster/user-store.ts';
import { startRedis } from '../test/helpers/redis.ts';
import { RawClient } from '../test/helpers/raw.ts';
import { tempDir } from '../test/helpers/server.ts';
import { fmt, percentile, printTable } from './lib/table.ts';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const LOGINS = arg('logins', 200);
const SAMPLES = arg('samples', 300);
const PASSWORD = 'bench-password';
/** Idle time over which the heartbeats' own commands are counted, to subtract them. */
const IDLE_MS = 3_000;

const cleanups: Array<() => unknown> = [];
const scope = { after: (fn: () => unknown) => void cleanups.push(fn) } as unknown as TestContext;

async function server(cluster?: { url: string; prefix: string; nodeId: string }): Promise<ServerApp> {
  const dir = await tempDir('bench-accounts');
  cleanups.push(dir.remove);
  const app = await startServer({
    host: '127.0.0.1',
    port: 0,
    dataDir: dir.path,
    scryptLogN: 10,
    registrationsPerMinutePerIp: 100_000,
    cluster,
  });
  cleanups.push(() => app.stop());
  return app;
}

async function timeLogins(port: number): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < LOGINS; i++) {
    const started = performance.now();
    const client = await RawClient.open(port);
    const answer = await client.auth('login', 'alice', PASSWORD, 10_000);
    await client.close();
    if (answer.t !== 'welcome') throw new Error(`login failed: ${JSON.stringify(answer)}`);
    ms.push(performance.now() - started);
  }
  return ms.sort((a, b) => a - b);
}

async function register(port: number): Promise<void> {
  const client = await RawClient.open(port);
  await client.auth('register', 'alice', PASSWORD, 10_000);
  await client.close();
}

const commandsProcessed = async (link: ClusterLink) =>
  Number(/total_commands_processed:(\d+)/.exec(await link.redis.info('stats'))?.[1] ?? NaN);

/** Time from `change` on one node until `seen` holds on the other, polled every tick. */
async function propagation(change: (i: number) => void, seen: (i: number) => boolean): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const started = performance.now();
    change(i);
    while (!seen(i)) await new Promise((r) => setImmediate(r));
    ms.push(performance.now() - started);
  }
  return ms.sort((a, b) => a - b);
}

try {
  const redis = await startRedis(scope);
  const prefix = `b${randomBytes(4).toString('hex')}:`;
  const single = await server();
  await register(single.listening.tcpPort);
  const one = await server({ url: redis.url, prefix, nodeId: 'node1' });
  const two = await server({ url: redis.url, prefix, nodeId: 'node2' });
  const link =
    two.cluster ??
    (() => {
      throw new Error('not clustered');
    })();
  await register(one.listening.tcpPort);

  const baseline = await timeLogins(single.listening.tcpPort);
  const idleStart = await commandsProcessed(link);
  await new Promise((r) => setTimeout(r, IDLE_MS));
  const idlePerMs = ((await commandsProcessed(link)) - idleStart - 1) / IDLE_MS;
  const before = await commandsProcessed(link);
  const started = performance.now();
  const clustered = await timeLogins(two.listening.tcpPort); // registered on node1, logging in on node2
  const elapsed = performance.now() - started;
  const perLogin = ((await commandsProcessed(link)) - before - 1 - idlePerMs * elapsed) / LOGINS;

  // W: one node's change, then the other node's mirror holding it.
  const links = await Promise.all(
    ['w1', 'w2'].map((nodeId) => ClusterLink.connect({ url: redis.url, prefix: `${prefix}w:`, nodeId })),
  );
  cleanups.push(() => Promise.all(links.map((l) => l.close())));
  const [a, b] = links as [ClusterLink, ClusterLink];
  const [limitA, limitB] = [a, b].map((l) => new ClusterRateLimiter(l, 'bench', 60_000, 1_000, Date.now)) as [
    ClusterRateLimiter,
    ClusterRateLimiter,
  ];
  const limitW = await propagation(
    (i) => void limitA.take(`k${i}`),
    (i) => limitB.inWindow(`k${i}`) === 1,
  );
  const stores = [new RedisUserStore(a), new RedisUserStore(b)] as const;
  await Promise.all(stores.map((s) => s.open()));
  cleanups.push(() => Promise.all(stores.map((s) => s.close())));
  const hash = Buffer.concat([Buffer.from('scrypt'), Buffer.alloc(90, 7)]).toString('base64');
  const accountW = await propagation(
    (i) => void stores[0].create({ username: `u${i}`, passwordHash: hash, createdAt: Date.now() }),
    (i) => stores[1].has(`u${i}`),
  );

  console.log(
    `cores ${cpus().length}, load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}; ${LOGINS} logins, ${SAMPLES} samples`,
  );
  printTable(
    ['measure', 'p50 ms', 'p99 ms', 'note'],
    [
      ['login, one server (users.csv)', fmt(percentile(baseline, 50), 2), fmt(percentile(baseline, 99), 2), 'baseline'],
      [
        'login on node2, registered on node1',
        fmt(percentile(clustered, 50), 2),
        fmt(percentile(clustered, 99), 2),
        `${fmt(perLogin, 1)} Redis commands a login (heartbeats subtracted)`,
      ],
      [
        'W: limiter event, node A -> node B',
        fmt(percentile(limitW, 50), 2),
        fmt(percentile(limitW, 99), 2),
        'script, PUBLISH, re-read',
      ],
      [
        'W: registration, node A -> node B mirror',
        fmt(percentile(accountW, 50), 2),
        fmt(percentile(accountW, 99), 2),
        'script, PUBLISH, re-read',
      ],
    ],
  );
} finally {
  for (let fn = cleanups.pop(); fn; fn = cleanups.pop()) await fn();
}
