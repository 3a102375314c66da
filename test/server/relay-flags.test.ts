/**
 * The relay's server flags (README "Server", PROTOCOL.md section 9) on the real bin/p2p-server:
 * each one changes what the relay does, and a bad value is refused at start.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { P2PClient } from '../../src/client/client.ts';
import { ErrorCode } from '../../src/net/errors.ts';
import { introduce, joinAs, relayPair, type RelayBed } from '../helpers/relay.ts';
import { tempDir } from '../helpers/server.ts';
import { startServerProcess, spawnServer, type ServerProcess } from '../helpers/server-process.ts';
import { waitFor } from '../helpers/wait.ts';
import { defer } from '../helpers/cleanup.ts';

/** bin/p2p-server started with `flags`, and a bed whose clients connect to it; all stopped when the test ends. */
async function processBed(t: TestContext, flags: string[]): Promise<{ bed: RelayBed; server: ServerProcess }> {
  const data = await tempDir('relay-flags');
  defer(t, () => data.remove());
  const config = await tempDir('relay-flags-client');
  defer(t, () => config.remove());
  const server = await startServerProcess(data.path, flags);
  defer(t, () => server.kill('SIGTERM'));
  const clients: P2PClient[] = [];
  defer(t, () => Promise.all(clients.map((c) => c.close().catch(() => {}))));
  const bed: RelayBed = {
    port: server.port,
    async client() {
      const c = new P2PClient({ host: '127.0.0.1', port: server.port, configDir: config.path });
      clients.push(c);
      await c.connect();
      return c;
    },
  };
  return { bed, server };
}

test('--relay-circuits 0: accepted chats carry no relay token', async (t) => {
  const { bed } = await processBed(t, ['--relay-circuits', '0']);
  const alice = await joinAs(bed, 'alice');
  const bob = await joinAs(bed, 'bob');
  const { forA, forB } = await introduce(alice, bob);
  assert.equal(forA.outcome, 'accepted');
  assert.equal(forA.relay, undefined);
  assert.equal(forB.relay, undefined);
});

test('--relay-idle-timeout: a circuit that carries nothing is closed and logged as idle', async (t) => {
  const { bed, server } = await processBed(t, ['--relay-idle-timeout', '1s', '--log-level', 'debug']);
  const alice = await joinAs(bed, 'alice');
  const bob = await joinAs(bed, 'bob');
  const { ab, ba } = await relayPair(bed, alice, bob);
  const closed = await waitFor(() => server.lines.find((l) => l.event === 'relay_closed'), {
    what: 'relay_closed in the log',
  });
  assert.equal(closed.code, ErrorCode.IDLE_TIMEOUT);
  assert.deepEqual([closed.from, closed.to, closed.up, closed.down], ['alice', 'bob', 0, 0]);
  assert.ok(server.lines.some((l) => l.event === 'relay_open' && l.from === 'alice'));
  ab.destroy();
  ba.destroy();
});

test('--relay-circuits-per-user 1: a second relayed chat of the same user is refused', async (t) => {
  const { bed } = await processBed(t, ['--relay-circuits-per-user', '1']);
  const [alice, bob, carol] = await Promise.all([joinAs(bed, 'alice'), joinAs(bed, 'bob'), joinAs(bed, 'carol')]);
  const first = await relayPair(bed, alice, bob);
  const { forA } = await introduce(alice, carol);
  await assert.rejects(
    alice.client.request({ t: 'relay_request', reqId: forA.reqId, token: forA.relay as string }),
    (e: { code?: string }) => e.code === ErrorCode.RELAY_FULL,
  );
  first.ab.destroy();
  first.ba.destroy();
});

test('bad relay flag values are refused at start', async () => {
  for (const flags of [
    ['--relay-circuits', '-1'],
    ['--relay-bytes-per-second', '10'],
    ['--relay-idle-timeout', 'soon'],
    ['--relay-circuits-per-user', '0'],
  ]) {
    const data = await tempDir('relay-flags-bad');
    try {
      await assert.rejects(spawnServer(['--port', '0', '--data-dir', data.path, ...flags]), /exited/, flags.join(' '));
    } finally {
      await data.remove();
    }
  }
});
