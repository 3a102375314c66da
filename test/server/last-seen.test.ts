/**
 * last_seen stays current for users who are online (PROTOCOL.md section 4.2): written at
 * login and every LAST_SEEN_REFRESH_MS while online, through the store's batched writes, so
 * a crash loses at most about that much. The clock is injected; the sweep runs on real time.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { LAST_SEEN_REFRESH_MS } from '../../src/server/server.ts';
import { parseUsersCsv } from '../../src/server/users/csv-store.ts';
import { testServer } from '../helpers/server.ts';
import { waitFor } from '../helpers/wait.ts';

const T0 = Date.parse('2026-12-05T10:00:00Z');

test('an online user is seen at login and again every refresh, and users.csv gets it', async (t) => {
  let clock = T0;
  const server = await testServer(t, { now: () => clock });
  const alice = await server.client();
  await alice.register('alice', 'alices password');
  assert.equal(server.app.core.store.get('alice')?.lastSeenAt, T0, 'seen at login');

  clock = T0 + LAST_SEEN_REFRESH_MS - 1;
  const bob = await server.client();
  await bob.register('bob', 'bobs password');
  assert.equal(server.app.core.store.get('alice')?.lastSeenAt, T0, 'not before the refresh is due');

  clock = T0 + LAST_SEEN_REFRESH_MS + 1_000;
  await waitFor(() => server.app.core.store.get('alice')?.lastSeenAt === clock, { what: "alice's refresh" });
  assert.equal(server.app.core.store.get('bob')?.lastSeenAt, clock, 'every online user in the same sweep');
  // Durable: the batched write reaches the file (LAST_SEEN_FLUSH_MS later).
  const seen = new Date(clock).toISOString();
  await waitFor(
    async () =>
      parseUsersCsv(await readFile(server.usersCsv, 'utf8'), 'users.csv').find((u) => u.username === 'alice')
        ?.lastSeenAt === clock,
    { what: `users.csv with alice seen ${seen}` },
  );
});
