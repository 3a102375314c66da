/**
 * A real server process killed with SIGKILL while broadcasts are pending, and started again
 * on the same data dir (PROTOCOL.md section 7.3): delivery resumes for those who did not
 * have them, and nobody who acknowledged one gets it again.
 */
import assert from 'node:assert/strict';
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { BroadcastInbox } from '../../src/client/broadcasts.ts';
import { P2PClient } from '../../src/client/client.ts';
import { BROADCAST_LOG_FILE } from '../../src/server/app.ts';
import type { QueueRecord } from '../../src/server/broadcasts/store.ts';
import { bidsOf, PASSWORD, received, type User } from '../helpers/broadcast.ts';
import { tempDir } from '../helpers/server.ts';
import { spawnServer, type ServerProcess } from '../helpers/server-process.ts';
import { waitFor } from '../helpers/wait.ts';
import { defer } from '../helpers/cleanup.ts';

test('SIGKILL with pending broadcasts: after a restart delivery resumes and nothing comes twice', async (t) => {
  const data = await tempDir('restart');
  const dirs: Array<{ remove(): Promise<void> }> = [data];
  const clients: P2PClient[] = [];
  const args = (port: number) => [
    '--port',
    String(port),
    '--data-dir',
    data.path,
    '--scrypt-cost',
    '10',
    '--max-registrations-per-minute',
    '100000',
    '--broadcast-ttl',
    '60s',
  ];
  let server: ServerProcess | null = null;

  async function user(name: string, port: number, register: boolean): Promise<User> {
    const config = await tempDir('client');
    dirs.push(config);
    const client = new P2PClient({
      host: '127.0.0.1',
      port,
      configDir: config.path,
      reconnectBaseMs: 50,
      reconnectMaxMs: 500,
    });
    clients.push(client);
    const inbox = new BroadcastInbox(client);
    await (register ? client.register(name, PASSWORD) : client.login(name, PASSWORD));
    return { name, client, inbox };
  }

  defer(t, async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await server?.kill('SIGKILL');
    await Promise.all(dirs.map((d) => d.remove()));
  });
  server = await spawnServer(args(0));
  const port = server.port;
  const alice = await user('alice', port, true);
  const bob = await user('bob', port, true);
  const carol = await user('carol', port, true);
  await carol.client.close(); // registered, offline while the broadcasts are made

  const x = await alice.inbox.send('before the crash: x');
  const y = await alice.inbox.send('before the crash: y');
  for (const u of [alice, bob]) for (const b of [x, y]) await received(u, b.bid);
  // Wait until alice's and bob's acks are on disk: only then does the server know they have them.
  const logPath = join(data.path, BROADCAST_LOG_FILE);
  await waitFor(
    async () => {
      const acked = new Map<string, Set<string>>();
      for (const line of (await readFile(logPath, 'utf8')).split('\n').filter(Boolean)) {
        const record = JSON.parse(line) as QueueRecord;
        if (record.op === 'ack')
          for (const u of record.users) acked.set(record.bid, (acked.get(record.bid) ?? new Set()).add(u));
      }
      return [x.bid, y.bid].every((bid) => acked.get(bid)?.has('alice') && acked.get(bid)?.has('bob'));
    },
    { what: 'acks to be durable' },
  );

  await server.kill('SIGKILL');
  await appendFile(logPath, '{"op":"ack","bid":"'); // and the crash tore a write in half
  server = await spawnServer(args(port));
  assert.equal(server.listening.broadcastsPending, 2);
  assert.equal(server.listening.broadcastsTorn, 1);

  await waitFor(() => alice.client.state === 'online' && bob.client.state === 'online', {
    what: 'alice and bob to reconnect',
  });
  const carolAgain = await user('carol', port, false);
  const dave = await user('dave', port, true); // registered after the broadcasts: gets them while live
  for (const u of [carolAgain, dave]) {
    for (const b of [x, y]) assert.equal(await received(u, b.bid), 1, `${u.name} gets ${b.bid} after the restart`);
  }
  const z = await alice.inbox.send('after the restart: z');
  for (const u of [alice, bob, carolAgain, dave]) await received(u, z.bid);
  for (const u of [alice, bob]) {
    assert.deepEqual(bidsOf(u), [x.bid, y.bid, z.bid]);
    assert.equal(u.inbox.stats.duplicates, 0, `${u.name} was not sent an acknowledged broadcast again`);
  }
  assert.deepEqual(bidsOf(carolAgain), [x.bid, y.bid, z.bid]);
  await server.kill('SIGTERM');
  assert.equal(server.proc.exitCode, 0, 'a clean stop after the restart');
});
