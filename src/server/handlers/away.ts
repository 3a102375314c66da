/**
 * away and back (PROTOCOL.md section 4.7): the state lives in the presence directory, which
 * tells everyone in its next batch. Changes are metered like any request (section 3.2), and
 * a user flipping fast costs the others at most one entry per presence flush (changes are
 * coalesced per user there).
 */
import type { ClientMessage, Msg } from '../../net/messages.ts';
import { awayReasonTooLarge } from '../../net/text-limits.ts';
import type { OnlineSession } from '../session.ts';
import type { HandlerHost } from './host.ts';

export function handleAway(host: HandlerHost, session: OnlineSession, message: Msg<ClientMessage, 'away'>): void {
  const reason = message.reason ?? '';
  const tooLarge = awayReasonTooLarge(reason);
  if (tooLarge) return session.sendError(tooLarge, message.id);
  host.presence.setAway(session, reason);
  session.send({ t: 'ok', re: message.id });
}

export function handleBack(host: HandlerHost, session: OnlineSession, message: Msg<ClientMessage, 'back'>): void {
  host.presence.setAway(session, null);
  session.send({ t: 'ok', re: message.id });
}
