/**
 * Headless logs in cluster mode (docs/CLUSTER.md "Clients and server identity", README
 * "Cluster"): every JSON line names the node, and the `listening` line gives the cluster's
 * Redis URL without its password.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { P2PClient } from '../../src/client/client.ts';
import { JsonLog } from '../../src/server/log.ts';
import { PassThrough } from 'node:stream';
import { startRedis, REDIS_SKIP } from '../helpers/redis.ts';
import { crashBed, startServerProcess } from '../helpers/server-process.ts';
import { tempDir } from '../helpers/server.ts';
import { defer } from '../helpers/cleanup.ts';
import { waitFor } from '../helpers/wait.ts';

const SECRET = 'hunter2-redis-secret';

test('JsonLog: a node id goes on every line and wins over a field of the same name', () => {
  const out = new PassThrough();
  let text = '';
  out.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const log = new JsonLog(out, 'debug', 'node7');
  log.write('info', 'login', { user: 'ann' });
  log.write('warn', 'odd', { node: 'spoofed' });
  new JsonLog(out, 'debug').write('info', 'alone', {});
  const lines = text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(
    lines.map((l) => [l.event, l.node]),
    [
      ['login', 'node7'],
      ['odd', 'node7'],
      ['alone', undefined],
    ],
  );
  assert.deepEqual(Object.keys(lines[0] ?? {}), ['time', 'level', 'node', 'event', 'user']);
});

test('a headless node logs its node id on every line and the Redis URL redacted', { skip: REDIS_SKIP }, async (t) => {
  const redis = await startRedis(t);
  const bed = await crashBed(t, 'cluster-log');
  // Redis's default user takes any password when it has none, so a URL with one still connects.
  const url = `redis://default:${SECRET}@127.0.0.1:${redis.port}/0`;
  const server = await startServerProcess(bed.dir.path, ['--cluster', url, '--node-id', 'alpha']);
  bed.processes.push(server);
  assert.equal(server.listening.node, 'alpha');
  assert.equal(server.listening.cluster, `redis://default:***@127.0.0.1:${redis.port}/0`);
  assert.equal(server.listening.advertise, `127.0.0.1:${server.port}`);

  const config = await tempDir('cluster-log-client');
  defer(t, config.remove);
  const client = new P2PClient({ host: '127.0.0.1', port: server.port, configDir: config.path, reconnect: false });
  defer(t, () => client.close());
  await client.register('ann', 'password-ann');
  await waitFor(() => server.lines.some((l) => l.event === 'register'), { what: 'register line' });
  await client.close();
  await waitFor(() => server.lines.some((l) => l.event === 'logout'), { what: 'logout line' });
  assert.ok(server.lines.length >= 3);
  for (const line of server.lines) assert.equal(line.node, 'alpha', JSON.stringify(line));
  await server.kill('SIGTERM');
  for (const line of server.lines) assert.ok(!JSON.stringify(line).includes(SECRET), JSON.stringify(line));
});

test('without --cluster no line carries a node', async (t) => {
  const bed = await crashBed(t, 'plain-log');
  const server = await startServerProcess(bed.dir.path);
  bed.processes.push(server);
  assert.equal('node' in server.listening, false);
  assert.equal('cluster' in server.listening, false);
});
