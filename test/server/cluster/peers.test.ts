/**
 * Peer requests across nodes (PROTOCOL.md 6.1, docs/CLUSTER.md "Peer requests and the
 * relay"): the requester on one node, the target on another, on a real redis-server. The
 * same outcomes, fields and limits as on one server (test/server/peers.test.ts). Targets
 * advertise a peer port but run no listener: the server only introduces.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode } from '../../../src/net/errors.ts';
import { signIn } from '../../helpers/cluster-users.ts';
import { testCluster } from '../../helpers/cluster.ts';
import { REDIS_SKIP } from '../../helpers/redis.ts';
import type { TestServer } from '../../helpers/server.ts';
import { waitFor } from '../../helpers/wait.ts';
import { ask, FAKE_PEER_PORT, member, refused, type Member } from '../../helpers/peer-requests.ts';

/** `peerPort: null` logs in without advertising a peer listener. */
async function join(node: TestServer, user: string, peerPort: number | null = FAKE_PEER_PORT): Promise<Member> {
  const client = await node.client();
  client.peerPort = peerPort ?? undefined;
  const watched = member(client, user);
  await signIn(client, user);
  return watched;
}

/** Two nodes; `seen` waits until each node's mirror has the users of the other. */
async function twoNodes(t: Parameters<typeof testCluster>[0], options: Parameters<typeof testCluster>[1] = {}) {
  const { nodes } = await testCluster(t, { nodes: 2, ...options });
  const [one, two] = nodes as [TestServer, TestServer];
  const seen = (...users: string[]) =>
    waitFor(() => users.every((u) => one.app.core.presence.list().some((e) => e.user === u)), {
      what: `${users.join(', ')} known on node1`,
    }).then(() =>
      waitFor(() => users.every((u) => two.app.core.presence.list().some((e) => e.user === u)), {
        what: `${users.join(', ')} known on node2`,
      }),
    );
  return { one, two, seen };
}

test(
  'accept across nodes: prompt, the same fresh secret on both sides, each the other port',
  { skip: REDIS_SKIP },
  async (t) => {
    const { one, two, seen } = await twoNodes(t);
    const events: unknown[] = [];
    one.app.core.on('peer_request', (e) => events.push(e));
    one.app.core.on('peer_result', (e) => events.push(e));
    const alice = await join(one, 'alice');
    const bob = await join(two, 'bob', 40_123);
    await seen('alice', 'bob');
    const pending = await ask(alice, { user: 'BOB' });
    assert.equal(pending.user, 'bob');
    assert.equal(pending.ip, '127.0.0.1');
    assert.match(pending.reqId, /^[0-9a-f]{32}$/);
    assert.ok(pending.expiresInMs > 25_000 && pending.expiresInMs <= 30_000);
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
    assert.equal(forBob.port, FAKE_PEER_PORT);
    assert.deepEqual(forBob.peer, { user: 'alice', ip: '127.0.0.1' });
    assert.equal(Buffer.from(forAlice.secret as string, 'base64url').length, 32);
    assert.equal(forAlice.secret, forBob.secret);
    // The target had the secret before the requester (it must, to take the handshake).
    assert.ok(bob.inbox.indexOf(forBob) >= 0);
    await waitFor(() => events.length === 2, { what: 'events on the requester node' });
    assert.deepEqual(events, [
      { from: 'alice', fromIp: '127.0.0.1', to: 'bob', toIp: '127.0.0.1' },
      { from: 'alice', fromIp: '127.0.0.1', to: 'bob', toIp: '127.0.0.1', outcome: 'accepted' },
    ]);
    await refused(
      bob.client.request({ t: 'connect_answer', reqId: prompt.reqId, accept: true }),
      ErrorCode.PEER_UNKNOWN_REQUEST,
    );
    // The other way round, and by address (bob is the only other user at 127.0.0.1 in the
    // cluster only once alice's own node has nobody else there).
    const back = await ask(bob, { user: 'alice' });
    await alice.prompt(back.reqId);
    await alice.client.request({ t: 'connect_answer', reqId: back.reqId, accept: true });
    const [r1, r2] = await Promise.all([bob.result(back.reqId), alice.result(back.reqId)]);
    assert.equal(r1.secret, r2.secret);
    assert.notEqual(r1.secret, forAlice.secret, 'each accepted request gets its own secret');
  },
);

test('decline and timeout across nodes: both sides learn it, no secret', { skip: REDIS_SKIP }, async (t) => {
  const { one, two, seen } = await twoNodes(t, { peers: { requestTimeoutMs: 300 } });
  const alice = await join(one, 'alice');
  const bob = await join(two, 'bob');
  await seen('alice', 'bob');
  const first = await ask(alice, { user: 'bob' });
  await bob.prompt(first.reqId);
  await bob.client.request({ t: 'connect_answer', reqId: first.reqId, accept: false });
  for (const r of await Promise.all([alice.result(first.reqId), bob.result(first.reqId)])) {
    assert.equal(r.outcome, 'declined');
    assert.equal(r.secret, undefined);
    assert.equal(r.port, undefined);
    assert.match(r.reason, /bob declined/);
  }
  const second = await ask(alice, { user: 'bob' });
  const [a, b] = await Promise.all([alice.result(second.reqId), bob.result(second.reqId)]);
  assert.equal(a.outcome, 'timeout');
  assert.equal(b.outcome, 'timeout');
  await refused(
    bob.client.request({ t: 'connect_answer', reqId: second.reqId, accept: true }),
    ErrorCode.PEER_UNKNOWN_REQUEST,
  );
});

test(
  'offline across nodes: the target or the requester leaving, and the target node stopping, end the request',
  { skip: REDIS_SKIP },
  async (t) => {
    const { nodes } = await testCluster(t, { nodes: 3 });
    const [one, two, three] = nodes as [TestServer, TestServer, TestServer];
    const alice = await join(one, 'alice');
    const bob = await join(two, 'bob');
    const carol = await join(two, 'carol');
    const dan = await join(three, 'dan');
    await waitFor(() => one.app.core.presence.list().length === 4, { what: 'node1 knows everyone' });
    await waitFor(() => two.app.core.presence.list().length === 4, { what: 'node2 knows everyone' });
    // Target logs out while prompted.
    const toBob = await ask(alice, { user: 'bob' });
    await bob.prompt(toBob.reqId);
    await bob.client.close();
    const r1 = await alice.result(toBob.reqId);
    assert.equal(r1.outcome, 'offline');
    assert.match(r1.reason, /bob went offline/);
    // Requester leaves while waiting: the target on the other node hears it.
    const toAlice = await ask(carol, { user: 'alice' });
    await alice.prompt(toAlice.reqId);
    await carol.client.close();
    assert.equal((await alice.result(toAlice.reqId)).outcome, 'offline');
    // The target's node goes away mid-request.
    const toDan = await ask(alice, { user: 'dan' });
    await dan.prompt(toDan.reqId);
    await three.stopServer();
    const r3 = await alice.result(toDan.reqId);
    assert.equal(r3.outcome, 'offline');
    await waitFor(() => one.app.core.peers.pendingCount === 0, { what: 'nothing pending on node1' });
    await refused(alice.client.request({ t: 'connect', user: 'dan' }), ErrorCode.PEER_OFFLINE);
  },
);

test(
  'refusals across nodes: no listener, duplicate both ways, cancel by either side, unknown request',
  { skip: REDIS_SKIP },
  async (t) => {
    const { one, two, seen } = await twoNodes(t);
    const alice = await join(one, 'alice');
    const bob = await join(two, 'bob');
    const dave = await join(two, 'dave', null);
    await seen('alice', 'bob', 'dave');
    await refused(alice.client.request({ t: 'connect', user: 'dave' }), ErrorCode.PEER_NO_LISTENER);
    const pending = await ask(alice, { user: 'bob' });
    await bob.prompt(pending.reqId);
    await refused(alice.client.request({ t: 'connect', user: 'bob' }), ErrorCode.PEER_ALREADY_REQUESTED);
    await refused(bob.client.request({ t: 'connect', user: 'alice' }), ErrorCode.PEER_ALREADY_REQUESTED);
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
    // The requester cancels.
    const again = await ask(alice, { user: 'bob' });
    await bob.prompt(again.reqId);
    await alice.client.request({ t: 'connect_cancel', reqId: again.reqId });
    assert.equal((await bob.result(again.reqId)).outcome, 'cancelled');
    await refused(alice.client.request({ t: 'connect_cancel', reqId: again.reqId }), ErrorCode.PEER_UNKNOWN_REQUEST);
  },
);

test(
  'limits across nodes: the pending cap and the per-minute allowance count both nodes; the prompt cap too',
  { skip: REDIS_SKIP },
  async (t) => {
    const { one, two } = await twoNodes(t, { peers: { maxPromptsPerTarget: 2 } });
    const alice = await join(one, 'alice');
    // Targets on both nodes: t0-t2 on node1 with alice, t3-t5 on node2.
    for (let i = 0; i < 6; i++) await join(i < 3 ? one : two, `t${i}`);
    await waitFor(() => one.app.core.presence.list().length === 7, { what: 'node1 knows everyone' });
    const pending = [];
    for (let i = 0; i < 5; i++) pending.push(await ask(alice, { user: `t${i}` }));
    const capped = await refused(alice.client.request({ t: 'connect', user: 't5' }), ErrorCode.RATE_LIMITED);
    assert.ok((capped.retryAfterMs ?? 0) > 0);
    for (const p of pending) await alice.client.request({ t: 'connect_cancel', reqId: p.reqId });
    for (let i = 0; i < 5; i++) {
      const p = await ask(alice, { user: `t${(i + 3) % 6}` });
      await alice.client.request({ t: 'connect_cancel', reqId: p.reqId });
    }
    const perMinute = await refused(alice.client.request({ t: 'connect', user: 't5' }), ErrorCode.RATE_LIMITED);
    assert.ok((perMinute.retryAfterMs ?? 0) > 50_000);
    // t5 on node2: one prompt from its own node, one from node1; a third is refused.
    const local = await join(two, 'b1');
    const remote = await join(one, 'b2');
    const third = await join(one, 'b3');
    await waitFor(() => one.app.core.presence.list().length === 10, { what: 'node1 knows b1' });
    await ask(local, { user: 't5' });
    await ask(remote, { user: 't5' });
    await refused(third.client.request({ t: 'connect', user: 't5' }), ErrorCode.PEER_BUSY);
  },
);
