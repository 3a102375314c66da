/** ping, list_users, logout (PROTOCOL.md section 3.2 and 4.5). */
import type { ClientMessage, Msg } from '../../net/messages.ts';
import type { ServerCore } from '../server.ts';
import type { ClientSession } from '../session.ts';

export function handlePing(server: ServerCore, session: ClientSession, message: Msg<ClientMessage, 'ping'>): void {
  session.send({ t: 'pong', re: message.id, serverTime: server.now() });
}

export function handleListUsers(server: ServerCore, session: ClientSession, message: Msg<ClientMessage, 'list_users'>): void {
  session.send({ t: 'user_list', re: message.id, users: server.presence.list() });
}

export function handleLogout(_server: ServerCore, session: ClientSession, message: Msg<ClientMessage, 'logout'>): void {
  session.send({ t: 'ok', re: message.id });
  session.closeReason = 'logout';
  session.conn.end();
}
