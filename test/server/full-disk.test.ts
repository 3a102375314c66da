/**
 * A full disk, for real: the data dir on a small tmpfs this test mounts (it needs root) and
 * fills. The server must start on it, serve what it has, refuse writes cleanly with errors
 * that name the file and say what to do, and catch up once there is room.
 */
import assert from 'node:assert/strict';
import { open, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { ErrorCode } from '../../src/net/errors.ts';
import { BROADCAST_LOG_FILE } from '../../src/server/app.ts';
import { RawClient } from '../helpers/raw.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { waitFor } from '../helpers/wait.ts';
import { defer } from '../helpers/cleanup.ts';
import { mountTmpfs, TMPFS_SKIP } from '../helpers/tmpfs.ts';

/** Write zeros until the filesystem is full. */
async function fill(path: string): Promise<void> {
  const file = await open(path, 'w');
  const chunk = Buffer.alloc(4096);
  try {
    for (;;) await file.write(chunk);
  } catch (err) {
    assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
  } finally {
    await file.close().catch(() => {});
  }
}

async function login(server: TestServer, user: string, kind: 'login' | 'register' = 'login') {
  const client = await RawClient.open(server.port);
  try {
    return await client.auth(kind, user, `${user}-password`);
  } finally {
    await client.close();
  }
}

async function broadcast(server: TestServer, user: string, text: string) {
  const client = await RawClient.open(server.port);
  try {
    assert.equal((await client.auth('login', user, `${user}-password`)).t, 'welcome');
    const id = client.id();
    client.send({ t: 'broadcast', id, text });
    return await client.reply(id);
  } finally {
    await client.close();
  }
}

test(
  'on a full disk the server starts, serves what it has, and names the file in every storage error',
  { skip: TMPFS_SKIP },
  async (t) => {
    const mount = await mountTmpfs(t, '1m');
    const dataDir = join(mount, 'data');
    const filler = join(mount, 'filler');
    let server: TestServer | null = null;
    defer(t, async () => {
      await server?.close();
    });
    server = await startTestServer({ dataDir });
    assert.equal((await login(server, 'alice', 'register')).t, 'welcome');
    // Broadcasts and their acks: a log with records to compact at the next start.
    for (let i = 0; i < 5; i++)
      assert.equal((await broadcast(server, 'alice', `before the disk filled ${i}`)).t, 'broadcast_ok');
    await server.stopServer();
    const logBefore = await readFile(join(dataDir, BROADCAST_LOG_FILE), 'utf8');

    await fill(filler);
    const errors: string[] = [];
    await server.restart();
    server.app.core.on('server_error', (e) => errors.push(e.message));
    assert.equal(server.app.queueLoaded.loaded, 5, 'every broadcast loaded from the log as it was');
    assert.equal(await readFile(join(dataDir, BROADCAST_LOG_FILE), 'utf8'), logBefore, 'the log untouched');

    // Reads work: alice logs in. Writes are refused cleanly, and the log names the file.
    assert.equal((await login(server, 'alice')).t, 'welcome');
    const refused = await login(server, 'bob', 'register');
    assert.equal(refused.t === 'error' && refused.code, ErrorCode.STORAGE);
    // The log's last page may still hold a record or two: a few large ones fill it.
    let stored = 0;
    for (;;) {
      const answer = await broadcast(server, 'alice', 'x'.repeat(4000));
      if (answer.t === 'broadcast_ok') {
        assert.ok(++stored < 3, 'three 4 KB records never fit in the rest of a page');
        continue;
      }
      assert.equal(answer.t === 'error' && answer.code, ErrorCode.STORAGE);
      break;
    }
    for (const file of ['users.csv', BROADCAST_LOG_FILE]) {
      const named = errors.find((m) => m.includes(join(dataDir, file)));
      assert.ok(named, `a storage error names ${file}: ${JSON.stringify(errors)}`);
      assert.match(named, /ENOSPC/);
      assert.match(named, /is full: free space there/);
    }

    // Room again: writes succeed, and the deferred compaction runs (a rewrite: a new file).
    const logInode = (await stat(join(dataDir, BROADCAST_LOG_FILE))).ino;
    await rm(filler);
    assert.equal((await login(server, 'bob', 'register')).t, 'welcome');
    assert.equal((await broadcast(server, 'alice', 'room again')).t, 'broadcast_ok');
    await waitFor(async () => (await stat(join(dataDir, BROADCAST_LOG_FILE))).ino !== logInode, {
      what: 'the deferred compaction',
    });
    await server.stopServer();
    await server.restart();
    assert.equal(server.app.queueLoaded.loaded, 6 + stored);
    assert.equal((await login(server, 'bob')).t, 'welcome');
  },
);

test('a storage error at start says which file and what to do', { skip: TMPFS_SKIP }, async (t) => {
  const mount = await mountTmpfs(t, '256k');
  // A new data dir on a full disk: the TLS identity cannot be written.
  await fill(join(mount, 'filler'));
  await assert.rejects(startTestServer({ dataDir: join(mount, 'data') }), (err: Error) => {
    assert.match(err.message, new RegExp(`could not write ${join(mount, 'data')}/\\S+: ENOSPC`));
    assert.match(err.message, /free space there/);
    return true;
  });
});
