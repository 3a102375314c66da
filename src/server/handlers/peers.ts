/**
 * connect, connect_answer, connect_cancel (PROTOCOL.md section 6.1). Thin adapters: the
 * broker owns the request life cycle and sends every reply and result itself, so that the
 * reply to a request always goes out before the results it causes.
 */
import type { ClientMessage, Msg } from '../../net/messages.ts';
import type { OnlineSession } from '../session.ts';
import type { HandlerHost } from './host.ts';

export function handleConnect(host: HandlerHost, session: OnlineSession, message: Msg<ClientMessage, 'connect'>): void {
  host.peers.request(session, message);
}

export function handleConnectAnswer(
  host: HandlerHost,
  session: OnlineSession,
  message: Msg<ClientMessage, 'connect_answer'>,
): void {
  host.peers.answer(session, message);
}

export function handleConnectCancel(
  host: HandlerHost,
  session: OnlineSession,
  message: Msg<ClientMessage, 'connect_cancel'>,
): void {
  host.peers.cancel(session, message);
}
