/**
 * Every address a peer-brokering message carries is the right one (PROTOCOL.md section
 * 6.1). With every user on 127.0.0.1 a message carrying the wrong side's address looks
 * right; here each user has its own loopback address.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PROTOCOL_VERSION } from '../../src/net/constants.ts';
import type { Msg, ServerMessage } from '../../src/net/messages.ts';
import { RawClient } from '../helpers/raw.ts';
import { startTestServer } from '../helpers/server.ts';
import { defer } from '../helpers/cleanup.ts';

type Result = Msg<ServerMessage, 'connect_result'>;

test("requester and target each learn the other one's address, in every message and event", async (t) => {
  const server = await startTestServer();
  const events: unknown[] = [];
  server.app.core.on('peer_request', (e) => events.push(e));
  server.app.core.on('peer_result', (e) => events.push(e));
  const clients: RawClient[] = [];
  const join = async (user: string, address: string, peerPort: number) => {
    const c = await RawClient.open(server.port, { localAddress: address });
    clients.push(c);
    const id = c.id();
    c.send({ t: 'register', id, proto: PROTOCOL_VERSION, user, pass: `${user}-password`, peerPort });
    const welcome = await c.reply(id);
    assert.ok(welcome.t === 'welcome');
    assert.equal(welcome.ip, address, `${user}'s welcome names the address the server sees`);
    return c;
  };
  defer(t, async () => {
    for (const c of clients) await c.close();
    await server.close();
  });
  const alice = await join('alice', '127.0.0.2', 40_002);
  const bob = await join('bob', '127.0.0.3', 40_003);
  const joined = await alice.waitFor(
    (m) => m.t === 'presence' && m.joined.some((u) => u.user === 'bob'),
    'alice sees bob',
  );
  assert.ok(joined.t === 'presence');
  assert.deepEqual(
    joined.joined.find((u) => u.user === 'bob'),
    { user: 'bob', ip: '127.0.0.3' },
  );

  const ask = alice.id();
  alice.send({ t: 'connect', id: ask, user: 'bob' });
  const pending = await alice.reply(ask);
  assert.ok(pending.t === 'connect_pending');
  assert.deepEqual([pending.user, pending.ip], ['bob', '127.0.0.3'], 'pending names the target');
  const prompt = await bob.waitFor((m) => m.t === 'connect_prompt', "bob's prompt");
  assert.ok(prompt.t === 'connect_prompt');
  assert.deepEqual(prompt.from, { user: 'alice', ip: '127.0.0.2' }, 'the prompt names the requester');
  const answer = bob.id();
  bob.send({ t: 'connect_answer', id: answer, reqId: prompt.reqId, accept: true });
  assert.equal((await bob.reply(answer)).t, 'ok');
  const isResult = (m: ServerMessage): m is Result => m.t === 'connect_result';
  const forAlice = await alice.waitFor<Result>(isResult, "alice's result");
  const forBob = await bob.waitFor<Result>(isResult, "bob's result");
  assert.deepEqual(
    [forAlice.role, forAlice.peer, forAlice.port],
    ['requester', { user: 'bob', ip: '127.0.0.3' }, 40_003],
    'the requester dials the target',
  );
  assert.deepEqual(
    [forBob.role, forBob.peer, forBob.port],
    ['target', { user: 'alice', ip: '127.0.0.2' }, 40_002],
    'the target can dial the requester back (section 6.6)',
  );
  assert.deepEqual(events, [
    { from: 'alice', fromIp: '127.0.0.2', to: 'bob', toIp: '127.0.0.3' },
    { from: 'alice', fromIp: '127.0.0.2', to: 'bob', toIp: '127.0.0.3', outcome: 'accepted' },
  ]);

  // By address: alice asks for 127.0.0.3 and gets bob.
  const byIp = alice.id();
  alice.send({ t: 'connect', id: byIp, ip: '127.0.0.3' });
  const pendingByIp = await alice.reply(byIp);
  assert.ok(pendingByIp.t === 'connect_pending');
  assert.deepEqual([pendingByIp.user, pendingByIp.ip], ['bob', '127.0.0.3']);
});
