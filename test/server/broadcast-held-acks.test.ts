/**
 * Acks that come back while a fan-out is still sending (PROTOCOL.md section 7.2): the server
 * reads them and holds them, and handles them once the fan-out has made its last send. Real
 * clients and sockets on loopback; one recipient per turn, so each fan-out spans many turns
 * and the first recipients' acks arrive during it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { onlineUser, type User } from '../helpers/broadcast.ts';
import { testServer } from '../helpers/server.ts';
import { waitFor } from '../helpers/wait.ts';

const USERS = 12;

test('acks read during a fan-out are held, then every one counted: each user has each broadcast once', async (t) => {
  // An RTO of 1 s at its floor: a held ack that were never handled would show as a
  // retransmission (the client acks the copy again and all looks counted), a real one needs
  // an ack later than 1 s, on loopback.
  const server = await testServer(t, {
    broadcastFanoutSlice: 1,
    broadcastsPerMinute: 100,
    broadcastRto: { initialMs: 1_000, minMs: 1_000 },
  });
  const users: User[] = [];
  for (let i = 0; i < USERS; i++) users.push(await onlineUser(server, `user${i}`));
  const bids: string[] = [];
  for (const sender of users.slice(0, 3)) bids.push((await sender.inbox.send(`from ${sender.name}`)).bid);

  const { broadcasts, udp } = server.app.core;
  await waitFor(() => broadcasts.pending().every((row) => row.acked === USERS), { what: 'every ack counted' });
  assert.ok(udp.heldTotal > 0, 'acks came back during a fan-out and were held');
  await waitFor(() => !broadcasts.delivery.fanningOut, { what: 'the fan-outs to end' });
  assert.equal(udp.heldCount, 0, 'nothing is left held');
  const stats = broadcasts.stats();
  assert.equal(stats.acks, USERS * bids.length, 'each user acked each broadcast, counted once');
  assert.equal(stats.retransmits + stats.tcpSent, 0, 'no ack was lost: nothing sent twice');
  for (const user of users) {
    assert.deepEqual(
      user.inbox.items.map((item) => item.bid).sort(),
      [...bids].sort(),
      `${user.name} shows each broadcast once`,
    );
    assert.ok(user.inbox.items.every((item) => item.via === 'udp'));
  }
});
