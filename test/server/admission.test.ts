/**
 * Admission before login (src/server/admission.ts, PROTOCOL.md section 3.6): one address
 * cannot lock everyone else out with connections that never finish TLS or never log in.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { Admission, groupKey, MAX_UNAUTHENTICATED_PER_IP, type EvictionReason } from '../../src/server/admission.ts';
import { RawClient } from '../helpers/raw.ts';
import { startTestServer } from '../helpers/server.ts';
import { waitFor } from '../helpers/wait.ts';
import { defer } from '../helpers/cleanup.ts';
import { nth } from '../helpers/assert.ts';

function admissionWithLog(
  limits: { total: number; perIp: number; pressureDeadlineMs: number },
  clock: { now: number },
) {
  const closed: Array<{ ip: string; reason: EvictionReason }> = [];
  const admission = new Admission(limits, () => clock.now);
  const admit = (ip: string) => admission.admit(ip, (reason) => closed.push({ ip, reason }));
  return { admission, admit, closed };
}

test('per address: beyond the cap a new connection is refused; a released slot is free again', (t) => {
  const { admission, admit } = admissionWithLog({ total: 100, perIp: 3, pressureDeadlineMs: 1_000 }, { now: 0 });
  defer(t, () => admission.stop());
  const held = [admit('127.0.0.2'), admit('127.0.0.2'), admit('::ffff:127.0.0.2')];
  assert.ok(held.every((slot) => slot !== null));
  assert.equal(admit('127.0.0.2'), null, 'the fourth from one address');
  assert.notEqual(admit('127.0.0.3'), null, 'another address is not affected');
  held[0]?.release();
  held[0]?.release(); // idempotent: frees one slot, not two
  assert.notEqual(admit('127.0.0.2'), null);
  assert.equal(admit('127.0.0.2'), null);
});

test('fairness: when full, a newcomer evicts the oldest connection of the address holding the most', (t) => {
  const { admission, admit, closed } = admissionWithLog({ total: 4, perIp: 4, pressureDeadlineMs: 60_000 }, { now: 0 });
  defer(t, () => admission.stop());
  for (let i = 0; i < 3; i++) assert.ok(admit('127.0.0.2'));
  assert.ok(admit('127.0.0.4'));
  assert.ok(admit('127.0.0.3'), 'a newcomer gets in');
  assert.deepEqual(closed, [{ ip: '127.0.0.2', reason: 'evicted for fairness' }]);
  assert.equal(admission.pendingFrom('127.0.0.2'), 2);
  // Now every address holds at most 2: the heaviest holds no more than a newcomer plus one.
  assert.equal(admit('127.0.0.4'), null, 'no eviction among equals');
});

test('under pressure, connections not logged in within the deadline are closed, oldest first', (t) => {
  const clock = { now: 0 };
  const { admission, admit, closed } = admissionWithLog({ total: 4, perIp: 4, pressureDeadlineMs: 1_000 }, clock);
  defer(t, () => admission.stop());
  const first = admit('127.0.0.2');
  clock.now = 500;
  admit('127.0.0.2');
  clock.now = 1_200;
  // Two of four: not under pressure, nobody is closed however old.
  (admission as unknown as { sweep(): void }).sweep();
  assert.deepEqual(closed, []);
  admit('127.0.0.3');
  assert.equal(admission.underPressure, true);
  (admission as unknown as { sweep(): void }).sweep();
  assert.deepEqual(closed, [{ ip: '127.0.0.2', reason: 'deadline under pressure' }]);
  assert.equal(admission.size, 2);
  first?.release(); // already dropped: no double count
  assert.equal(admission.size, 2);
});

test('IPv6 addresses share a cap per /64; spellings of one address are one address', () => {
  assert.equal(groupKey('2001:db8:1:2:aaaa::1'), groupKey('2001:0db8:0001:0002:ffff:0:0:9'));
  assert.notEqual(groupKey('2001:db8:1:2::1'), groupKey('2001:db8:1:3::1'));
  assert.equal(groupKey('::ffff:10.0.0.1'), '10.0.0.1');
});

test('a user from another address logs in within 1 s while one address holds 10,000 half-open connections', async (t) => {
  const FLOOD = 10_000;
  /** The outside test re-opened at ~100/s; twice that here. */
  const REOPEN_PER_SECOND = 200;
  const server = await startTestServer();
  // The flood is its own process (its own event loop and descriptors, as an attacker's).
  const flood = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      fileURLToPath(new URL('../helpers/flood.ts', import.meta.url)),
      String(server.port),
      '127.0.0.2',
      String(FLOOD),
      String(REOPEN_PER_SECOND),
    ],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const floodExited = new Promise((resolve) => flood.once('exit', resolve));
  defer(t, async () => {
    flood.stdin.end();
    await floodExited;
    await server.close();
  });
  const alice = await RawClient.open(server.port, { localAddress: '127.0.0.3' });
  assert.equal((await alice.auth('register', 'alice', 'alice-password')).t, 'welcome');
  await alice.close();

  let turnedAway = 0;
  server.app.core.on('handshake_failed', ({ ip }) => ip === '127.0.0.2' && (turnedAway += 1));
  let ready = false;
  flood.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && (ready = true));
  await waitFor(() => ready, { what: `${FLOOD} flood connections made`, timeoutMs: 120_000, intervalMs: 50 });
  // Steady state: the flood has been turned away more often than it has connections.
  await waitFor(() => turnedAway >= FLOOD, {
    what: 'the flood re-opening what is closed',
    timeoutMs: 120_000,
    intervalMs: 50,
  });

  const started = Date.now();
  const login = (async () => {
    const back = await RawClient.open(server.port, { localAddress: '127.0.0.3' });
    try {
      return await back.auth('login', 'alice', 'alice-password');
    } finally {
      await back.close();
    }
  })();
  login.catch(() => {}); // judged below, by the race
  const answer = await Promise.race([
    login,
    new Promise<null>((resolve) => setTimeout(() => resolve(null), 1_000).unref()),
  ]);
  assert.ok(answer, `alice was not logged in within 1 s (${Date.now() - started} ms so far)`);
  assert.equal(answer.t, 'welcome', `alice's login was answered ${JSON.stringify(answer)}`);
  assert.ok(
    server.app.core.connectionCount <= MAX_UNAUTHENTICATED_PER_IP + 1,
    `the server holds ${server.app.core.connectionCount} sessions, at most the per-address cap from the flood`,
  );
});

test('connections that finished TLS but have not logged in count toward the per-address cap; a login frees the slot', async (t) => {
  const server = await startTestServer({ maxPendingPerIp: 3 });
  const clients: RawClient[] = [];
  defer(t, async () => {
    for (const c of clients) await c.close();
    await server.close();
  });
  for (let i = 0; i < 3; i++) clients.push(await RawClient.open(server.port, { localAddress: '127.0.0.2' }));
  // The fourth from 127.0.0.2 is cut before TLS completes.
  await assert.rejects(RawClient.open(server.port, { localAddress: '127.0.0.2' }));
  // Another address is not affected.
  const other = await RawClient.open(server.port, { localAddress: '127.0.0.3' });
  clients.push(other);
  // One of the three registers: it is a user now, and its slot is free for the next.
  assert.equal((await nth(clients, 0, 'client').auth('register', 'bea', 'bea-password')).t, 'welcome');
  clients.push(await RawClient.open(server.port, { localAddress: '127.0.0.2' }));
  await assert.rejects(RawClient.open(server.port, { localAddress: '127.0.0.2' }));
  assert.equal(nth(clients, 0, 'client').closed, false, 'the logged-in user is not touched');
});
