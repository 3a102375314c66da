/**
 * Presence (PROTOCOL.md 4.5) over in-memory connections: lists larger than one batch, the
 * cached list frames staying right through leaves and rejoins, and clients that stop
 * reading getting what they missed (or a reset) once they drain.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_PRESENCE_BATCH } from '../../src/net/constants.ts';
import { OUTPUT_QUEUE_BYTES } from '../../src/net/constants.ts';
import { Presence } from '../../src/server/presence.ts';
import { ServerCore } from '../../src/server/server.ts';
import { MemoryUserStore } from '../../src/server/users/memory-store.ts';
import { PasswordHasher } from '../../src/server/users/passwords.ts';
import { asMap, MemoryClient } from '../helpers/memory-pair.ts';
import { TEST_SCRYPT_LOG_N } from '../helpers/server.ts';
import { waitFor, waitForEqual } from '../helpers/wait.ts';
import { presenceContract } from './presence-contract.ts';
import { defer } from '../helpers/cleanup.ts';
import { nth } from '../helpers/assert.ts';

// The in-memory directory; its timer is set long so the contract drives flushes itself.
presenceContract('Presence', ({ backlogBytes }) => new Presence(60_000, backlogBytes));

function core(options: { presenceBacklogBytes?: number } = {}): ServerCore {
  const server = new ServerCore({
    store: new MemoryUserStore(),
    hasher: new PasswordHasher({ logN: TEST_SCRYPT_LOG_N }),
    presenceFlushMs: 5,
    registrationsPerMinutePerIp: 100_000,
    ...options,
  });
  // No UDP socket in these tests: welcome needs a port to name; datagrams are not under test.
  server.attachUdp(() => {}, 4400);
  return server;
}

/** Register in waves that stay under the hasher's queue limit (MAX_QUEUED_HASHES). */
async function registerMany(server: ServerCore, names: string[]): Promise<MemoryClient[]> {
  const clients: MemoryClient[] = [];
  for (let start = 0; start < names.length; start += 200) {
    const wave = names.slice(start, start + 200).map(async (name, j) => {
      const i = start + j;
      const client = new MemoryClient(server, `10.0.${i >> 8}.${i & 255}`);
      await client.register(name);
      return client;
    });
    clients.push(...(await Promise.all(wave)));
  }
  return clients;
}

const names = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('presence', () => {
  test('a list longer than one batch reaches a late joiner whole, also after leaves and rejoins', async (t) => {
    const server = core();
    defer(t, () => server.shutdown());
    const clients = await registerMany(server, names('u', MAX_PRESENCE_BATCH + 20));
    // Leaves in the first batch and a rejoin shift the cached batches.
    nth(clients, 3, 'client').stream.destroy();
    nth(clients, 7, 'client').stream.destroy();
    await waitFor(() => server.presence.size === MAX_PRESENCE_BATCH + 18, { what: 'two leaves' });
    const back = nth(await registerMany(server, ['latecomer']), 0, 'client');
    const expected = asMap(server.presence.list());
    assert.equal(expected.size, MAX_PRESENCE_BATCH + 19);
    await waitForEqual(() => back.users(), expected, { what: 'latecomer has the whole list' });
    // An early client saw every change as deltas and agrees.
    await waitForEqual(() => nth(clients, 0, 'client').users(), expected, { what: 'early client caught up' });
  });

  test('a client that stops reading gets the changes it missed in one batch when it drains', async (t) => {
    const server = core();
    defer(t, () => server.shutdown());
    const slow = nth(await registerMany(server, ['slow']), 0, 'client');
    const others = await registerMany(server, names('v', 30));
    await waitFor(() => slow.users().size === 31, { what: 'slow client has the list' });
    // It stops reading and piles up replies: well over the backlog threshold (64 KiB).
    slow.hold();
    for (let i = 0; i < 100; i++) slow.send({ t: 'list_users' });
    await waitFor(
      () => (server.presence.get('slow')?.conn.pendingOutputBytes ?? 0) > OUTPUT_QUEUE_BYTES.PRESENCE_HOLD,
      { what: 'backed up' },
    );
    await registerMany(server, names('late', 5));
    nth(others, 0, 'client').stream.destroy();
    await waitFor(() => server.presence.get('slow')?.presenceBacklog instanceof Map && server.presence.size === 35, {
      what: 'changes kept as a backlog',
    });
    const receivedBefore = slow.received.length;
    slow.release(); // the stream drains: the server sends what it missed
    const expected = asMap(server.presence.list());
    await waitForEqual(() => slow.users(), expected, { what: 'slow client caught up' });
    const batches = slow.received.slice(receivedBefore).filter((m) => m.t === 'presence');
    assert.equal(batches.length, 1, 'the missed changes come as one batch');
    assert.ok(!batches.some((m) => m.t === 'presence' && m.reset), 'no reset for a small backlog');
  });

  test('a client that missed more than a batch of changes gets the whole list with reset', async (t) => {
    const server = core({ presenceBacklogBytes: 0 });
    defer(t, () => server.shutdown());
    const slow = nth(await registerMany(server, ['slow']), 0, 'client');
    slow.hold();
    slow.send({ t: 'list_users' }); // something queued: from now on it counts as backed up
    await waitFor(() => (server.presence.get('slow')?.conn.pendingOutputBytes ?? 0) > 0, { what: 'output queued' });
    await registerMany(server, names('w', MAX_PRESENCE_BATCH + 1));
    await waitFor(() => server.presence.get('slow')?.presenceBacklog === 'resync', { what: 'backlog overflowed' });
    slow.release();
    // Under the threshold again, the next batch finds it drained and resyncs it first.
    await registerMany(server, ['trigger']);
    const expected = asMap(server.presence.list());
    await waitForEqual(() => slow.users(), expected, { what: 'slow client resynced' });
    assert.ok(
      slow.received.some((m) => m.t === 'presence' && m.reset === true),
      'a reset batch was sent',
    );
  });
});
