/**
 * Relay test plumbing (PROTOCOL.md section 6.6): plain logged-in clients that a server
 * introduces, and the steps of opening a relay half, each usable alone for abuse cases.
 */
import type { Duplex } from 'node:stream';
import type { P2PClient } from '../../src/client/client.ts';
import { openRelay } from '../../src/net/relay-dial.ts';
import type { Msg, ServerMessage } from '../../src/net/messages.ts';
import type { TestServer } from './server.ts';

/** What these helpers need of a server: its port and connected clients (a TestServer, or a child process's). */
export type RelayBed = Pick<TestServer, 'port' | 'client'>;
import { waitFor } from './wait.ts';

type Result = Msg<ServerMessage, 'connect_result'>;

export interface Member {
  user: string;
  client: P2PClient;
  inbox: ServerMessage[];
}

/** A logged-in client advertising a peer port (nobody dials it in these tests). */
export async function joinAs(server: RelayBed, user: string, peerPort = 40_000): Promise<Member> {
  const client = await server.client();
  client.peerPort = peerPort;
  const inbox: ServerMessage[] = [];
  client.on('message', (m) => inbox.push(m));
  await client.register(user, `password-${user}`);
  return { user, client, inbox };
}

/** `a` asks `b`, `b` accepts: both connect_results (with relay tokens). */
export async function introduce(a: Member, b: Member): Promise<{ forA: Result; forB: Result }> {
  const pending = (await a.client.request({ t: 'connect', user: b.user })) as Msg<ServerMessage, 'connect_pending'>;
  await waitFor(() => b.inbox.find((m) => m.t === 'connect_prompt' && m.reqId === pending.reqId), { what: 'prompt' });
  await b.client.request({ t: 'connect_answer', reqId: pending.reqId, accept: true });
  const result = (m: Member) =>
    waitFor(() => m.inbox.find((x): x is Result => x.t === 'connect_result' && x.reqId === pending.reqId), {
      what: `${m.user}'s result`,
    });
  return { forA: await result(a), forB: await result(b) };
}

export async function ticketFor(member: Member, reqId: string, token: string): Promise<string> {
  const reply = await member.client.request({ t: 'relay_request', reqId, token });
  if (reply.t !== 'relay_ticket') throw new Error(`expected relay_ticket, got ${reply.t}`);
  return reply.ticket;
}

export function openHalf(server: RelayBed, member: Member, ticket: string, timeoutMs = 10_000): Promise<Duplex> {
  return openRelay({
    host: '127.0.0.1',
    port: server.port,
    fingerprint: member.client.fingerprint as string,
    ticket,
    timeoutMs,
  });
}

/** A spliced circuit between `a` (requester) and `b`: the two raw relayed streams. */
export async function relayPair(
  server: RelayBed,
  a: Member,
  b: Member,
): Promise<{ reqId: string; secret: string; ab: Duplex; ba: Duplex }> {
  const { forA, forB } = await introduce(a, b);
  const [ta, tb] = await Promise.all([
    ticketFor(a, forA.reqId, forA.relay as string),
    ticketFor(b, forB.reqId, forB.relay as string),
  ]);
  const [ab, ba] = await Promise.all([openHalf(server, a, ta), openHalf(server, b, tb)]);
  return { reqId: forA.reqId, secret: forA.secret as string, ab, ba };
}
