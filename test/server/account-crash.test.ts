/**
 * Crash safety of account changes (PROTOCOL.md section 4.6): the real server program is
 * killed with SIGKILL in the middle of a storm of password changes and deletions. users.csv
 * must parse afterwards, every acknowledged change must be in it, and no user that was not
 * touched may be lost.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { stringify } from 'csv-stringify/sync';
import { parseUsersCsv, USERS_CSV_COLUMNS } from '../../src/server/users/csv-store.ts';
import { PasswordHasher, scryptHash } from '../../src/server/users/passwords.ts';
import { crashBed, startServerProcess } from '../helpers/server-process.ts';
import { RawClient } from '../helpers/raw.ts';
import { TEST_SCRYPT_LOG_N } from '../helpers/server.ts';
import { nth } from '../helpers/assert.ts';

const USERS = 120;
const WORKERS = 16;
/** Kill once this many changes were acknowledged (the storm is then in full flow). */
const KILL_AFTER_ACKS = 30;
const OLD = 'the old password';
const NEW = 'the new password';

test('SIGKILL during a storm of password changes and deletions: users.csv is whole and holds every acknowledged change', async (t) => {
  const { dir, processes, clients } = await crashBed(t, 'account-crash');
  const hash = await scryptHash(OLD, TEST_SCRYPT_LOG_N);
  const names = Array.from({ length: USERS }, (_, i) => `acct${i}`);
  const created = new Date().toISOString();
  await writeFile(
    join(dir.path, 'users.csv'),
    stringify([[...USERS_CSV_COLUMNS], ...names.map((n) => [n, hash, created, ''])]),
  );
  const server = await startServerProcess(dir.path);
  processes.push(server);

  const changed: string[] = [];
  const deleted: string[] = [];
  const started = new Set<string>();
  let killing: Promise<unknown> | null = null;
  let inFlight = 0;
  let inFlightAtKill = -1;
  const queue = [...names];
  const worker = async () => {
    for (let user = queue.shift(); user && !killing; user = queue.shift()) {
      started.add(user);
      let client: RawClient;
      try {
        client = await RawClient.open(server.port);
      } catch {
        return; // the server is gone
      }
      clients.add(client);
      try {
        const welcome = await client.auth('login', user, OLD, 30_000);
        if (welcome.t !== 'welcome') assert.fail(`login of ${user}: ${JSON.stringify(welcome)}`);
        const remove = Number(user.slice(4)) % 2 === 1;
        const id = client.id();
        client.send(remove ? { t: 'delete_account', id, password: OLD } : { t: 'passwd', id, old: OLD, new: NEW });
        inFlight += 1;
        const reply = await client.reply(id, 30_000).finally(() => (inFlight -= 1));
        if (reply.t !== 'ok') assert.fail(`${remove ? 'delete' : 'passwd'} of ${user}: ${JSON.stringify(reply)}`);
        (remove ? deleted : changed).push(user);
      } catch (err) {
        if (!killing) throw err; // only the kill may interrupt a change
        return;
      } finally {
        client.socket.destroy();
        clients.delete(client);
      }
      if (changed.length + deleted.length >= KILL_AFTER_ACKS && !killing) {
        inFlightAtKill = inFlight;
        killing = server.kill('SIGKILL');
      }
    }
  };
  await Promise.all(Array.from({ length: WORKERS }, worker));
  assert.deepEqual(await (killing ?? server.kill('SIGKILL')), { code: null, signal: 'SIGKILL' });
  assert.ok(changed.length > 0 && deleted.length > 0, `changed ${changed.length}, deleted ${deleted.length}`);
  assert.ok(inFlightAtKill > 0, 'changes were in flight when the server was killed');

  const records = parseUsersCsv(await readFile(join(dir.path, 'users.csv'), 'utf8'), 'users.csv'); // throws if torn
  const onDisk = new Map(records.map((r) => [r.username, r]));
  const hasher = new PasswordHasher({ logN: TEST_SCRYPT_LOG_N });
  for (const user of deleted)
    assert.equal(onDisk.has(user), false, `${user} was deleted (acknowledged) but is on disk`);
  for (const user of changed) {
    const record = onDisk.get(user);
    assert.ok(record, `${user} changed its password but is gone`);
    assert.equal(
      await hasher.verify(record.passwordHash, NEW),
      true,
      `${user}: the acknowledged new password is not on disk`,
    );
  }
  for (const user of names.filter((n) => !started.has(n))) {
    assert.equal(
      await hasher.verify(onDisk.get(user)?.passwordHash ?? '', OLD),
      true,
      `${user} was never touched and must be intact`,
    );
  }

  // The server starts on what was left, and the changed passwords work there.
  const second = await startServerProcess(dir.path);
  processes.push(second);
  assert.equal(second.listening.users, onDisk.size);
  const check = await RawClient.open(second.port);
  clients.add(check);
  assert.equal((await check.auth('login', nth(changed, 0, 'user'), NEW)).t, 'welcome');
});
