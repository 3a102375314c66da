/**
 * Acks are never lost to rate limiting (PROTOCOL.md sections 3.2, 7.2), and every error
 * that answers a request carries its `re`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MESSAGE_BURST } from '../../src/server/session.ts';
import { RawClient } from '../helpers/raw.ts';
import { startTestServer } from '../helpers/server.ts';
import { waitFor } from '../helpers/wait.ts';
import { defer } from '../helpers/cleanup.ts';
import { nth } from '../helpers/assert.ts';

const BROADCASTS = MESSAGE_BURST + 100;

test('a login backlog acked one frame per broadcast, at once, loses no ack to the message rate', async (t) => {
  const server = await startTestServer({ broadcastsPerMinute: 10_000, maxPendingBroadcasts: 10_000 });
  const clients: RawClient[] = [];
  defer(t, async () => {
    for (const c of clients) await c.close();
    await server.close();
  });
  const bob = await RawClient.open(server.port, { localAddress: '127.0.0.3' });
  assert.equal((await bob.auth('register', 'bob', 'bob-password')).t, 'welcome');
  await bob.close();
  // Two senders, each within its own burst of requests.
  for (const [name, address] of [
    ['alice', '127.0.0.2'],
    ['carol', '127.0.0.4'],
  ] as const) {
    const sender = await RawClient.open(server.port, { localAddress: address });
    clients.push(sender);
    assert.equal((await sender.auth('register', name, `${name}-password`)).t, 'welcome');
    for (let i = 0; i < BROADCASTS / 2; i++) {
      const id = sender.id();
      sender.send({ t: 'broadcast', id, text: `news ${i} from ${name}` });
      assert.equal((await sender.reply(id)).t, 'broadcast_ok');
    }
    await sender.close();
  }

  // bob logs in: the backlog comes over TCP, and he acks each copy in its own frame at once.
  const back = await RawClient.open(server.port, { localAddress: '127.0.0.3' });
  clients.push(back);
  let acked = 0;
  back.socket.on('data', () => {
    for (; acked < back.received.length; acked++) {
      const m = nth(back.received, acked, 'message');
      if (m.t === 'broadcast') back.send({ t: 'broadcast_ack', bids: [m.b.bid] });
    }
  });
  assert.equal((await back.auth('login', 'bob', 'bob-password')).t, 'welcome');
  const copies = () => back.received.filter((m) => m.t === 'broadcast').length;
  await waitFor(() => copies() === BROADCASTS, { what: `bob's ${BROADCASTS} broadcasts` });
  // A ping behind the acks: once answered, every ack before it has been handled.
  const ping = back.id();
  back.send({ t: 'ping', id: ping });
  assert.equal((await back.reply(ping)).t, 'pong');
  assert.deepEqual(back.errors(), [], 'no ack was refused');
  // The senders never read their own copies: each broadcast is acked by bob alone.
  const rows = server.app.core.broadcasts.pending();
  assert.equal(rows.length, BROADCASTS);
  assert.deepEqual(
    rows.filter((row) => row.acked !== 1),
    [],
    'every broadcast acked by bob',
  );
  await back.close();

  // Nothing comes again at bob's next login.
  const again = await RawClient.open(server.port, { localAddress: '127.0.0.3' });
  clients.push(again);
  assert.equal((await again.auth('login', 'bob', 'bob-password')).t, 'welcome');
  const ping2 = again.id();
  again.send({ t: 'ping', id: ping2 });
  await again.reply(ping2);
  assert.equal(again.received.filter((m) => m.t === 'broadcast').length, 0, 'no broadcast delivered twice');
});
