/**
 * connect, connect_answer, connect_cancel (PROTOCOL.md section 6.1). Thin adapters: the
 * broker owns the request life cycle and sends every reply and result itself, so that the
 * reply to a request always goes out before the results it causes.
 */
import type { ClientMessage, Msg } from '../../net/messages.ts';
import type { ServerCore } from '../server.ts';
import type { ClientSession } from '../session.ts';

export function handleConnect(server: ServerCore, session: ClientSession, message: Msg<ClientMessage, 'connect'>): void {
  server.peers.request(session, message);
}

export function handleConnectAnswer(server: ServerCore, session: ClientSession, message: Msg<ClientMessage, 'connect_answer'>): void {
  server.peers.answer(session, message);
}

export function handleConnectCancel(server: ServerCore, session: ClientSession, message: Msg<ClientMessage, 'connect_cancel'>): void {
  server.peers.cancel(session, message);
}
