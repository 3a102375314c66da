/** ping, list_users, logout (PROTOCOL.md section 3.2 and 4.5). */
import { MAX_PRESENCE_BATCH } from '../../net/constants.ts';
import type { ClientMessage, Msg } from '../../net/messages.ts';
import type { OnlineSession } from '../session.ts';
import type { HandlerHost } from './host.ts';

export function handlePing(host: HandlerHost, session: OnlineSession, message: Msg<ClientMessage, 'ping'>): void {
  session.send({ t: 'pong', re: message.id, serverTime: host.now() });
}

export function handleListUsers(
  host: HandlerHost,
  session: OnlineSession,
  message: Msg<ClientMessage, 'list_users'>,
): void {
  const everyone = host.presence.list();
  const offset = Math.min(message.offset ?? 0, everyone.length);
  session.send({
    t: 'user_list',
    re: message.id,
    users: everyone.slice(offset, offset + MAX_PRESENCE_BATCH),
    offset,
    total: everyone.length,
  });
}

export function handleLogout(_host: HandlerHost, session: OnlineSession, message: Msg<ClientMessage, 'logout'>): void {
  session.send({ t: 'ok', re: message.id });
  session.closeReason = 'logout';
  session.conn.end();
}
