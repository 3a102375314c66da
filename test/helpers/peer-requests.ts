/** Driving peer requests (PROTOCOL.md 6.1) with plain clients: what each side received, ask, refusals. */
import assert from 'node:assert/strict';
import type { P2PClient } from '../../src/client/client.ts';
import type { ProtocolError } from '../../src/net/errors.ts';
import type { Msg, ServerMessage } from '../../src/net/messages.ts';
import { waitFor } from './wait.ts';

/** A port advertised as a peer listener where nothing listens: the server only introduces. */
export const FAKE_PEER_PORT = 40_000;
export type Result = Msg<ServerMessage, 'connect_result'>;

export interface Member {
  client: P2PClient;
  inbox: ServerMessage[];
  result(reqId: string): Promise<Result>;
  prompt(reqId?: string): Promise<Msg<ServerMessage, 'connect_prompt'>>;
}

/** Record what `client` (about to log in as `user`) receives. */
export function member(client: P2PClient, user: string): Member {
  const inbox: ServerMessage[] = [];
  client.on('message', (m) => inbox.push(m));
  return {
    client,
    inbox,
    result: (reqId) =>
      waitFor(() => inbox.find((m): m is Result => m.t === 'connect_result' && m.reqId === reqId), {
        what: `${user}'s result`,
      }),
    prompt: (reqId) =>
      waitFor(
        () =>
          inbox.find(
            (m): m is Msg<ServerMessage, 'connect_prompt'> =>
              m.t === 'connect_prompt' && (reqId === undefined || m.reqId === reqId),
          ),
        { what: `${user}'s prompt` },
      ),
  };
}

export async function ask(
  asker: Member,
  target: { user: string } | { ip: string },
): Promise<Msg<ServerMessage, 'connect_pending'>> {
  const reply = await asker.client.request({ t: 'connect', ...target });
  assert.equal(reply.t, 'connect_pending');
  return reply;
}

export async function refused(promise: Promise<unknown>, code: string): Promise<ProtocolError> {
  const err = (await promise.then(
    () => assert.fail(`expected ${code}`),
    (e: unknown) => e,
  )) as ProtocolError;
  assert.equal(err.code, code, err.message);
  return err;
}
