/**
 * relay_request and relay_open (PROTOCOL.md section 6.6). The relay service does the checks;
 * these adapters give it what it needs: the user of a logged-in session, or the raw stream of
 * a fresh connection, taken away from the framing once the ticket checked out.
 */
import type { ClientMessage, Msg } from '../../net/messages.ts';
import { ErrorCode, ProtocolError } from '../../net/errors.ts';
import type { ClientSession, OnlineSession } from '../session.ts';
import type { HandlerHost } from './host.ts';

export function handleRelayRequest(
  host: HandlerHost,
  session: OnlineSession,
  message: Msg<ClientMessage, 'relay_request'>,
): void {
  const { ticket, expiresInMs } = host.relay.redeem(session.user, message.reqId, message.token);
  session.send({ t: 'relay_ticket', re: message.id, ticket, expiresInMs });
}

/** Only on a connection that has not logged in: a relay half is never also a session. */
export function handleRelayOpen(
  host: HandlerHost,
  session: ClientSession,
  message: Msg<ClientMessage, 'relay_open'>,
): void {
  if (session.user !== null)
    throw new ProtocolError(ErrorCode.ALREADY_AUTHENTICATED, 'relay_open goes on a fresh connection');
  let claim;
  try {
    claim = host.relay.claim(message.ticket, session.ip);
  } catch (err) {
    // The connection has no other use: tell it why, then close.
    if (err instanceof ProtocolError) session.closeWith(err.code, err.message);
    throw err;
  }
  session.closeReason = `relay half for ${claim.user}`;
  const stream = session.conn.detach();
  if (!stream) return;
  host.relayed(session);
  claim.join(stream, message.id);
}
