/**
 * Peer brokering on the server (PROTOCOL.md section 6.1), driven by plain clients over real
 * loopback sockets. The targets advertise a peerPort but run no listener: the server only
 * introduces, it never dials.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode } from '../../src/net/errors.ts';
import { ask, FAKE_PEER_PORT, member, refused, type Member } from '../helpers/peer-requests.ts';
import { startTestServer, testServer, type TestServer } from '../helpers/server.ts';
import { waitFor } from '../helpers/wait.ts';
import { defer } from '../helpers/cleanup.ts';

/** `peerPort: null` logs in without advertising a peer listener. */
async function join(server: TestServer, user: string, peerPort: number | null = FAKE_PEER_PORT): Promise<Member> {
  const client = await server.client();
  client.peerPort = peerPort ?? undefined;
  const watched = member(client, user);
  await client.register(user, `password-${user}`);
  return watched;
}

test("accept: prompt names the requester; both get the same fresh secret, each the other's port and its own relay token", async (t) => {
  const server = await startTestServer();
  const events: unknown[] = [];
  server.app.core.on('peer_request', (e) => events.push(e));
  server.app.core.on('peer_result', (e) => events.push(e));
  defer(t, () => server.close());
  const alice = await join(server, 'alice');
  const bob = await join(server, 'bob', 40_123);
  const pending = await ask(alice, { user: 'BOB' });
  assert.equal(pending.user, 'bob');
  assert.equal(pending.ip, '127.0.0.1');
  assert.match(pending.reqId, /^[0-9a-f]{32}$/);
  assert.equal(pending.expiresInMs, 30_000);
  const prompt = await bob.prompt();
  assert.deepEqual(prompt.from, { user: 'alice', ip: '127.0.0.1' });
  assert.equal(prompt.reqId, pending.reqId);
  assert.equal((await bob.client.request({ t: 'connect_answer', reqId: prompt.reqId, accept: true })).t, 'ok');
  const [forAlice, forBob] = await Promise.all([alice.result(pending.reqId), bob.result(pending.reqId)]);
  assert.equal(forAlice.outcome, 'accepted');
  assert.equal(forAlice.role, 'requester');
  assert.equal(forAlice.port, 40_123);
  assert.deepEqual(forAlice.peer, { user: 'bob', ip: '127.0.0.1' });
  assert.equal(forBob.role, 'target');
  // Section 6.6: the target may dial back, and each side has its own relay token.
  assert.equal(forBob.port, 40_000);
  assert.equal(Buffer.from(forAlice.relay as string, 'base64url').length, 16);
  assert.equal(Buffer.from(forBob.relay as string, 'base64url').length, 16);
  assert.notEqual(forAlice.relay, forBob.relay);
  assert.deepEqual(forBob.peer, { user: 'alice', ip: '127.0.0.1' });
  assert.equal(Buffer.from(forAlice.secret as string, 'base64url').length, 32);
  assert.equal(forAlice.secret, forBob.secret);
  // The log gets names, addresses and the outcome, never the secret or the reqId.
  await waitFor(() => events.length === 2, { what: 'events' });
  assert.deepEqual(events, [
    { from: 'alice', fromIp: '127.0.0.1', to: 'bob', toIp: '127.0.0.1' },
    { from: 'alice', fromIp: '127.0.0.1', to: 'bob', toIp: '127.0.0.1', outcome: 'accepted' },
  ]);
  // The request is over: a second answer finds nothing.
  await refused(
    bob.client.request({ t: 'connect_answer', reqId: prompt.reqId, accept: true }),
    ErrorCode.PEER_UNKNOWN_REQUEST,
  );
  // Each accepted request gets its own secret.
  const again = await ask(alice, { user: 'bob' });
  await bob.client.request({ t: 'connect_answer', reqId: again.reqId, accept: true });
  assert.notEqual((await alice.result(again.reqId)).secret, forAlice.secret);
});

test('decline: both sides learn it, no secret is handed out', async (t) => {
  const server = await testServer(t);
  const alice = await join(server, 'alice');
  const bob = await join(server, 'bob');
  const pending = await ask(alice, { user: 'bob' });
  await bob.client.request({ t: 'connect_answer', reqId: pending.reqId, accept: false });
  const [a, b] = await Promise.all([alice.result(pending.reqId), bob.result(pending.reqId)]);
  for (const r of [a, b]) {
    assert.equal(r.outcome, 'declined');
    assert.equal(r.secret, undefined);
    assert.equal(r.port, undefined);
  }
  assert.match(a.reason, /bob declined/);
});

test('timeout: no answer in time counts as declined, for both', async (t) => {
  const server = await testServer(t, { peers: { requestTimeoutMs: 150 } });
  const alice = await join(server, 'alice');
  const bob = await join(server, 'bob');
  const started = Date.now();
  const pending = await ask(alice, { user: 'bob' });
  assert.equal(pending.expiresInMs, 150);
  const [a, b] = await Promise.all([alice.result(pending.reqId), bob.result(pending.reqId)]);
  assert.equal(a.outcome, 'timeout');
  assert.equal(b.outcome, 'timeout');
  assert.ok(Date.now() - started < 2_000);
  await refused(
    bob.client.request({ t: 'connect_answer', reqId: pending.reqId, accept: true }),
    ErrorCode.PEER_UNKNOWN_REQUEST,
  );
});

test('offline: an unknown target is refused; a side that leaves ends its requests', async (t) => {
  const server = await testServer(t);
  const alice = await join(server, 'alice');
  const bob = await join(server, 'bob');
  const carol = await join(server, 'carol');
  await refused(alice.client.request({ t: 'connect', user: 'nobody' }), ErrorCode.PEER_OFFLINE);
  await refused(alice.client.request({ t: 'connect', ip: '10.9.8.7' }), ErrorCode.PEER_OFFLINE);
  // Target leaves while prompted.
  const toBob = await ask(alice, { user: 'bob' });
  await bob.client.close();
  const r1 = await alice.result(toBob.reqId);
  assert.equal(r1.outcome, 'offline');
  assert.match(r1.reason, /bob went offline/);
  // Requester leaves while waiting.
  const toCarol = await ask(alice, { user: 'carol' });
  await alice.client.close();
  assert.equal((await carol.result(toCarol.reqId)).outcome, 'offline');
  assert.equal(server.app.core.peers.pendingCount, 0);
});

test('request to self, by name or by an address only we have, is refused', async (t) => {
  const server = await testServer(t);
  const alice = await join(server, 'alice');
  await refused(alice.client.request({ t: 'connect', user: 'Alice' }), ErrorCode.PEER_SELF);
  await refused(alice.client.request({ t: 'connect', ip: '127.0.0.1' }), ErrorCode.PEER_SELF);
  await refused(alice.client.request({ t: 'connect' }), ErrorCode.BAD_MESSAGE);
  await refused(alice.client.request({ t: 'connect', user: 'bob', ip: '127.0.0.1' }), ErrorCode.BAD_MESSAGE);
  // Other spellings of the same address are the same address; texts that are none are malformed.
  await refused(alice.client.request({ t: 'connect', ip: '0:0:0:0:0:ffff:7f00:1' }), ErrorCode.PEER_SELF);
  for (const ip of ['1.2', ':::::::', '127.0.0.256'])
    await refused(alice.client.request({ t: 'connect', ip }), ErrorCode.BAD_MESSAGE);
});

test('ambiguous IP: the server lists the candidates and never guesses; a unique IP goes through', async (t) => {
  const server = await testServer(t);
  const alice = await join(server, 'alice');
  const bob = await join(server, 'bob');
  // Only one other user at 127.0.0.1 (the requester is not a candidate): that is the target.
  const pending = await ask(alice, { ip: '::ffff:127.0.0.1' });
  assert.equal(pending.user, 'bob');
  await bob.prompt();
  await alice.client.request({ t: 'connect_cancel', reqId: pending.reqId });
  await join(server, 'carol');
  const reply = await alice.client.request({ t: 'connect', ip: '127.0.0.1' });
  assert.equal(reply.t, 'connect_ambiguous');
  const amb = reply;
  assert.equal(amb.ip, '127.0.0.1');
  assert.deepEqual(amb.candidates, [
    { user: 'bob', ip: '127.0.0.1' },
    { user: 'carol', ip: '127.0.0.1' },
  ]);
  assert.equal(bob.inbox.filter((m) => m.t === 'connect_prompt').length, 1, 'nobody new was prompted');
  // The client picks one and asks by name.
  assert.equal((await ask(alice, { user: 'carol' })).user, 'carol');
});

test('refusals: duplicate request, no listener, cancel, unknown request', async (t) => {
  const server = await testServer(t);
  const alice = await join(server, 'alice');
  const bob = await join(server, 'bob');
  const dave = await join(server, 'dave', null);
  await refused(alice.client.request({ t: 'connect', user: 'dave' }), ErrorCode.PEER_NO_LISTENER);
  const pending = await ask(alice, { user: 'bob' });
  await refused(alice.client.request({ t: 'connect', user: 'bob' }), ErrorCode.PEER_ALREADY_REQUESTED);
  await refused(bob.client.request({ t: 'connect', user: 'alice' }), ErrorCode.PEER_ALREADY_REQUESTED);
  // Only the target answers; only the two parties cancel.
  await refused(
    alice.client.request({ t: 'connect_answer', reqId: pending.reqId, accept: true }),
    ErrorCode.PEER_UNKNOWN_REQUEST,
  );
  await refused(dave.client.request({ t: 'connect_cancel', reqId: pending.reqId }), ErrorCode.PEER_UNKNOWN_REQUEST);
  await bob.client.request({ t: 'connect_cancel', reqId: pending.reqId });
  const [a, b] = await Promise.all([alice.result(pending.reqId), bob.result(pending.reqId)]);
  assert.equal(a.outcome, 'cancelled');
  assert.equal(b.outcome, 'cancelled');
  assert.match(a.reason, /bob cancelled/);
  await refused(alice.client.request({ t: 'connect_cancel', reqId: pending.reqId }), ErrorCode.PEER_UNKNOWN_REQUEST);
});

test('rate limits: pending cap and requests per minute per requester, prompt cap per target', async (t) => {
  const server = await testServer(t, { peers: { maxPromptsPerTarget: 2 } });
  const alice = await join(server, 'alice');
  const targets: Member[] = [];
  for (let i = 0; i < 6; i++) targets.push(await join(server, `t${i}`));
  const pending = [];
  for (let i = 0; i < 5; i++) pending.push(await ask(alice, { user: `t${i}` }));
  const capped = await refused(alice.client.request({ t: 'connect', user: 't5' }), ErrorCode.RATE_LIMITED);
  assert.ok((capped.retryAfterMs ?? 0) > 0);
  // Cancelling frees pending slots, but the minute's allowance (10) still runs out.
  for (const p of pending) await alice.client.request({ t: 'connect_cancel', reqId: p.reqId });
  for (let i = 0; i < 5; i++) {
    const p = await ask(alice, { user: `t${i}` });
    await alice.client.request({ t: 'connect_cancel', reqId: p.reqId });
  }
  const perMinute = await refused(alice.client.request({ t: 'connect', user: 't5' }), ErrorCode.RATE_LIMITED);
  assert.ok((perMinute.retryAfterMs ?? 0) > 50_000);
  // A target with too many prompts waiting is busy.
  const b1 = await join(server, 'b1');
  const b2 = await join(server, 'b2');
  const b3 = await join(server, 'b3');
  await ask(b1, { user: 't5' });
  await ask(b2, { user: 't5' });
  await refused(b3.client.request({ t: 'connect', user: 't5' }), ErrorCode.PEER_BUSY);
});
