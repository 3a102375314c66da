/**
 * 200 clients connected and logged in at once (the original C++ project promised 50), each a
 * full client core with its own TLS connection, UDP path and known_hosts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { ClientState } from '../../src/client/client.ts';
import { testServer } from '../helpers/server.ts';
import { waitFor } from '../helpers/wait.ts';
import { nth } from '../helpers/assert.ts';

const CLIENTS = 200;

test(`${CLIENTS} simultaneous clients register, are all online, and all see each other`, async (t) => {
  const server = await testServer(t);
  const clients = await Promise.all(Array.from({ length: CLIENTS }, () => server.client()));
  assert.equal(server.app.core.connectionCount, CLIENTS);
  const sessions = await Promise.all(clients.map((c, i) => c.register(`load${i}`, `password-${i}`)));
  assert.deepEqual(new Set(sessions.map((s) => s.user)).size, CLIENTS);
  assert.ok(clients.every((c) => c.state === ClientState.ONLINE));
  assert.equal(server.app.core.presence.size, CLIENTS);
  assert.equal(server.app.core.store.size, CLIENTS);
  const everyone = sessions.map((s) => s.user).sort((a, b) => a.localeCompare(b));
  await waitFor(
    () =>
      clients.every((c) =>
        isDeepStrictEqual(
          c.onlineUsers.map((u) => u.user),
          everyone,
        ),
      ),
    {
      what: `every client to list ${CLIENTS} users`,
      timeoutMs: 60_000,
      intervalMs: 50,
    },
  );
  const listed = await nth(clients, CLIENTS - 1, 'client').refreshUsers();
  assert.equal(listed.length, CLIENTS);
  await waitFor(() => clients.every((c) => c.udpState === 'alive'), {
    what: 'every UDP path alive',
    timeoutMs: 60_000,
    intervalMs: 50,
  });
});
