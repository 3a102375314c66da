/**
 * Crash safety (issue 2, "Must be shown"): the real server program is killed with SIGKILL in
 * the middle of a registration storm and restarted on the same data dir. Every registration
 * that was acknowledged (welcome received) must log in afterwards, and users.csv must parse.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseUsersCsv } from '../../src/server/users/csv-store.ts';
import { crashBed, startServerProcess } from '../helpers/server-process.ts';
import { RawClient } from '../helpers/raw.ts';
import { waitFor } from '../helpers/wait.ts';

const WORKERS = 24;
/** Kill once this many registrations were acknowledged (the storm is then in full flow). */
const KILL_AFTER_ACKS = 60;

const passwordOf = (user: string) => `pw-${user}-secret`;

test('SIGKILL during a registration storm loses no acknowledged account and leaves a valid users.csv', async (t) => {
  const { dir, processes, clients } = await crashBed(t, 'crash');
  const first = await startServerProcess(dir.path);
  processes.push(first);

  const acked: string[] = [];
  let inFlight = 0;
  let inFlightAtKill = -1;
  let stop = false;
  let killing: Promise<unknown> | null = null;

  const worker = async (w: number) => {
    for (let k = 0; !stop; k++) {
      const user = `storm_${w}_${k}`;
      let client: RawClient;
      try {
        client = await RawClient.open(first.port);
      } catch {
        return; // the server is gone
      }
      clients.add(client);
      inFlight += 1;
      try {
        const reply = await client.auth('register', user, passwordOf(user), 30_000);
        if (reply.t === 'welcome') acked.push(user);
        else assert.fail(`registration of ${user} failed: ${JSON.stringify(reply)}`);
      } catch (err) {
        if (!killing) throw err; // only the kill may interrupt a registration
        return;
      } finally {
        inFlight -= 1;
        client.socket.destroy();
        clients.delete(client);
      }
      if (acked.length >= KILL_AFTER_ACKS && !killing) {
        inFlightAtKill = inFlight;
        killing = first.kill('SIGKILL');
        stop = true;
      }
    }
  };
  await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
  const exit = await (killing ?? first.kill('SIGKILL'));
  assert.deepEqual(exit, { code: null, signal: 'SIGKILL' });
  assert.ok(acked.length >= KILL_AFTER_ACKS);
  assert.ok(inFlightAtKill > 0, 'registrations were in flight when the server was killed');

  // The file on disk parses and holds every acknowledged account.
  const text = await readFile(join(dir.path, 'users.csv'), 'utf8');
  const onDisk = new Set(parseUsersCsv(text, 'users.csv').map((u) => u.username));
  const missing = acked.filter((u) => !onDisk.has(u));
  assert.deepEqual(missing, [], 'acknowledged but not on disk');

  // Restart on the same data dir: the stale lock and temp files do not stop it.
  const second = await startServerProcess(dir.path);
  processes.push(second);
  const listening = second.lines.find((l) => l.event === 'listening');
  assert.equal(listening?.users, onDisk.size);
  assert.equal(second.fingerprint, first.fingerprint, 'same identity after the crash');
  assert.ok(!(await readdir(dir.path)).some((name) => name.endsWith('.tmp')), 'temp files cleaned up');

  // Every acknowledged user logs in (one connection per login, eight at a time).
  const queue = [...acked];
  const failures: string[] = [];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let user = queue.shift(); user; user = queue.shift()) {
        const client = await RawClient.open(second.port);
        clients.add(client);
        try {
          const reply = await client.auth('login', user, passwordOf(user), 30_000);
          if (reply.t !== 'welcome') failures.push(`${user}: ${JSON.stringify(reply)}`);
        } finally {
          client.socket.destroy();
          clients.delete(client);
        }
      }
    }),
  );
  assert.deepEqual(failures, []);
  const stopped = await second.kill('SIGTERM');
  assert.deepEqual(stopped, { code: 0, signal: null }, 'graceful shutdown exits 0');
  await waitFor(
    async () => parseUsersCsv(await readFile(join(dir.path, 'users.csv'), 'utf8'), 'users.csv').length === onDisk.size,
    {
      what: 'users.csv still whole after a graceful stop',
    },
  );
});
