/**
 * A cross-node broadcast while a node is SIGKILLed in the middle of its fan-out (issue 16,
 * docs/CLUSTER.md "Broadcasts"): three real server processes on one redis-server, 200 plain
 * protocol clients spread over them; the killed node's users log back in on the others, and
 * every user ends up shown the broadcast exactly once, nobody missing it.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { Redis } from 'ioredis';
import { ErrorCode } from '../../src/net/errors.ts';
import type { ServerMessage } from '../../src/net/messages.ts';
import { PASSWORD } from '../helpers/broadcast.ts';
import { defer } from '../helpers/cleanup.ts';
import { RawClient } from '../helpers/raw.ts';
import { REDIS_SKIP, startRedis } from '../helpers/redis.ts';
import { crashBed, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { waitFor } from '../helpers/wait.ts';

const USERS = 200;
const NODES = 3;
/** Clients logging in at once (each costs the server a password hash). */
const LOGINS_AT_ONCE = 20;

/**
 * A user as a plain protocol client: acks every broadcast over TCP as the real client does
 * (section 7.2), counts every copy it is sent, and shows each id once.
 */
class PlainUser {
  /** Copies received per broadcast id, across every connection. */
  readonly copies = new Map<string, number>();
  client: RawClient | null = null;
  node = -1;
  /** The broadcast arrived: called for every copy. */
  onBroadcast: ((user: PlainUser, bid: string) => void) | null = null;

  constructor(readonly name: string) {}

  /** Shown: the distinct ids (the client drops a copy of an id it has). */
  get shown(): Set<string> {
    return new Set(this.copies.keys());
  }

  async connect(port: number, node: number, clients: Set<RawClient>): Promise<void> {
    const client = await RawClient.open(port);
    clients.add(client);
    this.client = client;
    this.node = node;
    client.onMessage = (m: ServerMessage) => {
      if (m.t !== 'broadcast') return;
      client.send({ t: 'broadcast_ack', bids: [m.b.bid] });
      this.copies.set(m.b.bid, (this.copies.get(m.b.bid) ?? 0) + 1);
      this.onBroadcast?.(this, m.b.bid);
    };
    // Register, or log in where the name is taken (shared accounts make it taken on every node).
    let answer = await client.auth('register', this.name, PASSWORD, 30_000);
    if (answer.t === 'error' && answer.code === ErrorCode.USERNAME_TAKEN)
      answer = await client.auth('login', this.name, PASSWORD, 30_000);
    if (answer.t !== 'welcome') throw new Error(`${this.name} on node ${node}: ${JSON.stringify(answer)}`);
  }
}

async function inBatches<T>(items: T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

async function cluster(t: TestContext) {
  const redis = await startRedis(t, { appendonly: true });
  const { dir, processes, clients } = await crashBed(t, 'bcast-crash');
  for (let i = 0; i < NODES; i++) {
    const dataDir = join(dir.path, `node${i + 1}`);
    await mkdir(dataDir);
    processes.push(
      await startServerProcess(dataDir, ['--cluster', redis.url, '--node-id', `node${i + 1}`, '--broadcast-ttl', '5m']),
    );
  }
  const commands = new Redis(redis.url, { lazyConnect: true });
  await commands.connect();
  defer(t, () => commands.disconnect());
  return { processes, clients, commands };
}

/**
 * `during`: node3 is killed as soon as the first of its users has the broadcast, so the acks
 * it had not written die with it. `before`: node3 is frozen (SIGSTOP) before the broadcast
 * is made and killed once it is, so none of its users had it.
 */
for (const when of ['during', 'before'] as const)
  test(
    `a node SIGKILLed ${when} its fan-out: its users move to the others and all 200 are shown the broadcast once`,
    { skip: REDIS_SKIP, timeout: 180_000 },
    async (t) => {
      const { processes, clients, commands } = await cluster(t);
      const portOf = (node: number) => (processes[node] as ServerProcess).port;
      const users = Array.from({ length: USERS }, (_, i) => new PlainUser(`user${i}`));
      await inBatches(users, LOGINS_AT_ONCE, async (u) => {
        const node = users.indexOf(u) % NODES;
        await u.connect(portOf(node), node, clients);
      });
      const sender = new PlainUser('alice');
      await sender.connect(portOf(0), 0, clients);

      const doomed = NODES - 1;
      const proc = (processes[doomed] as ServerProcess).proc;
      let killedAfter = -1;
      const kill = (u: PlainUser) => {
        if (u.node !== doomed || killedAfter >= 0) return;
        killedAfter = users.filter((x) => x.node === doomed && x.copies.size > 0).length;
        proc.kill('SIGKILL');
      };
      if (when === 'during') for (const u of users) u.onBroadcast = kill;
      else proc.kill('SIGSTOP');
      const id = sender.client?.id() ?? 0;
      sender.client?.send({ t: 'broadcast', id, text: 'through a node crash' });
      const ok = await sender.client?.reply(id);
      assert.equal(ok?.t, 'broadcast_ok');
      const bid = ok?.t === 'broadcast_ok' ? ok.bid : '';
      if (when === 'before') {
        killedAfter = 0;
        proc.kill('SIGKILL');
      }
      await (processes[doomed] as ServerProcess).exited;
      const hadIt = users.filter((u) => u.node === doomed && u.copies.size > 0).length;
      if (when === 'during') assert.ok(killedAfter >= 1, 'node3 was killed while fanning out');
      else assert.equal(hadIt, 0, 'node3 was frozen before it could fan out');

      // Its users find their connection gone and log in on the surviving nodes.
      const moving = users.filter((u) => u.node === doomed);
      await waitFor(() => moving.every((u) => u.client?.closed), { what: "node3's connections closed" });
      await inBatches(moving, LOGINS_AT_ONCE, async (u) => {
        const node = users.indexOf(u) % (NODES - 1);
        await u.connect(portOf(node), node, clients);
      });

      await waitFor(() => users.every((u) => u.shown.has(bid)), {
        what: 'every user shown the broadcast',
        timeoutMs: 60_000,
      });
      for (const u of users) assert.deepEqual([...u.shown], [bid], `${u.name} shown it once`);
      // Users who never moved acked on a live node: sent it exactly once.
      const stayed = users.filter((u) => !moving.includes(u));
      for (const u of stayed) assert.equal(u.copies.get(bid), 1, `${u.name} sent it once`);
      const resent = moving.filter((u) => (u.copies.get(bid) ?? 0) > 1).length;
      t.diagnostic(
        `SIGKILL sent to node3 when ${killedAfter} of its ${moving.length} users had the broadcast, ${hadIt} had it when it died; ` +
          `${resent} were sent it again on the node they moved to (their ack died with node3) and dropped the copy`,
      );
      // Every user's ack is in Redis: nobody is owed it any more, on any node.
      const acked = `p2p:bcast:${bid}:acked`;
      await waitFor(async () => (await commands.scard(acked)) === USERS + 1, { what: 'every ack in Redis' });
    },
  );
