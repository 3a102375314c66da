/**
 * `p2p-server accounts import|export` (src/server/cluster/accounts-cli.ts), run as the real
 * bin/p2p-server against a real redis-server: users.csv -> Redis -> users.csv gives the same
 * bytes, an import adds only what is missing and says what it skipped, a bad file changes
 * nothing and names its line, and a running node sees imported users at once.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { access, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { ClusterLink } from '../../src/server/cluster/link.ts';
import { CsvUserStore } from '../../src/server/users/csv-store.ts';
import { PasswordHasher } from '../../src/server/users/passwords.ts';
import { defer } from '../helpers/cleanup.ts';
import { REDIS_SKIP, startRedis } from '../helpers/redis.ts';
import { serverEnv, startServerProcess } from '../helpers/server-process.ts';
import { tempDir, testServer, TEST_SCRYPT_LOG_N } from '../helpers/server.ts';
import { waitFor } from '../helpers/wait.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const T0 = Date.UTC(2026, 0, 2, 3, 4, 5, 678);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The real `bin/p2p-server accounts ...`, run to its end. */
function accounts(...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['bin/p2p-server', 'accounts', ...args], {
      cwd: ROOT,
      env: serverEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    proc.once('error', reject);
    proc.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A users.csv written by the CSV store itself, with real hashes of `password-<name>`. */
async function usersCsv(t: TestContext, names: string[]): Promise<{ dir: string; path: string }> {
  const dir = await tempDir('accounts-cli');
  defer(t, dir.remove);
  const path = join(dir.path, 'users.csv');
  const store = new CsvUserStore(path, 10);
  await store.open();
  const hasher = new PasswordHasher({ logN: TEST_SCRYPT_LOG_N });
  for (const [i, name] of names.entries()) {
    await store.create({ username: name, passwordHash: await hasher.hash(`password-${name}`), createdAt: T0 + i });
  }
  store.touch(names[0] ?? '', T0 + 60_000);
  await store.close();
  return { dir: dir.path, path };
}

test('users.csv -> Redis -> users.csv: the same bytes; the export is private', { skip: REDIS_SKIP }, async (t) => {
  const redis = await startRedis(t);
  const { dir, path } = await usersCsv(t, ['Alice', 'bob.b', 'carol_3']);
  const imported = await accounts('import', path, '--cluster', redis.url);
  assert.equal(imported.code, 0, imported.stderr);
  assert.equal(imported.stdout.trim(), 'imported 3, skipped 0 (already there)');
  const out = join(dir, 'exported.csv');
  const exported = await accounts('export', out, '--cluster', redis.url);
  assert.equal(exported.code, 0, exported.stderr);
  assert.match(exported.stdout, /exported 3 accounts/);
  assert.equal(await readFile(out, 'utf8'), await readFile(path, 'utf8'));
  assert.equal((await stat(out)).mode & 0o777, 0o600);
});

test('import adds only the missing users and names the ones it skipped', { skip: REDIS_SKIP }, async (t) => {
  const redis = await startRedis(t);
  const first = await usersCsv(t, ['dan', 'Erin']);
  assert.equal((await accounts('import', first.path, '--cluster', redis.url)).code, 0);
  const second = await usersCsv(t, ['erin', 'fay', 'DAN', 'gus']);
  const run = await accounts('import', second.path, '--cluster', redis.url);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout.trim(), 'imported 2, skipped 2 (already there): erin, DAN');
  const link = await ClusterLink.connect({ url: redis.url, member: false });
  defer(t, () => link.close());
  assert.deepEqual(Object.keys(await link.redis.hgetall(link.key('users'))).sort(), ['dan', 'erin', 'fay', 'gus']);
  assert.deepEqual(await link.redis.hkeys(link.key('nodes')), [], 'the tool never joined the node list');
});

test('a bad file: non-zero exit naming the line, and nothing imported', { skip: REDIS_SKIP }, async (t) => {
  const redis = await startRedis(t);
  const { dir, path } = await usersCsv(t, ['hal', 'ivy']);
  const lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
  // A plaintext password where a scrypt hash belongs, on line 4.
  const bad = join(dir, 'bad.csv');
  await writeFile(bad, [...lines, `jon,hunter2,${new Date(T0).toISOString()},`].join('\n') + '\n');
  const run = await accounts('import', bad, '--cluster', redis.url);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /bad\.csv, line 4: password_hash of "jon" is not a scrypt-kdf hash/);
  assert.doesNotMatch(run.stderr + run.stdout, /hunter2/, 'the plaintext is never echoed');
  const missing = await accounts('import', join(dir, 'none.csv'), '--cluster', redis.url);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /none\.csv/);
  const link = await ClusterLink.connect({ url: redis.url, member: false });
  defer(t, () => link.close());
  assert.equal(await link.redis.hlen(link.key('users')), 0, 'nothing imported from the bad file');
  const noCluster = await accounts('import', path);
  assert.notEqual(noCluster.code, 0);
  assert.match(noCluster.stderr, /--cluster/);
});

test('a running node sees imported users at once and they log in', { skip: REDIS_SKIP }, async (t) => {
  const redis = await startRedis(t);
  const node = await testServer(t, { cluster: { url: redis.url, nodeId: 'node1' } });
  const { path } = await usersCsv(t, ['kay', 'Lou']);
  assert.equal((await accounts('import', path, '--cluster', redis.url)).code, 0);
  await waitFor(() => node.app.core.store.size === 2, { what: 'the node mirror to list both' });
  const session = await (await node.client()).login('lou', 'password-Lou');
  assert.equal(session.user, 'Lou');
  assert.equal(node.app.core.store.get('kay')?.lastSeenAt, T0 + 60_000, 'last seen came along');
});

test(
  'the real server in a cluster says its accounts are in Redis, and keeps no users.csv',
  { skip: REDIS_SKIP },
  async (t) => {
    const redis = await startRedis(t);
    const data = await tempDir('cluster-node');
    defer(t, data.remove);
    const node = await startServerProcess(data.path, ['--cluster', redis.url, '--node-id', 'n1']);
    defer(t, () => node.kill('SIGKILL'));
    assert.equal(node.listening.accounts, 'redis');
    await assert.rejects(access(join(data.path, 'users.csv')), /ENOENT/);
    // An import while it runs; a restarted node then counts the user from Redis.
    const { path } = await usersCsv(t, ['max']);
    assert.equal((await accounts('import', path, '--cluster', redis.url)).code, 0);
    await node.kill('SIGTERM');
    const again = await startServerProcess(data.path, ['--cluster', redis.url, '--node-id', 'n1']);
    defer(t, () => again.kill('SIGKILL'));
    assert.equal(again.listening.users, 1, 'the restarted node loads the accounts from Redis');
  },
);
