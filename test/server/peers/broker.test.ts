/**
 * The peer broker (src/server/peers/broker.ts; PROTOCOL.md section 6.1) on its own, through
 * its narrow host: a directory of real online sessions over in-memory streams, and the
 * offline notifications the server would give. What the loopback tests in peers.test.ts
 * show end to end, here without a server: the order of results, a side going offline, and
 * the refusals a relay implementing PeerIntroductions must give as well.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode, ProtocolError } from '../../../src/net/errors.ts';
import type { Msg, ServerMessage } from '../../../src/net/messages.ts';
import type { ServerEvents } from '../../../src/server/events.ts';
import { PeerBroker, PeerOutcome, type PeerBrokerHost } from '../../../src/server/peers/broker.ts';
import { SessionState, type OnlineSession } from '../../../src/server/session.ts';
import { userKey } from '../../../src/server/users/store.ts';
import { SessionProbe } from '../../helpers/online-session.ts';
import { waitFor } from '../../helpers/wait.ts';
import { defer } from '../../helpers/cleanup.ts';

const PEER_PORT = 40_000;
type Result = Msg<ServerMessage, 'connect_result'>;

function setup() {
  const online = new Map<string, OnlineSession>();
  const offlineListeners: ((s: OnlineSession) => void)[] = [];
  const events: { name: keyof ServerEvents; data: unknown }[] = [];
  const probes: SessionProbe[] = [];
  const host: PeerBrokerHost = {
    now: () => Date.UTC(2026, 0, 1),
    emit: (name, ...args) => void events.push({ name, data: args[0] }),
    findOnline: (name) => online.get(userKey(name)),
    onlineSessions: () => online.values(),
    onOffline: (listener) => void offlineListeners.push(listener),
  };
  const broker = new PeerBroker(host);
  const join = (user: string, ip: string, peerPort: number | null = PEER_PORT) => {
    const probe = new SessionProbe(user, ip, { peerPort: peerPort ?? undefined });
    probes.push(probe);
    online.set(userKey(user), probe.session);
    return probe;
  };
  /** As the server does on close: the session is closed, then reported offline. */
  const leave = (probe: SessionProbe) => {
    online.delete(userKey(probe.session.user));
    probe.session.state = SessionState.CLOSED;
    for (const listener of offlineListeners) listener(probe.session);
  };
  const results = (probe: SessionProbe) => probe.received.filter((m): m is Result => m.t === 'connect_result');
  const cleanup = () => {
    for (const probe of probes) if (!probe.session.isClosed) leave(probe);
    for (const probe of probes) probe.destroy();
  };
  return { broker, join, leave, results, events, cleanup };
}

const isCode = (code: string) => (err: unknown) => err instanceof ProtocolError && err.code === code;

describe('peer broker', () => {
  test('request, prompt, accept: one result each with the same secret, each side gets the port of the other (the target dials back, section 6.6)', async (t) => {
    const { broker, join, results, events, cleanup } = setup();
    defer(t, () => cleanup());
    const alice = join('alice', '127.0.0.2');
    const bob = join('Bob', '127.0.0.3', PEER_PORT + 1);
    broker.request(alice.session, { t: 'connect', id: 1, user: 'bob' });
    const pending = await waitFor(() => alice.received.find((m) => m.t === 'connect_pending'), { what: 'pending' });
    const prompt = await waitFor(() => bob.received.find((m) => m.t === 'connect_prompt'), { what: 'prompt' });
    assert.ok(pending.t === 'connect_pending' && prompt.t === 'connect_prompt');
    assert.equal(pending.reqId, prompt.reqId);
    assert.deepEqual(prompt.from, { user: 'alice', ip: '127.0.0.2' });
    assert.equal(broker.pendingCount, 1);

    broker.answer(bob.session, { t: 'connect_answer', id: 2, reqId: prompt.reqId, accept: true });
    const [toBob] = await waitFor(() => results(bob).length === 1 && results(bob), { what: "bob's result" });
    const [toAlice] = await waitFor(() => results(alice).length === 1 && results(alice), { what: "alice's result" });
    assert.equal(toBob?.outcome, PeerOutcome.ACCEPTED);
    assert.equal(toBob?.role, 'target');
    assert.equal(toAlice?.role, 'requester');
    assert.ok(toBob?.secret && toBob.secret === toAlice?.secret, 'one secret for both sides');
    assert.equal(toAlice?.port, PEER_PORT + 1, "the requester gets the target's port");
    assert.equal(toBob?.port, PEER_PORT, "the target gets the requester's port, to dial back");
    assert.equal(broker.pendingCount, 0);
    assert.deepEqual(
      events.map((e) => e.name),
      ['peer_request', 'peer_result'],
    );
    assert.ok(!JSON.stringify(events).includes(toBob.secret), 'the secret is never in an event');
  });

  test('a side going offline ends its requests with `offline` for the other side', async (t) => {
    const { broker, join, leave, results, cleanup } = setup();
    defer(t, () => cleanup());
    const carol = join('carol', '127.0.0.2');
    const dave = join('dave', '127.0.0.3');
    broker.request(carol.session, { t: 'connect', id: 1, user: 'dave' });
    leave(dave);
    const [result] = await waitFor(() => results(carol).length === 1 && results(carol), { what: "carol's result" });
    assert.equal(result?.outcome, PeerOutcome.OFFLINE);
    assert.equal(broker.pendingCount, 0);
  });

  test('refusals: no listener, yourself, offline, a duplicate, and answering what is not yours', (t) => {
    const { broker, join, cleanup } = setup();
    defer(t, () => cleanup());
    const erin = join('erin', '127.0.0.2');
    join('frank', '127.0.0.3');
    join('nolistener', '127.0.0.4', null); // logged in without a peer listener
    const connect = (user: string) => () => broker.request(erin.session, { t: 'connect', id: 1, user });
    assert.throws(connect('nolistener'), isCode(ErrorCode.PEER_NO_LISTENER));
    assert.throws(connect('ERIN'), isCode(ErrorCode.PEER_SELF));
    assert.throws(connect('ghost'), isCode(ErrorCode.PEER_OFFLINE));
    connect('frank')();
    assert.throws(connect('frank'), isCode(ErrorCode.PEER_ALREADY_REQUESTED));
    assert.throws(
      () => broker.answer(erin.session, { t: 'connect_answer', id: 2, reqId: 'ab'.repeat(8), accept: true }),
      isCode(ErrorCode.PEER_UNKNOWN_REQUEST),
    );
  });

  test('by IP: the one user there, or connect_ambiguous listing all of them', async (t) => {
    const { broker, join, cleanup } = setup();
    defer(t, () => cleanup());
    const gina = join('gina', '127.0.0.2');
    join('hank', '127.0.0.5');
    join('ivy', '127.0.0.6');
    join('jack', '127.0.0.6');
    broker.request(gina.session, { t: 'connect', id: 1, ip: '127.0.0.5' });
    const pending = await waitFor(() => gina.received.find((m) => m.t === 'connect_pending'), { what: 'pending' });
    assert.ok(pending.t === 'connect_pending' && pending.user === 'hank');
    broker.request(gina.session, { t: 'connect', id: 2, ip: '127.0.0.6' });
    const ambiguous = await waitFor(() => gina.received.find((m) => m.t === 'connect_ambiguous'), {
      what: 'ambiguous',
    });
    assert.ok(ambiguous.t === 'connect_ambiguous');
    assert.deepEqual(
      ambiguous.candidates.map((c) => c.user),
      ['ivy', 'jack'],
    );
  });
});
